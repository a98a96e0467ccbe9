"""The scenario the case-file tests render is a real, complete case."""

from __future__ import annotations

import pytest

from approvals.models import ApprovalRequest
from audit.verification import audit_verify_database
from incidents.models import Incident

pytestmark = pytest.mark.django_db


def test_the_case_ran_from_signal_to_closure(closed_case):
    assert closed_case.status == Incident.Status.CLOSED
    assert closed_case.resolution == "compromise"
    states = set(closed_case.incident_keys.values_list("key__state", flat=True))
    assert states == {"compromised"}
    assert closed_case.blast_radius["record_count"] == 125_000
    assert set(ApprovalRequest.objects.filter(incident=closed_case.reference).values_list("action", "status")) == {
        ("confirm_compromise", "approved"),
        ("close_incident", "approved"),
    }
    assert closed_case.rewraps.get().done == 12
    assert audit_verify_database().ok
