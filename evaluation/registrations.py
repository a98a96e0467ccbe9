"""What evaluation plugs into the apps below it (they never import it): a closure check, approval
effects, case-file sections, navigation, the home page's notice and the targets' defaults."""

from __future__ import annotations

from typing import Any


def _playbook_notice(user: Any) -> str:
    from evaluation.services.playbook import playbook_status

    if not user.is_authenticated or not (user.has_perm("webapp.view_incidents") or user.has_perm("webapp.view_audit")):
        return ""
    return playbook_status().notice


def register() -> None:
    from django.db.models.signals import post_migrate

    from approvals import policies
    from approvals.services.effects import approval_effect_register
    from casefile.gather import section_provider_register
    from evaluation import casefile_sections, home
    from evaluation.services import playbook, reports, reviews
    from evaluation.services.targets import targets_sync_after_migrate
    from incidents.services.closure import closure_check_register
    from webapp.navigation import NavItem, nav_item_register
    from webapp.notices import home_notice_register

    post_migrate.connect(targets_sync_after_migrate, dispatch_uid="evaluation-targets")
    closure_check_register("review", "Post-incident review signed off", reviews.review_open_items)
    approval_effect_register(policies.POST_INCIDENT_REVIEW, reviews.review_signed_off)
    approval_effect_register(policies.PLAYBOOK_PUBLISH, playbook.playbook_published)
    approval_effect_register(policies.CONTROL_ATTESTATION, reports.period_report_attested)
    section_provider_register("playbook", casefile_sections.playbook_section)
    section_provider_register("review", casefile_sections.review_section)
    section_provider_register("closure", casefile_sections.closure_section)
    section_provider_register("appendix:procedure", casefile_sections.procedure_appendix)
    nav_item_register(NavItem("Playbook", "playbook-page", ("webapp.view_incidents", "webapp.view_audit")))
    nav_item_register(NavItem("Drills", "drills-page", ("webapp.view_incidents", "webapp.view_audit")))
    nav_item_register(NavItem("Reports", "reports-page", ("webapp.view_audit", "webapp.export_case_files")))
    home_notice_register("playbook", _playbook_notice)
    home.register()
