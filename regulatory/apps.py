from django.apps import AppConfig


class RegulatoryConfig(AppConfig):
    name = "regulatory"
    verbose_name = "Regulatory clocks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from casefile.gather import section_provider_register
        from incidents.models import Incident
        from incidents.services.closure import closure_check_register
        from incidents.services.hooks import step_hook_register
        from regulatory import home
        from regulatory.closure_check import obligations_open
        from regulatory.hooks import incident_saved, obligations_section, regulatory_step
        from webapp.navigation import NavItem, nav_item_register

        step_hook_register("regulatory", "regulatory-assessment", regulatory_step)
        section_provider_register("obligations", obligations_section)
        closure_check_register("obligations", "Regulatory obligations filed", obligations_open)
        post_save.connect(incident_saved, sender=Incident, dispatch_uid="regulatory-incident-opened")
        nav_item_register(NavItem("Due 72 h", "regulatory-due", ("webapp.view_incidents",)))
        home.register()
        nav_item_register(
            NavItem("Organisation", "regulatory-profile", ("webapp.sign_filings", "regulatory.add_organisationprofile"))
        )
