from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from casefile.gather import section_provider_register
        from incidents.services.closure import closure_check_register
        from incidents.services.hooks import change_hook_register, step_hook_register
        from notifications import search
        from notifications.casefile_section import notifications_section
        from notifications.closure_check import acknowledgements_open
        from notifications.services.messages import notifications_draft_for_incident, notifications_follow_up

        step_hook_register("notify", "notifications", notifications_draft_for_incident)
        change_hook_register("notifications", notifications_follow_up)
        section_provider_register("notifications", notifications_section)
        closure_check_register("acknowledgements", "Parties' acknowledgements", acknowledgements_open)
        search.register()
