from django.apps import AppConfig


class KeyvaultConfig(AppConfig):
    name = "keyvault"
    verbose_name = "Key custody"

    def ready(self) -> None:
        from keyvault import search

        search.register()
