from django.apps import AppConfig


class CasefileConfig(AppConfig):
    name = "casefile"
    verbose_name = "Case files"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from casefile import home
        from casefile.gather import section_provider_register
        from casefile.key_sections import key_hierarchy_section, refused_uses_section

        section_provider_register("key_hierarchy", key_hierarchy_section)
        section_provider_register("refused_uses", refused_uses_section)
        home.register()
