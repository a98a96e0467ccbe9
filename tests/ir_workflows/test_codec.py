"""Temporal payloads are encrypted before they leave the process; the codec server decodes them for
incident responders only."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from ir_workflows.client import payload_codec, temporal_client
from ir_workflows.codec import ENCODING, EncryptionCodec, PayloadDecryptionError
from ir_workflows.smoke.types import StackProbeInput
from ir_workflows.smoke.workflows import StackProbeWorkflow
from ir_workflows.worker import activity_executor, build_worker
from webapp import roles


async def test_round_trip_rotation_and_tampering():
    old = EncryptionCodec([("k1", bytes(32))])
    new = EncryptionCodec([("k2", bytes(range(32))), ("k1", bytes(32))])
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'{"incident": "INC-1"}')
    (sealed,) = await old.encode([clear])
    assert sealed.metadata["encoding"] == ENCODING
    assert b"INC-1" not in sealed.data
    assert await new.decode([sealed]) == [clear]  # rotated: the old key still decrypts
    (resealed,) = await new.encode([clear])
    assert resealed.metadata["encryption-key-id"] == b"k2"
    with pytest.raises(PayloadDecryptionError, match="unknown payload key id"):
        await old.decode([resealed])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(PayloadDecryptionError, match="authentication"):
        await old.decode([tampered])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_the_server_only_ever_sees_ciphertext(temporal_address):
    probe_id = f"secret-{uuid.uuid4().hex}"
    workflow_id = f"codec-{uuid.uuid4().hex}"  # ids are metadata, never encrypted: keep secrets out of them
    client = await temporal_client(address=temporal_address)
    task_queue = f"codec-{uuid.uuid4().hex[:8]}"
    with activity_executor(2) as executor:
        async with build_worker(client, task_queue=task_queue, executor=executor):
            await client.execute_workflow(
                StackProbeWorkflow.run, StackProbeInput(probe_id=probe_id), id=workflow_id, task_queue=task_queue
            )
    raw = await Client.connect(temporal_address)  # no codec: what the server and its UI hold
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    assert probe_id not in history.to_json()
    started = history.events[0].workflow_execution_started_event_attributes
    assert all(p.metadata["encoding"] == ENCODING for p in started.input.payloads)


def _payload_json(payloads):
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


@pytest.mark.django_db
def test_codec_endpoint_is_for_responders(client, make_user):
    import asyncio

    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"INC-7"')
    sealed = asyncio.run(payload_codec().encode([clear]))
    body = json.dumps(_payload_json(sealed))
    client.force_login(make_user("codec-commander", roles.COMMANDER))
    response = client.post("/api/temporal-codec/decode", body, content_type="application/json")
    assert response.status_code == 200
    assert base64.b64decode(response.json()["payloads"][0]["data"]) == b'"INC-7"'
    client.force_login(make_user("codec-outsider"))
    assert client.post("/api/temporal-codec/decode", body, content_type="application/json").status_code == 403
    assert client.post("/api/temporal-codec/decode", "nope", content_type="application/json").status_code == 403
