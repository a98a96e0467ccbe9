from django.apps import AppConfig


class RegulatoryConfig(AppConfig):
    name = "regulatory"
    verbose_name = "Regulatory clocks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from casefile.gather import section_provider_register
        from incidents.models import Incident
        from incidents.services.hooks import close_check_register, step_hook_register
        from regulatory.hooks import incident_saved, obligations_section, regulatory_step
        from regulatory.selectors import regulatory_open_items
        from webapp.navigation import NavItem, nav_item_register

        step_hook_register("regulatory", "regulatory-assessment", regulatory_step)
        section_provider_register("obligations", obligations_section)
        close_check_register("regulatory", regulatory_open_items)
        post_save.connect(incident_saved, sender=Incident, dispatch_uid="regulatory-incident-opened")
        nav_item_register(NavItem("Due 72 h", "regulatory-due", ("webapp.view_incidents",)))
        nav_item_register(
            NavItem("Organisation", "regulatory-profile", ("webapp.sign_filings", "regulatory.add_organisationprofile"))
        )
