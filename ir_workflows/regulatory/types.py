"""The obligation clock's names and dataclasses (pure: the workflow sandbox passes this module through)."""

from __future__ import annotations

from dataclasses import dataclass, field

OBLIGATION_CLOCK_WORKFLOW = "ObligationClock"
CLOCK_MOVE_UPDATE = "move_deadline"
CLOCK_FILED_UPDATE = "filed"
CLOCK_CANCEL_UPDATE = "cancel"
# Sent to the incident workflow (``KeyCompromiseIncident``), which starts the clock as its child.
CLOCK_START_UPDATE = "start_obligation_clock"
CLOCK_STATUS_QUERY = "status"
CLOCK_NOTICE_ACTIVITY = "obligation_clock_notice"

# Reminders at 50, 75 and 90 % of the window from trigger to due time; at 100 % the due notice and,
# the obligation being unfiled, the escalation.
REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0)
NOTICE_REMINDER = "reminder"
NOTICE_BREACHED = "breached"


def obligation_clock_id(incident: str, rule_id: str, generation: int) -> str:
    return f"obligation-clock-{incident}-{rule_id}-g{generation}"


# A clock can run for months and take many updates (moves): it continues as new (same workflow id, a fresh
# history) when Temporal suggests it or after this many updates, well below the server's limit of updates
# per execution (history.maxTotalUpdates, 2000 by default).
CLOCK_UPDATES_BEFORE_CONTINUE = 500


@dataclass(frozen=True, slots=True)
class ClockInput:
    incident: str
    rule_id: str
    trigger_at: str  # ISO 8601 UTC
    due_at: str
    # Carried over by continue-as-new (empty on the first run):
    notified: list[float] = field(default_factory=list)
    escalated: bool = False
    updates_before_continue: int = 0  # 0: CLOCK_UPDATES_BEFORE_CONTINUE (tests lower it)


@dataclass(frozen=True, slots=True)
class ClockStart:
    """The incident workflow starts ``input`` as its child ``workflow_id`` (once: a repeat is a no-op).
    Field names match what the outbox sends (``{"workflow_id": …, "input": …}``)."""

    workflow_id: str
    input: ClockInput


@dataclass(frozen=True, slots=True)
class ClockStartResult:
    workflow_id: str
    started: bool  # False: that clock was started before (a re-delivered request)


@dataclass(frozen=True, slots=True)
class ClockMove:
    """A corrected trigger (or a re-assessment) moves the deadline."""

    trigger_at: str
    due_at: str
    reason: str


@dataclass(frozen=True, slots=True)
class ClockFiled:
    filed_at: str
    filing: str


@dataclass(frozen=True, slots=True)
class ClockCancel:
    reason: str


@dataclass(frozen=True, slots=True)
class ClockNotice:
    incident: str
    rule_id: str
    kind: str  # reminder | breached
    fraction: float
    due_at: str


@dataclass(frozen=True, slots=True)
class ClockNoticeResult:
    sent: int


@dataclass(frozen=True, slots=True)
class ClockStatus:
    due_at: str
    notified: list[float] = field(default_factory=list)
    escalated: bool = False
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class ClockResult:
    outcome: str  # filed | cancelled
    notified: list[float] = field(default_factory=list)
    escalated: bool = False
