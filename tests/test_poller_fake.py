"""TransactionPoller against FakeOmeda: real HTTP, the fake's status paths and faults.

Every wait runs on the fake's scaled clock, shared by the fake, the client and
the poller; assertions on timing compare times on that clock (recorded by the
fake itself), so they hold however fast the machine is.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from omeda_async import (
    AuthenticationError,
    MemoryStore,
    OmedaClient,
    Outcome,
    PollPolicy,
    RecordState,
    StatusCode,
    StatusEvent,
)
from omeda_async.testing import FakeOmeda, Faults, Scenario

SIGNUP = {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]}
POLICY = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=30.0, deadline=600.0)


def short(name: str, seconds: float = 60.0) -> Scenario:
    """A named path squeezed into ``seconds`` of fake time: same codes, quicker test."""
    return Scenario.named(name).scaled(seconds)


async def submit(client: OmedaClient, count: int) -> list[int]:
    """Queue ``count`` signups concurrently; their TransactionIds in submission order."""
    gate = asyncio.Semaphore(32)

    async def one() -> int:
        async with gate:
            return (await client.store_customer_and_order(SIGNUP)).transaction_id

    return list(await asyncio.gather(*(one() for _ in range(count))))


def lookup_times(fake: FakeOmeda, transaction_id: int) -> list[float]:
    """When (fake clock) the fake received each Transaction Lookup of ``transaction_id``."""
    suffix = f"/transaction/{transaction_id}/*"
    return [r.at for r in fake.requests if r.service == "transaction" and r.path.endswith(suffix)]


async def test_every_outcome_on_the_fake() -> None:
    """SUCCEEDED, PARTIAL, FAILED, HELD, TIMED_OUT and NOT_FOUND, each from the fake's paths."""
    policy = PollPolicy(
        initial_delay=2.0, max_interval=30.0, deadline=300.0, stop_on_hold=True, not_found_grace=20
    )
    paths = {
        "new_customer": (Outcome.SUCCEEDED, 100),
        "existing_customer": (Outcome.SUCCEEDED, 101),
        "partial": (Outcome.PARTIAL, 99),
        "failed_source_prioritization": (Outcome.PARTIAL, 98),
        "failed_validation": (Outcome.FAILED, 9),
        "discarded": (Outcome.FAILED, 110),
        "payment_failed": (Outcome.FAILED, 6),
        "held_dupecheck": (Outcome.HELD, 35),
    }
    async with FakeOmeda(time_scale=2000, seed=1) as fake, fake.client() as client:
        fake.script_next(*(short(name) for name in paths))
        fake.script_next([(7, 100_000.0), 100])  # stuck far past the deadline
        ids = [(await client.store_customer_and_order(SIGNUP)).transaction_id for _ in range(9)]
        unknown = max(ids) + 1000
        store = MemoryStore()
        async with client.poller(policy=policy, store=store) as poller:
            trackings = [poller.track(tid) for tid in [*ids, unknown]]
        results = [t.result() for t in trackings]
    got = [(r.outcome, r.status) for r in results]
    expected = [(outcome, StatusCode(code)) for outcome, code in paths.values()]
    assert got == [
        *expected,
        (Outcome.TIMED_OUT, StatusCode.API_TRANSACTION_LOADED_INTO_STAGING),
        (Outcome.NOT_FOUND, None),
    ]
    assert results[-2].elapsed >= 300.0
    assert fake.lookups_after_terminal == {}
    # The held record waits for a person: left unfinished, so it can be resumed.
    assert [r.key for r in await store.unfinished()] == [results[7].key]
    record = await store.get(results[4].key)
    assert record is not None
    assert record.outcome is Outcome.FAILED
    assert record.errors == short("failed_validation").final.errors


async def test_close_cancels_and_stops_polling_the_fake() -> None:
    """close() ends unfinished trackings CANCELLED and the fake sees no lookup afterwards."""
    async with FakeOmeda(time_scale=1000, scenario="new_customer") as fake, fake.client() as client:
        [tid] = await submit(client, 1)
        store = MemoryStore()
        poller = client.poller(policy=POLICY, store=store)
        tracking = poller.track(tid)
        while tracking.status() is None:
            await fake.clock.sleep(1.0)
        await poller.close()
        result = await tracking
        seen = fake.lookups[tid]
        await fake.clock.sleep(120.0)
        assert fake.lookups[tid] == seen
    assert result.outcome is Outcome.CANCELLED
    assert result.status is not None
    record = await store.get(result.key)
    assert record is not None
    assert record.state is RecordState.ACCEPTED


async def test_events_follow_the_fake_path_in_order() -> None:
    """Events for one transaction are the fake's path, in order, each `previous` the last one."""
    path = short("new_customer", 240.0)
    async with FakeOmeda(time_scale=500, scenario=path) as fake, fake.client() as client:
        [tid] = await submit(client, 1)
        events: list[StatusEvent] = []
        async with client.poller(policy=POLICY) as poller:
            poller.track(tid)
            events = [event async for event in poller.events()]
    codes = [int(e.status) for e in events]
    full = [int(step.status) for step in path.steps]
    assert codes[-1] == 100
    # A subsequence of the path (a short step may pass between two lookups), in order.
    position = 0
    for code in codes:
        position = full.index(code, position) + 1
    assert [e.previous for e in events] == [None, *[e.status for e in events[:-1]]]
    assert [e.at for e in events] == sorted(e.at for e in events)


async def test_max_in_flight_is_the_fakes_concurrency() -> None:
    """With every lookup held open, the fake sees exactly max_in_flight lookups at once."""
    faults = Faults(rates={"slow": 1.0}, services={"transaction"}, slow_seconds=0.02)
    path = Scenario.from_steps([(29, 5.0), 100])
    async with (
        FakeOmeda(time_scale=100, scenario=path, faults=faults) as fake,
        fake.client() as client,
    ):
        ids = await submit(client, 40)
        async with client.poller(policy=POLICY, max_in_flight=4) as poller:
            trackings = [poller.track(tid) for tid in ids]
    assert all(t.result().outcome is Outcome.SUCCEEDED for t in trackings)
    assert fake.max_in_flight_by_service["transaction"] == 4


async def test_retry_after_delays_only_the_limited_transaction() -> None:
    """A 429 with Retry-After: 30 holds that transaction 30 s; the other keeps polling meanwhile."""
    faults = Faults(services={"transaction"}, retry_after=30.0)
    path = Scenario.from_steps([(29, 80.0), 100])
    async with (
        FakeOmeda(time_scale=200, scenario=path, faults=faults) as fake,
        fake.client() as client,
    ):
        first, second = await submit(client, 2)
        async with client.poller(policy=POLICY) as poller:
            limited = poller.track(first)
            await fake.clock.sleep(0.5)  # the other's first lookup comes strictly later
            fake.faults.script("rate_limit")
            other = poller.track(second)
    limited_at = lookup_times(fake, first)
    other_at = lookup_times(fake, second)
    assert fake.faults.injected == {"rate_limit": 1}
    assert limited_at[1] - limited_at[0] >= 30.0
    assert sum(limited_at[0] < t < limited_at[0] + 30.0 for t in other_at) >= 3
    [note] = limited.result().lookup_errors
    assert note.startswith("RateLimitedError: HTTP 429")
    assert limited.result().outcome is Outcome.SUCCEEDED
    assert other.result().lookup_errors == ()


async def test_server_error_burst_is_ridden_out() -> None:
    """A burst of 500/503 answers delays tracking but never ends it; the errors are noted."""
    faults = Faults(services={"transaction"}, retry_after=5.0)
    exact = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=30.0, jitter=False)
    async with (
        FakeOmeda(time_scale=500, scenario=short("existing_customer"), faults=faults) as fake,
        fake.client() as client,
    ):
        [tid] = await submit(client, 1)
        fake.faults.script(*["server_error"] * 4, *["unavailable"] * 4)
        async with client.poller(policy=exact) as poller:
            tracking = poller.track(tid)
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    assert fake.faults.injected == {"server_error": 4, "unavailable": 4}
    assert len(result.lookup_errors) == 2
    assert all(note.startswith("ServerError") for note in result.lookup_errors)
    assert result.polls == fake.lookups[tid]
    times = lookup_times(fake, tid)
    gaps = [b - a for a, b in itertools.pairwise(times)][:4]
    # Backing off through the 500s: 3, 4.5, 6.75, 10.125 s. On a 500x clock a busy machine
    # adds whole fake seconds of lateness to any gap, so order is noise; never coming early
    # is the property (each next lookup is due an interval after the previous answer).
    backoff = [2.0 * 1.5**n for n in range(1, 5)]
    assert all(gap >= due - 0.01 for gap, due in zip(gaps, backoff, strict=True)), gaps


async def test_garbage_answers_are_retried_and_noted() -> None:
    """An HTML page and a truncated JSON body are retried like server faults, then noted."""
    faults = Faults(services={"transaction"})
    async with (
        FakeOmeda(time_scale=500, scenario=short("new_customer"), faults=faults) as fake,
        fake.client() as client,
    ):
        [tid] = await submit(client, 1)
        fake.faults.script("malformed", "truncated")
        async with client.poller(policy=POLICY) as poller:
            tracking = poller.track(tid)
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    assert len(result.lookup_errors) == 2
    assert all(note.startswith("malformed answer: ") for note in result.lookup_errors)
    assert "text/html" in result.lookup_errors[0]
    assert fake.faults.injected == {"malformed": 1, "truncated": 1}
    assert result.polls == fake.lookups[tid]


async def test_refused_credentials_fail_every_tracking() -> None:
    """A 403 (wrong app id) fails every tracking with AuthenticationError; none is finished."""
    async with FakeOmeda(time_scale=1000) as fake, fake.client() as client:
        ids = await submit(client, 3)
        store = MemoryStore()
        async with fake.client(app_id="not-the-app-id") as refused:
            poller = refused.poller(policy=POLICY, store=store)
            trackings = [poller.track(tid) for tid in ids]
            with pytest.raises(AuthenticationError):
                await poller.join()
            await poller.close()
    for tracking in trackings:
        with pytest.raises(AuthenticationError):
            tracking.result()
    assert len(await store.unfinished()) == 3


async def test_thousands_of_transactions_in_one_poller() -> None:
    """3,000 transactions tracked at once reach their outcome in seconds, none polled after it."""
    path = Scenario.from_steps([(29, 30.0), 100])
    count = 3000
    policy = PollPolicy(initial_delay=10.0, multiplier=2.0, max_interval=60.0, deadline=3600.0)
    started = time.perf_counter()
    async with (
        FakeOmeda(time_scale=40, scenario=path, seed=5, record_bodies=False) as fake,
        fake.client() as client,
    ):
        ids = await submit(client, count)
        outcomes: dict[Outcome, int] = {}
        async with client.poller(policy=policy) as poller:
            for tid in ids:
                poller.track(tid)
            async for result in poller.results():
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    assert outcomes == {Outcome.SUCCEEDED: count}
    assert fake.lookups_after_terminal == {}
    assert set(fake.lookups) == set(ids)
    assert sum(fake.lookups.values()) <= 4 * count
    assert time.perf_counter() - started < 45.0
