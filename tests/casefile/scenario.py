"""A whole key-compromise case, driven through the same services the playbook's activities call:
a KEK wrapping an AI prompt-store key, wrapped data to rewrap, a signal, containment, a confirmation
quorum with WebAuthn step-up, restriction, rewrap, closure by quorum. Tests and bench/casefile use it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from approvals import policies
from approvals.models import ApprovalRequest
from audit.actors import Actor
from audit.services import EventDraft, audit_record_many
from incidents.cloudevents import parse
from incidents.models import Incident
from incidents.services import playbook
from incidents.services.closure import closure_open_items
from incidents.services.hooks import step_hooks_run
from incidents.services.incidents import incident_advance, incident_get
from incidents.services.signals import signal_receive
from keyvault.models import DataAsset, System
from keyvault.services import gate, lifecycle
from keyvault.services.wrapped_items import ItemToRegister, wrapped_items_register
from keyvault.types import Principal
from tests.approvals.conftest import decide
from tests.webauthn_soft import SoftAuthenticator

SYSTEM = Actor.system("scenario")


def _estate(tag: str) -> tuple[Any, Any]:
    payments = System.objects.create(name=f"payments-api{tag}", owner="payments team")
    assistant = System.objects.create(name=f"assistant{tag}", owner="AI platform")
    cards = DataAsset.objects.create(
        name=f"cardholder-db{tag}",
        system=payments,
        data_categories=["payment", "personal_data"],
        record_count=120_000,
        jurisdictions=["EU", "US-CA"],
    )
    prompts = DataAsset.objects.create(
        name=f"prompt-archive{tag}",
        system=assistant,
        data_categories=["personal_data"],
        record_count=5_000,
        jurisdictions=["EU"],
    )
    kek = lifecycle.key_create(
        actor=SYSTEM,
        alias=f"cf-kek{tag}",
        purpose="wraps data keys",
        system_ids=[payments.id],
        data_asset_ids=[cards.id],
    )
    lifecycle.key_create(
        actor=SYSTEM,
        alias=f"cf-prompts{tag}",
        purpose="prompt store",
        ai_category="prompt_store",
        parent_id=kek.id,
        system_ids=[assistant.id],
        data_asset_ids=[prompts.id],
    )
    job = Principal.for_rewrap_job("scenario-app")
    sealed = gate.gate_encrypt(
        key_id=kek.id, items=[gate.EncryptItem(f"data key {i}".encode()) for i in range(12)], principal=job
    )
    wrapped_items_register(
        key_id=kek.id, items=[ItemToRegister(f"dek-{i}", blob, data_asset_id=cards.id) for i, blob in enumerate(sealed)]
    )
    return kek, cards


def _approve(request_id: str, deciders: list[tuple[User, SoftAuthenticator]]) -> None:
    request = ApprovalRequest.objects.get(id=request_id)
    for person, authenticator in deciders:
        decide(person, request, authenticator=authenticator, reason="the evidence holds")


def run_case(people: dict[str, User], authenticators: dict[str, SoftAuthenticator], *, tag: str = "") -> Incident:
    """Signal → contained → confirmed → restricted → rewrapped → hooks → closed (keys kept decrypt-only)."""
    kek, _ = _estate(tag)
    event = parse(
        {
            "specversion": "1.0",
            "id": f"leak-{tag or 'one'}",
            "source": "https://scanner.example/secrets",
            "type": "com.example.secret.leaked",
            "data": {"keys": [{"alias": kek.alias}], "severity": "high", "evidence": {"repo": "acme/app"}},
        }
    )
    result = signal_receive(event=event, via="api", actor=SYSTEM, commander=people["commander"])
    reference = result.incident.reference
    playbook.incident_contain(reference=reference)
    spec = playbook.incident_open_approval(
        reference=reference,
        action=policies.CONFIRM_COMPROMISE,
        round_number=1,
        keys=[str(kek.id)],
        disposition="",
        step="confirm",
    )
    _approve(
        spec.request_id,
        [
            (people["security_lead"], authenticators["security_lead"]),
            (people["key_custodian"], authenticators["key_custodian"]),
        ],
    )
    playbook.incident_set_step(reference=reference, step="restrict")
    for key_id in [str(k) for k in result.incident.incident_keys.values_list("key_id", flat=True)]:
        playbook.key_mark_compromised(reference=reference, key_id=key_id)
        playbook.key_restrict_verify(reference=reference, key_id=key_id)
    playbook.incident_set_step(reference=reference, step="rewrap")
    for row in playbook.incident_rewrap_plan(reference=reference):
        after = 0
        while True:
            count, after = playbook.rewrap_batch(
                reference=reference, key_id=row.key, replacement_id=row.replacement, after_id=after, batch_size=5
            )
            if not count:
                break
    incident = incident_get(reference)
    for step in ("notify", "regulatory"):
        playbook.incident_set_step(reference=reference, step=step)
        step_hooks_run(incident=incident, step=step)
    playbook.incident_set_step(reference=reference, step="close")
    incident.resolution = "compromise"
    incident.save(update_fields=["resolution"])
    # What is still open (no review, parties not acknowledged, obligations not filed) is waived, with reasons.
    open_checks = {item.check for item in closure_open_items(incident)}
    incident_advance(
        reference=reference,
        action="request_close",
        choice="keep_decrypt_only",
        actor=Actor.for_user(people["commander"]),
        waivers={check: f"scenario: {check} left open on purpose" for check in open_checks},
    )
    spec = playbook.incident_open_approval(
        reference=reference,
        action=policies.CLOSE_INCIDENT,
        round_number=1,
        keys=[str(kek.id)],
        disposition="keep_decrypt_only",
    )
    _approve(
        spec.request_id,
        [(people["ciso"], authenticators["ciso"]), (people["legal_dpo"], authenticators["legal_dpo"])],
    )
    playbook.incident_close(reference=reference, resolution="compromise", disposition="keep_decrypt_only")
    return incident_get(reference)


def add_controlled_uses(incident: Incident, count: int) -> None:
    """``count`` more decrypt-only uses of the incident's KEK, as a forensic job records them."""
    key = incident.incident_keys.filter(via="signal").values_list("key_id", flat=True).first()
    actor = Actor(name="forensics-job", type="service")
    drafts = [
        EventDraft(
            action="key.decrypt",
            subject_type="key",
            subject_id=key,
            reason=f"forensic review of leaked-window record {i}",
            incident=incident.reference,
            affected_system="forensics-workbench",
            data={"state": "compromised", "purpose": "forensics", "ciphertext": f"{i:064x}"[:32]},
        )
        for i in range(count)
    ]
    for start in range(0, count, 5000):
        audit_record_many(actor=actor, drafts=drafts[start : start + 5000])
