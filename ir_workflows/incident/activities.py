"""Activities of the playbook: thin calls into the incidents services, on the worker's thread pool."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from incidents.services import hooks, playbook
from ir_workflows.approvals.types import ApprovalGateSpec
from ir_workflows.incident.types import (
    ATTENTION_ACTIVITY,
    CLOSE_ACTIVITY,
    CLOSURE_CHECK_ACTIVITY,
    CONTAIN_ACTIVITY,
    CONTAIN_AND_CONFIRM_ACTIVITY,
    DESTROY_ACTIVITY,
    HOOKS_ACTIVITY,
    MARK_COMPROMISED_ACTIVITY,
    OPEN_APPROVAL_ACTIVITY,
    RESTORE_ACTIVITY,
    RESTRICT_KEY_ACTIVITY,
    REWRAP_ACTIVITY,
    REWRAP_PLAN_ACTIVITY,
    SET_STEP_ACTIVITY,
    AttentionInput,
    AttentionResult,
    CloseInput,
    CloseResult,
    ClosureCheckInput,
    ClosureCheckResult,
    ContainAndConfirmResult,
    ContainResult,
    DestroyResult,
    HookInput,
    HookResult,
    IncidentRef,
    KeyTaskInput,
    KeyTaskResult,
    OpenApprovalInput,
    RestoreResult,
    RewrapPlan,
    RewrapResult,
    RewrapTarget,
    StepInput,
    StepResult,
)
from webapp.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])


def django_activity(function: F) -> F:
    """Fresh database connections around the call; business errors are final (non-retryable)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return function(*args, **kwargs)
        except (DomainError, playbook.BusinessError) as exc:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            raise ApplicationError(message, type="BusinessError", non_retryable=True) from exc
        finally:
            close_old_connections()

    return wrapper  # type: ignore[return-value]


@activity.defn(name=CONTAIN_ACTIVITY)
@django_activity
def incident_contain(ref: IncidentRef) -> ContainResult:
    return ContainResult(**playbook.incident_contain(reference=ref.incident))


@activity.defn(name=CONTAIN_AND_CONFIRM_ACTIVITY)
@django_activity
def incident_contain_and_request_confirmation(ref: IncidentRef) -> ContainAndConfirmResult:
    contained, confirmation = playbook.incident_contain_and_request_confirmation(reference=ref.incident)
    return ContainAndConfirmResult(ContainResult(**contained), confirmation)


@activity.defn(name=SET_STEP_ACTIVITY)
@django_activity
def incident_set_step(step: StepInput) -> StepResult:
    return StepResult(step=playbook.incident_set_step(reference=step.incident, step=step.step))


@activity.defn(name=OPEN_APPROVAL_ACTIVITY)
@django_activity
def incident_open_approval(request: OpenApprovalInput) -> ApprovalGateSpec:
    return playbook.incident_open_approval(
        reference=request.incident,
        action=request.action,
        round_number=request.round,
        keys=request.keys,
        disposition=request.disposition,
        step=request.step,
    )


@activity.defn(name=ATTENTION_ACTIVITY)
@django_activity
def incident_attention(notice: AttentionInput) -> AttentionResult:
    return AttentionResult(sent=playbook.incident_attention(reference=notice.incident, message=notice.message))


@activity.defn(name=MARK_COMPROMISED_ACTIVITY)
@django_activity
def key_mark_compromised(task: KeyTaskInput) -> KeyTaskResult:
    return KeyTaskResult(key=task.key, state=playbook.key_mark_compromised(reference=task.incident, key_id=task.key))


@activity.defn(name=RESTRICT_KEY_ACTIVITY)
@django_activity
def key_restrict_verify(task: KeyTaskInput) -> KeyTaskResult:
    state, verified = playbook.key_restrict_verify(reference=task.incident, key_id=task.key)
    return KeyTaskResult(key=task.key, state=state, verified=verified)


@activity.defn(name=REWRAP_PLAN_ACTIVITY)
@django_activity
def incident_rewrap_plan(ref: IncidentRef) -> RewrapPlan:
    rows = playbook.incident_rewrap_plan(reference=ref.incident)
    return RewrapPlan(
        targets=[
            RewrapTarget(
                ref.incident,
                r.key,
                r.replacement,
                r.total,
                batch_size=settings.SEQUESTER_REWRAP_BATCH_SIZE,
                heartbeat_seconds=settings.SEQUESTER_REWRAP_HEARTBEAT_SECONDS,
                pause_ms=settings.SEQUESTER_REWRAP_PAUSE_MS,
            )
            for r in rows
            if r.total
        ]
    )


# Passes over the items for rows skipped because another transaction held them, and the pause between.
REWRAP_PASSES = 5
REWRAP_PASS_PAUSE_SECONDS = 1.0


@activity.defn(name=REWRAP_ACTIVITY)
@django_activity
def rewrap_key_data(target: RewrapTarget) -> RewrapResult:
    """Heartbeats the last item id it committed; a retry (after a crash) resumes from there. Rows that
    were locked elsewhere are skipped, then retried in further passes; what is still under the key after
    the last pass is reported (``remaining``): the workflow tells the commander and waits for a retry."""
    details = activity.info().heartbeat_details
    after = int(details[0]) if details else 0
    passes = 1
    while True:
        count, after = playbook.rewrap_batch(
            reference=target.incident,
            key_id=target.key,
            replacement_id=target.replacement,
            after_id=after,
            batch_size=target.batch_size,
        )
        activity.heartbeat(after)
        if count == 0:
            done, total, remaining = playbook.rewrap_progress(reference=target.incident, key_id=target.key)
            if not remaining or passes >= REWRAP_PASSES:
                break
            passes, after = passes + 1, 0  # another pass for the rows that were held
            time.sleep(REWRAP_PASS_PAUSE_SECONDS * passes)
            continue
        if target.pause_ms:
            time.sleep(target.pause_ms / 1000)  # the operator's throttle: spare the database
    return RewrapResult(key=target.key, done=done, total=total, remaining=remaining)


@activity.defn(name=RESTORE_ACTIVITY)
@django_activity
def incident_restore_keys(ref: IncidentRef) -> RestoreResult:
    return RestoreResult(restored=playbook.incident_restore_keys(reference=ref.incident))


@activity.defn(name=HOOKS_ACTIVITY)
@django_activity
def incident_run_hooks(hook: HookInput) -> HookResult:
    from incidents.services.incidents import incident_get

    return HookResult(ran=hooks.step_hooks_run(incident=incident_get(hook.incident), step=hook.step))


@activity.defn(name=DESTROY_ACTIVITY)
@django_activity
def incident_destroy_keys(ref: IncidentRef) -> DestroyResult:
    destroyed, kept = playbook.incident_destroy_keys(reference=ref.incident)
    return DestroyResult(destroyed=destroyed, kept=kept)


@activity.defn(name=CLOSE_ACTIVITY)
@django_activity
def incident_close(close: CloseInput) -> CloseResult:
    return CloseResult(
        closed_at=playbook.incident_close(
            reference=close.incident, resolution=close.resolution, disposition=close.disposition
        )
    )


@activity.defn(name=CLOSURE_CHECK_ACTIVITY)
@django_activity
def incident_closure_check(check: ClosureCheckInput) -> ClosureCheckResult:
    return ClosureCheckResult(
        blocking=playbook.incident_closure_blockers(reference=check.incident, approved=check.approved)
    )


PLAYBOOK_ACTIVITIES = (
    incident_contain,
    incident_contain_and_request_confirmation,
    incident_set_step,
    incident_open_approval,
    incident_attention,
    key_mark_compromised,
    key_restrict_verify,
    incident_rewrap_plan,
    rewrap_key_data,
    incident_restore_keys,
    incident_run_hooks,
    incident_destroy_keys,
    incident_close,
    incident_closure_check,
)
