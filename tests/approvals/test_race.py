"""On PostgreSQL two final approvals arriving at once give exactly one transition."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals import policies
from approvals.errors import RequestClosed
from approvals.models import ApprovalRequest, Decision
from approvals.services import decisions
from audit.models import AuditEvent
from tests.approvals.conftest import actor, decide, open_request, register, suspended_key
from webapp import roles

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; CI runs it"),
]


def test_two_final_approvals_at_once(people, authenticators, make_user):
    custodian2 = make_user("p-key_custodian-2", roles.KEY_CUSTODIAN)
    authenticators["custodian2"] = register(custodian2)
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])

    finalists = [
        (people[roles.KEY_CUSTODIAN], authenticators[roles.KEY_CUSTODIAN]),
        (custodian2, authenticators["custodian2"]),
    ]
    prepared = []
    for user, authenticator in finalists:
        challenge, options = decisions.decision_challenge_issue(
            request_id=request.id, approver=user, verdict="approve", reason=""
        )
        prepared.append((user, challenge.id, authenticator.sign(options)))

    barrier = threading.Barrier(len(prepared))
    outcomes: list[object] = []

    def final(user, challenge_id, assertion):
        try:
            barrier.wait(10)
            outcomes.append(
                decisions.approval_decide(
                    challenge_id=challenge_id, approver=user, actor=actor(user), webauthn=assertion
                )
            )
        except RequestClosed as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=final, args=args) for args in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(type(o).__name__ for o in outcomes) == ["Decision", "RequestClosed"]
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"
    assert AuditEvent.objects.filter(action="approval.approved").count() == 1
    assert Decision.objects.filter(request=request).count() == 2  # the lead's and exactly one custodian's
