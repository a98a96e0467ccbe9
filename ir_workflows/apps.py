from django.apps import AppConfig


class IrWorkflowsConfig(AppConfig):
    name = "ir_workflows"
    verbose_name = "Incident-response workflows"
