"""The CEK-19 audit checklist — the control's 11 auditing guidelines and the 3 CCM checks — each
answered from this case's evidence. It assesses, it does not advocate: an answer never claims more than
the evidence shows; where the case holds none it says so, and where its own evidence shows a gap (a
party that never acknowledged, a key neither replaced nor retired, refused uses not on record) the item
is "Partly evidenced" and names the gap — never a green "Evidenced"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from casefile.gather import CaseData, KeyRecord, Section

EVIDENCED, PARTLY, NOT_EVIDENCED = "Evidenced", "Partly evidenced", "Not evidenced in this case"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    guideline: str
    status: str
    answer: str
    references: list[str]
    gaps: tuple[str, ...] = ()  # what this item's own evidence shows missing

    @property
    def tone(self) -> str:
        return {EVIDENCED: "ok", PARTLY: "partial"}.get(self.status, "none")


def _assessed(item: ChecklistItem, gaps: list[str]) -> ChecklistItem:
    """An item whose evidence shows a gap is at best partly evidenced, and its answer names each gap."""
    if not gaps:
        return item
    status = PARTLY if item.status == EVIDENCED else item.status
    answer = item.answer + " Gap: " + "; ".join(gaps) + "."
    return ChecklistItem(item.id, item.guideline, status, answer, item.references, tuple(gaps))


def _names(values: list[str], limit: int = 6) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


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
    replaced = [k for k in data.keys if k.replacement]
    retired = [k for k in data.keys if k.retired]
    gaps: list[str] = []
    if data.incident.resolution == "false_positive":
        status, answer = EVIDENCED, "Confirmed a false positive: the keys were restored by quorum (see § Approvals)."
    else:
        status = EVIDENCED if roots and len(compromised) == len(roots) == len(restricted) else PARTLY
        answer = (
            f"{len(suspended)} suspension(s) recorded at containment; {len(compromised)} of {len(roots)} reported "
            f"key(s) marked compromised, {len(restricted)} restricted to decrypt-only on their backend (verified); "
            f"of the case's {len(data.keys)} key(s), {len(replaced)} replaced and {len(retired)} retired without a "
            f"replacement, with the reason recorded"
            + (f" ({'; '.join(f'{k.alias}: {k.retired}' for k in retired[:4])})" if retired else "")
            + "."
        )
        unresolved = [k.alias for k in unresolved_keys(data)]
        if unresolved:
            gaps.append(f"{len(unresolved)} compromised key(s) neither replaced nor retired: {_names(unresolved)}")
        unrestricted = [k.alias for k in data.keys if k.state == "compromised" and not k.restricted_at]
        if unrestricted:
            gaps.append(f"not verified decrypt-only on the backend: {_names(unrestricted)}")
    return _assessed(
        ChecklistItem(
            "AG-2",
            "The response plan restricts compromised keys to decryption, revokes them, and prevents re-use for "
            "encryption.",
            status,
            answer,
            [
                f"events {_seqs(suspended)}",
                f"restriction events {_seqs(_key_events(data, 'key.restricted'))}",
                f"replacement/retirement events {_seqs(_key_events(data, 'key.replaced', 'key.retired'))}",
                "§ Affected keys",
            ],
        ),
        gaps,
    )


def unresolved_keys(data: CaseData) -> list[KeyRecord]:
    """Compromised keys of the case whose story has no ending yet: no replacement, no recorded retirement."""
    return [
        k
        for k in data.keys
        if k.state in ("compromised", "destroyed_compromised") and not k.replacement and not k.retired
    ]


def _item3(data: CaseData) -> ChecklistItem:
    under_exception = [u for u in data.uses if u.action == "encrypt_under_exception"]
    decrypts = [u for u in data.uses if u.action != "encrypt_under_exception"]
    approved = [e for e in data.exceptions if e.approval_reference]
    unapproved = [f"#{e.pk} ({e.principal})" for e in data.exceptions if not e.approval_reference]
    return _assessed(
        ChecklistItem(
            "AG-3",
            "Compromised keys are used to decrypt only, under controlled circumstances; no encryption unless formally "
            "approved.",
            EVIDENCED if len(approved) == len(data.exceptions) else PARTLY,
            f"The gate refuses encryption with a suspended or compromised key in the encrypting transaction itself. "
            f"{len(data.exceptions)} encryption exception(s) in this case ({len(approved)} backed by an approval), "
            f"{sum(u.count for u in under_exception)} encryption(s) under an exception; "
            f"{sum(u.count for u in decrypts)} controlled decryption(s).",
            [f"use events {_seqs([u.seq for u in data.uses])}", "§ Controlled uses"],
        ),
        [f"encryption exception(s) without an approval behind them: {_names(unapproved)}"] if unapproved else [],
    )


def _item4(data: CaseData) -> ChecklistItem:
    received = _timeline(data, "signal.received")
    sources = sorted({s.source for s in data.signals})
    configured = {d.name: d for d in data.detection}
    gaps = []
    via_webhook = sorted(
        {s.received_via.removeprefix("webhook:") for s in data.signals if s.received_via.startswith("webhook:")}
    )
    unknown = [name for name in via_webhook if name not in configured]
    if unknown:
        gaps.append(f"signal(s) came through webhook source(s) not in the recorded configuration: {_names(unknown)}")
    ownerless = [d.name for d in data.detection if d.active and not d.owner]
    if ownerless:
        gaps.append(f"no owner recorded for webhook source(s) {_names(ownerless)}")
    unaudited = [d.name for d in data.detection if not d.evidence.startswith("audit event")]
    detectors = ", ".join(f"{d.name}: {d.kind}, {d.owner or 'owner not recorded'}" for d in data.detection[:6])
    if unaudited:
        gaps.append(f"the configuration of {_names(unaudited)} at the time is not on the audit trail")
    return _assessed(
        ChecklistItem(
            "AG-4",
            "How compromised keys are detected and flagged in key management systems.",
            EVIDENCED if data.signals else PARTLY,
            f"{len(data.signals)} signal(s) from {', '.join(sources) or 'no detector'}; each named keys by id, alias, "
            f"backend reference or fingerprint and flagged them suspended in the transaction that stored it. "
            f"{len(data.detection)} webhook source(s) configured when the incident opened "
            f"({detectors or 'none'}).",
            [f"events {_seqs(received)}", "§ Signals", "§ Detection configuration"],
        ),
        gaps,
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
    signed = [d for d in verified if d.reverified]
    grants = [g for g in data.grants if g.principal.startswith("job:") or g.created_by]
    unverified = [f"{d.approver} ({d.verdict})" for d in decisions if not d.verified]
    codes = len(verified) - len(signed)
    how = f"{len(signed)} with a WebAuthn assertion signature re-verified at export against the enrolled public key" + (
        f", {codes} with a TOTP one-time code checked at decision time (a shared secret: not re-verifiable since)"
        if codes
        else ""
    )
    return _assessed(
        ChecklistItem(
            "AG-6",
            "Access to compromised keys is restricted to authorised response teams, with elevated approvals and roles.",
            EVIDENCED if decisions and len(verified) == len(decisions) else PARTLY,
            f"{len(decisions)} decision(s) by distinct approvers under role-based quorum policies, "
            f"{how}; {len(grants)} decrypt grant(s), each "
            f"scoped to one principal, purpose, budget and expiry.",
            ["§ Approvals", "§ Controlled uses"],
        ),
        [f"decision(s) whose step-up record did not verify: {_names(unverified)}"] if unverified else [],
    )


def _item7(data: CaseData) -> ChecklistItem:
    missing = [u.seq for u in data.uses if not (u.justification and u.actor and u.affected_system)]
    gaps = []
    if missing:
        gaps.append(f"use event(s) {_seqs(missing)} without a justification or affected system")
    if "refused_uses" not in data.sections:  # the refusal ledger's section, registered by casefile.apps
        gaps.append(
            "refused uses (encryptions and decryptions the gate refused) are not on record in this case file, so "
            "it cannot show that every attempt was logged"
        )
    return _assessed(
        ChecklistItem(
            "AG-7",
            "Audit logs track every access to and use of compromised keys, with reason, identity and affected systems.",
            EVIDENCED if not missing else PARTLY,
            f"{len(data.uses)} use event(s) on the hash-chained audit trail, each with who and why; "
            f"{len(missing)} without an affected system or justification. The appendix and the attached bundle carry "
            f"{data.event_count} event(s), verifiable offline against signed checkpoints.",
            [f"events {_seqs(missing)}" if missing else "§ Controlled uses", "§ Appendix", "audit-bundle.json"],
        ),
        gaps,
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
    ai_keys = [k for k in data.keys if k.ai_category]
    unresolved = {k.id for k in unresolved_keys(data)}
    gaps = []
    loose = [k.alias for k in ai_keys if k.id in unresolved]
    if loose:
        gaps.append(f"AI key(s) neither replaced nor retired: {_names(loose)}")
    unrestricted = [k.alias for k in ai_keys if k.state == "compromised" and not k.restricted_at]
    if unrestricted:
        gaps.append(f"AI key(s) not verified decrypt-only: {_names(unrestricted)}")
    return _assessed(
        ChecklistItem(
            "AG-10",
            "AI-specific keys (model logs, prompt storage, inference results) follow the same decrypt-only handling.",
            EVIDENCED if ai else NOT_EVIDENCED,
            (f"AI-category keys in this case: {', '.join(ai)}; the same gate and restrictions applied to them.")
            if ai
            else "No AI-category key was part of this case; every key passes the same gate whatever its category.",
            ["§ Affected keys"],
        ),
        gaps,
    )


def _item11(data: CaseData) -> ChecklistItem:
    section = data.sections.get("notifications")
    gaps = []
    if section is not None and section.rows:
        status = EVIDENCED
        answer = (
            f"{len(section.rows)} notification(s) to parties ({_tally(section, 'Status')}); {section.note} "
            "See § Notifications and acknowledgements."
        )
        gaps = _notification_gaps(section)
    else:
        status, answer = NOT_EVIDENCED, "No notification to upstream or downstream parties was recorded."
    return _assessed(
        ChecklistItem(
            "AG-11",
            "Coordination with upstream providers and downstream consumers on containment and key status.",
            status,
            answer,
            ["§ Notifications"],
        ),
        gaps,
    )


def _notification_gaps(section: Section) -> list[str]:
    """Parties not (yet) acknowledging, messages never sent: read from the section's own rows."""
    if "Party" not in section.columns or "Status" not in section.columns:
        return []
    party, status = section.columns.index("Party"), section.columns.index("Status")
    message = section.columns.index("Message") if "Message" in section.columns else None

    def who(row: list[str]) -> str:
        return row[party] + (f" ({row[message]})" if message is not None else "")

    waiting = [who(r) for r in section.rows if str(r[status]).lower() in ("sent", "escalated", "approved")]
    unsent = [who(r) for r in section.rows if str(r[status]).lower().startswith("draft")]
    gaps = []
    if waiting:
        gaps.append(f"{len(waiting)} message(s) not acknowledged: {_names(waiting)}")
    if unsent:
        gaps.append(f"{len(unsent)} message(s) drafted but never sent: {_names(unsent)}")
    return gaps


def _ccm(data: CaseData, items: list[ChecklistItem]) -> list[ChecklistItem]:
    rewrapped = sum(r.done for r in data.rewraps)
    to_rewrap = sum(r.total for r in data.rewraps)
    contained = _key_events(data, "key.suspended")
    partial = [item.id for item in items if item.id in ("AG-1", "AG-2", "AG-3") and item.status != EVIDENCED]
    incomplete = [r.key.alias for r in data.rewraps if r.done < r.total]
    return [
        _assessed(
            ChecklistItem(
                "CCM-1",
                "Defined processes, procedures and technical measures for secure handling of compromised keys.",
                EVIDENCED if data.approvals else PARTLY,
                "Handled by the playbook workflow, quorum policies and the key gate; see AG-1 to AG-3.",
                ["AG-1", "AG-2", "AG-3"],
            ),
            [f"{_names(partial)} not fully evidenced"] if partial else [],
        ),
        _assessed(
            ChecklistItem(
                "CCM-2",
                "Secure usage of compromised keys meets business and operational continuity requirements.",
                EVIDENCED if to_rewrap and rewrapped == to_rewrap else (PARTLY if data.rewraps else NOT_EVIDENCED),
                f"{rewrapped} of {to_rewrap} wrapped item(s) re-encrypted under replacement keys; decryption stayed "
                f"available to authorised jobs and people through grants.",
                ["§ Affected keys", "§ Controlled uses"],
            ),
            [f"rewrap incomplete for {_names(incomplete)}"] if incomplete else [],
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
    items = [*items, _item10(data), _item11(data)]
    return [*items, *_ccm(data, items)]
