"""The CEK-19 audit checklist — the control's 11 auditing guidelines and the 3 CCM checks — each
answered from this case's evidence. An answer never claims more than the evidence shows: where the
case holds none, it says so."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from casefile.gather import CaseData, Section

EVIDENCED, PARTLY, NOT_EVIDENCED = "Evidenced", "Partly evidenced", "Not evidenced in this case"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    guideline: str
    status: str
    answer: str
    references: list[str]

    @property
    def tone(self) -> str:
        return {EVIDENCED: "ok", PARTLY: "partial"}.get(self.status, "none")


def _seqs(events: list[int], limit: int = 8) -> str:
    if not events:
        return "none"
    shown = ", ".join(f"#{s}" for s in events[:limit])
    return shown + (f" and {len(events) - limit} more" if len(events) > limit else "")


def _timeline(data: CaseData, *actions: str) -> list[int]:
    return [e.seq for e in data.timeline if e.action in actions]


def _key_events(data: CaseData, *actions: str) -> list[int]:
    return sorted(e.seq for k in data.keys for e in k.history if e.action in actions)


def _approved(data: CaseData, action: str) -> list[str]:
    return [a.id[:8] for a in data.approvals if a.action == action and a.status == "approved"]


def _item1(data: CaseData) -> ChecklistItem:
    steps = _timeline(data, "incident.step")
    status = EVIDENCED if steps else PARTLY
    return ChecklistItem(
        "AG-1",
        "Processes, procedures and technical measures for compromised keys, with legal and regulatory provisions.",
        status,
        f"The incident ran the key-compromise playbook (contain, confirm, restrict, rewrap, notify, regulatory, "
        f"close): {len(steps)} step transition(s) recorded; approvals followed versioned quorum policies "
        f"({', '.join(sorted({f'{a.action} v{a.policy_version}' for a in data.approvals})) or 'none requested yet'}).",
        [f"events {_seqs(steps)}", "§ Timeline", "§ Approvals"],
    )


def _item2(data: CaseData) -> ChecklistItem:
    roots = data.root_keys
    compromised = [k for k in roots if k.state in ("compromised", "destroyed_compromised")]
    restricted = [k for k in roots if k.restricted_at]
    suspended = _key_events(data, "key.suspended")
    replaced = [k for k in roots if k.replacement]
    if data.incident.resolution == "false_positive":
        status, answer = EVIDENCED, "Confirmed a false positive: the keys were restored by quorum (see § Approvals)."
    else:
        status = EVIDENCED if roots and len(compromised) == len(roots) == len(restricted) else PARTLY
        answer = (
            f"{len(suspended)} suspension(s) recorded at containment; {len(compromised)} of {len(roots)} reported "
            f"key(s) marked compromised, {len(restricted)} restricted to decrypt-only on their backend (verified), "
            f"{len(replaced)} replaced."
        )
    return ChecklistItem(
        "AG-2",
        "The response plan restricts compromised keys to decryption, revokes them, and prevents re-use for encryption.",
        status,
        answer,
        [
            f"events {_seqs(suspended)}",
            f"restriction events {_seqs(_key_events(data, 'key.restricted'))}",
            "§ Affected keys",
        ],
    )


def _item3(data: CaseData) -> ChecklistItem:
    under_exception = [u for u in data.uses if u.action == "encrypt_under_exception"]
    decrypts = [u for u in data.uses if u.action != "encrypt_under_exception"]
    approved = [e for e in data.exceptions if e.approval_reference]
    return ChecklistItem(
        "AG-3",
        "Compromised keys are used to decrypt only, under controlled circumstances; no encryption unless formally "
        "approved.",
        EVIDENCED if len(approved) == len(data.exceptions) else PARTLY,
        f"The gate refuses encryption with a suspended or compromised key in the encrypting transaction itself. "
        f"{len(data.exceptions)} encryption exception(s) in this case ({len(approved)} backed by an approval), "
        f"{sum(u.count for u in under_exception)} encryption(s) under an exception; "
        f"{sum(u.count for u in decrypts)} controlled decryption(s).",
        [f"use events {_seqs([u.seq for u in data.uses])}", "§ Controlled uses"],
    )


def _item4(data: CaseData) -> ChecklistItem:
    received = _timeline(data, "signal.received")
    sources = sorted({s.source for s in data.signals})
    return ChecklistItem(
        "AG-4",
        "How compromised keys are detected and flagged in key management systems.",
        EVIDENCED if data.signals else PARTLY,
        f"{len(data.signals)} signal(s) from {', '.join(sources) or 'no detector'}; each named keys by id, alias, "
        f"backend reference or fingerprint and flagged them suspended in the transaction that stored it.",
        [f"events {_seqs(received)}", "§ Signals"],
    )


def _item5(data: CaseData) -> ChecklistItem:
    active = [k.alias for k in data.keys if k.state in ("pre_activation", "active")]
    return ChecklistItem(
        "AG-5",
        "Compromised keys are segregated from active inventories and unusable in encryption workflows.",
        EVIDENCED if not active else PARTLY,
        "Suspended and compromised keys leave the active inventory and alias resolution (an alias resolves to the "
        "replacement); they are listed only for incident responders. "
        + (f"Still active in this case: {', '.join(active)}." if active else "No key of this case is active."),
        ["§ Affected keys"],
    )


def _item6(data: CaseData) -> ChecklistItem:
    decisions = [d for a in data.approvals for d in a.decisions]
    verified = [d for d in decisions if d.verified]
    grants = [g for g in data.grants if g.principal.startswith("job:") or g.created_by]
    return ChecklistItem(
        "AG-6",
        "Access to compromised keys is restricted to authorised response teams, with elevated approvals and roles.",
        EVIDENCED if decisions and len(verified) == len(decisions) else PARTLY,
        f"{len(decisions)} decision(s) by distinct approvers under role-based quorum policies, "
        f"{len(verified)} with a step-up signature re-verified at export; {len(grants)} decrypt grant(s), each "
        f"scoped to one principal, purpose, budget and expiry.",
        ["§ Approvals", "§ Controlled uses"],
    )


def _item7(data: CaseData) -> ChecklistItem:
    missing = [u.seq for u in data.uses if not (u.justification and u.actor and u.affected_system)]
    return ChecklistItem(
        "AG-7",
        "Audit logs track every access to and use of compromised keys, with reason, identity and affected systems.",
        EVIDENCED if not missing else PARTLY,
        f"{len(data.uses)} use event(s) on the hash-chained audit trail, each with who and why; "
        f"{len(missing)} without an affected system or justification. The appendix and the attached bundle carry "
        f"{data.event_count} event(s), verifiable offline against signed checkpoints.",
        [f"events {_seqs(missing)}" if missing else "§ Controlled uses", "§ Appendix", "audit-bundle.json"],
    )


def _item8(data: CaseData) -> ChecklistItem:
    linked = [u for u in data.uses if u.incident and u.justification]
    status = PARTLY if len(linked) < len(data.uses) else EVIDENCED
    status = status if data.uses else NOT_EVIDENCED
    return ChecklistItem(
        "AG-8",
        "Decrypt-only operations are documented and retained, with justification and linkage to security events.",
        status,
        f"{len(data.uses)} controlled-use record(s) of this case's keys, {len(linked)} with a justification and "
        f"the incident they served; retained on the append-only trail (no update or delete, enforced in the "
        f"database).",
        ["§ Controlled uses", "§ Appendix"],
    )


def _tally(section: Section, column: str) -> str:
    """'2 filed on time, 1 awaiting trigger': the values of one column of a section, counted."""
    if column not in section.columns:
        return ""
    index = section.columns.index(column)
    counts = Counter(str(row[index]) for row in section.rows)
    return ", ".join(f"{count} {value}" for value, count in counts.most_common())


def _item9(data: CaseData) -> ChecklistItem:
    section = data.sections.get("obligations")
    hooks = _timeline(data, "incident.regulatory_hook")
    if section is not None and section.rows:
        states = _tally(section, "state")
        late = any(word in states for word in ("overdue", "filed late"))
        status = PARTLY if late else EVIDENCED
        answer = f"{len(section.rows)} regulatory obligation(s) apply ({states}); see § Regulatory obligations."
    else:
        status, answer = NOT_EVIDENCED, "No regulatory obligation was recorded for this case."
    return ChecklistItem(
        "AG-9",
        "Regulatory obligations (GDPR breach response, HIPAA encryption standards, FedRAMP procedures) are applied.",
        status,
        answer,
        [f"events {_seqs(hooks)}", "§ Regulatory obligations"],
    )


def _item10(data: CaseData) -> ChecklistItem:
    ai = [f"{k.alias} ({k.ai_category})" for k in data.keys if k.ai_category]
    return ChecklistItem(
        "AG-10",
        "AI-specific keys (model logs, prompt storage, inference results) follow the same decrypt-only handling.",
        EVIDENCED if ai else NOT_EVIDENCED,
        (f"AI-category keys in this case: {', '.join(ai)}; the same gate and restrictions applied to them.")
        if ai
        else "No AI-category key was part of this case; every key passes the same gate whatever its category.",
        ["§ Affected keys"],
    )


def _item11(data: CaseData) -> ChecklistItem:
    section = data.sections.get("notifications")
    if section is not None and section.rows:
        status = EVIDENCED
        answer = (
            f"{len(section.rows)} notification(s) to parties ({_tally(section, 'Status')}); {section.note} "
            "See § Notifications and acknowledgements."
        )
    else:
        status, answer = NOT_EVIDENCED, "No notification to upstream or downstream parties was recorded."
    return ChecklistItem(
        "AG-11",
        "Coordination with upstream providers and downstream consumers on containment and key status.",
        status,
        answer,
        ["§ Notifications"],
    )


def _ccm(data: CaseData) -> list[ChecklistItem]:
    rewrapped = sum(r.done for r in data.rewraps)
    to_rewrap = sum(r.total for r in data.rewraps)
    contained = _key_events(data, "key.suspended")
    return [
        ChecklistItem(
            "CCM-1",
            "Defined processes, procedures and technical measures for secure handling of compromised keys.",
            EVIDENCED if data.approvals else PARTLY,
            "Handled by the playbook workflow, quorum policies and the key gate; see AG-1 to AG-3.",
            ["AG-1", "AG-2", "AG-3"],
        ),
        ChecklistItem(
            "CCM-2",
            "Secure usage of compromised keys meets business and operational continuity requirements.",
            EVIDENCED if to_rewrap and rewrapped == to_rewrap else (PARTLY if data.rewraps else NOT_EVIDENCED),
            f"{rewrapped} of {to_rewrap} wrapped item(s) re-encrypted under replacement keys; decryption stayed "
            f"available to authorised jobs and people through grants.",
            ["§ Affected keys", "§ Controlled uses"],
        ),
        ChecklistItem(
            "CCM-3",
            "Significance of the technical and organisational measures for using compromised keys securely.",
            EVIDENCED if contained else PARTLY,
            "Containment in the signal's own transaction; multi-party approval with step-up; append-only, "
            "hash-chained, signed audit evidence; this file signed (PAdES) with its evidence attached.",
            [f"events {_seqs(contained)}", "§ Approvals", "audit-bundle.json"],
        ),
    ]


def checklist(data: CaseData) -> list[ChecklistItem]:
    items = [f(data) for f in (_item1, _item2, _item3, _item4, _item5, _item6, _item7, _item8, _item9)]
    return [*items, _item10(data), _item11(data), *_ccm(data)]
