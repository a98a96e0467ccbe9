"""Sign-in and sign-out for people; bearer tokens for machines; one JSON error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from tests.conftest import PASSWORD
from webapp.models import ApiToken
from webapp.services.api_tokens import api_token_issue

pytestmark = pytest.mark.django_db


def test_home_requires_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_then_out(client, commander):
    response = client.post(reverse("login"), {"username": "cmdr", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("api-me")).json()["username"] == "cmdr"
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("api-me")).status_code == 401
    trail = list(AuditEvent.objects.filter(subject_type="user").values_list("action", "actor", "source_ip"))
    assert trail == [("auth.signed_in", "cmdr", "127.0.0.1"), ("auth.signed_out", "cmdr", "127.0.0.1")]


def test_wrong_password_is_refused(client, commander):
    response = client.post(reverse("login"), {"username": "cmdr", "password": "wrong"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    failed = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert (failed.subject_id, failed.source_ip) == ("cmdr", "127.0.0.1")
    assert "wrong" not in str(failed.data)  # the password is never written


def test_session_api_writes_need_csrf(commander):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(commander)
    response = strict.post(reverse("logout"))
    assert response.status_code == 403


def test_bearer_token_authenticates_a_service_account(api_client, service_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    body = api_client.get(reverse("api-me")).json()
    assert body["username"] == "test-detector"
    assert body["roles"] == ["service_account"]
    assert body["authenticated_by"] == "token"
    assert "webapp.use_key_gate" in body["permissions"]


@pytest.mark.parametrize(
    "header",
    ["Bearer sqr_nope_nope", "Bearer garbage", "Bearer", "Bearer a b", "Bearer sqr_"],
)
def test_bad_tokens_get_a_clear_401(api_client, service_token, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get(reverse("api-me"))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_secret_is_refused(api_client, service_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token[:-2]}xx")
    assert api_client.get(reverse("api-me")).status_code == 401


def test_expired_and_revoked_tokens_are_refused(api_client, service_token):
    token = ApiToken.objects.get()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_client.get(reverse("api-me")).status_code == 401
    ApiToken.objects.update(expires_at=timezone.now() + timedelta(days=1))
    assert api_client.get(reverse("api-me")).status_code == 200
    call_command("revoke_token", token.prefix)
    assert api_client.get(reverse("api-me")).status_code == 401


def test_only_a_digest_is_stored(service_token):
    token = ApiToken.objects.get()
    secret_part = service_token.rsplit("_", 1)[1]
    assert secret_part not in token.digest
    assert len(token.digest) == 64


def test_issue_token_command_prints_the_token_once(capsys):
    call_command("issue_token", "siem-detector", "--days", "30")
    out = capsys.readouterr().out.strip()
    assert out.startswith("sqr_")
    assert ApiToken.objects.get().user.username == "siem-detector"


def test_a_token_is_never_issued_to_a_person(commander):
    from webapp.errors import DomainError

    with pytest.raises(DomainError, match="person's account"):
        api_token_issue(service_account="cmdr", name="x", valid_days=1)


def test_unauthenticated_api_gets_json_error(api_client):
    response = api_client.get(reverse("api-me"))
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "detail": "Authentication credentials were not provided."}
