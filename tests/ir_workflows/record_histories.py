"""Record workflow histories for the replay test: ``python -m tests.ir_workflows.record_histories NAME``.

Run it against the code of a release before changing a workflow, and commit the JSON it writes under
tests/ir_workflows/histories/: the replay test then proves the new code still replays what the old
code wrote (changes must go through ``workflow.patched``).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

HERE = Path(__file__).parent / "histories"


async def record(name: str) -> None:
    import django

    django.setup()
    from ir_workflows.incident import types as t
    from ir_workflows.incident.workflows import (
        KeyCompromiseIncidentWorkflow,
        KeyRestrictionBatchWorkflow,
        KeyRestrictionWorkflow,
    )
    from tests.ir_workflows import test_incident_workflow as scenario
    from tests.servers import temporal_test_server_binary

    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server_binary())
    try:
        fakes = scenario.Fakes(rewrap_crashes=1)
        task_queue = f"record-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[KeyCompromiseIncidentWorkflow, KeyRestrictionBatchWorkflow, KeyRestrictionWorkflow],
            activities=fakes.activities(),
        ):
            handle = await env.client.start_workflow(
                KeyCompromiseIncidentWorkflow.run,
                t.IncidentInput(incident="INC-REPLAY", keys=scenario.KEYS, severity="critical"),
                id=f"replay-{name}",
                task_queue=task_queue,
            )
            await scenario._decide(handle, await scenario._pending(handle, "confirm_compromise"))
            await scenario._wait_step(handle, "close")
            await scenario._advance(handle, "request_close", "keep_decrypt_only")
            await scenario._decide(handle, await scenario._pending(handle, "close_incident"))
            await handle.result()
            history = await handle.fetch_history()
        HERE.mkdir(exist_ok=True)
        (HERE / f"{name}.json").write_text(history.to_json())
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1]))
