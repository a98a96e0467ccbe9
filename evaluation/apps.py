from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation of the control"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from evaluation import registrations

        registrations.register()
