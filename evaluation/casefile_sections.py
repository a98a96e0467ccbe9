"""What evaluation adds to an incident's case file: the review, the closure's waivers, the playbook
version in force (and the procedure itself as an appendix), the response times against targets."""

from __future__ import annotations

from casefile.gather import Section
from evaluation.services import playbook, reviews
from incidents.models import Incident
from incidents.services.closure import closure_approved_request, closure_signed_waivers


def review_section(incident: Incident) -> Section:
    review = reviews.review_of(incident)
    state = reviews.review_state(review)
    if review is None:
        return Section("Post-incident review", [], [], note="No post-incident review was written for this incident.")
    rows = [
        [
            a.description,
            a.owner.get_username(),
            a.due_on.isoformat(),
            f"done {a.done_at:%Y-%m-%d} by {a.done_by}" if a.done_at else "open",
        ]
        for a in review.actions.select_related("owner").order_by("id")
    ]
    signed = f"signed off {review.signed_off_at:%Y-%m-%d %H:%M} UTC" if review.signed_off_at else state
    request = (
        f" (post_incident_review {review.signoff_id}, content SHA-256 {review.content_hash})"
        if review.signoff_id
        else ""
    )
    text = (
        f"What went well:\n{review.went_well or '—'}\n\nWhat did not:\n{review.went_badly or '—'}\n\n"
        f"Root cause:\n{review.root_cause or '—'}"
    )
    return Section(
        "Post-incident review",
        ["Action", "Owner", "Due", "Status"],
        rows,
        evidence=[{"state": state, "content_hash": review.content_hash, "timeline": review.timeline}],
        note=f"Review {signed}{request}; timeline generated from {len(review.timeline)} audit event(s).",
        text=text,
    )


def closure_section(incident: Incident) -> Section:
    request = closure_approved_request(incident)
    waivers, _shown = closure_signed_waivers(request)
    if request is None:
        asked = incident.closure_request or {}
        note = "Closure not approved yet." + (
            f" Requested by {asked.get('by')} with {len(asked.get('waivers') or {})} waiver(s)." if asked else ""
        )
        return Section("Closure: open items and waivers", [], [], note=note)
    items = request.payload.get("details", {}).get("open_items") or []
    rows = [[str(i.get("check")), str(i.get("title")), waivers.get(str(i.get("check")), "—")] for i in items]
    note = (
        f"Approved close_incident {request.id} (payload SHA-256 {request.payload_hash}): "
        + (f"{len(items)} item(s) still open at closure, each waived with the reason shown." if items else "")
        + ("" if items else "nothing was open at closure: no waiver.")
    )
    return Section(
        "Closure: open items and waivers",
        ["Check", "Open item", "Waiver (reason signed in the approval)"],
        rows,
        evidence=[{"request": str(request.id), "open_items": items, "waivers": waivers}],
        note=note,
    )


def playbook_section(incident: Incident) -> Section:
    """The version of the procedure in force when the incident opened."""
    version = playbook.playbook_in_force(incident.opened_at)
    if version is None:
        return Section(
            "Playbook in force",
            [],
            [],
            note="No playbook version had been published when this incident opened: the procedure was not yet a "
            "controlled document. The appendix shows the procedure as it runs at export.",
        )
    overdue = version.review_due_on is not None and version.review_due_on < incident.opened_at.date()
    return Section(
        "Playbook in force",
        ["Version", "Owner", "Published (UTC)", "Approval", "Review due", "Content SHA-256"],
        [
            [
                f"v{version.number}",
                version.owner.get_username(),
                f"{version.published_at:%Y-%m-%d %H:%M}" if version.published_at else "",
                f"playbook_publish {version.approval_id}",
                f"{version.review_due_on}" + (" (overdue when the incident opened)" if overdue else ""),
                version.content_hash,
            ]
        ],
        evidence=[{"version": version.number, "content_hash": version.content_hash}],
        note=f"The procedure v{version.number} is reproduced in the appendix “Procedure in force”.",
    )


def procedure_appendix(incident: Incident) -> Section:
    version = playbook.playbook_in_force(incident.opened_at)
    if version is None:
        text = playbook.procedure_markdown(playbook.procedure_content())
        return Section("Procedure in force (not a published version)", [], [], note="As it runs at export.", text=text)
    return Section(
        f"Procedure in force: playbook v{version.number}",
        [],
        [],
        note=f"As published {version.published_at:%Y-%m-%d} (content SHA-256 {version.content_hash}).",
        text=version.markdown,
    )
