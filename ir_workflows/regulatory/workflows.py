"""One durable clock per required obligation: reminders at 50, 75 and 90 % of the window and at the due
time, escalation when the due time passes unfiled; a corrected trigger moves the deadline (update);
filing or cancellation ends it. Deterministic: no Django, no I/O, time from ``workflow.now()``."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ir_workflows import retry
    from ir_workflows.regulatory.types import (
        CLOCK_CANCEL_UPDATE,
        CLOCK_FILED_UPDATE,
        CLOCK_MOVE_UPDATE,
        CLOCK_NOTICE_ACTIVITY,
        CLOCK_STATUS_QUERY,
        CLOCK_UPDATES_BEFORE_CONTINUE,
        NOTICE_BREACHED,
        NOTICE_REMINDER,
        OBLIGATION_CLOCK_WORKFLOW,
        REMINDER_FRACTIONS,
        ClockCancel,
        ClockFiled,
        ClockInput,
        ClockMove,
        ClockNotice,
        ClockNoticeResult,
        ClockResult,
        ClockStatus,
    )


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@workflow.defn(name=OBLIGATION_CLOCK_WORKFLOW)
class ObligationClockWorkflow:
    @workflow.init
    def __init__(self, clock: ClockInput) -> None:
        self._clock = clock
        self._trigger = _at(clock.trigger_at)
        self._due = _at(clock.due_at)
        self._notified: list[float] = list(clock.notified)
        self._escalated = clock.escalated
        self._outcome = ""
        self._changed = False
        self._updates = 0
        self._may_continue = False
        self._update_limit = clock.updates_before_continue or CLOCK_UPDATES_BEFORE_CONTINUE

    def _history_full(self) -> bool:
        if not self._may_continue:
            return False
        return self._updates >= self._update_limit or workflow.info().is_continue_as_new_suggested()

    def _instant(self, fraction: float) -> datetime:
        return self._trigger + (self._due - self._trigger) * fraction

    @workflow.run
    async def run(self, clock: ClockInput) -> ClockResult:
        # Clocks started before continue-as-new existed replay without it.
        self._may_continue = workflow.patched("clock-continue-as-new-v1")
        while not self._outcome:
            now = workflow.now()
            pending = [f for f in REMINDER_FRACTIONS if f not in self._notified]
            passed = [f for f in pending if self._instant(f) <= now]
            if passed:
                # Catching up (started late, or the deadline moved earlier): one notice, the latest.
                self._notified.extend(passed)
                await self._notice(max(passed))
                continue
            self._changed = False
            timeout = (self._instant(min(pending)) - now) if pending else None
            with contextlib.suppress(TimeoutError):  # the next notice is due
                await workflow.wait_condition(
                    lambda: self._changed or bool(self._outcome) or self._history_full(), timeout=timeout
                )
            if not self._outcome and self._history_full():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._outcome:
                    workflow.continue_as_new(
                        dataclasses.replace(
                            clock,
                            trigger_at=self._trigger.isoformat(),
                            due_at=self._due.isoformat(),
                            notified=sorted(self._notified),
                            escalated=self._escalated,
                        )
                    )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ClockResult(outcome=self._outcome, notified=sorted(self._notified), escalated=self._escalated)

    async def _notice(self, fraction: float) -> None:
        kinds = [NOTICE_REMINDER] + ([NOTICE_BREACHED] if fraction >= 1.0 else [])
        for kind in kinds:
            await workflow.execute_activity(
                CLOCK_NOTICE_ACTIVITY,
                ClockNotice(
                    incident=self._clock.incident,
                    rule_id=self._clock.rule_id,
                    kind=kind,
                    fraction=fraction,
                    due_at=self._due.isoformat(),
                ),
                result_type=ClockNoticeResult,
                start_to_close_timeout=retry.NOTIFY_TIMEOUT,
                retry_policy=retry.TELL,  # a legal reminder is delayed by an outage, never dropped
            )
        if fraction >= 1.0:
            self._escalated = True

    @workflow.update(name=CLOCK_MOVE_UPDATE)
    def move(self, move: ClockMove) -> str:
        self._updates += 1
        self._trigger = _at(move.trigger_at)
        self._due = _at(move.due_at)
        now = workflow.now()
        # Notices whose new instant is still ahead are sent again; a later due time lifts the escalation.
        self._notified = [f for f in self._notified if self._instant(f) <= now]
        if self._due > now:
            self._escalated = False
        self._changed = True
        return self._due.isoformat()

    @move.validator
    def _validate_move(self, move: ClockMove) -> None:
        if self._outcome:
            raise ApplicationError(f"the clock is {self._outcome}", type="ClockClosed")
        if _at(move.due_at) <= _at(move.trigger_at):
            raise ApplicationError("the due time must follow the trigger", type="ClockInvalid")

    @workflow.update(name=CLOCK_FILED_UPDATE)
    def filed(self, filed: ClockFiled) -> str:
        self._updates += 1
        self._outcome = self._outcome or "filed"
        return self._outcome

    @workflow.update(name=CLOCK_CANCEL_UPDATE)
    def cancel(self, cancel: ClockCancel) -> str:
        self._updates += 1
        self._outcome = self._outcome or "cancelled"
        return self._outcome

    @workflow.query(name=CLOCK_STATUS_QUERY)
    def status(self) -> ClockStatus:
        return ClockStatus(
            due_at=self._due.isoformat(),
            notified=sorted(self._notified),
            escalated=self._escalated,
            outcome=self._outcome,
        )
