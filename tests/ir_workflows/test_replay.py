"""Determinism and versioning: histories written by earlier versions of the playbook replay against the
current code (changes go through ``workflow.patched``); an unguarded change is caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from ir_workflows.incident.types import INCIDENT_WORKFLOW, IncidentInput, IncidentResult
from ir_workflows.incident.workflows import (
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
)

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
CURRENT = [KeyCompromiseIncidentWorkflow, KeyRestrictionBatchWorkflow, KeyRestrictionWorkflow]


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())  # the id it was recorded under


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_histories_replay_against_the_current_code(path):
    result = await Replayer(workflows=CURRENT).replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@workflow.defn(name=INCIDENT_WORKFLOW)
class UnguardedChange(KeyCompromiseIncidentWorkflow):
    """The v2 change made without ``workflow.patched``: old histories must not replay on it."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> IncidentResult:
        await self._tell_commander("an extra step that v1 never ran")
        return await super().run(incident)


async def test_an_unguarded_change_is_caught_by_replay():
    v1 = _history(next(p for p in HISTORIES if "v1" in p.stem))
    result = await Replayer(
        workflows=[UnguardedChange, KeyRestrictionBatchWorkflow, KeyRestrictionWorkflow]
    ).replay_workflow(v1, raise_on_replay_failure=False)
    assert result.replay_failure is not None
