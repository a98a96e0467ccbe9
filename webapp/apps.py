from django.apps import AppConfig


class WebappConfig(AppConfig):
    name = "webapp"
    verbose_name = "Sequester"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from webapp import sign_in_audit
        from webapp.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self)
        sign_in_audit.connect()
