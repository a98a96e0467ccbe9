"""End to end with the dev server, a real worker and the real database (PostgreSQL on CI):
signal → contained → confirmed → restricted → rewrapped → closed; Temporal down at signal time."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from incidents.models import Incident, RewrapProgress
from incidents.services import incidents as incident_services
from incidents.services.closure import closure_open_items
from ir_workflows.client import temporal_client
from ir_workflows.incident.types import IncidentResult
from ir_workflows.models import TemporalOutbox
from ir_workflows.outbox import DeliveryRetry, outbox_deliver
from keyvault.errors import KeyNotFound
from keyvault.models import ManagedKey, WrappedItem
from keyvault.services import gate, lifecycle
from keyvault.services.wrapped_items import ItemToRegister, wrapped_items_register
from keyvault.states import KeyState
from keyvault.types import Principal
from tests.approvals.conftest import actor, decide
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM
from tests.servers import free_port
from tests.temporal_helpers import RunningWorker, pump_until
from webapp import roles

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _estate(app: Principal, items: int) -> tuple[ManagedKey, ManagedKey, list[bytes]]:
    kek = lifecycle.key_create(actor=SYSTEM, alias="platform-kek", purpose="KEK")
    dek = lifecycle.key_create(actor=SYSTEM, alias="payments", purpose="DEK", parent_id=kek.id)
    data_keys = [uuid.uuid4().bytes * 2 for _ in range(items)]
    wrapped = gate.gate_encrypt(key_id=kek.id, items=[gate.EncryptItem(d) for d in data_keys], principal=app)
    wrapped_items_register(key_id=kek.id, items=[ItemToRegister(f"rec-{i}", w) for i, w in enumerate(wrapped)])
    return kek, dek, data_keys


def _approval(reference: str, action: str) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(incident=reference, action=action, status="pending").first()


@pytest.fixture
def stack(temporal_address):
    task_queue = f"playbook-{uuid.uuid4().hex[:8]}"
    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        yield temporal_address


def test_signal_to_closed_case(stack, people, authenticators, app, service_token):
    kek, dek, data_keys = _estate(app, items=120)
    detector = APIClient()
    detector.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")

    response = post_signal(detector, cloudevent({"alias": "platform-kek"}, title="KEK found in a public repo"))
    assert response.status_code == 202
    reference = response.json()["incident"]
    with pytest.raises(KeyNotFound):  # contained before the 202 (and segregated from the application)
        gate.gate_encrypt(key_id=dek.id, items=[gate.EncryptItem(b"x")], principal=app)

    pump_until(lambda: _approval(reference, "confirm_compromise") is not None, what="the confirmation request")
    confirm = _approval(reference, "confirm_compromise")
    assert confirm is not None
    decide(people[roles.SECURITY_LEAD], confirm, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(people[roles.KEY_CUSTODIAN], confirm, authenticator=authenticators[roles.KEY_CUSTODIAN])

    pump_until(lambda: Incident.objects.get(reference=reference).step == "close", timeout=120, what="the close step")
    for key in (kek, dek):
        key.refresh_from_db()
        assert key.key_state is KeyState.COMPROMISED
        assert key.restricted_at is not None
    assert kek.replaced_by_id is not None
    replacement = ManagedKey.objects.get(id=kek.replaced_by_id)
    assert replacement.key_state is KeyState.ACTIVE
    progress = RewrapProgress.objects.get(incident__reference=reference, key=kek)
    assert (progress.done, progress.total) == (120, 120)
    items = list(WrappedItem.objects.order_by("id"))
    assert {item.key_id for item in items} == {replacement.id}
    opened = gate.gate_decrypt(items=[gate.DecryptItem(bytes(i.ciphertext)) for i in items], principal=app)
    assert opened == data_keys  # the same data keys, now under the replacement

    incident = Incident.objects.get(reference=reference)
    incident_services.incident_advance(
        reference=reference,
        action="request_close",
        choice="keep_decrypt_only",
        actor=actor(people[roles.COMMANDER]),
        waivers={item.check: "end-to-end test: closed without it" for item in closure_open_items(incident)},
    )
    pump_until(lambda: _approval(reference, "close_incident") is not None, what="the close request")
    close = _approval(reference, "close_incident")
    assert close is not None
    decide(people[roles.SECURITY_LEAD], close, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(people[roles.LEGAL_DPO], close, authenticator=authenticators[roles.LEGAL_DPO])
    pump_until(lambda: Incident.objects.get(reference=reference).status == "closed", what="closure")

    result = asyncio.run(_result(stack, Incident.objects.get(reference=reference).workflow_id))
    assert (result.resolution, result.rewrapped) == ("compromise", 120)
    actions = set(AuditEvent.objects.filter(incident=reference).values_list("action", flat=True))
    assert {
        "incident.opened",
        "signal.received",
        "key.suspended",
        "approval.approved",
        "key.compromised",
        "key.restricted",
        "key.replaced",
        "key.rewrap_decrypt_batch",
        "incident.notify_hook",
        "incident.regulatory_hook",
        "incident.closed",
    } <= actions


def test_temporal_down_at_signal_time(temporal_address, people, app, service_token):
    key = lifecycle.key_create(actor=SYSTEM, alias="payments", purpose="p")
    detector = APIClient()
    detector.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    task_queue = f"playbook-{uuid.uuid4().hex[:8]}"
    with override_settings(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", TEMPORAL_TASK_QUEUE=task_queue):
        response = post_signal(detector, cloudevent({"id": str(key.id)}))
        assert response.status_code == 202  # the incident exists, containment holds
        with pytest.raises(KeyNotFound):  # refused, and segregated from the application
            gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(b"x")], principal=app)
        start = TemporalOutbox.objects.get(kind="start")
        with pytest.raises(DeliveryRetry):
            outbox_deliver(start.pk)
    reference = response.json()["incident"]
    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        pump_until(lambda: _approval(reference, "confirm_compromise") is not None, what="the late workflow start")
    assert Incident.objects.get(reference=reference).step == "confirm"


async def _result(address: str, workflow_id: str) -> IncidentResult:
    client = await temporal_client(address=address)
    result: IncidentResult = await client.get_workflow_handle(workflow_id, result_type=IncidentResult).result()
    return result
