"""What evaluation adds to an incident's case file: the review, the closure's waivers, the playbook
version in force (and the procedure itself as an appendix), the response times against targets."""

from __future__ import annotations

from casefile.gather import Section
from evaluation.services import reviews
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
