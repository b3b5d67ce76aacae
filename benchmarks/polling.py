"""Polling efficiency: TransactionPoller vs fixed-interval polling vs the oracle, on both
of FakeOmeda's timing models.

Omeda's pages say only that queued data is processed "in 15-30 minutes"; two
readings fit them, and FakeOmeda serves both:

* **spread**: each record moves through its codes on its own, processing times
  log-uniform from 3 s to 30 minutes (FakeOmeda's paths, outcomes by weight);
* **batch**: Omeda's processor runs every 15 minutes and takes what was queued
  before the run, in order; records wait at 0, then pass their codes within a
  minute (``Batch(every=900)``). Measured for a job (records queued together)
  and then for lone records (a web backend's signups, one every few minutes,
  each followed by ``wait_for_transaction``) once the client has seen the job.

Every record is followed from the moment it is queued by ``TransactionPoller``
with the default ``PollPolicy()`` and with ``PollPolicy.bulk()``, by polling
every 5 s and every 60 s (on the dot, until terminal), and by the oracle (one
lookup exactly at completion). Reported: lookups per transaction and the
report delay (fake seconds from the terminal code to its report), p50/p95/max.
Loop lag is the worst event loop stall of a run in fake seconds.

A second table runs the same poller on a virtual clock against an instant stub
(no HTTP: the schedule exactly as the poller runs it, many seeds in seconds):
more cadences, a fresh process's first records, and bad input (records that
follow no rhythm, a cadence that changes mid-job, 10% of lookups failing).

Goals (issue 17): spread, at most 0.20 of the 5 s poller's lookups with a p95
no worse than the 60 s poller's; batch job, at most 3 lookups per transaction
with p95 at most 60 s; a lone record after a job, at most 10 lookups with p95
at most 60 s; the first record of a fresh process reported within seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import attrs

from omeda_async import (
    NotFoundError,
    OmedaClient,
    PollPolicy,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    StatusCode,
    Tracking,
    TransactionPoller,
)
from omeda_async._rhythm import RhythmMemory
from omeda_async.models import Transaction
from omeda_async.testing import Batch, FakeOmeda, Mix, Scenario

from ._common import Goal, Section, Table, median, percentile, stop, timed_loop_lag
from .scale import VirtualClock

SIGNUP = {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]}
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
EVERY = 900.0
PLOT = Path(__file__).with_name("polling.png")
DEFAULT = "PollPolicy()"
PRESET = "PollPolicy.bulk()"

Paths = list[tuple[float, Scenario]]
"""(fake seconds after the start that the record is queued, the path it follows)."""


@attrs.define
class Run:
    """One strategy's run: lookups per record, report delays, the worst loop stall."""

    name: str
    lookups: list[int] = attrs.Factory(list)
    delays: list[float] = attrs.Factory(list)
    lag: float = 0.0
    ends: list[float] = attrs.Factory(list)
    """Seconds from queuing to the terminal code, per record (HTTP runs)."""

    @property
    def per_tx(self) -> float:
        """Mean lookups per transaction."""
        return sum(self.lookups) / len(self.lookups)

    def p(self, q: float) -> float:
        """A percentile of the report delays."""
        return percentile(self.delays, q)

    def row(self, *first: str) -> list[str]:
        """The run as a table row, after ``first`` cells."""
        return [
            *first,
            self.name,
            f"{self.per_tx:.2f}",
            f"{self.p(0.5):.1f}",
            f"{self.p(0.95):.1f}",
            f"{max(self.delays):.1f}",
            f"{self.lag:.1f}",
        ]


# -- workloads -----------------------------------------------------------------------


def _draw(rng: random.Random) -> Scenario:
    return Scenario.named(rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0])


def spread_paths(count: int, seed: int, low: float, high: float, spacing: float = 0.0) -> Paths:
    """Paths by weight, each lasting log-uniform [low, high] fake seconds in all."""
    rng = random.Random(seed)
    return [
        (
            i * spacing,
            _draw(rng).jittered(rng, math.exp(rng.uniform(math.log(low), math.log(high)))),
        )
        for i in range(count)
    ]


def batch_paths(count: int, seed: int, *, every: float = EVERY, spacing: float = 0.05) -> Paths:
    """A job: ``count`` records queued ``spacing`` s apart, processed in runs every ``every`` s."""
    rng = random.Random(seed)
    model = Batch(every=every).resolved(rng)
    paths = []
    for i in range(count):
        queued = i * spacing
        paths.append((queued, model.path(_draw(rng), queued_at=queued, rng=rng)))
    return paths


def lone_paths(
    count: int, seed: int, *, start: float, every: float = EVERY, phase: float | None = None
) -> Paths:
    """Lone records after ``start``, one every 0.6 periods on average (exponential gaps)."""
    rng = random.Random(seed)
    model = Batch(every=every, phase=phase).resolved(rng)
    queued, paths = start, []
    for _ in range(count):
        queued += rng.expovariate(1 / (0.6 * every))
        paths.append((queued, model.path(_draw(rng), queued_at=queued, rng=rng)))
    return paths


def norhythm_paths(count: int, seed: int) -> Paths:
    """Records that wait at 0 log-uniform 10 s to 30 min each, independently: no runs at all."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        wait = math.exp(rng.uniform(math.log(10.0), math.log(1800.0)))
        quick = _draw(rng).scaled(rng.uniform(5.0, 45.0))
        zero = attrs.evolve(quick.steps[0], status=StatusCode(0), seconds=wait)
        paths.append((i * 0.05, attrs.evolve(quick, steps=(zero, *quick.steps))))
    return paths


def cadence_change_paths(count: int, seed: int) -> Paths:
    """A record every 10 s; runs every 900 s until 2,000 s, then every 300 s at another phase."""
    rng = random.Random(seed)
    first, then = Batch(every=900.0).resolved(rng), Batch(every=300.0, phase=2037.0)
    paths = []
    for i in range(count):
        queued = i * 10.0
        model = first if first.run_after(queued) < 2000.0 else then
        paths.append((queued, model.path(_draw(rng), queued_at=queued, rng=rng)))
    return paths


def fixed(paths: Paths, every: float) -> Run:
    """Polling every ``every`` s from queuing until terminal, computed exactly."""
    ends = [p.total_seconds for _, p in paths]
    lookups = [max(1, math.ceil(end / every)) for end in ends]
    delays = [n * every - end for n, end in zip(lookups, ends, strict=True)]
    return Run(f"fixed every {every:g} s", lookups, delays)


def oracle(count: int) -> Run:
    """One lookup exactly at completion."""
    return Run("oracle (one lookup at completion)", [1] * count, [0.0] * count)


# -- the real poller on a virtual clock ------------------------------------------------


class InstantOmeda:
    """Answers Transaction Lookup at once from each record's path; ``fail`` of lookups fail."""

    def __init__(self, clock: VirtualClock, fail: float = 0.0, seed: int = 0) -> None:
        self.clock = clock
        self.rhythm_memory = RhythmMemory()
        self.paths: dict[int, tuple[float, Scenario]] = {}
        self._fail = fail
        self._rng = random.Random(seed)

    async def get_transaction(self, transaction_id: int, *, retry: RetryPolicy) -> Transaction:
        if self._fail and self._rng.random() < self._fail:
            if self._rng.random() < 0.5:
                raise RateLimitedError("Too Many Requests", status=429, retry_after=5.0)
            raise ServerError("Service Unavailable", status=503)
        queued, path = self.paths[transaction_id]
        status = path.status_at(self.clock.now() - queued)
        return Transaction(transaction_id=transaction_id, status=status)


async def _virtual(
    job: Paths, lone: Paths, policy: PollPolicy, *, fail: float = 0.0
) -> tuple[Run, Run]:
    """The job through one poller, then each lone record through its own (as
    ``wait_for_transaction`` does), sharing one client's memory; both on a virtual clock."""
    clock = VirtualClock()
    stub = InstantOmeda(clock, fail)
    driver = asyncio.create_task(clock.drive())
    job_run, lone_run = Run("job"), Run("lone")
    ids = itertools.count(1)

    def report(run: Run, tracking: Tracking, end: float) -> None:
        result = tracking.result()
        run.lookups.append(result.polls)
        run.delays.append(clock.now() - end)

    async def follow_job() -> None:
        poller = TransactionPoller(stub, policy=policy, max_in_flight=64)
        trackings = []
        for queued, path in job:
            await clock.sleep(queued - clock.now())
            tid = next(ids)
            stub.paths[tid] = (queued, path)
            trackings.append((poller.track(tid), queued + path.total_seconds))
        for tracking, end in trackings:
            await tracking
            # Reported when its result arrived: the history's last entry is that answer.
            result = tracking.result()
            job_run.lookups.append(result.polls)
            job_run.delays.append(result.history[-1][0] - end)
        await poller.close()

    async def follow_one(queued: float, path: Scenario) -> None:
        await clock.sleep(queued - clock.now())
        tid = next(ids)
        stub.paths[tid] = (queued, path)
        async with TransactionPoller(stub, policy=policy) as poller:
            tracking = poller.track(tid)
            await tracking
        report(lone_run, tracking, queued + path.total_seconds)

    await asyncio.gather(follow_job(), *(follow_one(q, p) for q, p in lone))
    await stop(driver)
    return job_run, lone_run


def simulated(job: Paths, lone: Paths, policy: PollPolicy, **kwargs: float) -> tuple[Run, Run]:
    """``_virtual`` in its own event loop."""
    return asyncio.run(_virtual(job, lone, policy, **kwargs))


def analysis(quick: bool) -> tuple[Table, list[Goal]]:
    """The schedule as the poller runs it, on a virtual clock: many seeds, cadences, bad input."""
    seeds = range(1, 3) if quick else range(1, 6)
    jobs = 300 if quick else 1000
    lones = 20 if quick else 60
    rows: list[list[str]] = []

    def add(workload: str, run: Run, five: Run | None = None) -> None:
        versus = f"{run.per_tx / five.per_tx:.2f}" if five is not None else ""
        rows.append(
            [
                workload,
                run.name,
                f"{run.per_tx:.2f}",
                versus,
                f"{run.p(0.5):.1f}",
                f"{run.p(0.95):.1f}",
                f"{max(run.delays):.1f}",
            ]
        )

    def merged(name: str, runs: Sequence[Run]) -> Run:
        return Run(name, [n for r in runs for n in r.lookups], [d for r in runs for d in r.delays])

    spread = spread_paths(jobs, 7, 3.0, 1800.0, spacing=0.05)
    five, sixty = fixed(spread, 5.0), fixed(spread, 60.0)
    for policy, name in ((PollPolicy(), DEFAULT), (PollPolicy.bulk(), PRESET)):
        add("spread", attrs.evolve(simulated(spread, [], policy)[0], name=name), five)
    add("spread", five, five)
    add("spread", sixty, five)
    first = [simulated([(0.0, p)], [], PollPolicy())[0] for _, p in spread_paths(40, 3, 3.0, 30.0)]
    add("spread, first record of a fresh process (3-30 s)", merged(DEFAULT, first))

    goals: list[Goal] = []
    for every in (EVERY, 300.0, 1800.0):
        label = f"batch every {every:g} s"
        job_runs, lone_runs = [], []
        for seed in seeds:
            job = batch_paths(jobs, seed, every=every)
            lone = lone_paths(lones, seed, start=30.0, every=every)
            job_run, lone_run = simulated(job, lone, PollPolicy())
            job_runs.append(job_run)
            lone_runs.append(lone_run)
        job_all, lone_all = merged(DEFAULT, job_runs), merged(DEFAULT, lone_runs)
        job5 = fixed([p for s in seeds for p in batch_paths(jobs, s, every=every)], 5.0)
        add(f"{label}, job of {jobs:,} ({len(seeds)} seeds)", job_all, job5)
        add(f"{label}, lone records after the job", lone_all)
        goals += [
            Goal(
                f"simulated {label}: job lookups/tx",
                f"{job_all.per_tx:.2f}",
                "<= 3",
                job_all.per_tx <= 3.0,
            ),
            Goal(
                f"simulated {label}: lone lookups/tx, p95",
                f"{lone_all.per_tx:.2f}, {lone_all.p(0.95):.1f} s",
                "<= 10, <= 60 s",
                lone_all.per_tx <= 10.0 and lone_all.p(0.95) <= 60.0,
            ),
        ]
    fresh = merged(
        DEFAULT,
        [simulated([], lone_paths(lones, seed, start=30.0), PollPolicy())[1] for seed in seeds],
    )
    add("batch, lone records with nothing learned before", fresh)

    bad = norhythm_paths(jobs // 2, 1)
    add(
        "bad input: no rhythm (waits 10 s-30 min)",
        attrs.evolve(simulated(bad, [], PollPolicy())[0], name=DEFAULT),
        fixed(bad, 5.0),
    )
    add("bad input: no rhythm (waits 10 s-30 min)", fixed(bad, 60.0), fixed(bad, 5.0))
    change = cadence_change_paths(jobs // 2, 1)
    add(
        "bad input: cadence 900 s -> 300 s mid-job",
        attrs.evolve(simulated(change, [], PollPolicy())[0], name=DEFAULT),
        fixed(change, 5.0),
    )
    faulty = batch_paths(jobs, 1)
    add(
        "bad input: batch job, 10% of lookups fail",
        attrs.evolve(simulated(faulty, [], PollPolicy(), fail=0.1)[0], name=DEFAULT),
        fixed(faulty, 5.0),
    )
    add(
        "bad input: spread, 10% of lookups fail",
        attrs.evolve(simulated(spread, [], PollPolicy(), fail=0.1)[0], name=DEFAULT),
        five,
    )
    table = Table(
        "Polling simulated: the real TransactionPoller on a virtual clock against an instant "
        "stub (no HTTP)",
        [
            "workload",
            "polling",
            "lookups/tx",
            "vs 5 s",
            "delay p50 s",
            "delay p95 s",
            "delay max s",
        ],
        rows,
    )
    return table, goals


# -- over HTTP, against FakeOmeda -----------------------------------------------------------


async def _http(
    fake: FakeOmeda,
    client: OmedaClient,
    schedule: Sequence[tuple[float, Scenario | None]],
    how: PollPolicy | float,
    run: Run,
    *,
    lone: bool = False,
) -> None:
    """Submit each record at its time (fake seconds from now; a scripted path, or None for the
    fake's own draw) and follow it: a TransactionPoller with policy ``how`` (``lone``: each with
    ``wait_for_transaction``), or polling every ``how`` seconds."""
    clock = fake.clock
    origin = clock.now()
    retry = RetryPolicy.none()
    gate = asyncio.Semaphore(32)

    def done(tid: int) -> None:
        record = fake.transactions[tid]
        run.delays.append(clock.now() - record.finished_at())
        run.lookups.append(fake.lookups[tid])
        run.ends.append(record.finished_at() - record.created_at)

    async def every(tid: int, seconds: float) -> None:
        started = clock.now()
        for k in itertools.count(1):
            await clock.sleep(started + k * seconds - clock.now())
            async with gate:
                try:
                    answer = await client.get_transaction(tid, retry=retry)
                except NotFoundError:
                    continue
            if answer.status.is_terminal:
                done(tid)
                return

    async def one(
        queued: float, path: Scenario | None, follow: Callable[[int], Awaitable[None]]
    ) -> None:
        await clock.sleep(origin + queued - clock.now())
        if path is not None:
            fake.script_next(path)
        await follow((await client.store_customer_and_order(SIGNUP)).transaction_id)

    if isinstance(how, PollPolicy) and lone:
        policy = how

        async def wait(tid: int) -> None:
            await client.wait_for_transaction(tid, policy=policy)
            done(tid)

        await asyncio.gather(*(one(q, p, wait) for q, p in schedule))
    elif isinstance(how, PollPolicy):
        async with client.poller(policy=how, max_in_flight=32) as poller:

            async def track(tid: int) -> None:
                await poller.track(tid)
                done(tid)

            await asyncio.gather(*(one(q, p, track) for q, p in schedule))
    else:
        seconds = how

        async def poll(tid: int) -> None:
            await every(tid, seconds)

        await asyncio.gather(*(one(q, p, poll) for q, p in schedule))


async def _on_fake(
    scale: float,
    how: PollPolicy | float,
    name: str,
    job: Sequence[tuple[float, Scenario | None]],
    lone: Sequence[tuple[float, None]] = (),
    **fake_options: object,
) -> tuple[Run, Run | None]:
    """One strategy on a fresh FakeOmeda: the job, then (pollers only) lone records followed
    with the same client, which has seen the job."""
    watcher, lags = timed_loop_lag(scale)
    job_run, lone_run = Run(name), Run(name)
    async with (
        FakeOmeda(time_scale=scale, record_bodies=False, **fake_options) as fake,  # type: ignore[arg-type]
        fake.client() as client,
    ):
        await _http(fake, client, job, how, job_run)
        if lone and isinstance(how, PollPolicy):
            await _http(fake, client, lone, how, lone_run, lone=True)
        if isinstance(how, PollPolicy) and fake.lookups_after_terminal:
            raise RuntimeError("TransactionPoller looked a transaction up after its end")
    await stop(watcher)
    job_run.lag = lone_run.lag = max(lags, default=0.0)
    return job_run, lone_run if lone_run.lookups else None


def plot(panels: Sequence[tuple[str, Sequence[Run]]]) -> None:
    """Lookups per transaction against report delay (p50 and p95), one panel per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.5), dpi=120)
    for ax, (title, runs) in zip(axes, panels, strict=True):
        for run in runs:
            p50, p95 = run.p(0.5), run.p(0.95)
            line = ax.plot([run.per_tx, run.per_tx], [p50, p95], "-", alpha=0.5)[0]
            ax.plot([run.per_tx], [p50], "o", color=line.get_color(), label=run.name)
            ax.plot([run.per_tx], [p95], "^", color=line.get_color())
            ax.annotate(
                run.name, (run.per_tx, p95), textcoords="offset points", xytext=(5, 5), fontsize=7
            )
        ax.set_xscale("log")
        ax.set_xlabel("lookups per transaction (log scale)")
        ax.set_ylabel("report delay, fake seconds (o p50, ^ p95)")
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)


def fixed_from(run: Run, every: float) -> Run:
    """Polling every ``every`` s on the records ``run`` followed (their processing times)."""
    return fixed([(0.0, Scenario.from_steps([(0, end), 100])) for end in run.ends], every)


def run(quick: bool) -> Section:
    """Every strategy on both timing models over HTTP, the simulation table, goals, the plot."""
    count, jobs, lones = (150, 120, 8) if quick else (1000, 500, 40)
    spread_scale, batch_scale = (200.0, 600.0) if quick else (50.0, 300.0)
    high = 300.0 if quick else 1800.0
    spread: list[tuple[float, Scenario | None]] = [
        (0.0, p) for _, p in spread_paths(count, 7, 3.0, high)
    ]
    rng = random.Random(12)
    lone: list[tuple[float, None]] = []
    queued = 0.0
    for _ in range(lones):
        queued += rng.expovariate(1 / (0.6 * EVERY))
        lone.append((queued, None))
    batch_job: list[tuple[float, Scenario | None]] = [(0.0, None)] * jobs
    batch_options = {"timing": Batch(every=EVERY), "scenario": Mix(WEIGHTS), "seed": 11}
    strategies: tuple[tuple[PollPolicy | float, str], ...] = (
        (PollPolicy(), DEFAULT),
        (PollPolicy.bulk(), PRESET),
        (5.0, "fixed every 5 s"),
        (60.0, "fixed every 60 s"),
    )
    spread_runs = [
        asyncio.run(_on_fake(spread_scale, how, name, spread))[0] for how, name in strategies
    ]
    batch_pairs = [
        asyncio.run(_on_fake(batch_scale, how, name, batch_job, lone, **batch_options))
        for how, name in strategies
    ]
    batch_runs = [job_run for job_run, _ in batch_pairs]
    lone_runs = [lone_run for _, lone_run in batch_pairs if lone_run is not None]
    spread_runs.append(oracle(count))
    batch_runs.append(oracle(jobs))
    lone_runs += [fixed_from(lone_runs[0], 5.0), fixed_from(lone_runs[0], 60.0), oracle(lones)]

    by_name = {r.name: r for r in spread_runs}
    five, sixty = by_name["fixed every 5 s"], by_name["fixed every 60 s"]
    goals: list[Goal] = []
    for name in (DEFAULT, PRESET):
        poller = by_name[name]
        share = poller.per_tx / five.per_tx
        goals += [
            Goal(
                f"spread, {name}: lookups vs the 5 s poller",
                f"{share:.2f}",
                "<= 0.20",
                share <= 0.2,
            ),
            Goal(
                f"spread, {name}: p95 delay vs the 60 s poller",
                f"{poller.p(0.95):.1f} s vs {sixty.p(0.95):.1f} s",
                "no worse",
                poller.p(0.95) <= sixty.p(0.95),
            ),
        ]
    default_job = batch_runs[0]
    default_lone = lone_runs[0]
    goals += [
        Goal(
            f"batch job of {jobs}, {DEFAULT}: lookups/tx",
            f"{default_job.per_tx:.2f}",
            "<= 3",
            default_job.per_tx <= 3.0,
        ),
        Goal(
            f"batch job of {jobs}, {DEFAULT}: p95 delay",
            f"{default_job.p(0.95):.1f} s",
            "<= 60 s",
            default_job.p(0.95) <= 60.0,
        ),
        Goal(
            f"batch lone records, {DEFAULT}: lookups/tx",
            f"{default_lone.per_tx:.2f}",
            "<= 10",
            default_lone.per_tx <= 10.0,
        ),
        Goal(
            f"batch lone records, {DEFAULT}: p95 delay",
            f"{default_lone.p(0.95):.1f} s",
            "<= 60 s",
            default_lone.p(0.95) <= 60.0,
        ),
    ]
    simulation, simulated_goals = analysis(quick)
    first = next(r for r in simulation.rows if r[0].startswith("spread, first record"))
    goals.append(
        Goal(
            "simulated: first record of a fresh process, p95 delay",
            f"{first[5]} s",
            "<= 10 s",
            float(first[5]) <= 10.0,
        )
    )
    goals += simulated_goals

    durations = [p.total_seconds for _, p in spread if p is not None]
    spread_label = (
        f"spread: {count:,} records queued together, processing 3 s to {high:g} s "
        f"(log-uniform, median {median(durations):.0f} s)"
    )
    batch_label = f"batch: a job of {jobs} records, runs every {EVERY:g} s"
    rows = (
        [r.row("spread") for r in spread_runs]
        + [r.row("batch job") for r in batch_runs]
        + [r.row("batch lone records") for r in lone_runs]
    )
    if not quick:
        plot(
            [
                (f"spread: {count:,} records, 3 s to {high / 60:g} min each", spread_runs),
                (f"batch: a job of {jobs}, runs every {EVERY / 60:g} min", batch_runs),
                (f"batch: {lones} lone records after the job", lone_runs),
            ]
        )
    return Section(
        name="polling",
        tables=[
            Table(
                f"Polling efficiency on FakeOmeda over HTTP ({spread_label}, clock "
                f"x{spread_scale:g}; {batch_label}, then {lones} lone records, clock "
                f"x{batch_scale:g})",
                [
                    "workload",
                    "polling",
                    "lookups/tx",
                    "delay p50 s",
                    "delay p95 s",
                    "delay max s",
                    "loop lag max s",
                ],
                rows,
            ),
            simulation,
        ],
        goals=goals,
        data={
            f"{workload}/{r.name}": {
                "lookups_per_tx": r.per_tx,
                "p50": r.p(0.5),
                "p95": r.p(0.95),
                "max": max(r.delays),
                "lag": r.lag,
            }
            for workload, runs in (
                ("spread", spread_runs),
                ("batch", batch_runs),
                ("lone", lone_runs),
            )
            for r in runs
        },
    )
