"""Cancellation and shutdown: cancelled at random moments, nothing keeps running, nothing is lost.

Each seeded run cancels the task driving a ``submit_many`` job or a poller at
a random point of its traffic (a number of requests FakeOmeda has received),
then checks that no task of the library is left running, that sessions are
closed (``filterwarnings = ["error"]`` turns an unclosed one into a failure;
``gc.collect()`` makes it show now), and that the journal, reopened, lets a
rerun finish the work without losing or duplicating a record.
"""

from __future__ import annotations

import asyncio
import gc
import random
from pathlib import Path

import pytest

from omeda_async import Outcome, PollPolicy, RecordState, SqliteStore
from omeda_async.bulk import SubmissionOutcome
from omeda_async.testing import FakeOmeda, Faults, StepLike
from tests.support import (
    QUICK_PATH,
    check_accounted,
    collect,
    customer,
    eventually,
    queued_by_row,
)

FAST = PollPolicy(initial_delay=1.0, multiplier=1.5, max_interval=2.0, deadline=600.0)
ROWS = 80


def library_tasks() -> list[asyncio.Task[object]]:
    """Running tasks whose coroutine comes from the library (the fake server excluded)."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if "omeda_async" in filename and "testing" not in filename:
            found.append(task)
    return found


async def no_task_left() -> None:
    """Every task but this test's has ended (the loop may need a turn to reap them)."""
    current = asyncio.current_task()
    await eventually(lambda: all(t is current for t in asyncio.all_tasks()), 10)


async def cancel(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it to end."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("seed", range(4))
async def test_cancelled_submit_many_leaves_nothing_running_and_a_resumable_journal(
    tmp_path: Path, seed: int
) -> None:
    """Cancel a tracked job anywhere: no task or session left; a rerun finishes it exactly."""
    rng = random.Random(seed)
    journal = tmp_path / "journal.db"
    faults = Faults(rates={"slow": 0.05}, slow_seconds=0.3, seed=seed)
    rows = [customer(i) for i in range(ROWS)]
    async with FakeOmeda(time_scale=500, scenario=QUICK_PATH, faults=faults, seed=seed) as fake:
        target = rng.randint(1, ROWS)
        got: list[SubmissionOutcome] = []

        async def run() -> None:
            async with (
                fake.client() as client,
                SqliteStore(journal) as store,
                client.submit_many(
                    rows, concurrency=8, track=True, store=store, poll_policy=FAST
                ) as job,
            ):
                async for outcome in job:
                    got.append(outcome)

        task = asyncio.create_task(run())
        await eventually(lambda: len(fake.requests) >= target or task.done(), 30)
        assert not task.done(), "the cancel must land mid-work"
        await cancel(task)
        assert library_tasks() == []
        gc.collect()

        fake.faults.clear()
        async with fake.client() as client, SqliteStore(journal) as store:
            rerun = client.submit_many(
                rows, concurrency=8, track=True, store=store, poll_policy=FAST
            )
            outcomes = {o.index: o for o in await collect(rerun)}
            check_accounted(list(outcomes.values()), ROWS, rerun.summary)
            assert await store.unfinished() == []
        queued = queued_by_row(fake)
        assert fake.duplicates() == []
        for index, outcome in outcomes.items():
            ids = queued.get(index, [])
            if outcome.state is RecordState.UNKNOWN:
                assert len(ids) <= 1  # cancelled with its POST out: reported, not resent
            else:
                assert outcome.state is RecordState.FINISHED, (index, outcome.state)
                assert ids == [outcome.transaction_id]
                assert outcome.outcome is Outcome.SUCCEEDED
        for earlier in got:  # what was reported before the cancel stands
            assert outcomes[earlier.index].transaction_id == earlier.transaction_id
    await no_task_left()


async def test_cancelled_bare_iteration_then_aclose_stops_the_job() -> None:
    """A consumer cancelled mid ``async for`` (no ``async with``) stops the job with aclose()."""
    async with FakeOmeda(time_scale=500, scenario=QUICK_PATH) as fake, fake.client() as client:
        job = client.submit_many((customer(i) for i in range(10_000)), concurrency=4)

        async def consume() -> None:
            async for _ in job:
                pass

        task = asyncio.create_task(consume())
        await eventually(lambda: len(fake.transactions) >= 20)
        await cancel(task)
        await job.aclose()
        assert library_tasks() == []
        sent = len(fake.transactions)
        assert sent < 10_000
    await no_task_left()


@pytest.mark.parametrize("seed", range(4))
async def test_cancelled_poller_leaves_nothing_running_and_resume_finishes(
    tmp_path: Path, seed: int
) -> None:
    """Cancel a poller anywhere: no task left; every id is finished or resumable in the store."""
    rng = random.Random(seed)
    journal = tmp_path / "journal.db"
    # Pending for an hour of fake time, so the cancel always lands mid-tracking;
    # Run Processor then finishes them at once for the resumed poller.
    path: list[StepLike] = [(7, 3600.0), 100]
    async with FakeOmeda(time_scale=200, scenario=path, seed=seed) as fake:
        async with fake.client() as client, SqliteStore(journal) as store:
            ids = []
            for i in range(30):
                receipt = await client.store_customer_and_order(customer(i))
                ids.append(receipt.transaction_id)
                await store.begin(f"row-{i}", service="storecustomerandorder")
                await store.accept(f"row-{i}", receipt.transaction_id)
        lookups_before = sum(fake.lookups.values())
        target = lookups_before + rng.randint(1, 300)

        async def follow() -> None:
            async with (
                fake.client() as client,
                SqliteStore(journal) as store,
                client.poller(policy=FAST, store=store, max_in_flight=4) as poller,
            ):
                for i, tid in enumerate(ids):
                    poller.track(tid, key=f"row-{i}")

        task = asyncio.create_task(follow())
        await eventually(lambda: sum(fake.lookups.values()) >= target or task.done(), 30)
        assert not task.done(), "the cancel must land mid-work"
        await cancel(task)
        assert library_tasks() == []
        gc.collect()

        async with fake.client() as client, SqliteStore(journal) as store:
            unfinished = {r.transaction_id for r in await store.unfinished()}
            finished = set()
            for i, tid in enumerate(ids):
                record = await store.get(f"row-{i}")
                assert record is not None
                assert record.transaction_id == tid
                if record.state is RecordState.FINISHED:
                    assert record.outcome is Outcome.SUCCEEDED
                    finished.add(tid)
            assert finished | unfinished == set(ids)
            assert not finished & unfinished
            assert unfinished, "cancelled mid-tracking: some are left to resume"
            await client.run_processor(ids)
            async with client.poller(policy=FAST, store=store) as poller:
                resumed = await poller.resume()
            assert {t.transaction_id for t in resumed} == unfinished
            for tracking in resumed:
                assert (await tracking).outcome is Outcome.SUCCEEDED
            assert await store.unfinished() == []
    await no_task_left()
