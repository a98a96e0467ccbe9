"""The gate's request path on PostgreSQL: one encrypt is two statements (the token with its user's
permissions; the key's state under a share lock), and neither is ever answered from a cache."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from rest_framework.test import APIClient

from keyvault.services import lifecycle
from keyvault.states import KeyState
from tests.keyvault.conftest import SYSTEM, make_key
from webapp import roles
from webapp.services.api_tokens import api_token_issue

pytestmark = [
    pytest.mark.django_db(transaction=True),  # autocommit, as a served request runs
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement paths are PostgreSQL's"),
]
BODY = {"plaintext_b64": base64.b64encode(b"x" * 1024).decode()}


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement sent through Django (a request resets ``connection.queries``; this does not)."""
    sent: list[str] = []

    def record(execute: Callable[..., object], sql: str, params: object, many: bool, context: object) -> object:
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


@pytest.fixture
def app_client() -> tuple[APIClient, User]:
    issued = api_token_issue(service_account="payments-app", name="tests", valid_days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client, issued.token.user


def test_one_encrypt_is_two_statements(app_client):
    client, _ = app_client
    key, _ = make_key("local", KeyState.ACTIVE)
    url = f"/api/v1/keys/{key.id}/encrypt"
    assert client.post(url, BODY, format="json").status_code == 200  # this process learns the key's version
    with statements() as sent:
        response = client.post(url, BODY, format="json")
    assert response.status_code == 200, response.json()
    assert len(sent) == 2, sent
    assert "webapp_apitoken" in sent[0]
    assert "auth_permission" in sent[0]
    assert "keyvault_managedkey" in sent[1]
    assert "FOR SHARE" in sent[1]


def test_a_suspension_is_seen_by_the_next_request(app_client):
    client, _ = app_client
    key, _ = make_key("local", KeyState.ACTIVE)
    url = f"/api/v1/keys/{key.id}/encrypt"
    assert client.post(url, BODY, format="json").status_code == 200
    assert client.post(url, BODY, format="json").status_code == 200  # the one-statement path
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="leak")
    refused = client.post(url, BODY, format="json")
    assert refused.status_code in (404, 409), refused.json()


def test_a_permission_taken_away_is_seen_by_the_next_request(app_client):
    client, user = app_client
    key, _ = make_key("local", KeyState.ACTIVE)
    url = f"/api/v1/keys/{key.id}/encrypt"
    assert client.post(url, BODY, format="json").status_code == 200
    user.groups.remove(Group.objects.get(name=roles.SERVICE_ACCOUNT))
    assert client.post(url, BODY, format="json").status_code == 403


def test_the_permissions_read_with_the_token_are_djangos(app_client, make_user):
    """The one-statement read gives ``has_perm`` exactly what ModelBackend would have read."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Permission

    from webapp.services.api_tokens import api_token_authenticate

    _, user = app_client
    user.user_permissions.add(Permission.objects.get(codename="view_audit"))
    issued = api_token_issue(service_account="payments-app", name="second", valid_days=1)
    token = api_token_authenticate(presented=issued.secret)
    expected = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
    assert vars(token.user)["_perm_cache"] == expected
    assert {"webapp.use_key_gate", "webapp.view_audit"} <= expected


def test_a_rewrap_between_active_keys_is_one_read_and_one_check(custodian):
    from keyvault.services import gate
    from keyvault.usage import tally
    from tests.keyvault.conftest import AAD

    source, sealed = make_key("local", KeyState.ACTIVE, alias="source", app=custodian)
    target, _ = make_key("local", KeyState.ACTIVE, alias="target", app=custodian)
    tally.flush()
    before = _counts(source.id, target.id)
    items = [gate.DecryptItem(sealed, AAD)] * 3
    with statements() as sent:
        _, moved = gate.gate_rewrap(items=items, principal=custodian, target_key_id=target.id)
    assert len(sent) == 2, sent
    assert "FOR SHARE" not in sent[0]  # the sources: the last committed state, as a decrypt reads it
    assert "FOR SHARE" in sent[1]  # the target, checked after sealing
    assert gate.gate_decrypt(items=[gate.DecryptItem(m, AAD) for m in moved], principal=custodian)
    tally.flush()
    after = _counts(source.id, target.id)
    assert after[0] - before[0] == 3  # every use counted: three decrypted under the source
    assert after[1] - before[1] == 3  # and three encrypted under the target


def _counts(source_id, target_id) -> tuple[int, int]:
    from django.db.models import Sum

    from keyvault.models import KeyUsage

    decrypted = KeyUsage.objects.filter(key_id=source_id).aggregate(n=Sum("decrypt_count"))["n"] or 0
    encrypted = KeyUsage.objects.filter(key_id=target_id).aggregate(n=Sum("encrypt_count"))["n"] or 0
    return decrypted, encrypted
