"""Timing helpers: best of several interleaved rounds, percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ratio:
    name: str
    ours_s: float
    baseline_s: float
    target: float

    @property
    def ratio(self) -> float:
        return self.baseline_s / self.ours_s

    @property
    def met(self) -> bool:
        return self.ratio >= self.target

    def line(self) -> str:
        mark = "ok " if self.met else "MISS"
        return (
            f"  [{mark}] {self.name:<58} ours {self.ours_s * 1000:9.1f} ms  baseline {self.baseline_s * 1000:9.1f} ms"
            f"  ratio {self.ratio:5.2f} (target >= {self.target})"
        )


def best_of(rounds: int, ours: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    """Interleave the two so that machine noise hits both alike; keep each one's best round."""
    best_ours = best_base = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        baseline()
        best_base = min(best_base, time.perf_counter() - started)
        started = time.perf_counter()
        ours()
        best_ours = min(best_ours, time.perf_counter() - started)
    return best_ours, best_base


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]
