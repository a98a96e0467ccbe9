from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from approvals.policies import policies_sync_after_migrate
        from approvals.restore_authority import restore_approved
        from approvals.services.decisions import mark_delivered
        from ir_workflows.outbox import outbox_delivered
        from keyvault.services.lifecycle import key_restore_authority_register

        post_migrate.connect(policies_sync_after_migrate, sender=self)
        outbox_delivered.connect(mark_delivered)
        key_restore_authority_register(restore_approved)
