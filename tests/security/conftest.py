"""Personas with authenticators and a compromised key, shared from the approvals tests."""

from tests.approvals.conftest import authenticators, compromised_key, people

__all__ = ["authenticators", "compromised_key", "people"]
