from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents import home, search
        from incidents.services.drift import incident_for_drift
        from keyvault.services.restriction import restriction_drift

        restriction_drift.connect(incident_for_drift, dispatch_uid="incidents.drift")
        home.register()
        search.register()
