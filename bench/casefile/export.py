"""One side of bench/casefile in a process of its own: ``python -m bench.casefile.export ours|plain|naive REF``.

Prints one JSON line: seconds, peak resident memory (MB), pages, events. The parent made the case and
passes its scratch database in ``SEQUESTER_BENCH_DATABASE_NAME``."""

from __future__ import annotations

import html
import json
import os
import resource
import sys
import time
from typing import Any

EVENT_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "actor_type",
    "action",
    "subject_type",
    "subject_id",
    "reason",
    "affected_system",
    "data",
    "hash",
)


def ours(reference: str) -> dict[str, Any]:
    """The export as the Celery task runs it: gather, bundle and verify, lay out, attach, sign."""
    from audit.actors import Actor
    from casefile.services import casefile_build
    from incidents.services.incidents import incident_get

    incident = incident_get(reference)
    started = time.perf_counter()
    pdf, pages, events = casefile_build(incident, actor=Actor.system("bench"), progress=lambda _p, _s: None)
    return {"seconds": time.perf_counter() - started, "pages": pages, "events": events, "bytes": len(pdf)}


def naive(reference: str) -> dict[str, Any]:
    """What one would write first: the incident's events as rows of one HTML table, laid out whole."""
    from weasyprint import HTML

    from audit.models import AuditEvent
    from incidents.services.scopes import incident_audit_scope

    started = time.perf_counter()
    scope = incident_audit_scope(reference)
    rows = []
    for event in AuditEvent.objects.filter(scope.filter()).order_by("seq").values(*EVENT_FIELDS).iterator():
        cells = "".join(f"<td>{html.escape(str(event[name]))}</td>" for name in EVENT_FIELDS)
        rows.append(f"<tr>{cells}</tr>")
    head = "".join(f"<th>{name}</th>" for name in EVENT_FIELDS)
    page = (
        "<html><head><style>@page { size: A4 landscape; margin: 1cm } table { font-size: 6pt; "
        "border-collapse: collapse } td { border: 0.2pt solid #999; word-break: break-all }</style></head>"
        f"<body><h1>Audit events of {html.escape(reference)}</h1><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>"
    )
    document = HTML(string=page).render()
    pdf = document.write_pdf()
    assert pdf is not None
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages": len(document.pages), "events": len(rows), "bytes": len(pdf)}


def plain(reference: str) -> dict[str, Any]:
    """The floor of listing the events: each one as a short plain line (number, time, action, hash) in
    ``<pre>`` blocks at 7 pt, laid out by WeasyPrint untagged, no bundle, no signature. It is the machine's
    speed measured in the same run, so a noisy run reads as a stable ratio."""
    from weasyprint import HTML

    from audit.models import AuditEvent
    from incidents.services.scopes import incident_audit_scope

    started = time.perf_counter()
    scope = incident_audit_scope(reference)
    lines = [
        f"{e['seq']} {e['occurred_at']:%Y-%m-%d %H:%M:%S} {e['action']} {e['hash'][:10]}"
        for e in AuditEvent.objects.filter(scope.filter()).order_by("seq").values(*EVENT_FIELDS).iterator()
    ]
    blocks = "".join(f"<pre>{html.escape(chr(10).join(lines[i : i + 250]))}</pre>" for i in range(0, len(lines), 250))
    page = (
        "<html><head><style>@page { size: A4; margin: 16mm 14mm } pre { font: 7pt/1.25 'DejaVu Sans Mono'; "
        f"margin: 0 }}</style></head><body>{blocks}</body></html>"
    )
    document = HTML(string=page).render()
    pdf = document.write_pdf()
    assert pdf is not None
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages": len(document.pages), "events": len(lines), "bytes": len(pdf)}


def main(side: str, reference: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    result = {"ours": ours, "naive": naive, "plain": plain}[side](reference)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
