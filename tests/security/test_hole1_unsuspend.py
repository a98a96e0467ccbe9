"""Hole 1: one custodian un-suspends a key.

The attack (issue 11): a key suspended by a signal inside an open incident; ``POST /keys/{id}/activate``
by one key custodian answered 200 and the key encrypted again at once; on a key also restricted on its
backend, a following ``rotate`` was enough. A retired key could be walked back to active the same way.
Wanted: activate takes only a pre-active key; suspended → active only through the restore path from an
approved ``restore_false_positive``; rotate, wrapped items and use as a parent refused (409
``key_quarantined``); deactivated never returns to active.
"""

from __future__ import annotations

import pytest

from approvals import policies
from keyvault.services import lifecycle
from tests.approvals.conftest import decide, open_request
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM
from tests.security.helpers import b64, create_key, encrypt, post, state_of
from webapp import roles

pytestmark = pytest.mark.django_db


def _suspended_by_a_signal(detector, custodian, application, alias="payments"):
    key = create_key(custodian, alias)
    assert encrypt(application, key["id"]).status_code == 200
    response = post_signal(detector, cloudevent({"id": key["id"]}, title="payments key in a paste"))
    assert response.status_code == 202, response.json()
    assert state_of(key["id"]) == "suspended"
    return key


def test_activate_does_not_unsuspend_a_key_suspended_by_a_signal(
    detector, custodian, application, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the backend restriction follows the commit
        key = _suspended_by_a_signal(detector, custodian, application)

    # The attack: one custodian activates it.
    response = post(custodian, f"/api/v1/keys/{key['id']}/activate", {"reason": "looks fine to me"})
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "illegal_key_transition"
    assert "only by restore" in response.json()["detail"]
    assert state_of(key["id"]) == "suspended"
    assert encrypt(application, key["id"]).status_code == 404  # still refused (and segregated)

    # On a key restricted on its backend, rotate was the second step: refused too.
    rotated = post(custodian, f"/api/v1/keys/{key['id']}/rotate", {"reason": "fresh material"})
    assert (rotated.status_code, rotated.json()["code"]) == (409, "key_quarantined")
    # Nor can a quarantined key take new wrapped items or wrap a new key.
    items = post(
        custodian,
        f"/api/v1/keys/{key['id']}/wrapped-items",
        {"items": [{"reference": "r1", "ciphertext_b64": b64(b"x" * 40)}]},
    )
    assert (items.status_code, items.json()["code"]) == (409, "key_quarantined")
    child = post(custodian, "/api/v1/keys/", {"alias": "child", "purpose": "p", "parent": key["id"]})
    assert (child.status_code, child.json()["code"]) == (409, "key_quarantined")
    # Retiring it would take it out of quarantine: refused as well.
    retired = post(custodian, f"/api/v1/keys/{key['id']}/deactivate", {"reason": "retire it"})
    assert retired.status_code == 409
    assert state_of(key["id"]) == "suspended"


def test_a_retired_key_is_not_walked_back_to_active(detector, custodian, commander, application):
    key = create_key(custodian, "archive")
    assert post(custodian, f"/api/v1/keys/{key['id']}/deactivate", {"reason": "retired"}).status_code == 200
    assert post(custodian, f"/api/v1/keys/{key['id']}/activate", {"reason": "back"}).status_code == 409
    # The walk of the attack: suspend the retired key (a signal or a responder), then activate it.
    assert post(commander, f"/api/v1/keys/{key['id']}/suspend", {"reason": "odd use"}).status_code == 200
    response = post(custodian, f"/api/v1/keys/{key['id']}/activate", {"reason": "back"})
    assert response.status_code == 409
    assert state_of(key["id"]) == "suspended"
    assert encrypt(application, key["id"]).status_code == 404


def test_only_an_approved_restore_brings_a_suspended_key_back(detector, custodian, application, people, authenticators):
    from keyvault.errors import RestoreNotApproved

    key = _suspended_by_a_signal(detector, custodian, application)
    with pytest.raises(RestoreNotApproved):  # no approval: the service itself refuses
        lifecycle.key_restore(key_id=key["id"], actor=SYSTEM, reason="trust me", approval="")
    request = open_request(policies.RESTORE_FALSE_POSITIVE, people[roles.COMMANDER], {"keys": [key["id"]]})
    with pytest.raises(RestoreNotApproved):  # a request is not an approval
        lifecycle.key_restore(key_id=key["id"], actor=SYSTEM, reason="asked", approval=str(request.id))
    other = create_key(custodian, "other")
    lifecycle.key_suspend(key_ids=[other["id"]], actor=SYSTEM, reason="leak")
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(people[roles.CISO], request, authenticator=authenticators[roles.CISO])  # the quorum restores it
    assert state_of(key["id"]) == "active"
    assert encrypt(application, key["id"]).status_code == 200
    with pytest.raises(RestoreNotApproved):  # an approval restores the keys it names, no other
        lifecycle.key_restore(key_id=other["id"], actor=SYSTEM, reason="same", approval=str(request.id))
    assert state_of(other["id"]) == "suspended"
