"""Step hooks: what runs at the playbook's notify and regulatory steps; and close checks: the open
items other apps hold on an incident.

The playbook calls every handler registered for a step; apps register theirs at start-up
(``step_hook_register("notify", handler)``). A step with no handler records that on the incident's
timeline, so an auditor sees that nothing was sent rather than assuming it was.

Apps above this one register a close check (``close_check_register("regulatory", check)``) that lists
the incident's open items; a blocking one stops the commander's request for closure (the lower app never
imports the upper one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audit.actors import Actor
from audit.services import audit_record
from incidents.models import Incident

StepHook = Callable[[Incident], str]  # returns a line for the timeline

_HOOKS: dict[str, list[tuple[str, StepHook]]] = {"notify": [], "regulatory": []}


def step_hook_register(step: str, name: str, hook: StepHook) -> None:
    if step not in _HOOKS:
        raise ValueError(f"no hook point {step!r}; use one of {', '.join(_HOOKS)}")
    if all(existing != name for existing, _ in _HOOKS[step]):
        _HOOKS[step].append((name, hook))


def step_hooks_run(*, incident: Incident, step: str) -> list[str]:
    if step not in _HOOKS:
        raise ValueError(f"no hook point {step!r}")
    actor = Actor.system(f"playbook-{step}")
    ran = []
    for name, hook in _HOOKS[step]:
        outcome = hook(incident)
        audit_record(
            action=f"incident.{step}_hook",
            actor=actor,
            subject_type="incident",
            subject_id=incident.reference,
            reason=outcome,
            incident=incident.reference,
            data={"hook": name},
        )
        ran.append(name)
    if not ran:
        audit_record(
            action=f"incident.{step}_hook",
            actor=actor,
            subject_type="incident",
            subject_id=incident.reference,
            reason=f"no {step} handler is configured in this deployment: nothing was done at this step",
            incident=incident.reference,
            data={"hook": None},
        )
    return ran


@dataclass(frozen=True, slots=True)
class OpenItem:
    """Something left open on an incident: shown at closure; a blocking one stops the close."""

    source: str  # the app that holds it ("regulatory")
    kind: str  # e.g. "signoff_pending", "obligation_unfiled"
    label: str
    blocking: bool
    url: str = ""


CloseCheck = Callable[[Incident], list[OpenItem]]
_CLOSE_CHECKS: list[tuple[str, CloseCheck]] = []


def close_check_register(name: str, check: CloseCheck) -> None:
    if all(existing != name for existing, _ in _CLOSE_CHECKS):
        _CLOSE_CHECKS.append((name, check))


def incident_open_items(incident: Incident) -> list[OpenItem]:
    """Every registered app's open items on the incident (blocking ones first)."""
    items = [item for _, check in _CLOSE_CHECKS for item in check(incident)]
    return sorted(items, key=lambda item: not item.blocking)
