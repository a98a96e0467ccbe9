"""Activities of the stack probe: thin calls into services, run on the worker's thread pool."""

from __future__ import annotations

import socket

from django.db import close_old_connections
from temporalio import activity

from ir_workflows.smoke.types import RECORD_STACK_PROBE_ACTIVITY, RecordStackProbeInput, RecordStackProbeResult
from webapp.services.stack_probes import stack_probe_record


@activity.defn(name=RECORD_STACK_PROBE_ACTIVITY)
def record_stack_probe(probe: RecordStackProbeInput) -> RecordStackProbeResult:
    close_old_connections()
    try:
        row = stack_probe_record(probe_id=probe.probe_id, via="temporal", worker=socket.gethostname())
        return RecordStackProbeResult(row_id=row.pk, worker=row.worker)
    finally:
        close_old_connections()
