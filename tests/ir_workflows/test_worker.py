"""The worker registers an explicit list of workflows and activities, and they match the names used."""

from __future__ import annotations

import ast
from pathlib import Path

from temporalio import activity, workflow

from ir_workflows import worker
from ir_workflows.approvals import types as approval_types
from ir_workflows.drills import types as drill_types
from ir_workflows.incident import types as incident_types
from ir_workflows.notifications import types as notification_types
from ir_workflows.regulatory import types as regulatory_types
from ir_workflows.smoke import types as smoke_types


def _names(module, suffix: str) -> set[str]:
    return {
        getattr(module, name)
        for name in dir(module)
        if name.endswith(suffix) and isinstance(getattr(module, name), str)
    }


def test_every_named_workflow_and_activity_is_registered_once():
    workflows = [workflow._Definition.must_from_class(cls).name for cls in worker.WORKFLOWS]
    activities = [activity._Definition.must_from_callable(fn).name for fn in worker.ACTIVITIES]
    assert len(workflows) == len(set(workflows))
    assert len(activities) == len(set(activities))
    modules = (smoke_types, approval_types, incident_types, regulatory_types, notification_types, drill_types)
    assert set(workflows) == set().union(*(_names(m, "_WORKFLOW") for m in modules))
    assert set(activities) == set().union(*(_names(m, "_ACTIVITY") for m in modules))


def test_workflow_modules_do_not_import_django():
    root = Path(worker.__file__).parent
    forbidden = {"django", "webapp", "keyvault", "incidents", "audit", "regulatory", "notifications", "evaluation"}
    for path in [*root.rglob("workflows.py"), *root.rglob("gate.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] in forbidden], (path, names)


def test_every_named_update_has_a_handler_in_a_registered_workflow():
    """The outbox sends updates by name (e.g. ``start_obligation_clock`` to the incident's workflow)."""
    handled = {name for cls in worker.WORKFLOWS for name in workflow._Definition.must_from_class(cls).updates}
    # (the approval gate's updates are set at run time, by ``ApprovalGates``)
    named = set().union(*(_names(m, "_UPDATE") for m in (incident_types, regulatory_types)))
    assert regulatory_types.CLOCK_START_UPDATE in named
    assert named <= handled, named - handled
