from django.apps import AppConfig


class CasefileConfig(AppConfig):
    name = "casefile"
    verbose_name = "Case files"
    default_auto_field = "django.db.models.BigAutoField"
