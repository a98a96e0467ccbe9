"""The attacks of issue 11, replayed through the API: personas, a detector, approvers with authenticators,
service accounts with their own tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.approvals.conftest import authenticators, compromised_key, people  # noqa: F401 - shared fixtures
from webapp import roles
from webapp.services.api_tokens import api_token_issue


@pytest.fixture
def client_as(make_user: Callable[..., User]) -> Callable[..., APIClient]:
    """An API client signed in as a new person holding ``roles`` (one person per call)."""
    made: dict[str, int] = {}

    def client(*role_slugs: str) -> APIClient:
        name = "-".join(role_slugs) or "nobody"
        made[name] = made.get(name, 0) + 1
        client = APIClient()
        client.force_authenticate(make_user(f"sec-{name}-{made[name]}", *role_slugs))
        return client

    return client


@pytest.fixture
def application(db: None) -> APIClient:
    """A service account holding ciphertext (use_key_gate), outside incident response, by its API token."""
    secret = api_token_issue(service_account="billing-app", name="security tests", valid_days=1).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def custodian(client_as: Callable[..., APIClient]) -> APIClient:
    return client_as(roles.KEY_CUSTODIAN)


@pytest.fixture
def commander(client_as: Callable[..., APIClient]) -> APIClient:
    return client_as(roles.COMMANDER)


@pytest.fixture
def token_client() -> Callable[[str], APIClient]:
    """An API client authenticated as a new service account with its own bearer token."""

    def make(service_account: str) -> APIClient:
        client = APIClient()
        secret = api_token_issue(service_account=service_account, name="tests", valid_days=1).secret
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make


@pytest.fixture
def person_client(make_user: Callable[..., User]) -> Callable[..., APIClient]:
    def make(username: str, *role_slugs: str) -> APIClient:
        client = APIClient()
        client.force_login(make_user(username, *role_slugs))
        return client

    return make
