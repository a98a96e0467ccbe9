"""Hole 2: a squatted event id swallowed a real leak. Deduplication is per authenticated sender, a sender
names only the sources it owns, and a duplicate naming keys not yet contained still contains them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from audit.models import AuditEvent
from incidents.models import Incident, IncidentKey, Signal, SignalSourceClaim
from keyvault.backends.local import fingerprint_of
from keyvault.models import ManagedKey
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal, signed, signed_now, webhook_source
from tests.keyvault.conftest import make_key

pytestmark = pytest.mark.django_db


def _webhook_post(client: Client, name: str, secret: bytes, event: dict[str, Any]):
    body = json.dumps(event).encode()
    return client.post(
        f"/api/v1/webhooks/{name}",
        body,
        content_type="application/json",
        HTTP_X_SEQUESTER_SIGNATURE=signed_now(secret, body),
    )


def test_a_squatter_cannot_post_the_real_detectors_source_first(client, token_client):
    """The attack: another service account posts the detector's (source, id) naming a decoy; the
    detector's signed webhook then got ``200 duplicate`` and the leaked key kept encrypting."""
    secret = webhook_source("scanner", "generic")
    call_command("claim_signal_source", "https://scanner.example", webhook="scanner")
    decoy, _ = make_key("local", KeyState.ACTIVE, alias="decoy")
    leaked, _ = make_key("local", KeyState.ACTIVE, alias="leaked")
    mallory = token_client("mallory")

    squat = post_signal(mallory, cloudevent({"alias": "decoy"}, event_id="alert-4711"))
    assert (squat.status_code, squat.json()["code"]) == (403, "source_not_owned")
    real = _webhook_post(client, "scanner", secret, cloudevent({"alias": "leaked"}, event_id="alert-4711"))
    assert real.status_code == 202, real.json()
    assert real.json()["duplicate"] is False
    assert ManagedKey.objects.get(id=leaked.id).key_state is KeyState.SUSPENDED
    assert ManagedKey.objects.get(id=decoy.id).key_state is KeyState.ACTIVE
    assert list(Signal.objects.values_list("sender", flat=True)) == ["webhook:scanner"]


def test_the_same_event_id_from_another_sender_is_not_a_duplicate(client):
    """Two GitHub webhook sources own ``github:…`` alike (GitHub alert ids are predictable): one sender's
    alert never deduplicates another's."""
    mallory_secret = webhook_source("github-mallory", "github")
    real_secret = webhook_source("github", "github")
    decoy_material, leaked_material = bytes(range(32)), bytes(range(1, 33))
    decoy, _ = make_key("local", KeyState.ACTIVE, alias="decoy")
    leaked, _ = make_key("local", KeyState.ACTIVE, alias="leaked")
    decoy.versions.update(fingerprint=fingerprint_of(decoy_material))
    leaked.versions.update(fingerprint=fingerprint_of(leaked_material))

    def alert(material: bytes) -> bytes:
        return json.dumps(
            {
                "action": "created",
                "alert": {"number": 7, "secret": base64.b64encode(material).decode(), "secret_type": "aes"},
                "repository": {"full_name": "acme/app"},
            }
        ).encode()

    for name, secret, material in (
        ("github-mallory", mallory_secret, decoy_material),
        ("github", real_secret, leaked_material),
    ):
        body = alert(material)
        response = client.post(
            f"/api/v1/webhooks/{name}",
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signed(secret, body),
        )
        assert response.status_code == 202, response.json()
        assert response.json()["duplicate"] is False
    assert ManagedKey.objects.get(id=leaked.id).key_state is KeyState.SUSPENDED
    assert set(Signal.objects.values_list("sender", "event_id")) == {
        ("webhook:github-mallory", "acme/app/7"),
        ("webhook:github", "acme/app/7"),
    }


def test_a_duplicate_naming_keys_not_yet_contained_still_contains_them(token_client):
    SignalSourceClaim.objects.create(prefix="siem/prod", owner="principal:siem")
    siem = token_client("siem")
    make_key("local", KeyState.ACTIVE, alias="first")
    second_key, _ = make_key("local", KeyState.ACTIVE, alias="second")
    event = cloudevent({"alias": "first"}, event_id="evt-1")
    event["source"] = "siem/prod"
    first = post_signal(siem, event).json()

    event["data"]["keys"] = [{"alias": "first"}, {"alias": "second"}]
    again = post_signal(siem, event)
    assert again.status_code == 200
    assert (again.json()["duplicate"], again.json()["suspended"]) == (True, 1)
    assert again.json()["incident"] == first["incident"]
    assert ManagedKey.objects.get(id=second_key.id).key_state is KeyState.SUSPENDED
    assert IncidentKey.objects.filter(incident__reference=first["incident"], key=second_key).exists()
    (evidence,) = AuditEvent.objects.filter(action="signal.duplicate_contained")
    assert evidence.data["keys"] == [str(second_key.id)]
    assert Signal.objects.count() == 1

    quiet = post_signal(siem, event)  # nothing new this time: nothing changes
    assert (quiet.status_code, quiet.json()["suspended"]) == (200, 0)
    assert AuditEvent.objects.filter(action="signal.duplicate_contained").count() == 1


def test_a_replayed_signal_does_not_suspend_a_key_restored_since(token_client):
    """Replay safety of the rule above: the first incident held the key; a quorum restored it (false
    positive) and closed the incident; the same signal again is a duplicate that changes nothing."""
    SignalSourceClaim.objects.create(prefix="siem/prod", owner="principal:siem")
    siem = token_client("siem")
    key, _ = make_key("local", KeyState.ACTIVE, alias="restored")
    event = cloudevent({"alias": "restored"}, event_id="evt-9")
    event["source"] = "siem/prod"
    first = post_signal(siem, event).json()
    Incident.objects.filter(reference=first["incident"]).update(status="closed")
    ManagedKey.objects.filter(id=key.id).update(state=KeyState.ACTIVE, suspended_at=None)  # the restore path's end

    replay = post_signal(siem, event)
    assert (replay.status_code, replay.json()["duplicate"], replay.json()["suspended"]) == (200, True, 0)
    assert ManagedKey.objects.get(id=key.id).key_state is KeyState.ACTIVE


def test_sources_are_owned_by_construction_or_by_an_exclusive_claim(token_client):
    make_key("local", KeyState.ACTIVE, alias="a")
    siem = token_client("siem")
    own = cloudevent({"alias": "a"})
    own["source"] = "principal:siem/edr"
    assert post_signal(siem, own).status_code == 202
    other = cloudevent({"alias": "a"})
    other["source"] = "principal:someone-else/edr"
    assert post_signal(siem, other).json()["code"] == "source_not_owned"
    webhook_source("scanner", "generic")

    call_command("claim_signal_source", "https://scanner.example", webhook="scanner")
    call_command("claim_signal_source", "https://scanner.example/", webhook="scanner")  # same owner: fine
    for overlapping in ("https://scanner.example/prod", "https://scanner.example", "webhook:scanner", "github:acme"):
        with pytest.raises(CommandError):
            call_command("claim_signal_source", overlapping, principal="siem")
    call_command("claim_signal_source", "https://scanner.example.evil", principal="siem")  # not below it
    assert SignalSourceClaim.objects.get(prefix="https://scanner.example.evil").owner == "principal:siem"
    assert AuditEvent.objects.filter(action="signal.source_claimed").count() == 3
