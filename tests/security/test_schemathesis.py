"""Schemathesis against the live OpenAPI schema, in-process (WSGI): every operation, generated inputs
(valid and invalid), as a service account (bearer token) and as a signed-in person holding every role
(session + CSRF). Zero server errors and zero response-conformance failures: each status returned is
declared on its operation, and each body matches its declared schema and content type."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import Group, User
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incidents.models import SignalSourceClaim
from webapp import roles
from webapp.services.api_tokens import api_token_issue
from webapp.wsgi import application

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 8


def _person_credentials() -> tuple[dict[str, str], dict[str, str]]:
    person = User.objects.create_user("schemathesis-person", password="x" * 20)
    person.groups.set(Group.objects.filter(name__in=[r.slug for r in roles.HUMAN_ROLES]))
    client = Client()
    client.force_login(person)
    csrf = _get_new_csrf_string()
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}
    # No Authorization header (the schema offers a bearer token; a person uses the session instead).
    return {"X-CSRFToken": csrf, "Authorization": ""}, cookies


def test_every_operation_conforms_and_never_fails():
    token = api_token_issue(service_account="schemathesis", name="fuzz", valid_days=1).secret
    SignalSourceClaim.objects.create(prefix="https://scanner.example", owner="principal:schemathesis")
    service = {"Authorization": f"Bearer {token}"}
    person_headers, person_cookies = _person_credentials()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=service)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 40

    failures: list[str] = []
    for operation in operations:
        for who, headers, cookies in (("service", service, {}), ("person", person_headers, person_cookies)):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures += _fuzz(operation, mode, who=who, headers=headers, cookies=cookies)
    assert failures == [], "\n".join(failures)


def _fuzz(
    operation: Any, mode: GenerationMode, *, who: str, headers: dict[str, str], cookies: dict[str, str]
) -> list[str]:
    """Run one operation's generated cases; the distinct failures, each with a sample body."""
    failures: dict[str, str] = {}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers, cookies=cookies)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseExceptionGroup as group:
            for failure in group.exceptions:
                title = str(failure).strip().splitlines()[0] if str(failure).strip() else "?"
                key = f"{operation.label} as {who}: {response.status_code} {title}"
                failures.setdefault(key, f"{key}\n    {response.text[:200]}")

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - an error generating or sending is a failure too
        failures[f"{operation.label} as {who}: error"] = (
            f"{operation.label} as {who}: {type(exc).__name__}: {exc!s:.300}"
        )
    return list(failures.values())
