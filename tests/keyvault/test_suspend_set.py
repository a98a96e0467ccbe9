"""Containment of a large hierarchy is set-based: statements per level, not per key; every key's
suspension is still its own event in a chain that verifies."""

from __future__ import annotations

from uuid import UUID

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.verification import audit_verify_database
from keyvault.models import ManagedKey
from keyvault.services import lifecycle
from keyvault.set_filters import AnyOf
from keyvault.states import KeyState
from tests.keyvault.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def _tree(tag: str, *, children: int, grandchildren: int) -> tuple[ManagedKey, list[UUID]]:
    """A KEK, ``children`` keys it wrapped and ``grandchildren`` under each of them (rows only: the
    suspension reads states and the hierarchy, nothing else)."""
    kek = lifecycle.key_create(actor=SYSTEM, alias=f"kek-{tag}", purpose="tests")
    level = ManagedKey.objects.bulk_create(
        ManagedKey(alias=f"{tag}-{i}", purpose="tests", parent=kek, state=KeyState.ACTIVE.value)
        for i in range(children)
    )
    below = ManagedKey.objects.bulk_create(
        ManagedKey(alias=f"{tag}-{i}-{j}", purpose="tests", parent=parent, state=KeyState.ACTIVE.value)
        for i, parent in enumerate(level)
        for j in range(grandchildren)
    )
    return kek, [k.id for k in level + below]


def _statements(kek: ManagedKey) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        lifecycle.key_suspend(key_ids=[kek.id], actor=SYSTEM, reason="KEK leaked", with_blast_radius=False)
    if connection.vendor == "postgresql":
        return [query["sql"][:30] for query in queries]
    # SQLite caps the parameters of a statement: the audit rows go in batches (COPY is PostgreSQL's).
    return [query["sql"][:30] for query in queries if "audit_auditevent" not in query["sql"][:40]]


def test_statements_do_not_grow_with_the_number_of_keys():
    # Both past the audit's COPY threshold (one statement either way), over the same three levels.
    small, _ = _tree("small", children=3, grandchildren=19)  # 61 keys
    large, _ = _tree("large", children=30, grandchildren=20)  # 631 keys
    assert _statements(large) == _statements(small)


def test_every_key_of_a_large_tree_has_its_own_event_in_a_chain_that_verifies():
    kek, below = _tree("t", children=10, grandchildren=9)  # 100 keys below: past the COPY threshold
    already = ManagedKey.objects.filter(id=below[0])
    already.update(state=KeyState.COMPROMISED.value)
    result = lifecycle.key_suspend(key_ids=[kek.id], actor=SYSTEM, reason="KEK leaked", incident="INC-9")
    assert set(result.suspended) == {kek.id, *below[1:]}
    assert result.already_restricted == [below[0]]
    assert set(result.key_ids) == {kek.id, *below}
    assert ManagedKey.objects.filter(id__in=below[1:], state=KeyState.SUSPENDED.value).count() == len(below) - 1
    events = AuditEvent.objects.filter(action="key.suspended", incident="INC-9")
    assert sorted(events.values_list("subject_id", flat=True)) == sorted(str(i) for i in result.suspended)
    cascaded = events.get(subject_id=str(below[-1]))
    assert cascaded.data == {
        "from": "active",
        "to": "suspended",
        "alias": ManagedKey.objects.get(id=below[-1]).alias,
        "cascade_from": [str(kek.id)],
    }
    assert "cascade_from" not in events.get(subject_id=str(kek.id)).data
    report = audit_verify_database()
    assert report.ok, report.problems[:3]


def test_any_of_filters_by_a_set_of_values():
    kek, below = _tree("any", children=3, grandchildren=0)
    picked = ManagedKey.objects.filter(AnyOf(F("id"), [below[0], below[2], below[0]]))
    assert sorted(picked.values_list("id", flat=True)) == sorted([below[0], below[2]])
    assert not ManagedKey.objects.filter(AnyOf(F("id"), [])).exists()
    assert ManagedKey.objects.filter(AnyOf(F("parent_id"), [kek.id])).count() == 3
