"""Every compromised key ends replaced or explicitly retired with a reason — AI keys included. On main the
demo's model-weights key (wrapped by the leaked KEK, no wrapped items registered) got no replacement and
nothing said so: the rewrap plan replaced only keys named by a signal or holding data."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse

from audit.actors import Actor
from audit.bundles import audit_bundle_write
from audit.models import AuditEvent
from incidents.cloudevents import parse
from incidents.services import playbook
from incidents.services.scopes import incident_audit_scope
from incidents.services.signals import signal_receive
from keyvault.errors import IllegalTransition, InvalidKeyRequest
from keyvault.models import ManagedKey
from keyvault.services import lifecycle
from keyvault.services.demo import demo_keys_seed

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def _demo_incident(commander):
    demo_keys_seed()
    event = parse(
        {
            "specversion": "1.0",
            "id": "demo-leak",
            "source": "https://scanner.example/secrets",
            "type": "com.example.secret.leaked",
            "data": {"keys": [{"alias": "platform-kek"}], "severity": "high"},
        }
    )
    reference = signal_receive(event=event, via="api", actor=SYSTEM, commander=commander).incident.reference
    playbook.incident_contain(reference=reference)
    kek = ManagedKey.objects.get(alias="platform-kek", replaced_by__isnull=True, state="suspended")
    lifecycle.key_compromise(key_id=kek.id, actor=SYSTEM, reason="confirmed", incident=reference)
    return reference


def _weights() -> ManagedKey:
    return ManagedKey.objects.filter(alias="model-weights").order_by("created_at")[0]


def test_the_model_weights_key_is_replaced_like_every_other_compromised_key(commander):
    reference = _demo_incident(commander)
    playbook.incident_rewrap_plan(reference=reference)
    weights = _weights()
    assert weights.state == "compromised"
    assert weights.ai_category == "model_weights"
    assert weights.replaced_by is not None  # on main: None, and nothing said so
    for alias in ("platform-kek", "payments", "prompt-store", "model-weights"):
        old = ManagedKey.objects.filter(alias=alias).order_by("created_at").first()
        assert old is not None
        assert old.replaced_by_id or old.retired_at, alias


def test_the_commander_retires_one_explicitly_with_a_reason_and_the_plan_respects_it(client, commander):
    reference = _demo_incident(commander)
    weights = _weights()
    client.force_login(commander)
    response = client.post(
        reverse("incident-action", args=[reference, "retire"]),
        {"key": str(weights.id), "reason": "the fine-tuned model is withdrawn and its weights deleted"},
    )
    assert response.status_code == 302
    weights.refresh_from_db()
    assert weights.retired_reason == "the fine-tuned model is withdrawn and its weights deleted"
    event = AuditEvent.objects.get(action="key.retired", subject_id=str(weights.id))
    assert event.incident == reference
    assert event.actor == commander.username
    playbook.incident_rewrap_plan(reference=reference)
    weights.refresh_from_db()
    assert weights.replaced_by is None  # retired, so not replaced
    assert ManagedKey.objects.filter(alias="model-weights").count() == 1
    with pytest.raises(IllegalTransition, match="retired without a replacement"):
        lifecycle.key_replace(key_id=weights.id, actor=SYSTEM, reason="after all")
    page = client.get(reverse("incident-page", args=[reference])).content.decode()
    assert "retired without one: the fine-tuned model is withdrawn" in page


def test_retirement_needs_a_reason_a_quarantined_key_and_no_stranded_data(commander):
    _demo_incident(commander)
    weights = _weights()
    with pytest.raises(InvalidKeyRequest, match="reason"):
        lifecycle.key_retire(key_id=weights.id, actor=SYSTEM, reason="  ")
    healthy = ManagedKey.objects.get(alias="log-archive")
    with pytest.raises(IllegalTransition, match="only a suspended, compromised"):
        lifecycle.key_retire(key_id=healthy.id, actor=SYSTEM, reason="no longer needed")
    from keyvault.models import WrappedItem

    WrappedItem.objects.create(key=weights, reference="w-1", ciphertext=b"x", aad=b"")
    with pytest.raises(IllegalTransition, match="1 wrapped item"):
        lifecycle.key_retire(key_id=weights.id, actor=SYSTEM, reason="model withdrawn")


def test_the_replacements_creation_events_belong_to_the_incident_and_travel_in_full(commander):
    reference = _demo_incident(commander)
    playbook.incident_rewrap_plan(reference=reference)
    replacements = [str(k) for k in ManagedKey.objects.filter(replaces__isnull=False).values_list("id", flat=True)]
    assert len(replacements) == 4
    out = io.StringIO()
    audit_bundle_write(out=out, scope=incident_audit_scope(reference), actor=SYSTEM)
    events = json.loads(out.getvalue())["events"]
    created = [e for e in events if not e.get("redacted") and e["action"] == "key.created"]
    assert {e["subject_id"] for e in created if e["incident"] == reference} == set(replacements)
    activated = [e for e in events if not e.get("redacted") and e["action"] == "key.active" and e["incident"]]
    assert {e["subject_id"] for e in activated} == set(replacements)
