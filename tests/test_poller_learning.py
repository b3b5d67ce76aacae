"""What the poller learns about the brand's queue, and how it polls with it (stub, virtual time)."""

from __future__ import annotations

import itertools
from pathlib import Path

import attrs
import pytest

from omeda_async import OmedaClient, PollPolicy, SqliteStore, StatusCode, TransactionPoller
from omeda_async._rhythm import QUEUE_CODES, Rhythm, RhythmMemory, Window
from tests.test_poller import StubOmeda, VirtualClock

LEARNING = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=60.0, jitter=False)
LEARNED = Rhythm(
    runs=(Window(100.0, 105.0), Window(1000.0, 1005.0), Window(1900.0, 1905.0)),
    period=900.0,
    settle=30.0,
)


class LearningStub(StubOmeda):
    """A StubOmeda that, like OmedaClient, carries the memory its pollers share."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self.rhythm_memory = RhythmMemory()


def batch(stub: StubOmeda, ids: range, run: float, *, step: float = 0.05) -> None:
    """Records waiting at 0 until a run at ``run`` takes them in order (0.05 s apart), each
    then passing 29 for 10 s on its way to 100."""
    for n, tid in enumerate(ids):
        start = run + n * step
        stub.timeline(tid, (0, 0), (start, 29), (start + 10.0, 100))


@pytest.fixture
def clock() -> VirtualClock:
    """Virtual time that moves only when a test moves it (tests/test_poller.py's)."""
    return VirtualClock()


def poller_for(stub: StubOmeda, policy: PollPolicy = LEARNING) -> TransactionPoller:
    return TransactionPoller(stub, policy=policy)  # type: ignore[arg-type]


async def test_a_queued_job_is_polled_through_one_representative(
    clock: VirtualClock,
) -> None:
    """200 records wait 10 minutes for a run: one record watches, the rest wait, and each is
    reported with about one lookup once the run has taken them."""
    stub = LearningStub(clock)
    batch(stub, range(1, 201), run=600.0)
    poller = poller_for(stub)
    trackings = [poller.track(tid) for tid in range(1, 201)]
    await clock.run_until(lambda: all(t.done() for t in trackings))
    before_run = [at for at, _ in stub.calls if at < 600.0]
    # The representative (the oldest) and the one-in-ten samples, nothing else.
    watchers = {tid for at, tid in stub.calls if at < 600.0}
    assert 1 in watchers
    assert len(watchers) <= 200 // 10 + 1
    assert len(before_run) < 120
    assert len(stub.calls) / 200 < 2.5
    assert all(t.result().status == 100 for t in trackings)
    # Reported within a minute of finishing (the watcher looks every 60 s at most).
    ends = {tid: 600.0 + (tid - 1) * 0.05 + 10.0 for tid in range(1, 201)}
    assert max(t.result().history[-1][0] - ends[t.transaction_id] for t in trackings) <= 70.0
    assert stub.rhythm_memory.rhythm.cohort


async def test_the_representative_looks_more_often_for_a_big_cohort(clock: VirtualClock) -> None:
    """Its lookups serve every waiting record: with 400 waiting it looks every few seconds."""
    stub = LearningStub(clock)
    batch(stub, range(1, 401), run=900.0)
    poller = poller_for(stub)
    for tid in range(1, 401):
        poller.track(tid)
    await clock.advance(600.0)
    # Record 1, the oldest, watches; the two youngest samples (381, 391) scout on their own.
    rep = stub.calls_for(1)
    gaps = [b - a for a, b in itertools.pairwise(rep)][-5:]
    assert max(gaps) <= 60.0 * 4 / 390**0.5  # about 400 wait on it
    assert len(rep) > 40
    assert len(stub.calls_for(391)) > 5
    assert len(stub.calls_for(381)) > 5
    looked_up = {tid for _, tid in stub.calls}
    assert len(looked_up) <= 400 // 10 + 2
    await poller.close()


async def test_records_that_leave_the_queue_out_of_order_fall_back_to_their_own_backoff(
    clock: VirtualClock,
) -> None:
    """No runs (each record leaves 7 after its own wait, younger ones first): the belief
    ends and every record follows its own bounded backoff."""
    stub = LearningStub(clock)
    for tid in range(1, 101):
        leaves = 400.0 - 3.0 * tid  # the youngest leaves first
        stub.timeline(tid, (0, 7), (leaves, 29), (leaves + 30.0, 100))
    poller = poller_for(stub)
    trackings = [poller.track(tid) for tid in range(1, 101)]
    await clock.run_until(lambda: all(t.done() for t in trackings))
    assert not stub.rhythm_memory.rhythm.cohort
    for t in trackings:
        calls = stub.calls_for(t.transaction_id)
        end = 400.0 - 3.0 * t.transaction_id + 30.0
        # Reported within max_interval of its end: no record waited on a wrong guess for long.
        assert t.result().history[-1][0] - end <= 61.0, (t, calls)


async def test_a_lone_record_sleeps_until_the_learned_run(clock: VirtualClock) -> None:
    """With the cadence learned, a lone record waiting 13 minutes costs a handful of lookups."""
    stub = LearningStub(clock)
    stub.rhythm_memory.update(LEARNED)
    await clock.advance(2000.0)
    stub.timeline(9, (0, 0), (2800.0, 29), (2815.0, 100))
    poller = poller_for(stub)
    tracking = poller.track(9)
    await clock.run_until(tracking.done)
    assert tracking.result().status == 100
    # The first look, one halfway, a couple in the run's window, and its end.
    assert len(stub.calls_for(9)) <= 7
    assert tracking.result().history[-1][0] - 2815.0 <= 60.0


async def test_pollers_of_one_client_share_what_they_learn() -> None:
    """Every poller of a client, wait_for_transaction's included, uses the client's memory."""
    async with OmedaClient(
        brand="ABC", app_id="secret-app", base_url="http://127.0.0.1:1"
    ) as client:
        first, second = client.poller(), client.poller()
        assert first._memory is client.rhythm_memory
        assert second._memory is client.rhythm_memory
        await first.close()
        await second.close()


async def test_what_was_learned_survives_a_restart_with_a_durable_store(
    tmp_path: Path, clock: VirtualClock
) -> None:
    """A SqliteStore keeps the learned rhythm; a new client's poller starts from it."""
    stub = LearningStub(clock)
    stub.rhythm_memory.update(LEARNED)
    async with (
        SqliteStore(tmp_path / "j.db") as store,
        TransactionPoller(stub, store=store),  # type: ignore[arg-type]
    ):
        pass  # leaving writes what changed since the last write
    restarted = LearningStub(clock)
    async with (
        SqliteStore(tmp_path / "j.db") as store,
        TransactionPoller(restarted, store=store),  # type: ignore[arg-type]
    ):
        assert restarted.rhythm_memory.rhythm.period == 900.0
    assert restarted.rhythm_memory.rhythm.settle == 30.0
    assert [w.hi - w.lo for w in restarted.rhythm_memory.rhythm.runs] == [5.0, 5.0, 5.0]


async def test_without_learning_every_record_has_its_own_lookups(clock: VirtualClock) -> None:
    """learn=False: no representative, no waiting; each queued record backs off on its own."""
    stub = LearningStub(clock)
    batch(stub, range(1, 21), run=300.0)
    poller = poller_for(stub, attrs.evolve(LEARNING, learn=False))
    for tid in range(1, 21):
        poller.track(tid)
    await clock.advance(200.0)
    assert {tid for _, tid in stub.calls} == set(range(1, 21))
    assert stub.rhythm_memory.rhythm == Rhythm()
    await poller.close()


def test_status_codes_of_the_queue() -> None:
    """0 and 7 are the codes of a record waiting in the queue."""
    assert {StatusCode(0), StatusCode(7)} == QUEUE_CODES
