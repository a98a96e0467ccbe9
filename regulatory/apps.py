from django.apps import AppConfig


class RegulatoryConfig(AppConfig):
    name = "regulatory"
    verbose_name = "Regulatory clocks"
    default_auto_field = "django.db.models.BigAutoField"
