"""Polling efficiency: TransactionPoller vs fixed-interval polling vs the oracle.

Thousands of records are submitted to FakeOmeda (real HTTP on 127.0.0.1, its
scaled clock) with processing times spread like production: log-uniform from
seconds to tens of minutes, over FakeOmeda's own status paths (the time spread
over every step by its nominal share, with jitter), outcomes drawn by weight.
Each record is followed from the moment it is queued by:

* ``TransactionPoller`` with the default ``PollPolicy()`` (DESIGN.md's numbers),
  and with ``PollPolicy.bulk()``, the preset for bulk jobs;
* fixed-interval polling every 5 s and every 60 s (on the dot, until terminal);
* the oracle: one lookup exactly at completion (1 lookup, no delay).

Reported: lookups per transaction, and the report delay (fake-clock seconds
from the fake reaching the terminal code to the poller reporting it), p50/p95.
Loop lag is the worst stall of the event loop during a run, in fake seconds:
a busy machine shows there instead of silently inflating delays.
Goal (issue 7): at most 1/5 of the 5 s poller's lookups with a p95 report
delay no worse than the 60 s poller's; checked for both policies.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections.abc import Sequence
from pathlib import Path

import attrs

from omeda_async import NotFoundError, PollPolicy, RetryPolicy, Tracking
from omeda_async._schedule import after_status, first_due
from omeda_async.testing import FakeOmeda, Scenario

from ._common import Goal, Section, Table, median, percentile, stop, timed_loop_lag

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
PLOT = Path(__file__).with_name("polling.png")


def spread_paths(count: int, seed: int, low: float, high: float) -> list[Scenario]:
    """Paths drawn by weight, each lasting log-uniform [low, high] fake seconds in all."""
    rng = random.Random(seed)
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    return [
        Scenario.named(rng.choices(names, weights)[0]).jittered(
            rng, math.exp(rng.uniform(math.log(low), math.log(high)))
        )
        for _ in range(count)
    ]


@attrs.define
class Run:
    """One strategy's run: lookups per record, report delays, the worst loop stall."""

    name: str
    lookups: list[int] = attrs.Factory(list)
    delays: list[float] = attrs.Factory(list)
    lag: float = 0.0

    @property
    def per_tx(self) -> float:
        """Mean lookups per transaction."""
        return sum(self.lookups) / len(self.lookups)

    def row(self) -> list[str]:
        """The run as a table row."""
        return [
            self.name,
            f"{self.per_tx:.1f}",
            f"{percentile(self.delays, 0.5):.1f}",
            f"{percentile(self.delays, 0.95):.1f}",
            f"{max(self.delays):.1f}",
            f"{self.lag:.1f}",
        ]


async def _run(paths: Sequence[Scenario], scale: float, how: PollPolicy | float, name: str) -> Run:
    """Submit every record and follow it: a TransactionPoller with policy ``how``, or every
    ``how`` seconds."""
    run = Run(name)
    watcher, lags = timed_loop_lag(scale)
    async with (
        FakeOmeda(time_scale=scale, record_bodies=False) as fake,
        fake.client() as client,
    ):
        clock = fake.clock
        fake.script_next(*paths)

        def done(tid: int) -> None:
            run.delays.append(clock.now() - fake.transactions[tid].finished_at())
            run.lookups.append(fake.lookups[tid])

        async def report(tracking: Tracking) -> None:
            await tracking
            done(tracking.transaction_id)

        gate = asyncio.Semaphore(32)
        retry = RetryPolicy.none()

        async def follow(tid: int, started: float, every: float) -> None:
            for k in itertools.count(1):
                await clock.sleep(started + k * every - clock.now())
                async with gate:
                    try:
                        answer = await client.get_transaction(tid, retry=retry)
                    except NotFoundError:
                        continue
                if answer.status.is_terminal:
                    done(tid)
                    return

        policy = how if isinstance(how, PollPolicy) else None
        async with client.poller(policy=policy, max_in_flight=32) as poller:
            followers = []
            for _ in paths:
                tid = (await client.store_customer_and_order(SIGNUP)).transaction_id
                if isinstance(how, PollPolicy):
                    followers.append(asyncio.create_task(report(poller.track(tid))))
                else:
                    followers.append(asyncio.create_task(follow(tid, clock.now(), how)))
            await asyncio.gather(*followers)
        if policy is not None and fake.lookups_after_terminal:
            raise RuntimeError("TransactionPoller looked a transaction up after its end")
    await stop(watcher)
    run.lag = max(lags, default=0.0)
    return run


def queued_paths(count: int, seed: int, low: float, high: float) -> list[Scenario]:
    """Paths that wait in the queue log-uniform [low, high] s, then run through in 5-20 s.

    The other plausible reading of "a record takes 15-30 minutes": it sits at
    its first code until the processor takes it, then moves through every
    stage in one go (Omeda's pages only say the data is queued and processed
    by a decoupled layer; they give no per-step timing).
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


def simulate(
    paths: Sequence[Scenario], policy: PollPolicy, reset: str
) -> tuple[float, float, float]:
    """(lookups/tx, delay p50, delay p95) of the poller's pure schedule on ``paths``, no HTTP.

    Uses ``omeda_async._schedule`` exactly as TransactionPoller does. ``reset``
    says when the backoff restarts at ``initial_delay``: ``"code"`` (any change
    of status: what DESIGN.md mandates and the library does), ``"stage"`` (a
    change of Omeda stage only) or ``"never"``; the last two are what-ifs.
    """
    rng = random.Random(1)
    lookups: list[int] = []
    delays: list[float] = []
    for path in paths:
        now, count, previous, unchanged = first_due(policy, 0.0, rng.random()), 0, None, 0
        while True:
            count += 1
            status = path.status_at(now)
            if status.is_terminal:
                break
            changed = previous is None or (
                status != previous
                if reset == "code"
                else status.stage != previous.stage
                if reset == "stage"
                else False
            )
            unchanged = 0 if changed else unchanged + 1
            previous = status
            step = after_status(
                policy, status, unchanged=unchanged, now=now, started=0.0, u=rng.random()
            )
            if step.due is None:
                break
            now = step.due
        lookups.append(count)
        delays.append(now - path.total_seconds)
    return sum(lookups) / len(lookups), percentile(delays, 0.5), percentile(delays, 0.95)


def fixed(paths: Sequence[Scenario], every: float) -> tuple[float, float, float]:
    """(lookups/tx, delay p50, delay p95) of polling every ``every`` s, computed exactly."""
    ends = [p.total_seconds for p in paths]
    lookups = [max(1, math.ceil(end / every)) for end in ends]
    delays = [n * every - end for n, end in zip(lookups, ends, strict=True)]
    return sum(lookups) / len(lookups), percentile(delays, 0.5), percentile(delays, 0.95)


def analysis(count: int, low: float, high: float) -> Table:
    """What drives the poller's lookups: the schedule simulated on both workload models."""
    tuned = PollPolicy(initial_delay=5.0, multiplier=2.0)
    rows: list[list[str]] = []
    for workload, make in (("spread (FakeOmeda)", spread_paths), ("queued", queued_paths)):
        paths = make(count, 7, low, high)
        five = fixed(paths, 5.0)
        cases = [
            ("fixed every 5 s", five),
            ("fixed every 60 s", fixed(paths, 60.0)),
            ("PollPolicy(), reset on any change (library)", simulate(paths, PollPolicy(), "code")),
            (
                "PollPolicy(), what-if: reset on stage change",
                simulate(paths, PollPolicy(), "stage"),
            ),
            ("PollPolicy(), what-if: never reset", simulate(paths, PollPolicy(), "never")),
            ("PollPolicy(initial_delay=5, multiplier=2)", simulate(paths, tuned, "code")),
            ("PollPolicy.bulk() (initial_delay=20)", simulate(paths, PollPolicy.bulk(), "code")),
        ]
        rows += [
            [workload, name, f"{per:.1f}", f"{per / five[0]:.2f}", f"{p50:.1f}", f"{p95:.1f}"]
            for name, (per, p50, p95) in cases
        ]
    return Table(
        f"Polling analysis: the schedule simulated (omeda_async._schedule, no HTTP) on {count:,} "
        "paths of each workload model",
        ["workload", "polling", "lookups/tx", "vs 5 s", "delay p50 s", "delay p95 s"],
        rows,
    )


def plot(runs: Sequence[Run], title: str) -> None:
    """Lookups per transaction against report delay (p50 and p95) for each poller."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for run in runs:
        p50, p95 = percentile(run.delays, 0.5), percentile(run.delays, 0.95)
        line = ax.plot([run.per_tx, run.per_tx], [p50, p95], "-", alpha=0.5)[0]
        ax.plot([run.per_tx], [p50], "o", color=line.get_color(), label=f"{run.name}")
        ax.plot([run.per_tx], [p95], "^", color=line.get_color())
        ax.annotate(
            run.name, (run.per_tx, p95), textcoords="offset points", xytext=(5, 5), fontsize=8
        )
    ax.set_xscale("log")
    ax.set_xlabel("lookups per transaction (log scale)")
    ax.set_ylabel("report delay, fake seconds (o p50, ^ p95)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)


def run(quick: bool) -> Section:
    """Every strategy on the same paths; the table, the goal, and (full runs) the plot."""
    count, scale, low, high = (150, 200.0, 3.0, 300.0) if quick else (1000, 50.0, 3.0, 1800.0)
    paths = spread_paths(count, 7, low, high)
    strategies: tuple[tuple[PollPolicy | float, str], ...] = (
        (PollPolicy(), "TransactionPoller, PollPolicy()"),
        (PollPolicy.bulk(), "TransactionPoller, PollPolicy.bulk()"),
        (5.0, "fixed every 5 s"),
        (60.0, "fixed every 60 s"),
    )
    runs = [asyncio.run(_run(paths, scale, how, name)) for how, name in strategies]
    oracle = Run("oracle (one lookup at completion)", [1] * count, [0.0] * count)
    default, bulk, five, sixty = runs
    durations = [p.total_seconds for p in paths]
    title = (
        f"Polling efficiency: {count:,} records on FakeOmeda, processing {low:g} s to {high:g} s "
        f"(log-uniform, median {median(durations):.0f} s), clock x{scale:g}"
    )
    if not quick:
        plot([*runs, oracle], title)
    p95_sixty = percentile(sixty.delays, 0.95)
    goals: list[Goal] = []
    for poller, label in ((default, "PollPolicy()"), (bulk, "PollPolicy.bulk()")):
        share = poller.per_tx / five.per_tx
        p95 = percentile(poller.delays, 0.95)
        goals += [
            Goal(
                f"polling, {label}: lookups vs the 5 s poller",
                f"{share:.2f}",
                "<= 0.20",
                share <= 0.2,
            ),
            Goal(
                f"polling, {label}: p95 delay vs the 60 s poller",
                f"{p95:.1f} s vs {p95_sixty:.1f} s",
                "no worse",
                p95 <= p95_sixty,
            ),
        ]
    return Section(
        name="polling",
        tables=[
            Table(
                title,
                [
                    "polling",
                    "lookups/tx",
                    "delay p50 s",
                    "delay p95 s",
                    "delay max s",
                    "loop lag max s",
                ],
                [r.row() for r in [*runs, oracle]],
            ),
            analysis(count, low, high),
        ],
        goals=goals,
        data={
            r.name: {
                "lookups_per_tx": r.per_tx,
                "p50": percentile(r.delays, 0.5),
                "p95": percentile(r.delays, 0.95),
                "lag": r.lag,
            }
            for r in [*runs, oracle]
        },
    )
