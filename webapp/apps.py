from django.apps import AppConfig


class WebappConfig(AppConfig):
    name = "webapp"
    verbose_name = "Sequester"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate

        from webapp import sign_in_audit
        from webapp.oidc.config import role_map_validate
        from webapp.roles import HUMAN_ROLES, sync_roles_after_migrate

        # A role map naming an unknown role stops start-up (the error names SEQUESTER_OIDC_ROLE_MAP).
        role_map_validate(settings.SEQUESTER_OIDC, (role.slug for role in HUMAN_ROLES))

        post_migrate.connect(sync_roles_after_migrate, sender=self)
        sign_in_audit.connect()
