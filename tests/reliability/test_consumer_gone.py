"""The job lives only while it is consumed (issue 15, item 5).

The README's pattern is ``async for outcome in client.submit_many(rows, ...)``.
Cancelling the task that runs that loop, leaving the loop, or dropping the job
stops it: no POST starts afterwards and no task of it is left. Records in
flight end as on ``aclose()``: a record whose POST had started stays pending in
the journal (a re-run reports it unknown, to reconcile); one whose POST had not
started is handed back as it was (a re-run sends it). FakeOmeda's records are
the judge: after the documented reconcile, every row is queued exactly once.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest

from omeda_async import (
    OmedaClient,
    OrderReceipt,
    RecordState,
    SqliteStore,
    SubmissionOutcome,
    SubmissionReceipt,
)
from omeda_async.bulk import submit_many
from omeda_async.testing import FakeOmeda, Faults
from tests.reliability.test_cancellation import FAST, library_tasks, no_task_left
from tests.support import QUICK_PATH, collect, eventually

TRIALS = 50
ROWS = 24


class Counting:
    """A Submitter over a real client that notes each POST it starts (by FirstName).

    With ``hold_at=n`` the n-th POST never returns (it waits, before or after
    its request, until cancelled) and ``reached`` is set when it starts: the
    job cannot finish first, so a cancel sent on ``reached`` always lands
    mid-work, whatever the scheduling.
    """

    def __init__(
        self, client: OmedaClient, *, hold_at: int | None = None, hold_after_post: bool = False
    ) -> None:
        self._client = client
        self.clock = client.clock
        self.poller = client.poller
        self.run_processor = client.run_processor
        self.check_submission = client.check_submission
        self.started: list[str] = []
        self.reached = asyncio.Event()
        self._hold_at = hold_at
        self._hold_after_post = hold_after_post

    def post_submission(
        self, service: str, payload: Any, body: bytes | None, *, input_id: str | None
    ) -> Awaitable[SubmissionReceipt | OrderReceipt]:
        self.started.append(payload["FirstName"])
        if len(self.started) == self._hold_at:
            self.reached.set()
            return self._held(service, payload, body, input_id=input_id)
        return self._client.post_submission(service, payload, body, input_id=input_id)

    async def _held(
        self, service: str, payload: Any, body: bytes | None, *, input_id: str | None
    ) -> SubmissionReceipt | OrderReceipt:
        if self._hold_after_post:
            await self._client.post_submission(service, payload, body, input_id=input_id)
        await asyncio.Event().wait()  # until cancelled
        raise AssertionError("a held POST is only ever cancelled")


def rows_of(trial: int) -> list[dict[str, Any]]:
    return [
        {"FirstName": f"T{trial}R{i}", "Emails": [{"EmailAddress": f"t{trial}r{i}@example.com"}]}
        for i in range(ROWS)
    ]


def queued(fake: FakeOmeda, trial: int) -> dict[str, int]:
    """How often the fake queued each row of ``trial`` (by FirstName)."""
    counts: dict[str, int] = {}
    for transaction in fake.transactions.values():
        name = transaction.body.get("FirstName", "")
        if isinstance(name, str) and name.startswith(f"T{trial}R"):
            counts[name] = counts.get(name, 0) + 1
    return counts


async def drained(fake: FakeOmeda, trial: int) -> None:
    """Let the fake handle whatever the cancelled job had written before its connections went.

    A POST written on loopback is in the fake's socket already; it is read and
    handled within a few turns of the event loop. Settled: nothing in flight,
    and nothing new received over 20 more turns.
    """
    while True:
        await eventually(lambda: fake.in_flight == 0, 30)
        seen = posts_received(fake, trial)
        for _ in range(20):
            await asyncio.sleep(0)
        if fake.in_flight == 0 and posts_received(fake, trial) == seen:
            return


def posts_received(fake: FakeOmeda, trial: int) -> int:
    return sum(
        1
        for request in fake.requests
        if request.method == "POST"
        and isinstance(request.body, dict)
        and str(request.body.get("FirstName", "")).startswith(f"T{trial}R")
    )


async def test_cancelling_the_consumer_stops_the_job_and_a_rerun_is_exact(
    tmp_path: Path,
) -> None:
    """Seeded trials, each cancelling the README's loop at a random point (tracking or not,
    a store the job opened or the caller's): no task left, no POST started after the
    cancel, and a re-run plus the documented reconcile queues every row exactly once."""
    faults = Faults(rates={"slow": 0.15}, slow_seconds=0.05, services=["storecustomerandorder"])
    async with FakeOmeda(time_scale=500, scenario=QUICK_PATH, faults=faults, seed=3) as fake:
        for trial in range(TRIALS):
            await _cancel_then_rerun(fake, trial, tmp_path / f"journal-{trial}.db")
        assert fake.duplicates() == []
    await no_task_left()


async def _cancel_then_rerun(fake: FakeOmeda, trial: int, journal: Path) -> None:
    rng = random.Random(trial)
    rows = rows_of(trial)
    options: dict[str, Any] = {
        "concurrency": rng.choice([1, 4, 8]),
        "track": rng.random() < 0.5,
        "ordered": rng.random() < 0.3,
        "poll_policy": FAST,
    }
    caller_opens = rng.random() < 0.5
    target = rng.randint(1, ROWS - 1)
    after_post = rng.random() < 0.5
    got: list[SubmissionOutcome] = []
    async with fake.client() as client:
        counting = Counting(client, hold_at=target, hold_after_post=after_post)
        store = SqliteStore(journal)
        if caller_opens:
            await store.open()

        async def consume() -> None:
            async for outcome in submit_many(counting, rows, store=store, **options):
                got.append(outcome)

        task = asyncio.create_task(consume())
        async with asyncio.timeout(30):
            await counting.reached.wait()
        for _ in range(rng.randint(0, 20)):  # let the other POSTs move on a random while
            await asyncio.sleep(0)
        assert not task.done(), f"trial {trial}: the cancel must land mid-work"
        started = len(counting.started)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(counting.started) == started, f"trial {trial}: a POST after the cancel"
        assert library_tasks() == [], f"trial {trial}: a task outlived the cancel"
        await drained(fake, trial)
        assert len(counting.started) == started
        assert posts_received(fake, trial) <= started
        if caller_opens:
            await store.close()

        queued_before = set(queued(fake, trial))
        rerun = Counting(client)
        again = await collect(submit_many(rerun, rows, store=SqliteStore(journal), **options))
    by_name = {rows[o.index]["FirstName"]: o for o in again}
    unknown = {name for name, o in by_name.items() if o.state is RecordState.UNKNOWN}
    assert unknown <= set(counting.started), f"trial {trial}: unknown, yet never sent"
    for earlier in got:  # reported before the cancel: not sent again
        assert by_name[rows[earlier.index]["FirstName"]].skipped
    assert not set(rerun.started) & queued_before, f"trial {trial}: queued twice"
    # The documented reconcile: an unknown record Omeda did not queue is resent.
    missing = [row for row in rows if row["FirstName"] in unknown - set(queued(fake, trial))]
    async with fake.client() as client:
        await collect(
            client.submit_many(missing, store=SqliteStore(journal), resend_unknown=True, **options)
        )
    assert queued(fake, trial) == {row["FirstName"]: 1 for row in rows}, f"trial {trial}"


def many_rows() -> Iterator[dict[str, Any]]:
    """More rows than any of these tests lets a job send."""
    for i in range(10_000):
        yield {"FirstName": f"P{i}", "Emails": [{"EmailAddress": "p@x.com"}]}


async def nothing_starts_after(counting: Counting, fake: FakeOmeda) -> None:
    """The job stopped now: no POST starts from here on, its tasks end, the fake got no more."""
    started = len(counting.started)
    await eventually(lambda: library_tasks() == [], 10)
    assert len(counting.started) == started
    assert len(fake.transactions) <= started


@pytest.mark.parametrize("track", [False, True])
async def test_leaving_the_loop_stops_the_job(track: bool) -> None:
    """``break`` out of ``async for ... in client.submit_many(...)``: the job, no longer
    referenced, stops at once: no POST starts after the break and its tasks end."""
    async with (
        FakeOmeda(time_scale=500, scenario=QUICK_PATH) as fake,
        fake.client() as client,
    ):
        counting = Counting(client)
        rows = many_rows()
        async for _ in submit_many(counting, rows, concurrency=4, track=track, poll_policy=FAST):
            if len(counting.started) >= 20:
                break
        await nothing_starts_after(counting, fake)
        assert len(counting.started) < 60
    await no_task_left()


async def test_a_dropped_job_is_stopped_when_collected() -> None:
    """A job dropped mid-way (nothing refers to it any more) stops: no POST after, no task."""
    async with (
        FakeOmeda(time_scale=500, scenario=QUICK_PATH) as fake,
        fake.client() as client,
    ):
        counting = Counting(client)
        rows = many_rows()
        job = submit_many(counting, rows, concurrency=4)
        await anext(job)
        await eventually(lambda: len(counting.started) >= 5)  # the read-ahead allows 8
        del job
        gc.collect()
        await nothing_starts_after(counting, fake)
    await no_task_left()
