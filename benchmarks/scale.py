"""Poller scale: 100,000 transactions tracked at once by one TransactionPoller.

An instant stub client (no network) and a MemoryStore, on a virtual clock that
jumps to the next sleeper whenever every task waits, so the run is CPU-bound
and each lookup happens at its scheduled time. Reports memory per tracked
transaction above the baseline (tracemalloc: once every id is registered, and
at the peak of the run) and CPU per lookup, split into the stub's share, the
virtual clock's own sleep/wake step, and the poller's (the scheduler overhead).
Goals (issue 7): under 1 KB per tracking, under 50 µs of scheduler per lookup.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import random
import time
import tracemalloc

from omeda_async import Clock, MemoryStore, PollPolicy, RetryPolicy, StatusCode, TransactionPoller
from omeda_async.models import Transaction

from ._common import Goal, Section, Table, rss_bytes


class VirtualClock:
    """A clock that jumps to the next sleeper whenever every task is waiting.

    The run is then purely CPU-bound: no real waiting, every lookup at its
    scheduled time. ``drive()`` runs in the background; it peeks at the event
    loop's ready queue (a private attribute; fine for a benchmark) to tell that
    every other task is blocked.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), self._seq, fut))
        await fut

    async def drive(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop._ready  # type: ignore[attr-defined]
        while True:
            await asyncio.sleep(0)
            if ready:
                continue
            while self._sleepers:
                when, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    self._now = max(self._now, when)
                    fut.set_result(None)
                    break


class InstantOmeda:
    """Answers every lookup at once: 29 (dupe check running) until ``done_at``, then 100."""

    def __init__(self, clock: Clock, done_at: dict[int, float]) -> None:
        self.clock = clock
        self._done_at = done_at
        self.calls = 0

    async def get_transaction(self, transaction_id: int, *, retry: RetryPolicy) -> Transaction:
        self.calls += 1
        done = self.clock.now() >= self._done_at[transaction_id]
        status = StatusCode.MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER if done else _RUNNING
        # A new answer object per lookup, as a real client parses one per response.
        return Transaction(transaction_id=transaction_id, status=status)


_RUNNING = StatusCode.DUPECHECK_RUNNING
SCALE_POLICY = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=60.0, deadline=7200.0)


def _done_at(count: int, seed: int, longest: float) -> dict[int, float]:
    rng = random.Random(seed)
    # Processing ends 5 s to ``longest`` s after tracking starts (the clock starts at 0).
    return {tid: rng.uniform(5.0, longest) for tid in range(1, count + 1)}


async def _scale_run(count: int, *, measure_memory: bool, longest: float) -> dict[str, float]:
    """Track ``count`` at once on a virtual clock; CPU per phase, or memory per tracking."""
    done_at = _done_at(count, seed=1, longest=longest)
    clock = VirtualClock()
    driver = asyncio.create_task(clock.drive())
    stub = InstantOmeda(clock, done_at)
    ids = list(done_at)
    poller = TransactionPoller(stub, policy=SCALE_POLICY, store=MemoryStore())
    gc.collect()
    rss_before = rss_bytes()[0]
    if measure_memory:
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    cpu0 = time.process_time()
    for tid in ids:
        poller.track(tid)
    cpu1 = time.process_time()
    # The scheduler writes every id to the store before its first lookup; the
    # poller has no public "registered" signal, so peek between loop turns.
    while poller._dispatcher.admitting:  # noqa: ASYNC110
        await asyncio.sleep(0)
    cpu2 = time.process_time()
    registered = tracemalloc.get_traced_memory()[0] - baseline if measure_memory else 0
    await poller.join()
    cpu3 = time.process_time()
    peak = tracemalloc.get_traced_memory()[1] - baseline if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    rss_peak = rss_bytes()[1] - rss_before
    await poller.close()
    driver.cancel()
    await asyncio.wait([driver])
    lookups = stub.calls
    return {
        "registered_b": registered / count,
        "peak_b": peak / count,
        "rss_peak_b": rss_peak / count,
        "track_us": (cpu1 - cpu0) / count * 1e6,
        "register_us": (cpu2 - cpu1) / count * 1e6,
        "lookup_us": (cpu3 - cpu2) / lookups * 1e6,
        "lookups": lookups,
        "lookups_per_tx": lookups / count,
        "virtual_s": clock.now(),
    }


async def _overheads(calls: int) -> tuple[float, float]:
    """CPU seconds of one stub lookup, and of one idle virtual-clock step, to subtract."""
    clock = VirtualClock()
    stub = InstantOmeda(clock, {1: 1e9})
    retry = RetryPolicy.none()
    start = time.process_time()
    for _ in range(calls):
        await stub.get_transaction(1, retry=retry)
    stub_cost = (time.process_time() - start) / calls
    driver = asyncio.create_task(clock.drive())
    start = time.process_time()
    for _ in range(calls // 10):
        await clock.sleep(1.0)
    step_cost = (time.process_time() - start) / (calls // 10)
    driver.cancel()
    await asyncio.wait([driver])
    return stub_cost, step_cost


def run(quick: bool) -> Section:
    """Memory per tracking and CPU per lookup, the goals."""
    count, longest, calls = (5_000, 120.0, 20_000) if quick else (100_000, 240.0, 100_000)

    async def measure() -> tuple[dict[str, float], dict[str, float], float, float]:
        # Memory per tracking hardly depends on how many lookups each needs, and
        # tracemalloc makes every allocation slow: its run finishes records sooner.
        memory = await _scale_run(count, measure_memory=True, longest=30.0)
        speed = await _scale_run(count, measure_memory=False, longest=longest)
        stub_cost, step_cost = await _overheads(calls)
        return memory, speed, stub_cost, step_cost

    memory, speed, stub_cost, step_cost = asyncio.run(measure())
    scheduler_us = speed["lookup_us"] - (stub_cost + step_cost) * 1e6
    peak = max(memory["registered_b"], memory["peak_b"])
    rows = [
        ["memory per tracking, all registered", f"{memory['registered_b']:,.0f} B", "< 1 KB"],
        ["memory per tracking, peak of the run", f"{memory['peak_b']:,.0f} B", "< 1 KB"],
        ["peak RSS growth per tracking (speed run)", f"{speed['rss_peak_b']:,.0f} B", ""],
        [
            "lookups (per transaction)",
            f"{speed['lookups']:,.0f} ({speed['lookups_per_tx']:.1f})",
            "",
        ],
        ["track() per transaction", f"{speed['track_us']:.1f} µs", ""],
        ["store registration per transaction", f"{speed['register_us']:.1f} µs", ""],
        ["CPU per lookup, everything", f"{speed['lookup_us']:.1f} µs", ""],
        ["  the stub client's lookup", f"{stub_cost * 1e6:.1f} µs", ""],
        ["  the virtual clock's sleep/wake step", f"{step_cost * 1e6:.1f} µs", ""],
        ["  the poller itself (scheduler overhead)", f"{scheduler_us:.1f} µs", "< 50 µs"],
    ]
    return Section(
        name="scale",
        tables=[
            Table(
                f"Poller scale: {count:,} transactions tracked at once (instant stub client, "
                "MemoryStore, virtual clock)",
                ["measure", "value", "goal"],
                rows,
            )
        ],
        goals=[
            Goal("scale: memory per tracking (peak)", f"{peak:,.0f} B", "< 1 KB", peak < 1024),
            Goal(
                "scale: scheduler per lookup",
                f"{scheduler_us:.1f} µs",
                "< 50 µs",
                scheduler_us < 50,
            ),
        ],
        data={
            "memory": memory,
            "speed": speed,
            "stub_us": stub_cost * 1e6,
            "step_us": step_cost * 1e6,
            "scheduler_us": scheduler_us,
        },
    )
