"""What every benchmark shares: timing, interleaved rounds, statistics, tables, results.

A benchmark module exposes ``run(quick: bool) -> Section``; ``__main__`` prints
each section's tables and goals and writes them all to ``results.json``.
This machine is shared and noisy, so comparisons are interleaved (every round
runs every contender once, in a rotating order) and reported as medians and
ratios rather than as single absolute figures.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "Goal",
    "Section",
    "Table",
    "interleaved",
    "interleaved_async",
    "machine",
    "median",
    "percentile",
    "rotations",
    "rss_bytes",
    "stop",
    "timed_loop_lag",
]


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _rows(rows: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(row) for row in rows)


def _tables(tables: Iterable[Table]) -> tuple[Table, ...]:
    return tuple(tables)


def _goals(goals: Iterable[Goal]) -> tuple[Goal, ...]:
    return tuple(goals)


@attrs.frozen
class Goal:
    """One goal of issue 7: what was measured against what was asked."""

    name: str
    measured: str
    target: str
    holds: bool

    def row(self) -> list[str]:
        """The goal as a table row."""
        return [self.name, self.measured, self.target, "PASS" if self.holds else "MISS"]


@attrs.frozen
class Table:
    """A titled table of strings, printed as Markdown (the README pastes it as is)."""

    title: str
    header: tuple[str, ...] = attrs.field(converter=_strings)
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=_rows)

    def markdown(self) -> str:
        """The table in Markdown, its title in bold above it."""
        widths = [
            max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
            for i, h in enumerate(self.header)
        ]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([f"**{self.title}**", "", line(self.header), rule, *map(line, self.rows)])


@attrs.frozen
class Section:
    """One benchmark's outcome: its tables, its goals and raw figures for results.json."""

    name: str
    tables: tuple[Table, ...] = attrs.field(converter=_tables)
    goals: tuple[Goal, ...] = attrs.field(converter=_goals)
    data: Mapping[str, Any]
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The section as plain JSON data."""
        return {
            "seconds": round(self.seconds, 1),
            "goals": [attrs.asdict(goal) for goal in self.goals],
            "data": dict(self.data),
            "tables": [
                {"title": t.title, "header": list(t.header), "rows": [list(r) for r in t.rows]}
                for t in self.tables
            ],
        }


def median(values: Sequence[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (``q`` in [0, 1]) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def rotations(names: Sequence[str], rounds: int) -> list[list[str]]:
    # Each round starts with a different contender, so none is always first
    # (cold caches) or always last (after the others warmed the machine up).
    return [[names[(r + i) % len(names)] for i in range(len(names))] for r in range(rounds)]


def interleaved(
    contenders: Mapping[str, Callable[[], float]], *, rounds: int
) -> dict[str, list[float]]:
    """Run every contender once per round, rotating the order; each call returns one figure."""
    figures: dict[str, list[float]] = {name: [] for name in contenders}
    for order in rotations(list(contenders), rounds):
        for name in order:
            figures[name].append(contenders[name]())
    return figures


async def interleaved_async(
    contenders: Mapping[str, Callable[[], Awaitable[float]]], *, rounds: int
) -> dict[str, list[float]]:
    """``interleaved`` for coroutine contenders, all in the running event loop."""
    figures: dict[str, list[float]] = {name: [] for name in contenders}
    for order in rotations(list(contenders), rounds):
        for name in order:
            figures[name].append(await contenders[name]())
    return figures


def rss_bytes() -> tuple[int, int]:
    """(current, peak) resident set size of this process in bytes (Linux; zeros elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return 0, 0
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {
        "nproc": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def timed_loop_lag(scale: float) -> tuple[asyncio.Task[None], list[float]]:
    """Start a task that records how late a 10 ms sleep wakes, in units of ``scale`` seconds.

    A stalled (shared, busy) machine shows in these figures instead of silently
    inflating a benchmark's delays. Cancel the task when done.
    """
    lags: list[float] = []

    async def watch() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - start - 0.01) * scale)

    return asyncio.create_task(watch()), lags


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended."""
    task.cancel()
    await asyncio.wait([task])
