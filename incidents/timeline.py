"""The incident timeline in words: each audit event as a sentence a commander reads ("Contained: keys
suspended…"), the event's action code kept beside it for the auditor."""

from __future__ import annotations

from typing import Any

from approvals.wording import role_label
from incidents.models import Incident

# What each playbook step does, said when the incident reaches it (and, for the step it leaves, done).
STEP_DOES: dict[str, str] = {
    "contain": "the named keys (and every key they wrapped) suspended at once; blast radius computed",
    "confirm": "the quorum decides: compromised, or a false positive (keys restored)",
    "restrict": "decrypt-only applied on each key's backend and read back (verified)",
    "rewrap": "replacement keys made; data re-encrypted under them",
    "notify": "upstream and downstream parties told; acknowledgements tracked",
    "regulatory": "obligations computed from the facts; deadlines, reminders and filings tracked",
    "close": "waiting for the commander to request closure (checklist, waivers, close approval)",
    "closed": "the incident is closed",
}


_ACTIONS: dict[str, str] = {
    "incident.opened": "Incident opened",
    "incident.attention": "Needs the commander",
    "incident.note": "Note",
    "incident.severity_changed": "Severity changed",
    "incident.aware_at_recorded": "Awareness time recorded",
    "incident.close_refused": "Closure refused",
    "incident.closed": "Incident closed",
    "incident.restriction_drift": "Restriction drift",
    "key.suspended": "Key suspended",
    "key.compromised": "Key marked compromised",
    "key.active": "Key restored to active",
    "key.deactivated": "Key deactivated",
    "key.destroyed": "Key destroyed",
    "key.destroyed_compromised": "Key destroyed",
    "key.restricted": "Key decrypt-only on its backend",
    "key.restriction_pending": "Restriction pending on the backend",
    "key.restriction_drift": "Restriction drift found",
    "key.replaced": "Replacement key made",
    "key.retired": "Key retired without a replacement",
    "key.decrypt_grant_created": "Decrypt access granted",
    "key.decrypt_grant_revoked": "Decrypt access revoked",
    "key.encryption_exception_granted": "Encryption exception granted",
    "approval.requested": "Approval requested",
    "approval.decided": "Decision signed",
    "approval.approved": "Approval granted (quorum reached)",
    "approval.rejected": "Approval rejected",
    "approval.expired": "Approval expired",
    "approval.cancelled": "Approval cancelled",
    "approval.step_up_failed": "Step-up failed",
    "notification.drafted": "Notification drafted",
    "notification.approved": "Notification approved",
    "notification.acknowledged": "Notification acknowledged",
    "notification.escalated": "Notification escalated",
    "notification.held": "Notification held",
    "regulatory.assessed": "Regulatory duties assessed",
    "regulatory.filed": "Filing recorded",
    "casefile.exported": "Case file exported",
    "mail.delivered": "Alert mail delivered",
    "mail.delivery_failed": "Alert mail NOT delivered (retrying)",
    "mail.not_delivered": "Alert mail not delivered (gave up)",
    "casefile.requested": "Case file requested",
}


def step_name(step: str) -> str:
    return Incident.Step(step).label if step in Incident.Step.values else step


def event_words(action: str, reason: str, data: dict[str, Any]) -> tuple[str, str]:
    """(what happened, its details) for one audit event of an incident."""
    if action == "incident.step":
        left, reached = str(data.get("from", "")), str(data.get("to", ""))
        what = f"Step {step_name(reached)}" if reached != "closed" else "Playbook finished"
        details = f"Now: {STEP_DOES.get(reached, reached)}."
        if left:
            details = f"{step_name(left)} done ({STEP_DOES.get(left, left)}). {details}"
        return what, details
    if action.endswith("_hook") and action.startswith("incident."):
        step = action.removeprefix("incident.").removesuffix("_hook")
        return f"{step_name(step)} step ran", reason
    if action == "approval.decided":
        verdict = data.get("verdict", "")
        return _ACTIONS[
            action
        ], f"{verdict} as {role_label(str(data.get('role', '?')))} ({data.get('method', '')}). {reason}".strip()
    what = _ACTIONS.get(action, action)
    if action.startswith("key.") and data.get("alias"):
        return what, f"{data['alias']}: {reason}" if reason else str(data["alias"])
    return what, reason
