"""A finished case to render, and the people behind it."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident
from tests.approvals.conftest import authenticators, people  # noqa: F401 - shared fixtures
from tests.casefile.scenario import run_case


@pytest.fixture
def closed_case(people: dict[str, Any], authenticators: dict[str, Any]) -> Incident:  # noqa: F811
    return run_case(people, authenticators)
