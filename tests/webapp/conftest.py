"""Fixtures the web tier's tests share with approvals (the people, one per role)."""

from tests.approvals.conftest import people  # noqa: F401 - a shared fixture
