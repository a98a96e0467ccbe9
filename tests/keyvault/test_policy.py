"""The one policy table (pure): who may call what, segregation, what each use of each state needs."""

from __future__ import annotations

import pytest

from keyvault.policy import SYSTEM, Caller, Operation, Verdict, hidden, manage_verdict, may_call, use_verdict
from keyvault.states import KeyState
from keyvault.types import caller_for_user
from webapp import roles

S = KeyState
Op = Operation
V = Verdict
APP = Caller(gate=True)  # a service account
RESPONDER = Caller(responder=True)  # a commander: incident response, no gate
CUSTODIAN = Caller(gate=True, responder=True, custody=True)
AUDITOR = Caller(audit=True)
JOB = Caller(job=True)


@pytest.mark.parametrize(
    ("caller", "operation", "expected"),
    [
        (APP, Op.ENCRYPT, True),
        (APP, Op.DECRYPT, True),
        (APP, Op.REGISTER_ITEMS, True),
        (APP, Op.ROTATE, False),
        (APP, Op.LIST_QUARANTINE, False),
        (RESPONDER, Op.ENCRYPT, False),
        (RESPONDER, Op.DECRYPT, True),
        (RESPONDER, Op.REWRAP, True),
        (RESPONDER, Op.SUSPEND, True),
        (CUSTODIAN, Op.ROTATE, True),
        (AUDITOR, Op.READ, True),
        (AUDITOR, Op.DECRYPT, False),
        (JOB, Op.REWRAP, True),
        (JOB, Op.CREATE, False),
        (Caller(), Op.READ, False),
    ],
)
def test_who_may_call_what(caller, operation, expected):
    assert may_call(caller, operation) is expected


def test_segregation_hides_quarantined_keys_outside_incident_response():
    for state in S:
        assert hidden(APP, state) is (state in (S.SUSPENDED, S.COMPROMISED))
        assert hidden(AUDITOR, state) is (state in (S.SUSPENDED, S.COMPROMISED))
        assert not hidden(RESPONDER, state)
        assert not hidden(JOB, state)


# Encrypt: an application never learns a quarantined key's state; an incident responder does.
@pytest.mark.parametrize(
    ("caller", "state", "expected"),
    [
        (APP, S.ACTIVE, V.ALLOW),
        (APP, S.PRE_ACTIVE, V.NOT_USABLE),
        (APP, S.DEACTIVATED, V.NOT_USABLE),
        (APP, S.SUSPENDED, V.NOT_FOUND),
        (APP, S.COMPROMISED, V.EXCEPTION),
        (APP, S.DESTROYED, V.DESTROYED),
        (CUSTODIAN, S.SUSPENDED, V.NOT_USABLE),
        (CUSTODIAN, S.COMPROMISED, V.EXCEPTION),
        (RESPONDER, S.ACTIVE, V.DENIED),
    ],
)
def test_encrypt(caller, state, expected):
    assert use_verdict(caller, Op.ENCRYPT, state) is expected


@pytest.mark.parametrize(
    ("caller", "state", "expected"),
    [
        (APP, S.ACTIVE, V.ALLOW),
        (APP, S.DEACTIVATED, V.ALLOW),
        (APP, S.SUSPENDED, V.LOGGED),  # availability: the application keeps decrypting, each use logged
        (APP, S.COMPROMISED, V.NOT_FOUND),
        (APP, S.PRE_ACTIVE, V.NOT_USABLE),
        (RESPONDER, S.ACTIVE, V.DENIED),
        (RESPONDER, S.SUSPENDED, V.CONTEXT),  # suspending a key is no way around stating why
        (RESPONDER, S.COMPROMISED, V.GRANT),
        (CUSTODIAN, S.SUSPENDED, V.CONTEXT),
        (JOB, S.SUSPENDED, V.LOGGED),
        (JOB, S.COMPROMISED, V.GRANT),
        (AUDITOR, S.ACTIVE, V.DENIED),
    ],
)
def test_decrypt(caller, state, expected):
    assert use_verdict(caller, Op.DECRYPT, state) is expected


def test_rewrap_encrypts_only_under_an_active_target_never_under_an_exception():
    assert use_verdict(RESPONDER, Op.REWRAP, S.ACTIVE) is V.ALLOW
    assert use_verdict(RESPONDER, Op.REWRAP, S.COMPROMISED) is V.NOT_USABLE
    assert use_verdict(APP, Op.REWRAP, S.COMPROMISED) is V.NOT_FOUND


def test_management_of_quarantined_keys():
    assert manage_verdict(APP, S.SUSPENDED) is V.NOT_FOUND
    assert manage_verdict(CUSTODIAN, S.SUSPENDED) is V.NOT_USABLE
    assert manage_verdict(CUSTODIAN, S.COMPROMISED) is V.NOT_USABLE
    assert manage_verdict(APP, S.ACTIVE) is V.ALLOW
    assert manage_verdict(SYSTEM, S.DESTROYED) is V.DESTROYED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (roles.SERVICE_ACCOUNT, Caller(gate=True)),
        (roles.COMMANDER, Caller(responder=True)),
        (roles.KEY_CUSTODIAN, Caller(gate=True, responder=True, custody=True)),
        (roles.AUDITOR, Caller(audit=True)),
        (roles.SECURITY_LEAD, Caller(responder=True, audit=True)),
        (roles.LEGAL_DPO, Caller()),
    ],
)
def test_roles_map_onto_callers(make_user, role, expected):
    assert caller_for_user(make_user(f"u-{role}", role)) == expected
