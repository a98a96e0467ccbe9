"""Security suite: each test replays an attack from issue 11 and checks the wanted behaviour."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from webapp.services.api_tokens import api_token_issue


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
