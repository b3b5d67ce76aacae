"""TransactionPoller benchmarks: scale (memory, scheduler cost) and polling efficiency.

    python benchmarks/bench_poller.py [--quick]

(a) Scale: 100,000 transactions (10,000 with --quick) tracked at once by one
    poller with an instant stub client (no network) and a MemoryStore, on a
    virtual clock that jumps to the next sleeper whenever every task waits, so
    the run is CPU-bound and each lookup happens at its scheduled time.
    Reports memory per tracked transaction above the baseline (tracemalloc:
    once every id is registered, and at the peak of the run) and CPU per
    lookup, split into the stub's share, the virtual clock's own sleep/wake
    step, and the poller's. Goals (issue 4): under 1 KB per tracking, under
    50 us of scheduler overhead per lookup.

(b) Efficiency: on FakeOmeda (real HTTP on 127.0.0.1, scaled clock), records
    whose processing takes from seconds to many minutes (log-uniform), each
    tracked from the moment it is queued, by TransactionPoller and by naive
    fixed-interval polling given exactly the same number of lookups. Reports
    lookups per transaction and the report delay: fake-clock seconds between
    the fake reaching the terminal code and the poller reporting it
    (p50/p95/max), overall and for short and long records. Two workloads:
    time spread over every step (FakeOmeda's own model), and a wait in the
    queue followed by quick processing (how Omeda's queue behaves).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import itertools
import math
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence

import attrs

from omeda_async import (
    Clock,
    MemoryStore,
    NotFoundError,
    PollPolicy,
    RetryPolicy,
    StatusCode,
    Tracking,
    TransactionPoller,
)
from omeda_async.models import Transaction
from omeda_async.testing import FakeOmeda, Scenario

SIGNUP = {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]}


# -- (a) scale ----------------------------------------------------------------


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


def _rss() -> tuple[int, int]:
    """(current, peak) resident set size in bytes (Linux; zeros elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return 0, 0
    return (int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024)


async def _scale_run(count: int, *, measure_memory: bool, longest: float) -> dict[str, float]:
    """Track ``count`` at once on a virtual clock; CPU per phase, or memory per tracking."""
    done_at = _done_at(count, seed=1, longest=longest)
    clock = VirtualClock()
    driver = asyncio.create_task(clock.drive())
    stub = InstantOmeda(clock, done_at)
    ids = list(done_at)
    poller = TransactionPoller(stub, policy=SCALE_POLICY, store=MemoryStore())
    gc.collect()
    rss_before = _rss()[0]
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
    while poller._unregistered:  # noqa: ASYNC110
        await asyncio.sleep(0)
    cpu2 = time.process_time()
    registered = tracemalloc.get_traced_memory()[0] - baseline if measure_memory else 0
    await poller.join()
    cpu3 = time.process_time()
    peak = tracemalloc.get_traced_memory()[1] - baseline if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    rss_peak = _rss()[1] - rss_before
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


# -- (b) efficiency -----------------------------------------------------------

WEIGHTS = {
    "new_customer": 0.45,
    "existing_customer": 0.25,
    "partial": 0.05,
    "failed_source_prioritization": 0.03,
    "failed_validation": 0.1,
    "discarded": 0.05,
    "payment_failed": 0.04,
    "excessive_errors": 0.03,
}


def _spread_paths(count: int, seed: int, low: float, high: float) -> list[Scenario]:
    """Paths drawn by weight, the whole path lasting log-uniform [low, high] fake seconds.

    FakeOmeda's own model: the time is spread over every step by its nominal
    share (ready-to-migrate alone is over a third), with some jitter.
    """
    rng = random.Random(seed)
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    paths = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        total = math.exp(rng.uniform(math.log(low), math.log(high)))
        paths.append(Scenario.named(name).jittered(rng, total))
    return paths


def _queued_paths(count: int, seed: int, low: float, high: float) -> list[Scenario]:
    """Paths that wait in staging log-uniform [low, high] s, then run through in 5-20 s.

    How Omeda's queue behaves: a record sits at its first code until the
    processor picks it up (Omeda: 15-30 minutes), then moves through every
    stage in one go.
    """
    rng = random.Random(seed)
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    paths = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        wait = math.exp(rng.uniform(math.log(low), math.log(high)))
        quick = Scenario.named(name).jittered(rng, rng.uniform(5.0, 20.0))
        first = attrs.evolve(quick.steps[0], seconds=quick.steps[0].seconds + wait)
        paths.append(attrs.evolve(quick, steps=(first, *quick.steps[1:])))
    return paths


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Run:
    """One strategy's run: lookups per record, report delays, processing times."""

    def __init__(self, name: str, scale: float) -> None:
        self.name = name
        self.scale = scale
        self.lookups: list[int] = []
        self.delays: list[float] = []
        self.durations: list[float] = []
        self.lags: list[float] = []

    async def watch_loop(self) -> None:
        """Record how late a 10 ms real-time sleep wakes: a stalled (shared, busy) machine
        shows here, in fake seconds, instead of silently inflating the delays."""
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append((time.perf_counter() - start - 0.01) * self.scale)

    def row(self, split: float) -> list[str]:
        short = [i for i, d in enumerate(self.durations) if d < split]
        long = [i for i, d in enumerate(self.durations) if d >= split]

        def part(idx: list[int]) -> str:
            if not idx:
                return "-"
            per = sum(self.lookups[i] for i in idx) / len(idx)
            return f"{per:.1f} / {statistics.median(self.delays[i] for i in idx):.1f}"

        count = len(self.lookups)
        return [
            self.name,
            f"{sum(self.lookups) / count:.1f}",
            *(f"{_pct(self.delays, q):.1f}" for q in (0.5, 0.95, 1.0)),
            part(short),
            part(long),
            f"{max(self.lags, default=0.0):.1f}",
        ]


async def _run_poller(
    paths: Sequence[Scenario], scale: float, policy: PollPolicy, name: str
) -> Run:
    """Submit each record and track it at once with one TransactionPoller."""
    run = Run(name, scale)
    watcher = asyncio.create_task(run.watch_loop())
    async with (
        FakeOmeda(time_scale=scale, record_bodies=False) as fake,
        fake.client() as client,
    ):
        clock = fake.clock
        fake.script_next(*paths)

        async def report(tracking: Tracking, started: float) -> None:
            await tracking
            finished = fake.transactions[tracking.transaction_id].finished_at()
            run.delays.append(clock.now() - finished)
            run.durations.append(finished - started)
            run.lookups.append(fake.lookups[tracking.transaction_id])

        async with client.poller(policy=policy, max_in_flight=32) as poller:
            reporters = []
            for _ in paths:
                receipt = await client.store_customer_and_order(SIGNUP)
                tracking = poller.track(receipt.transaction_id)
                reporters.append(asyncio.create_task(report(tracking, clock.now())))
            await asyncio.gather(*reporters)
        assert not fake.lookups_after_terminal
    watcher.cancel()
    await asyncio.wait([watcher])
    return run


async def _run_fixed(paths: Sequence[Scenario], scale: float, interval: float, name: str) -> Run:
    """Submit each record and poll it every ``interval`` s (on the dot) until terminal."""
    run = Run(name, scale)
    watcher = asyncio.create_task(run.watch_loop())
    async with (
        FakeOmeda(time_scale=scale, record_bodies=False) as fake,
        fake.client() as client,
    ):
        clock = fake.clock
        fake.script_next(*paths)
        gate = asyncio.Semaphore(32)
        retry = RetryPolicy.none()

        async def follow(tid: int, started: float) -> None:
            for k in itertools.count(1):
                await clock.sleep(started + k * interval - clock.now())
                async with gate:
                    try:
                        answer = await client.get_transaction(tid, retry=retry)
                    except NotFoundError:
                        continue
                if answer.status.is_terminal:
                    finished = fake.transactions[tid].finished_at()
                    run.delays.append(clock.now() - finished)
                    run.durations.append(finished - started)
                    run.lookups.append(fake.lookups[tid])
                    return

        followers = []
        for _ in paths:
            receipt = await client.store_customer_and_order(SIGNUP)
            followers.append(asyncio.create_task(follow(receipt.transaction_id, clock.now())))
        await asyncio.gather(*followers)
    watcher.cancel()
    await asyncio.wait([watcher])
    return run


def _fixed_lookups(durations: Sequence[float], interval: float) -> int:
    """Lookups fixed-interval polling makes: the first after one interval, then until done."""
    return sum(max(1, math.ceil(d / interval)) for d in durations)


def _interval_for(durations: Sequence[float], budget: int) -> float:
    """The fixed interval whose lookups add up to ``budget`` (bisection)."""
    low, high = 1e-3, max(durations) * 2 + 1
    for _ in range(100):
        mid = (low + high) / 2
        if _fixed_lookups(durations, mid) > budget:
            low = mid
        else:
            high = mid
    return high


# -- report -------------------------------------------------------------------


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join([title, "", line, rule, *body, ""])


async def main(quick: bool) -> None:
    count = 10_000 if quick else 100_000
    print(f"Python {sys.version.split()[0]}; {'quick' if quick else 'full'} run\n", flush=True)

    # Memory per tracking hardly depends on how many lookups each needs, and
    # tracemalloc makes every allocation slow: its run finishes records sooner.
    memory = await _scale_run(count, measure_memory=True, longest=30.0)
    speed = await _scale_run(count, measure_memory=False, longest=600.0)
    stub_cost, step_cost = await _overheads(100_000)
    scheduler_us = speed["lookup_us"] - (stub_cost + step_cost) * 1e6
    kb = "< 1 KB"
    print(
        _table(
            f"(a) Scale: {count:,} transactions tracked at once "
            "(instant stub client, MemoryStore, virtual clock)",
            ["measure", "value", "goal"],
            [
                ["memory per tracking, all registered", f"{memory['registered_b']:,.0f} B", kb],
                ["memory per tracking, peak of the run", f"{memory['peak_b']:,.0f} B", kb],
                ["peak RSS growth per tracking (speed run)", f"{speed['rss_peak_b']:,.0f} B", ""],
                [
                    "lookups (per transaction)",
                    f"{speed['lookups']:,.0f} ({speed['lookups_per_tx']:.1f})",
                    "",
                ],
                ["track() per transaction", f"{speed['track_us']:.1f} us", ""],
                ["store registration per transaction", f"{speed['register_us']:.1f} us", ""],
                ["CPU per lookup, everything", f"{speed['lookup_us']:.1f} us", ""],
                ["  the stub client's lookup", f"{stub_cost * 1e6:.1f} us", ""],
                ["  the virtual clock's sleep/wake step", f"{step_cost * 1e6:.1f} us", ""],
                ["  the poller itself (scheduler overhead)", f"{scheduler_us:.1f} us", "< 50 us"],
            ],
        ),
        flush=True,
    )

    n = 100 if quick else 400
    # Fake seconds per real second: lower is less sensitive to a busy machine (see the
    # loop lag column), higher is quicker.
    scale = 100.0 if quick else 25.0
    low, high, split = 3.0, 900.0, 60.0
    workloads = (
        ("spread over every step (FakeOmeda's model)", _spread_paths),
        ("queued, then processed in 5-20 s (Omeda's queue)", _queued_paths),
    )
    policies = (
        ("defaults: 2 s x1.5, cap 60 s", PollPolicy()),
        ("2 s x1.5, cap 15 s", PollPolicy(max_interval=15.0)),
    )
    for number, (title, make_paths) in enumerate(workloads, start=1):
        paths = make_paths(n, 7, low, high)
        runs = []
        for label, policy in policies:
            adaptive = await _run_poller(paths, scale, policy, f"TransactionPoller, {label}")
            interval = _interval_for(adaptive.durations, sum(adaptive.lookups))
            fixed = await _run_fixed(paths, scale, interval, f"fixed every {interval:.1f} s")
            runs += [adaptive, fixed]
        print(
            _table(
                f"(b{number}) Efficiency on FakeOmeda, {title}: {n} records, processing "
                f"{low:g} s to {high:g} s (log-uniform, median "
                f"{statistics.median(runs[0].durations):.0f} s), clock x{scale:g}. Each fixed "
                "row has the request budget of the poller row above it; delays are fake-clock "
                "seconds from the terminal code to its report; loop lag: the worst stall "
                "of the event loop during the run, in fake seconds",
                [
                    "polling",
                    "lookups/tx",
                    "delay p50",
                    "delay p95",
                    "delay max",
                    f"< {split:g} s: lookups/tx / p50",
                    f">= {split:g} s: lookups/tx / p50",
                    "loop lag max",
                ],
                [run.row(split) for run in runs],
            ),
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 and 100 transactions")
    asyncio.run(main(parser.parse_args().quick))
