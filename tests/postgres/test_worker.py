"""Workers of a fleet in one process: the queue, the tracker, a clean stop, a takeover, the budget.

FakeOmeda runs an hour a second, so a record's 15-30 minutes take half a
second; the poll policy is scaled to match. Leases are moved by SQL, never
waited for.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from omeda_async import Outcome, PollPolicy, RecordState, StatusCode
from omeda_async.postgres import PostgresStore
from omeda_async.postgres._schedule_state import Decision, Schedule
from omeda_async.postgres._tracker import FleetTracker, Followed, _Row
from omeda_async.postgres._worker import Worker
from omeda_async.testing import FakeOmeda
from tests.postgres.support import admin
from tests.support import customer, eventually

SCO = "storecustomerandorder"
FAST = PollPolicy(initial_delay=0.05, max_interval=0.2, deadline=600, not_found_grace=60)

MakeStore = Callable[..., PostgresStore]


def rows(count: int) -> list[dict[str, Any]]:
    return [customer(i) for i in range(count)]


async def test_two_workers_send_every_queued_record_once_and_follow_each_to_its_end(
    make_store: MakeStore,
) -> None:
    """200 queued records, two workers: 200 POSTs, 0 duplicates, every one tracked to success."""
    async with FakeOmeda(time_scale=3600, seed=3) as fake:
        async with make_store() as queue:
            assert (await queue.enqueue(rows(200))).added == 200
        stores = [make_store(), make_store()]
        results: list[Followed] = []
        async with fake.client() as one, fake.client() as two:
            workers = [
                Worker(client, store, policy=FAST, claim_interval=0.05, on_result=results.append)
                for client, store in zip((one, two), stores, strict=True)
            ]
            summaries = await asyncio.gather(*(w.run(drain=True) for w in workers))
        async with make_store() as check:
            counts = await check.counts()
    assert len(fake.transactions) == 200
    assert fake.duplicates() == []
    assert counts.finished == 200
    assert counts.open == 0
    assert Counter(r.outcome for r in results) == {Outcome.SUCCEEDED: 200}
    assert sum(s.submitted[RecordState.ACCEPTED] for s in summaries) == 200
    assert all(s.submitted[RecordState.ACCEPTED] > 0 for s in summaries)


async def test_a_clean_stop_releases_every_lease_and_hands_claims_back(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """Stopped mid-job: what it read is sent and journaled, the rest is queued again, nobody's."""
    async with FakeOmeda(time_scale=3600, seed=4, faults={"slow": 1.0}) as fake:
        fake.faults.slow_seconds = 0.2
        async with make_store() as queue:
            await queue.enqueue(rows(100))
        store = make_store()
        stop = asyncio.Event()
        async with fake.client() as client:
            worker = Worker(client, store, track=False, concurrency=4, claim_interval=0.05)
            running = asyncio.ensure_future(worker.run(stop))
            await eventually(lambda: len(fake.requests) >= 4)
            stop.set()
            summary = await running
        async with admin(dsn) as conn:
            held = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.records WHERE lease_owner IS NOT NULL"
            )
        async with make_store() as check:
            counts = await check.counts()
    sent = summary.submitted[RecordState.ACCEPTED]
    assert 4 <= sent < 100
    assert held == 0
    assert (counts.accepted, counts.queued, counts.pending, counts.claimed) == (
        sent,
        100 - sent,
        0,
        0,
    )
    assert len(fake.transactions) == sent


async def test_a_record_begun_by_a_worker_that_is_gone_becomes_unknown_never_resent(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """Its POST may have left: reaped as unknown, and no worker sends it again."""
    async with FakeOmeda(time_scale=3600, seed=5) as fake:
        async with make_store() as gone:
            await gone.enqueue([*rows(3), customer(99)])
        async with admin(dsn) as conn:
            key = await conn.fetchval(
                f"SELECT key FROM {schema}.records WHERE payload->>'FirstName' = 'P99'"
            )
            # A worker began it (its POST may be out) and then vanished: lease run out.
            await conn.execute(
                f"UPDATE {schema}.records SET state = 'pending', lease_owner = 'gone:1', "
                "lease_until = now() - interval '1 second' WHERE key = $1",
                key,
            )
        async with fake.client() as client:
            worker = Worker(client, make_store(), policy=FAST, claim_interval=0.05)
            summary = await worker.run(drain=True)
        async with make_store() as check:
            record = await check.get(key)
    assert summary.reaped == 1
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    assert "may or may not" in record.errors[0]
    assert sorted(tx.body["FirstName"] for tx in fake.transactions.values()) == ["P0", "P1", "P2"]


async def test_a_dead_trackers_transactions_are_taken_over_and_its_late_writes_refused(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """A tracker died mid-lookup: after its lease another takes the row on; its write is refused."""
    async with FakeOmeda(time_scale=3600, seed=6) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(customer(1))
        async with make_store() as dead, make_store() as alive:
            await dead.accept("k", receipt.transaction_id)
            stalled = FleetTracker(client, dead, policy=FAST)
            db = dead.database
            async with admin(dsn) as conn:
                await conn.execute(f"UPDATE {schema}.records SET next_due = now()")
            claimed = await db.fetch(
                db.sql.claim_due, dead.job, dead.owner, 10, dead.lease, doing="claim"
            )
            assert [r["key"] for r in claimed] == ["k"]
            # Another tracker finds nothing while the lease is live ...
            assert await FleetTracker(client, alive, policy=FAST)._claim(10) == 0
            async with admin(dsn) as conn:
                await conn.execute(
                    f"UPDATE {schema}.records SET lease_until = now() - interval '1 second'"
                )
            # ... and takes it once the lease ran out, continuing the schedule.
            results: list[Followed] = []
            tracker = FleetTracker(
                client, alive, policy=FAST, claim_interval=0.05, on_result=results.append
            )
            stop = asyncio.Event()
            following = asyncio.ensure_future(tracker.run(stop, drain=True))
            async with asyncio.timeout(30):
                await following
            # The stalled tracker wakes with its old claim: its write changes nothing.
            old = claimed[0]
            await stalled._write(
                _Row(
                    key="k",
                    fence=old["fence"],
                    transaction_id=receipt.transaction_id,
                    status=None,
                    unchanged=0,
                    started=old["started"],
                    seen=None,
                    db_now=old["now"],
                    claimed_at=0.0,
                ),
                Decision(
                    Outcome.FAILED,
                    None,
                    Schedule(old["started"], StatusCode(9), 0, old["now"]),
                    changed=True,
                ),
                ("stale",),
            )
            record = await alive.get("k")
    assert [r.outcome for r in results] == [Outcome.SUCCEEDED]
    assert stalled.refused == 1
    assert record is not None
    assert (record.state, record.outcome) == (RecordState.FINISHED, Outcome.SUCCEEDED)


async def test_a_transactions_schedule_lives_in_its_row(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """After a lookup the row holds the status, the unchanged count and the next lookup time."""
    async with FakeOmeda(time_scale=1, seed=7) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(customer(1))
        async with make_store() as store:
            await store.accept("k", receipt.transaction_id)
            async with admin(dsn) as conn:
                # Accepted a while ago: its first lookup is due now.
                await conn.execute(
                    f"UPDATE {schema}.records SET next_due = now(), started = started - 100"
                )
            slow = PollPolicy(initial_delay=5, max_interval=120, multiplier=2, jitter=False)
            tracker = FleetTracker(client, store, policy=slow)
            assert await tracker._claim(10) == 1
            await eventually(lambda: tracker.lookups >= 1 and not tracker._in_flight)
            async with admin(dsn) as conn:
                state = await conn.fetchrow(
                    f"SELECT status, unchanged, seen, next_due - now() AS wait, lease_owner "
                    f"FROM {schema}.records WHERE key = 'k'"
                )
            # Nothing is due now: a second tracker claims nothing.
            assert await FleetTracker(client, store, policy=slow)._claim(10) == 0
    assert state["status"] in (0, 7)  # queued: 0, or 7 (loaded into staging)
    assert state["unchanged"] == 1  # the first answer continues the ramp the first lookup began
    assert state["seen"] is not None
    assert state["lease_owner"] is None
    assert 9 < state["wait"].total_seconds() <= 10  # initial_delay * multiplier ** 1


async def test_the_fleets_budget_hands_each_slot_out_once(make_store: MakeStore) -> None:
    """Two workers reserving slots of one brand: every slot is T apart, whoever got it."""
    async with make_store(brand="ABC") as a, make_store(brand="ABC") as b:
        limits = [a.rate_limit(50), b.rate_limit(50)]
        for _ in range(4):
            for limit in limits:
                await limit._reserve()
        # Slots are local monotonic times, measured against the same database clock.
        slots = sorted(t for limit in limits for t in limit._slots)
    gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
    assert len(slots) == 8 * 5
    assert min(gaps) >= 1 / 50 - 0.005  # the offset estimate's error, not a budget overrun
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 50, rel=0.1)


async def test_a_client_with_the_fleets_budget_is_limited_by_it(make_store: MakeStore) -> None:
    """OmedaClient(rate_limit=store.rate_limit(r)) spaces its requests by the brand's budget."""
    async with FakeOmeda(time_scale=1, seed=8) as fake, make_store(brand=fake.brand) as store:
        limit = store.rate_limit(40)
        async with fake.client(rate_limit=limit) as client:
            assert client.rate_limit == 40
            await asyncio.gather(*(client.store_customer_and_order(customer(i)) for i in range(12)))
    assert limit.reservations >= 3  # 4 slots a statement at 40/s
    times = sorted(request.at for request in fake.requests)
    assert times[-1] - times[0] >= 11 / 40 * 0.8
