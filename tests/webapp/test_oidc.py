"""Sign-in with the organisation's identity provider, against a real OpenID provider (the oidc-provider
npm package under node, started here): the code flow with PKCE, the ID token verified (signature,
issuer, audience, expiry), groups mapped to roles at every sign-in, refusals shown and audited."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from approvals import policies
from approvals.errors import StepUpRequired
from approvals.models import ApprovalRequest, FactorChange
from approvals.services import factors
from audit.actors import Actor
from audit.models import AuditEvent
from tests.approvals.conftest import open_request, suspended_key
from tests.conftest import PASSWORD
from tests.oidc_provider import OpenIdProvider, openid_provider, provider_sign_in
from webapp import roles
from webapp.models import ExternalIdentity
from webapp.oidc import backend as oidc_backend

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

REDIRECT_URI = "http://testserver/oidc/callback/"
BACK_AFTER_SIGN_OUT = "http://testserver/login/"


@pytest.fixture(scope="module")
def provider_process() -> Iterator[OpenIdProvider]:
    with openid_provider(REDIRECT_URI, post_logout_uri=BACK_AFTER_SIGN_OUT) as provider:
        yield provider


@pytest.fixture
def provider(provider_process: OpenIdProvider, settings) -> OpenIdProvider:
    settings.SEQUESTER_OIDC = provider_process.config()
    return provider_process


def sign_in_with_provider(login: str, client: Client | None = None):
    """A person's whole way: Sequester's button, the provider's login form, back to the callback."""
    client = client or Client()
    start = client.get("/oidc/start/")
    assert start.status_code == 302
    authorization = start["Location"]
    query = dict(part.split("=", 1) for part in urlsplit(authorization).query.split("&"))
    assert query["code_challenge_method"] == "S256"
    assert query["nonce"]
    back = provider_sign_in(authorization, login, REDIRECT_URI, requests.Session())
    parts = urlsplit(back)
    return client, client.get(f"{parts.path}?{parts.query}")


def role_names(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_first_sign_in_creates_the_user_with_the_mapped_roles(provider):
    provider.person("alice", "ir-commanders", "audit", "some-other-group", given_name="Alice")
    client, response = sign_in_with_provider("alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Signed in as <strong>alice</strong>" in home.content.decode()

    alice = User.objects.get(username="alice")
    assert role_names(alice) == {roles.COMMANDER, roles.AUDITOR}
    assert not alice.has_usable_password()  # she signs in at the provider, never with a password here
    assert (alice.email, alice.first_name) == ("alice@example.org", "Alice")
    identity = ExternalIdentity.objects.get(user=alice)
    assert (identity.issuer, identity.subject) == (provider.issuer, "alice")
    assert identity.groups == ["ir-commanders", "audit", "some-other-group"]
    events = {e.action: e for e in AuditEvent.objects.filter(subject_id="alice")}
    assert events["auth.signed_in"].data == {"via": "oidc"}
    assert events["auth.account_created"].data["via"] == "oidc"
    assert events["auth.roles_changed"].data["after"] == [roles.AUDITOR, roles.COMMANDER]


def test_a_group_change_updates_the_roles_at_the_next_sign_in(provider):
    provider.person("bob", "sec-leads")
    sign_in_with_provider("bob")
    assert role_names(User.objects.get(username="bob")) == {roles.SECURITY_LEAD}

    provider.person("bob", "keyholders", "legal")  # moved at the provider
    client, response = sign_in_with_provider("bob")
    assert response.status_code == 302
    bob = User.objects.get(username="bob")
    assert role_names(bob) == {roles.KEY_CUSTODIAN, roles.LEGAL_DPO}
    assert User.objects.filter(username="bob").count() == 1  # the same person, not a second account
    change = AuditEvent.objects.filter(action="auth.roles_changed", subject_id="bob").order_by("seq").last()
    assert change is not None
    assert (change.data["before"], change.data["after"]) == (
        [roles.SECURITY_LEAD],
        [roles.KEY_CUSTODIAN, roles.LEGAL_DPO],
    )
    assert client.get("/regulatory/due/").status_code == 200  # legal's page, with the role just given


def test_no_mapped_group_gets_no_role_and_is_refused_politely(provider):
    provider.person("carol", "marketing")
    client, response = sign_in_with_provider("carol")
    assert response.status_code == 403
    page = response.content.decode()
    assert "none of your groups at your identity provider gives a role in Sequester" in page
    assert "no_role" in page
    assert not User.objects.filter(username="carol").exists()  # no account for someone with no role
    assert client.get("/").status_code == 302  # not signed in
    refusal = AuditEvent.objects.get(action="auth.sign_in_failed", subject_id="carol")
    assert refusal.data == {"via": "oidc", "code": "no_role", "groups": ["marketing"]}


def test_losing_every_mapped_group_removes_the_roles_and_refuses(provider):
    provider.person("dave", "ir-commanders")
    sign_in_with_provider("dave")
    provider.person("dave", "left-the-team")
    _client, response = sign_in_with_provider("dave")
    assert response.status_code == 403
    assert role_names(User.objects.get(username="dave")) == set()
    assert AuditEvent.objects.filter(action="auth.roles_changed", subject_id="dave").count() == 2


def test_a_local_account_is_never_taken_over(provider, make_user):
    make_user("erin", roles.CISO)  # the break-glass account
    provider.person("erin", "ir-commanders")
    _client, response = sign_in_with_provider("erin")
    assert response.status_code == 403
    assert "already used by another Sequester account" in response.content.decode()
    erin = User.objects.get(username="erin")
    assert role_names(erin) == {roles.CISO}
    assert erin.has_usable_password()
    assert not ExternalIdentity.objects.exists()
    # and the local account still signs in with its password (break-glass)
    local = Client()
    assert local.post("/login/", {"username": "erin", "password": PASSWORD}).status_code == 302
    signed_in = AuditEvent.objects.filter(action="auth.signed_in", subject_id="erin").get()
    assert signed_in.data == {"via": "password"}


def _tamper(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_id_token_is_refused(provider, monkeypatch):
    provider.person("frank", "audit")
    real_get_token = oidc_backend.OidcBackend.get_token

    def tampered_in_transit(self, payload):
        answer = real_get_token(self, payload)  # the provider's real answer
        answer["id_token"] = _tamper(answer["id_token"], groups=["audit", "sec-leads"])
        return answer

    monkeypatch.setattr(oidc_backend.OidcBackend, "get_token", tampered_in_transit)
    _client, response = sign_in_with_provider("frank")
    assert response.status_code == 403
    assert "could not be verified" in response.content.decode()
    assert not User.objects.filter(username="frank").exists()
    refusal = AuditEvent.objects.get(action="auth.sign_in_failed", data__code="token_invalid")
    assert refusal.data["detail"] == "InvalidSignatureError"


def test_a_token_for_another_client_is_refused(provider, settings):
    provider.person("gina", "audit")
    settings.SEQUESTER_OIDC = provider.config(client_id="sequester-tests", issuer="http://127.0.0.1:1")
    _client, response = sign_in_with_provider("gina")  # the issuer does not match
    assert response.status_code == 403
    assert AuditEvent.objects.get(action="auth.sign_in_failed").data["detail"] == "InvalidIssuerError"


def test_an_expired_id_token_is_refused(settings):
    # A provider whose clock runs 10 minutes behind, issuing 60-second ID tokens: genuinely expired on arrival.
    with openid_provider(REDIRECT_URI, CLOCK_OFFSET_SECONDS="-600", ID_TOKEN_TTL="60") as late:
        settings.SEQUESTER_OIDC = late.config()
        late.person("hank", "audit")
        _client, response = sign_in_with_provider("hank")
    assert response.status_code == 403
    assert "had expired" in response.content.decode()
    assert not User.objects.filter(username="hank").exists()
    assert AuditEvent.objects.get(action="auth.sign_in_failed").data["code"] == "token_expired"


def test_an_oidc_session_must_still_step_up_to_decide(provider, make_user):
    provider.person("ivy", "sec-leads")
    client, _ = sign_in_with_provider("ivy")
    commander = make_user("cmdr", roles.COMMANDER)
    request = open_request(policies.CONFIRM_COMPROMISE, commander, {"keys": [str(suspended_key().id)]})
    challenge = client.post(
        f"/api/v1/approvals/{request.id}/challenge",
        {"decision": "approve", "reason": "seen", "role": ""},
        content_type="application/json",
    )
    assert challenge.status_code == 200, challenge.content
    decided = client.post(
        f"/api/v1/approvals/{request.id}/decide",
        {"challenge_id": challenge.json()["challenge_id"]},
        content_type="application/json",
    )
    assert decided.status_code in (401, 403)
    assert decided.json()["code"] in ("step_up_required", "factor_required")
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_sign_out_is_audited_and_ends_the_provider_session(provider):
    provider.person("jo", "audit")
    client, _ = sign_in_with_provider("jo")
    response = client.post("/logout/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{provider.issuer}/session/end?")
    assert "id_token_hint=" in location
    assert "post_logout_redirect_uri=" in location
    assert client.get("/").status_code == 302
    signed_out = AuditEvent.objects.get(action="auth.signed_out", subject_id="jo")
    assert signed_out.data == {"via": "oidc"}
    # the provider accepts the hint (it shows its sign-out confirmation, no error)
    assert requests.get(location, timeout=10).status_code == 200


def test_the_sign_in_page_offers_the_provider_and_the_local_form(provider):
    page = Client().get("/login/").content.decode()
    assert "Sign in with Example Corp sign-in" in page
    assert 'id="id_password"' in page  # break-glass


def test_without_configuration_the_routes_are_absent(settings):
    settings.SEQUESTER_OIDC = None
    assert Client().get("/oidc/start/").status_code == 404
    assert Client().get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in Client().get("/login/").content.decode()


def test_a_fresh_sign_in_at_the_provider_proves_the_first_factor(provider):
    """No password here: the first step-up factor's enrolment is proven by signing in again at the
    provider (prompt=login, max_age=0), once, within 5 minutes."""
    provider.person("kim", "sec-leads")
    client, _ = sign_in_with_provider("kim")
    kim = User.objects.get(username="kim")
    assert 'id="reauthenticate"' in client.get("/account/security/").content.decode()
    refused = client.post("/account/security/", {"step": "prove-identity-provider"}, follow=True)
    assert "sign in again at your identity provider first" in refused.content.decode()

    start = client.get("/oidc/start/?reauth=1&next=/account/security/")
    assert "prompt=login" in start["Location"]
    assert "max_age=0" in start["Location"]
    back = urlsplit(provider_sign_in(start["Location"], "kim", REDIRECT_URI, requests.Session()))
    returned = client.get(f"{back.path}?{back.query}")
    assert returned["Location"] == "/account/security/"
    assert 'id="confirm-identity-provider"' in client.get("/account/security/").content.decode()
    proven = client.post("/account/security/", {"step": "prove-identity-provider"}, follow=True)
    assert "Confirmed: you may now add or replace a factor" in proven.content.decode()
    change = FactorChange.objects.get(user=kim, proven_at__isnull=False)
    assert change.proof == "provider"
    again = client.post("/account/security/", {"step": "prove-identity-provider"}, follow=True)
    assert "sign in again at your identity provider first" in again.content.decode()  # used once
    assert FactorChange.objects.filter(user=kim, proven_at__isnull=False).count() == 1


def test_a_stale_sign_in_at_the_provider_proves_nothing(make_user):
    person = User.objects.create_user("lee")  # no usable password: signs in at the provider only
    begun, _ = factors.factor_change_begin(user=person)
    with pytest.raises(StepUpRequired):
        factors.factor_change_prove(
            change_id=begun.id,
            user=person,
            actor=Actor(name="lee", type="user"),
            reauthenticated_at=timezone.now() - timedelta(seconds=factors.REAUTHENTICATION_SECONDS + 1),
        )
    local = make_user("local-lee")  # a local account: its password, never a provider's sign-in
    begun, _ = factors.factor_change_begin(user=local)
    with pytest.raises(StepUpRequired):
        factors.factor_change_prove(
            change_id=begun.id,
            user=local,
            actor=Actor(name="local-lee", type="user"),
            reauthenticated_at=timezone.now(),
        )
