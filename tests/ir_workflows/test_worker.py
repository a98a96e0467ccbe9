"""The worker registers an explicit list of workflows and activities, and they match."""

from __future__ import annotations

from temporalio import activity, workflow

from ir_workflows import worker
from ir_workflows.approvals.types import (
    APPROVAL_REQUEST_WORKFLOW,
    EXPIRE_APPROVAL_ACTIVITY,
    SEND_APPROVAL_NOTICE_ACTIVITY,
)
from ir_workflows.smoke.types import RECORD_STACK_PROBE_ACTIVITY, STACK_PROBE_WORKFLOW


def test_registered_workflows_and_activities():
    assert [workflow._Definition.must_from_class(cls).name for cls in worker.WORKFLOWS] == [
        STACK_PROBE_WORKFLOW,
        APPROVAL_REQUEST_WORKFLOW,
    ]
    assert [activity._Definition.must_from_callable(fn).name for fn in worker.ACTIVITIES] == [
        RECORD_STACK_PROBE_ACTIVITY,
        SEND_APPROVAL_NOTICE_ACTIVITY,
        EXPIRE_APPROVAL_ACTIVITY,
    ]


def test_workflow_modules_do_not_import_django():
    import ast
    from pathlib import Path

    root = Path(worker.__file__).parent
    for path in root.rglob("workflows.py"):
        tree = ast.parse(path.read_text())
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [None])  # type: ignore[list-item]
        ]
        assert not [name for name in imported if name and name.split(".")[0] in {"django", "webapp"}], path
