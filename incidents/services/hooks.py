"""Step hooks: what runs at the playbook's notify and regulatory steps.

The playbook calls every handler registered for a step; apps register theirs at start-up
(``step_hook_register("notify", handler)``). A step with no handler records that on the incident's
timeline, so an auditor sees that nothing was sent rather than assuming it was.

What must be settled before an incident closes is ``incidents/services/closure.py``'s registry.
"""

from __future__ import annotations

from collections.abc import Callable

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


def step_hooks() -> dict[str, list[str]]:
    """Hook point → the names of the handlers registered there (what the procedure document shows)."""
    return {step: [name for name, _ in hooks] for step, hooks in _HOOKS.items()}


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


# Later state changes of an incident's keys or of the incident itself, which parties already told about
# it hear of (the notifications app registers the follow-up notices).
CHANGES = ("restricted", "replaced", "closed")
ChangeHook = Callable[[Incident, str], str]  # returns what it did ("" for nothing)
_CHANGE_HOOKS: list[tuple[str, ChangeHook]] = []


def change_hook_register(name: str, hook: ChangeHook) -> None:
    if all(existing != name for existing, _ in _CHANGE_HOOKS):
        _CHANGE_HOOKS.append((name, hook))


def change_hooks_run(*, incident: Incident, change: str) -> list[str]:
    """Tell the registered handlers (in the caller's transaction); what they did goes on the timeline."""
    if change not in CHANGES:
        raise ValueError(f"no change {change!r}; use one of {', '.join(CHANGES)}")
    outcomes = []
    for name, hook in _CHANGE_HOOKS:
        outcome = hook(incident, change)
        if outcome:
            audit_record(
                action="incident.change_hook",
                actor=Actor.system("playbook"),
                subject_type="incident",
                subject_id=incident.reference,
                reason=outcome,
                incident=incident.reference,
                data={"hook": name, "change": change},
            )
            outcomes.append(outcome)
    return outcomes
