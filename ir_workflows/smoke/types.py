"""Inputs, results and names of the stack-probe workflow (the smoke test of the Temporal side)."""

from __future__ import annotations

from dataclasses import dataclass

STACK_PROBE_WORKFLOW = "StackProbe"
RECORD_STACK_PROBE_ACTIVITY = "record_stack_probe"


def stack_probe_workflow_id(probe_id: str) -> str:
    return f"stack-probe-{probe_id}"


@dataclass(frozen=True, slots=True)
class StackProbeInput:
    probe_id: str


@dataclass(frozen=True, slots=True)
class RecordStackProbeInput:
    probe_id: str


@dataclass(frozen=True, slots=True)
class RecordStackProbeResult:
    row_id: int
    worker: str


@dataclass(frozen=True, slots=True)
class StackProbeResult:
    probe_id: str
    row_id: int
    worker: str
