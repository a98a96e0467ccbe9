"""The appendix of audit events: every event on a line of its own while that stays within the case-file
targets; past that, summarised (runs, then a counted middle) with every event accounted for, the events
the report links to kept on their own line, and every line within the page's width at 7 pt."""

from __future__ import annotations

import html
import re

from casefile.appendix import APPENDIX_LINES, Line, appendix_build, describe

PAGE_CHARACTERS = 120  # 182 mm of DejaVu Sans Mono at 7 pt (0.602 em a glyph)


def _events(count: int, *, start: int = 1, every: int = 0) -> list[Line]:
    """A forensic job's decrypts, with (every ``every`` events) a state change between them."""
    lines = []
    for i in range(count):
        seq = start + i
        other = every and i % every == 0
        lines.append(
            Line(
                seq=seq,
                at=f"2026-12-{1 + i // 50_000:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.000000Z",
                described=describe(
                    {
                        "actor": "sequester:playbook" if other else "forensics-job",
                        "action": "key.restricted" if other else "key.decrypt",
                        "subject_type": "key",
                        "subject_id": "k1",
                        "affected_system": "" if other else "forensics-workbench",
                    },
                    {"k1": "cf-kek"},
                ),
                action="key.restricted" if other else "key.decrypt",
                reason=f"forensic review of leaked-window record {i}",
                hash=f"{seq:064x}",
            )
        )
    return lines


def _text(blocks: list[str]) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", line)) for block in blocks for line in block.split("\n")]


def test_a_case_of_ordinary_size_lists_every_event():
    events = _events(500, every=7)
    appendix = appendix_build(events, referenced={3, 250})
    assert not appendix.summarised
    assert appendix.listed == 500
    assert appendix.anchored == {3, 250}
    lines = _text(appendix.blocks)
    assert sum(1 for line in lines if re.match(r"\d+ \d\d:\d\d:\d\d ", line)) == 500
    assert all(len(line) <= PAGE_CHARACTERS for line in lines), max(lines, key=len)


def test_100000_events_are_summarised_and_every_one_is_accounted_for():
    events = _events(100_000, every=40)  # runs of 39 decrypts between state changes
    referenced = {1, 40_001, 99_999}
    appendix = appendix_build(events, referenced=referenced)
    assert appendix.summarised
    assert appendix.lines <= APPENDIX_LINES + 1
    assert appendix.listed + appendix.in_runs + appendix.omitted == 100_000
    assert appendix.runs > 0
    assert appendix.omitted > 0  # 2,500 runs and 2,500 state changes: the middle is counted by action
    lines = _text(appendix.blocks)
    assert all(len(line) <= PAGE_CHARACTERS for line in lines), max(lines, key=len)
    # A run line says which events it holds and the chain hash of its last one.
    run = next(line for line in lines if re.match(r"\d+-\d+ \d\d:\d\d:\d\d-", line))
    first, last = (int(n) for n in run.split(" ")[0].split("-"))
    assert last - first + 1 == 39
    following = lines[lines.index(run) + 1]
    assert "x39 events, 39 different reasons" in following
    assert f"chain hash at {last}: {last:064x}"[:-54] in following
    gap = next(line for line in lines if "events not listed here, each in the bundle" in line)
    assert f"{appendix.omitted:,} events" in gap
    assert "by action: key.decrypt" in lines[lines.index(gap) + 1]
    # The events the report links to keep a line (and an anchor) unless the counted middle holds them.
    assert appendix.anchored <= referenced
    assert {1, 99_999} <= appendix.anchored


def test_a_short_run_is_listed_event_by_event():
    events = _events(APPENDIX_LINES + 10, every=3)  # runs of 2: too short to fold
    appendix = appendix_build(events, referenced=set())
    assert appendix.runs == 0
    assert appendix.listed + appendix.omitted == len(events)
