"""Failures in Temporal: trimmed to their cause, and their text encrypted by the payload codec. Nothing of
a database host, port or secret in an activity's error reaches the history in clear, and no failure is
near the server's size limit, while the workflow still reads the cause."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ir_workflows.client import data_converter
from ir_workflows.failures import CAUSE_DEPTH, ENCODED_MESSAGE, MESSAGE_CHARS

HOST, PORT, SECRET = "db-primary.internal.example", "5432", "hunter2-s3cret"


class OperationalError(Exception):
    pass


def _deep(level: int) -> None:
    if level:
        _deep(level - 1)
    raise OperationalError(
        f'connection to server at "{HOST}" (10.1.2.3), port {PORT} failed: FATAL: password authentication '
        f'failed for user "sequester" (password={SECRET})\n\tIs the server running on that host and accepting '
        "TCP/IP connections?\n" + "x" * 4000
    )


@activity.defn(name="failing_database_step")
async def failing_database_step() -> None:
    try:
        try:
            _deep(60)  # a long stack trace
        except OperationalError as first:
            raise RuntimeError(f"retrying the query failed: {first}") from first
    except RuntimeError as second:
        raise OperationalError(f"the step failed: {second}") from second


@workflow.defn(name="FailingStep")
class FailingStepWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                failing_database_step,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as error:
            return str(error.cause)
        return "no failure"


def _failures(node: object) -> list[dict[str, Any]]:
    """Every failure object in a history's JSON."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "message" in node and ("stackTrace" in node or "encodedAttributes" in node or "cause" in node):
            found.append(node)
        for value in node.values():
            found.extend(_failures(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_failures(value))
    return found


async def test_failure_text_is_trimmed_and_encrypted_in_the_history(time_skipping_env):
    client = Client(**{**time_skipping_env.client.config(), "data_converter": data_converter()})
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[FailingStepWorkflow],
        activities=[failing_database_step],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(FailingStepWorkflow.run, id=f"fail-{uuid.uuid4()}", task_queue=task_queue)
        seen = await handle.result()
    # The workflow reads the cause (decoded), its first line only.
    assert seen.startswith("OperationalError: the step failed: retrying the query failed: connection to server")
    assert "\n" not in seen
    assert len(seen.removeprefix("OperationalError: ")) <= MESSAGE_CHARS

    # The history as the server stores it (read without the codec): nothing in clear, nothing large.
    raw = await time_skipping_env.client.get_workflow_handle(handle.id).fetch_history()
    text = raw.to_json()
    for clear in (HOST, PORT, SECRET, "password", "Traceback", "_deep"):
        assert clear not in text, clear
    failures = _failures(raw.to_json_dict())
    assert failures
    assert {failure["message"] for failure in failures} <= {ENCODED_MESSAGE, "Activity task failed"}
    for failure in failures:
        depth, node = 0, failure
        while "cause" in node:
            depth, node = depth + 1, node["cause"]
        assert depth <= CAUSE_DEPTH + 1  # the activity's own failure wraps the trimmed chain
    scheduled = [e for e in raw.events if e.HasField("activity_task_failed_event_attributes")]
    assert scheduled
    assert scheduled[0].activity_task_failed_event_attributes.failure.ByteSize() < 2048
