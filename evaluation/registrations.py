"""What evaluation plugs into the apps below it (they never import it): a closure check, approval
effects, case-file sections, navigation and the home page's notice."""

from __future__ import annotations


def register() -> None:
    from approvals import policies
    from approvals.services.effects import approval_effect_register
    from casefile.gather import section_provider_register
    from evaluation import casefile_sections
    from evaluation.services import reviews
    from incidents.services.closure import closure_check_register

    closure_check_register("review", "Post-incident review signed off", reviews.review_open_items)
    approval_effect_register(policies.POST_INCIDENT_REVIEW, reviews.review_signed_off)
    section_provider_register("review", casefile_sections.review_section)
    section_provider_register("closure", casefile_sections.closure_section)
