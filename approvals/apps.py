from typing import Any

from django.apps import AppConfig


def _mark_delivered(**kwargs: Any) -> None:
    """Outbox signal receiver. Imports the decision service when a delivery happens, not at start-up (it
    brings WebAuthn and the grants with it, which most processes never use)."""
    from approvals.services.decisions import mark_delivered

    mark_delivered(**kwargs)


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from approvals import home
        from approvals.policies import policies_sync_after_migrate
        from approvals.restore_authority import restore_approved
        from ir_workflows.outbox import outbox_delivered
        from keyvault.services.lifecycle import key_restore_authority_register

        post_migrate.connect(policies_sync_after_migrate, sender=self)
        outbox_delivered.connect(_mark_delivered, dispatch_uid="approvals-mark-delivered")
        key_restore_authority_register(restore_approved)
        home.register()
