"""The case file's appendix of audit events: one compact line per event, set at 7 pt.

WeasyPrint's cost is per line and per glyph laid out, so an appendix of tens of thousands of lines is what
makes a case file slow and hungry. Up to ``APPENDIX_LINES`` events each get a line. Beyond that the
appendix is summarised: a run of consecutive events by the same actor, with the same action, subject and
system (a forensic job's thousands of decrypts) becomes one line that gives the run's numbers, times,
count and the chain hash of its last event (which commits to every event before it); events that the
report refers to keep their own line. If that is still too long, the first and last lines are kept and
the middle is one line counting its events by action. The PDF says so, and every event is, in full, in
the attached audit bundle, which the offline verifier checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

APPENDIX_LINES = 2000  # about 24 pages at 7 pt
BLOCK_LINES = 250  # lines per <pre> block
RUN_MIN = 4  # a run shorter than this is listed event by event
DITTO = "″"
WHO_WHAT_WHERE_CHARS = 48
REASON_CHARS = 40  # with the above, a line stays within 120 characters: the page's width at 7 pt, no wrapping


@dataclass(frozen=True, slots=True)
class Line:
    """An event of the appendix: only what its line shows (the bundle holds the rest)."""

    seq: int
    at: str  # ISO 8601, UTC
    described: str  # who, what, subject and system
    action: str
    reason: str
    hash: str


@dataclass(slots=True)
class Appendix:
    blocks: list[str]  # HTML of each <pre> block (escaped here)
    events: int
    listed: int = 0  # events on a line of their own
    in_runs: int = 0  # events summarised in run lines
    runs: int = 0
    omitted: int = 0  # events counted only in the middle line
    anchored: set[int] = field(default_factory=set)  # events a link can point at (``#e-<seq>``)
    lines: int = 0

    @property
    def summarised(self) -> bool:
        return self.listed < self.events


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line, whatever the reason held
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(event: dict[str, Any], aliases: dict[str, str]) -> str:
    subject_id = str(event["subject_id"])
    subject = aliases.get(subject_id) or (subject_id[:8] if len(subject_id) == 36 else subject_id[:24])
    system = f" @{event['affected_system']}" if event["affected_system"] else ""
    return _cut(f"{event['actor']} {event['action']} {event['subject_type']}:{subject}{system}", WHO_WHAT_WHERE_CHARS)


def appendix_lines(events: Iterable[dict[str, Any]], aliases: dict[str, str]) -> list[Line]:
    """The little the appendix needs of each bundle event (so that the bundle itself can be let go)."""
    return [
        Line(
            int(e["seq"]),
            str(e["occurred_at"]),
            describe(e, aliases),
            str(e["action"]),
            _cut(str(e["reason"] or ""), 200),
            str(e["hash"]),
        )
        for e in events
    ]


def appendix_line(line: Line, described: str) -> str:
    """Sequence number, time of day, who/what/where (``″`` when as on the line above), reason, hash prefix."""
    return f"{line.seq} {line.at[11:19]} {described} · {_cut(line.reason, REASON_CHARS)} {line.hash[:10]}"


def _run_line(run: Sequence[Line]) -> str:
    first, last = run[0], run[-1]
    until = last.at[11:19] if last.at[:10] == first.at[:10] else f"{last.at[:10]} {last.at[11:19]}"
    reasons = len({line.reason for line in run})
    return (  # two lines: each within the page's width
        f"{first.seq}-{last.seq} {first.at[11:19]}-{until} {first.described}\n"
        f"    x{len(run):,} events, {reasons:,} different reason{'s' if reasons != 1 else ''} "
        f"(first: {_cut(first.reason, 40)}); chain hash at {last.seq}: {last.hash[:10]}"
    )


Item = tuple[str, list[Line]]  # ("event" | "run" | "gap", its events)


def _items(lines: list[Line], referenced: set[int]) -> list[Item]:
    if len(lines) <= APPENDIX_LINES:
        return [("event", [line]) for line in lines]
    items: list[Item] = []
    run: list[Line] = []

    def flush() -> None:
        if len(run) >= RUN_MIN:
            items.append(("run", list(run)))
        else:
            items.extend(("event", [line]) for line in run)
        run.clear()

    for line in lines:
        if line.seq in referenced:  # a line the report links to is never folded into a run
            flush()
            items.append(("event", [line]))
        elif run and run[-1].described == line.described:
            run.append(line)
        else:
            flush()
            run.append(line)
    flush()
    if len(items) <= APPENDIX_LINES:
        return items
    head, tail = APPENDIX_LINES // 2, APPENDIX_LINES // 2 - 1
    middle = [line for _, part in items[head : len(items) - tail] for line in part]
    return [*items[:head], ("gap", middle), *items[len(items) - tail :]]


def _gap_line(gap: list[Line]) -> str:
    actions = Counter(line.action for line in gap)
    counted = ", ".join(f"{action} {count:,}" for action, count in actions.most_common(8))
    more = f" and {len(actions) - 8} more actions" if len(actions) > 8 else ""
    first = f"{gap[0].at[:10]} {gap[0].at[11:19]}"
    last = f"{gap[-1].at[:10]} {gap[-1].at[11:19]}" if gap[-1].at[:10] != gap[0].at[:10] else gap[-1].at[11:19]
    return (  # two lines: each within the page's width
        f"{gap[0].seq}-{gap[-1].seq} {first}-{last}: {len(gap):,} events not listed here, each in the bundle\n"
        + _cut(f"    chain hash at {gap[-1].seq}: {gap[-1].hash[:10]}; by action: {counted}{more}", 116)
    )


def appendix_build(lines: list[Line], *, referenced: set[int]) -> Appendix:
    """The appendix's blocks: day headings (UTC) wherever the date changes, then the lines."""
    appendix = Appendix(blocks=[], events=len(lines))
    current: list[str] = []
    day = previous = ""
    for kind, part in _items(lines, referenced):
        if part[0].at[:10] != day:
            day, previous = part[0].at[:10], ""
            current.append(escape(f"— {day} (UTC) —"))
        if kind == "event":
            line = part[0]
            text = escape(appendix_line(line, DITTO if line.described == previous else line.described))
            appendix.listed += 1
            if line.seq in referenced:
                text = f'<span id="e-{line.seq}">{text}</span>'
                appendix.anchored.add(line.seq)
            previous = line.described
        elif kind == "run":
            text, previous = escape(_run_line(part)), ""
            appendix.in_runs += len(part)
            appendix.runs += 1
        else:
            text, previous = escape(_gap_line(part)), ""
            appendix.omitted += len(part)
        current.append(text)
        appendix.lines += 1
        if len(current) >= BLOCK_LINES:
            appendix.blocks.append("\n".join(current))
            current = []
    if current:
        appendix.blocks.append("\n".join(current))
    return appendix
