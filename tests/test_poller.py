"""TransactionPoller on a stub client and a virtual clock: every outcome, faults, lifecycle."""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import attrs
import pytest

from omeda_async import (
    AuthenticationError,
    MalformedResponseError,
    MemoryStore,
    NotFoundError,
    Outcome,
    PollPolicy,
    RateLimitedError,
    RecordState,
    RetryPolicy,
    ServerError,
    SqliteStore,
    StatusCode,
    StatusEvent,
    Tracking,
    TrackingCounts,
    TrackingResult,
    TransactionPoller,
    Transition,
    TransportError,
)
from omeda_async._store import transaction_key
from omeda_async.models import Transaction

# No jitter unless a test is about jitter, and no learning unless a test is about what
# the schedule learns: exact lookup times make exact assertions.
EXACT = PollPolicy(
    initial_delay=2.0,
    multiplier=2.0,
    max_interval=16.0,
    jitter=False,
    hold_interval=100.0,
    learn=False,
)


class VirtualClock:
    """A Clock whose time moves only when told: sleepers wake in time order.

    ``settle()`` lets every ready task run (the stub answers without I/O, so a
    bounded number of loop turns finishes all work). ``advance`` and
    ``run_until`` move time from one sleeper to the next, so a test sees each
    lookup happen at its exact scheduled time.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._seq), fut))
        await fut

    @staticmethod
    async def settle() -> None:
        for _ in range(60):
            await asyncio.sleep(0)

    def _next_sleeper(self) -> tuple[float, asyncio.Future[None]] | None:
        while self._sleepers:
            when, _, fut = self._sleepers[0]
            if not fut.done():
                return when, fut
            heapq.heappop(self._sleepers)
        return None

    async def _wake_next(self) -> bool:
        nxt = self._next_sleeper()
        if nxt is None:
            return False
        heapq.heappop(self._sleepers)
        when, fut = nxt
        self._now = max(self._now, when)
        fut.set_result(None)
        await self.settle()
        return True

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper due on the way."""
        target = self._now + seconds
        await self.settle()
        while (nxt := self._next_sleeper()) is not None and nxt[0] <= target:
            await self._wake_next()
        self._now = target
        await self.settle()

    async def run_until(self, done: Callable[[], bool], *, limit: float = 1e6) -> None:
        """Jump from sleeper to sleeper until ``done()`` (or fail if time runs out)."""
        await self.settle()
        while not done():
            nxt = self._next_sleeper()
            assert nxt is not None, "nothing is sleeping, yet the condition never came true"
            assert nxt[0] <= limit, f"still not done at t={nxt[0]}"
            await self._wake_next()


Answer = int | BaseException


class StubOmeda:
    """Answers Transaction Lookup from per-id timelines, with queued faults first.

    ``timeline(id, (t, code), ...)`` says which code the transaction has from
    time ``t`` on; ``fail(id, exc, ...)`` queues exceptions raised by the next
    lookups of that id. Unknown ids answer 404. ``gate`` (when set) holds every
    lookup until the test releases it.
    """

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.timelines: dict[int, list[tuple[float, int]]] = {}
        self.faults: dict[int, deque[BaseException]] = {}
        self.calls: list[tuple[float, int]] = []
        self.errors: dict[int, tuple[str, ...]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Event | None = None

    def timeline(self, transaction_id: int, *points: tuple[float, int]) -> None:
        self.timelines[transaction_id] = sorted(points)

    def fail(self, transaction_id: int, *errors: BaseException) -> None:
        self.faults.setdefault(transaction_id, deque()).extend(errors)

    def calls_for(self, transaction_id: int) -> list[float]:
        return [at for at, tid in self.calls if tid == transaction_id]

    async def get_transaction(self, transaction_id: int, *, retry: RetryPolicy) -> Transaction:
        assert retry == RetryPolicy.none(), "the poller schedules its own retries"
        self.calls.append((self.clock.now(), transaction_id))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            queued = self.faults.get(transaction_id)
            if queued:
                raise queued.popleft()
            points = self.timelines.get(transaction_id)
            now = self.clock.now()
            current = [code for at, code in points or () if at <= now]
            if not current:
                raise NotFoundError(
                    f"No status found for transaction {transaction_id}.", status=404
                )
            return Transaction(
                transaction_id=transaction_id,
                status=StatusCode(current[-1]),
                errors=self.errors.get(transaction_id, ()),
            )
        finally:
            self.in_flight -= 1


class RecordingStore(MemoryStore):
    """A MemoryStore that also logs which hooks the poller called, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str]] = []

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        self.log.append(("accept", key))
        await super().accept(key, transaction_id, service=service)

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        self.log.append(("record_status", key))
        await super().record_status(key, status, at)

    async def finish(
        self,
        key: str,
        *,
        outcome: Outcome,
        status: StatusCode | None,
        history: Sequence[tuple[float, StatusCode]] = (),
        errors: Sequence[str] = (),
    ) -> None:
        self.log.append(("finish", key))
        await super().finish(key, outcome=outcome, status=status, history=history, errors=errors)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def stub(clock: VirtualClock) -> StubOmeda:
    return StubOmeda(clock)


@pytest.fixture
async def autorun(clock: VirtualClock) -> AsyncIterator[VirtualClock]:
    """Drive the virtual clock in the background: when all is quiet, jump to the next sleeper."""

    async def drive() -> None:
        while True:
            await clock.settle()
            if not await clock._wake_next():
                await asyncio.sleep(0)

    driver = asyncio.create_task(drive())
    yield clock
    driver.cancel()
    await asyncio.wait([driver])


def poller_for(stub: StubOmeda, policy: PollPolicy = EXACT, **kwargs: object) -> TransactionPoller:
    return TransactionPoller(stub, policy=policy, **kwargs)  # type: ignore[arg-type]


def other_tasks(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t not in before and not t.done()}


# -- outcomes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "outcome"),
    [
        (100, Outcome.SUCCEEDED),
        (101, Outcome.SUCCEEDED),
        (98, Outcome.PARTIAL),
        (99, Outcome.PARTIAL),
        (2, Outcome.FAILED),
        (9, Outcome.FAILED),
        (110, Outcome.FAILED),
    ],
)
async def test_terminal_code_ends_with_its_outcome(
    stub: StubOmeda, clock: VirtualClock, final: int, outcome: Outcome
) -> None:
    """Tracking follows 0 -> 7 -> final and ends with the final code's outcome."""
    stub.timeline(7, (0, 0), (3, 7), (9, final))
    poller = poller_for(stub)
    tracking = poller.track(7)
    await clock.run_until(tracking.done)
    result = await tracking
    assert result.outcome is outcome
    assert result.status == final
    # 2 (0), 6 (7), 14 (final): the ramp (+4, +8) goes on through the codes of one
    # phase; a new code does not start it again.
    assert result.history == ((2.0, 0), (6.0, 7), (14.0, final))
    assert stub.calls_for(7) == [2.0, 6.0, 14.0]
    assert result.polls == 3
    assert result.elapsed == 14.0
    assert result.transaction is not None
    assert result.transaction.status == final
    assert result.anomalies == ()


async def test_no_lookup_after_the_terminal_answer(stub: StubOmeda, clock: VirtualClock) -> None:
    """Once a terminal code is seen the transaction is never looked up again."""
    stub.timeline(1, (0, 100))
    poller = poller_for(stub)
    tracking = poller.track(1)
    await clock.run_until(tracking.done)
    await clock.advance(10_000)
    assert stub.calls_for(1) == [2.0]


async def test_stop_on_hold_ends_held_at_the_first_held_code(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """With stop_on_hold, a held code (35, manual review) ends tracking HELD at once."""
    stub.timeline(3, (0, 29), (3, 35), (50, 100))
    poller = poller_for(stub, PollPolicy(initial_delay=2.0, jitter=False, stop_on_hold=True))
    tracking = poller.track(3)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.HELD
    assert result.status == StatusCode.DUPECHECK_MANUAL_REVIEW
    await clock.advance(1000)
    assert stub.calls_for(3) == [2.0, 5.0]


async def test_held_code_is_polled_at_hold_interval(stub: StubOmeda, clock: VirtualClock) -> None:
    """Without stop_on_hold a held code is polled every hold_interval until it moves on."""
    stub.timeline(4, (0, 1), (250, 101))
    poller = poller_for(stub)
    tracking = poller.track(4)
    await clock.run_until(tracking.done)
    assert stub.calls_for(4) == [2.0, 102.0, 202.0, 302.0]
    assert tracking.result().outcome is Outcome.SUCCEEDED


async def test_deadline_times_out_with_a_last_lookup_at_the_deadline(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A transaction stuck pending ends TIMED_OUT; the last lookup is exactly at the deadline."""
    stub.timeline(5, (0, 29))
    policy = PollPolicy(initial_delay=2.0, multiplier=2.0, max_interval=16.0, deadline=40.0)
    poller = poller_for(stub, attrs.evolve(policy, jitter=False))
    tracking = poller.track(5)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.TIMED_OUT
    assert result.status == 29
    calls = stub.calls_for(5)
    assert calls == [2.0, 6.0, 14.0, 30.0, 40.0]
    assert result.elapsed == 40.0
    await clock.advance(1000)
    assert stub.calls_for(5) == calls


async def test_jittered_lookups_never_pass_the_deadline(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """With jitter on, lookups stay between initial_delay apart and the deadline."""
    stub.timeline(6, (0, 29))
    poller = poller_for(stub, PollPolicy(initial_delay=1.0, max_interval=7.0, deadline=120.0))
    tracking = poller.track(6)
    await clock.run_until(tracking.done)
    calls = stub.calls_for(6)
    assert calls[-1] == 120.0
    gaps = [b - a for a, b in itertools.pairwise([0.0, *calls])]
    assert all(gap <= 7.0 + 1e-9 for gap in gaps)
    assert all(gap >= 1.0 - 1e-9 for gap in gaps[:-1])
    assert tracking.result().outcome is Outcome.TIMED_OUT


async def test_not_found_within_grace_keeps_polling_then_succeeds(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A 404 inside not_found_grace is "not visible yet": polling goes on until it shows up."""
    stub.timeline(8, (5, 0), (16, 100))
    poller = poller_for(stub, attrs.evolve(EXACT, not_found_grace=30.0))
    tracking = poller.track(8)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    # 404 at 2, then 0 at 6 and 14, then 100 at 30: one ramp (+4, +8, +16) from the start.
    assert stub.calls_for(8) == [2.0, 6.0, 14.0, 30.0]
    assert result.history == ((6.0, 0), (30.0, 100))
    assert result.lookup_errors == ()


async def test_not_found_after_grace_ends_not_found(stub: StubOmeda, clock: VirtualClock) -> None:
    """A transaction still unknown after not_found_grace ends NOT_FOUND."""
    poller = poller_for(stub, attrs.evolve(EXACT, not_found_grace=20.0))
    tracking = poller.track(9)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.NOT_FOUND
    assert result.status is None
    # A 404 counts as an unchanged lookup: 2, 6, 14, then 30 is past the 20 s grace.
    assert stub.calls_for(9) == [2.0, 6.0, 14.0, 30.0]


async def test_custom_terminal_code_ends_tracking(stub: StubOmeda, clock: VirtualClock) -> None:
    """terminal= stops at a pending code with that code's own outcome (PENDING)."""
    stub.timeline(10, (0, 29), (3, 90), (20, 100))
    poller = poller_for(stub, attrs.evolve(EXACT, terminal={90, 100, 101}))
    tracking = poller.track(10)
    await clock.run_until(tracking.done)
    assert tracking.result().outcome is Outcome.PENDING
    assert tracking.result().status == 90


async def test_close_cancels_unfinished_trackings(stub: StubOmeda, clock: VirtualClock) -> None:
    """close() stops at once: unfinished trackings end CANCELLED, no task is left."""
    before = set(asyncio.all_tasks())
    stub.timeline(11, (0, 29))
    store = MemoryStore()
    poller = poller_for(stub, store=store)
    tracking = poller.track(11)
    await clock.advance(7)
    assert tracking.status() == 29
    await poller.close()
    result = await tracking
    assert result.outcome is Outcome.CANCELLED
    assert result.status == 29
    assert result.polls == 2
    record = await store.get(transaction_key(11))
    assert record is not None
    assert record.state is RecordState.ACCEPTED
    assert [r.transaction_id for r in await store.unfinished()] == [11]
    assert other_tasks(before) == set()
    await clock.advance(1000)
    assert len(stub.calls_for(11)) == 2


async def test_close_cancels_lookups_in_flight(stub: StubOmeda, clock: VirtualClock) -> None:
    """close() while lookups are in flight cancels them and leaves no task running."""
    before = set(asyncio.all_tasks())
    stub.timeline(12, (0, 29))
    stub.gate = asyncio.Event()
    poller = poller_for(stub)
    tracking = poller.track(12)
    await clock.advance(2)
    assert stub.in_flight == 1
    await poller.close()
    assert stub.in_flight == 0
    assert tracking.result().outcome is Outcome.CANCELLED
    assert other_tasks(before) == set()
    await poller.close()  # idempotent


# -- tracking API -------------------------------------------------------------


async def test_same_id_twice_returns_the_same_tracking(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """Tracking an id that is already tracked returns that Tracking, not a second one."""
    stub.timeline(13, (0, 100))
    poller = poller_for(stub)
    first = poller.track(13)
    assert poller.track(13) is first
    assert poller.track(13, key=first.key) is first
    with pytest.raises(ValueError, match="already tracked"):
        poller.track(13, key="another-record")
    await clock.run_until(first.done)
    assert stub.calls_for(13) == [2.0]
    assert len(poller) == 0


async def test_finished_id_tracked_again_starts_anew(stub: StubOmeda, clock: VirtualClock) -> None:
    """A finished tracking leaves the poller; tracking its id again is a new tracking."""
    stub.timeline(16, (0, 100))
    poller = poller_for(stub)
    first = poller.track(16)
    await clock.run_until(first.done)
    second = poller.track(16)
    assert second is not first
    await clock.run_until(second.done)
    assert len(stub.calls_for(16)) == 2


async def test_close_cancelled_midway_still_settles_trackings(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A caller cancelled while close() waits still leaves every tracking CANCELLED."""
    stub.timeline(17, (0, 29))
    stub.gate = asyncio.Event()
    poller = poller_for(stub)
    tracking = poller.track(17)
    await clock.advance(2)
    closing = asyncio.create_task(poller.close())
    await asyncio.sleep(0)
    closing.cancel()
    await asyncio.wait([closing])
    assert tracking.result().outcome is Outcome.CANCELLED
    await clock.settle()
    assert poller._dispatcher.tasks == frozenset()


@pytest.mark.parametrize("bad", ["42", 42.0, True, None, b"42"])
async def test_non_integer_id_is_refused(stub: StubOmeda, bad: object) -> None:
    """A TransactionId that is not an int (bools included) raises TypeError at track()."""
    poller = poller_for(stub)
    with pytest.raises(TypeError, match="transaction_id must be an integer"):
        poller.track(bad)  # type: ignore[arg-type]
    assert len(poller) == 0


@pytest.mark.parametrize("bad", [-1, 0])
async def test_non_positive_id_is_refused(stub: StubOmeda, bad: int) -> None:
    """A negative (or zero) TransactionId raises ValueError at track(), before any lookup."""
    poller = poller_for(stub)
    with pytest.raises(ValueError, match="positive integer"):
        poller.track(bad)
    assert stub.calls == []


async def test_non_string_key_is_refused(stub: StubOmeda) -> None:
    """A store key must be text."""
    poller = poller_for(stub)
    with pytest.raises(TypeError, match="key must be a string"):
        poller.track(1, key=5)  # type: ignore[arg-type]


async def test_tracking_state_before_and_after(stub: StubOmeda, clock: VirtualClock) -> None:
    """done()/status()/result() report progress; result() refuses before the end."""
    stub.timeline(14, (0, 0), (3, 100))
    poller = poller_for(stub)
    tracking = poller.track(14, key="row-14")
    assert tracking.key == "row-14"
    assert not tracking.done()
    assert tracking.status() is None
    with pytest.raises(asyncio.InvalidStateError):
        tracking.result()
    await clock.advance(2)
    assert tracking.status() == StatusCode.LOADED_INTO_STAGING
    assert not tracking.done()
    await clock.run_until(tracking.done)
    assert tracking.status() == 100
    assert tracking.result().key == "row-14"
    assert "row-14" in repr(tracking)


async def test_cancelled_awaiter_does_not_stop_tracking(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """Cancelling one task awaiting a tracking leaves the tracking and other awaiters alone."""
    stub.timeline(15, (0, 0), (9, 100))
    poller = poller_for(stub)
    tracking = poller.track(15)

    async def wait() -> TrackingResult:
        return await tracking

    impatient = asyncio.create_task(wait())
    patient = asyncio.create_task(wait())
    await clock.advance(3)
    impatient.cancel()
    await clock.run_until(tracking.done)
    assert impatient.cancelled()
    assert (await patient).outcome is Outcome.SUCCEEDED


async def test_events_report_every_change_in_order(stub: StubOmeda, autorun: VirtualClock) -> None:
    """events() yields each observed change, previous included, in the order observed."""
    stub.timeline(20, (0, 0), (5, 8), (13, 29), (29, 101))
    stub.timeline(21, (0, 7), (5, 110))
    poller = poller_for(stub)
    seen: list[StatusEvent] = []
    async with poller:
        poller.track(20)
        poller.track(21, key="k21")
        async for event in poller.events():
            seen.append(event)
    assert [(e.transaction_id, e.previous, e.status) for e in seen] == [
        (20, None, 0),
        (21, None, 7),
        (20, 0, 8),
        (21, 7, 110),
        (20, 8, 29),
        (20, 29, 101),
    ]
    assert [e.at for e in seen] == sorted(e.at for e in seen)
    assert seen[1].key == "k21"
    assert seen[0].key == transaction_key(20)


async def test_results_arrive_as_each_finishes(stub: StubOmeda, autorun: VirtualClock) -> None:
    """results() yields each TrackingResult in finishing order and ends when all are done."""
    stub.timeline(30, (0, 29), (20, 100))
    stub.timeline(31, (0, 110))
    stub.timeline(32, (0, 29), (9, 99))
    async with poller_for(stub) as poller:
        for tid in (30, 31, 32):
            poller.track(tid)
        finished = [(r.transaction_id, r.outcome) async for r in poller.results()]
    assert finished == [(31, Outcome.FAILED), (32, Outcome.PARTIAL), (30, Outcome.SUCCEEDED)]


async def test_feeds_with_nothing_tracked_end_at_once(stub: StubOmeda) -> None:
    """events()/results() end immediately when nothing is being tracked."""
    async with poller_for(stub) as poller:
        assert [e async for e in poller.events()] == []
        assert [r async for r in poller.results()] == []


async def test_events_are_not_buffered_for_nobody(stub: StubOmeda, clock: VirtualClock) -> None:
    """Events go only to live iterators: a dropped one stops buffering, none means no buffer."""
    stub.timeline(33, (0, 0), (3, 8), (5, 29), (7, 100))
    poller = poller_for(stub)
    dropped = poller.events()
    del dropped
    gc.collect()
    assert len(poller._event_feeds) == 0
    tracking = poller.track(33)
    await clock.run_until(tracking.done)
    assert len(poller._event_feeds) == 0


async def test_join_waits_for_every_tracking(stub: StubOmeda, autorun: VirtualClock) -> None:
    """join() returns only when every tracking so far has finished."""
    stub.timeline(40, (0, 29), (30, 100))
    stub.timeline(41, (0, 100))
    poller = poller_for(stub)
    trackings = [poller.track(40), poller.track(41)]
    await poller.join()
    assert all(t.done() for t in trackings)
    assert autorun.now() >= 30
    await poller.close()


async def test_leaving_the_block_waits_for_every_tracking(
    stub: StubOmeda, autorun: VirtualClock
) -> None:
    """Leaving `async with` waits for all tracked transactions, as asyncio.TaskGroup does."""
    stub.timeline(42, (0, 29), (50, 101))
    async with poller_for(stub) as poller:
        tracking = poller.track(42)
    assert tracking.result().outcome is Outcome.SUCCEEDED
    with pytest.raises(RuntimeError, match="closed"):
        poller.track(43)


async def test_error_in_the_block_closes_instead_of_waiting(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """If the block raises, the poller closes (CANCELLED) and the error propagates."""
    stub.timeline(44, (0, 29))
    before = set(asyncio.all_tasks())
    poller = poller_for(stub)
    tracking = poller.track(44)

    async def block() -> None:
        async with poller:
            await clock.advance(3)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        await block()
    assert tracking.result().outcome is Outcome.CANCELLED
    assert other_tasks(before) == set()


async def test_closed_poller_refuses_use(stub: StubOmeda) -> None:
    """Every entry point of a closed poller raises RuntimeError."""
    poller = poller_for(stub)
    await poller.close()
    with pytest.raises(RuntimeError, match="closed"):
        poller.track(1)
    with pytest.raises(RuntimeError, match="closed"):
        poller.events()
    with pytest.raises(RuntimeError, match="closed"):
        poller.results()
    with pytest.raises(RuntimeError, match="closed"):
        await poller.resume()
    with pytest.raises(RuntimeError, match="closed"):
        async with poller:
            pass


async def test_caller_cancellation_leaves_no_task(stub: StubOmeda, clock: VirtualClock) -> None:
    """Cancelling the task that uses the poller stops the scheduler and every worker."""
    before = set(asyncio.all_tasks())
    for tid in range(50, 60):
        stub.timeline(tid, (0, 29))
    entered = asyncio.Event()

    async def use() -> None:
        async with poller_for(stub) as poller:
            for tid in range(50, 60):
                poller.track(tid)
            entered.set()
            await poller.join()

    user = asyncio.create_task(use())
    await entered.wait()
    await clock.advance(10)
    assert len(other_tasks(before)) > 1  # the user, the scheduler, its workers
    user.cancel()
    await asyncio.wait([user])
    assert user.cancelled()
    assert other_tasks(before) == set()


async def test_tasks_end_when_nothing_is_tracked(stub: StubOmeda, clock: VirtualClock) -> None:
    """Once every tracking finished, the scheduler and workers end even without close()."""
    before = set(asyncio.all_tasks())
    stub.timeline(61, (0, 100))
    poller = poller_for(stub)
    tracking = poller.track(61)
    await clock.run_until(tracking.done)
    await clock.settle()
    assert other_tasks(before) == set()
    # ... and the next track() starts them again.
    stub.timeline(62, (0, 101))
    second = poller.track(62)
    await clock.run_until(second.done)
    assert second.result().outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize("turns", range(8))
async def test_track_while_the_last_runner_winds_down(
    stub: StubOmeda, clock: VirtualClock, turns: int
) -> None:
    """A track() in the turns while an idle scheduler ends still gets a live scheduler."""
    before = set(asyncio.all_tasks())
    stub.timeline(65, (0, 100))
    stub.timeline(66, (0, 29), (5, 100))
    poller = poller_for(stub)
    first = poller.track(65)

    async def track_next() -> Tracking:
        await first
        for _ in range(turns):
            await asyncio.sleep(0)
        return poller.track(66)

    chained = asyncio.create_task(track_next())
    await clock.run_until(first.done)
    second = chained.result()
    assert not second.done()
    assert poller._dispatcher.running
    await clock.run_until(second.done)
    assert second.result().outcome is Outcome.SUCCEEDED
    await poller.close()
    assert other_tasks(before) == set()


async def test_earlier_item_wakes_the_scheduler(stub: StubOmeda, clock: VirtualClock) -> None:
    """A new transaction due before the scheduler's wake-up is looked up on time."""
    stub.timeline(63, (0, 35))  # held: next lookup 100 s later
    stub.timeline(64, (0, 100))
    poller = poller_for(stub)
    poller.track(63)
    await clock.advance(10)
    second = poller.track(64)
    await clock.run_until(second.done)
    assert stub.calls_for(64) == [12.0]
    await poller.close()


async def test_max_in_flight_bounds_concurrent_lookups(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """At most max_in_flight lookups run at once, however many are due."""
    before = set(asyncio.all_tasks())
    for tid in range(100, 120):
        stub.timeline(tid, (0, 100))
    stub.gate = asyncio.Event()
    poller = poller_for(stub, max_in_flight=3)
    trackings = [poller.track(tid) for tid in range(100, 120)]
    await clock.advance(2)
    assert stub.in_flight == 3
    # The scheduler, three workers and the scheduler's timer at most: no task per transaction.
    assert len(other_tasks(before)) <= 5
    stub.gate.set()
    await clock.run_until(lambda: all(t.done() for t in trackings))
    assert stub.max_in_flight == 3
    assert all(t.result().outcome is Outcome.SUCCEEDED for t in trackings)


async def test_max_in_flight_must_be_positive(stub: StubOmeda) -> None:
    """A pool of zero (or a non-integer size) is refused."""
    with pytest.raises(ValueError, match="max_in_flight"):
        poller_for(stub, max_in_flight=0)
    with pytest.raises(TypeError, match="max_in_flight"):
        poller_for(stub, max_in_flight=2.5)


# -- faults -------------------------------------------------------------------


async def test_forbidden_fails_every_tracking(stub: StubOmeda, autorun: VirtualClock) -> None:
    """A 403 on one lookup fails every tracking with AuthenticationError; nothing is finished."""
    before = set(asyncio.all_tasks())
    store = RecordingStore()
    for tid in (70, 71, 72):
        stub.timeline(tid, (0, 29))
    stub.fail(71, AuthenticationError("Forbidden", status=403))
    trackings: list[Tracking] = []
    with pytest.raises(AuthenticationError):
        async with poller_for(stub, store=store) as poller:
            trackings = [poller.track(tid) for tid in (70, 71, 72)]
    for tracking in trackings:
        assert tracking.done()
        with pytest.raises(AuthenticationError):
            await tracking
    assert not any(hook == "finish" for hook, _ in store.log)
    assert len(await store.unfinished()) == 3
    assert other_tasks(before) == set()


async def test_forbidden_stops_the_poller(stub: StubOmeda, clock: VirtualClock) -> None:
    """After a 403 the poller refuses new work, results() raises, join() raises."""
    stub.timeline(73, (0, 29))
    stub.fail(73, AuthenticationError("Forbidden", status=403))
    poller = poller_for(stub)
    tracking = poller.track(73)
    feed = poller.results()
    await clock.run_until(tracking.done)
    with pytest.raises(AuthenticationError):
        await anext(feed)
    with pytest.raises(AuthenticationError):
        await poller.join()
    with pytest.raises(RuntimeError, match="stopped"):
        poller.track(74)
    await poller.close()


async def test_retry_after_delays_only_that_transaction(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A 429 with Retry-After pushes back that transaction alone; the others keep their times."""
    stub.timeline(80, (0, 29), (90, 100))
    stub.timeline(81, (0, 29), (90, 100))
    stub.fail(80, RateLimitedError("Too Many Requests", retry_after=45.0))
    poller = poller_for(stub)
    limited, other = poller.track(80), poller.track(81)
    await clock.run_until(lambda: limited.done() and other.done())
    assert stub.calls_for(80)[:2] == [2.0, 47.0]
    assert stub.calls_for(81)[:4] == [2.0, 6.0, 14.0, 30.0]
    assert limited.result().outcome is Outcome.SUCCEEDED
    assert limited.result().lookup_errors == ("RateLimitedError: Too Many Requests",)


async def test_huge_retry_after_is_capped(stub: StubOmeda, clock: VirtualClock) -> None:
    """A Retry-After of a day waits only RETRY_AFTER_CAP (120 s)."""
    stub.timeline(82, (0, 100))
    stub.fail(82, ServerError("Service Unavailable", status=503, retry_after=86_400.0))
    poller = poller_for(stub)
    tracking = poller.track(82)
    await clock.run_until(tracking.done)
    assert stub.calls_for(82) == [2.0, 122.0]


async def test_server_error_burst_backs_off_and_never_ends_early(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A burst of 5xx and transport errors backs off, then tracking goes on to the end."""
    stub.timeline(83, (0, 101))
    stub.fail(
        83,
        *[ServerError("Internal Server Error", status=500) for _ in range(5)],
        TransportError("connection reset", sent=True),
    )
    poller = poller_for(stub)
    tracking = poller.track(83)
    await clock.run_until(tracking.done)
    assert stub.calls_for(83) == [2.0, 6.0, 14.0, 30.0, 46.0, 62.0, 78.0]
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    assert result.polls == 7
    # The same message six times is noted once.
    assert result.lookup_errors == (
        "ServerError: Internal Server Error",
        "TransportError: connection reset",
    )


async def test_faults_until_the_deadline_time_out(stub: StubOmeda, clock: VirtualClock) -> None:
    """A server failing until the deadline ends TIMED_OUT with the failures noted."""
    stub.timeline(84, (0, 29))
    stub.fail(84, *[ServerError("Bad Gateway", status=502) for _ in range(100)])
    poller = poller_for(stub, attrs.evolve(EXACT, deadline=60.0))
    tracking = poller.track(84)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.TIMED_OUT
    assert result.status is None
    assert stub.calls_for(84)[-1] == 60.0
    assert result.lookup_errors == ("ServerError: Bad Gateway",)


async def test_malformed_answer_is_retried_and_noted(stub: StubOmeda, clock: VirtualClock) -> None:
    """A garbage answer is retried like a server fault and noted on the result."""
    stub.timeline(85, (0, 100))
    stub.fail(85, MalformedResponseError("not JSON", status=200, content_type="text/html"))
    poller = poller_for(stub)
    tracking = poller.track(85)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    assert result.lookup_errors == ("malformed answer: MalformedResponseError: not JSON",)
    assert stub.calls_for(85) == [2.0, 6.0]


async def test_anomalies_are_recorded_never_fatal(stub: StubOmeda, clock: VirtualClock) -> None:
    """A move backwards and an unknown code are recorded on the result; tracking goes on."""
    stub.timeline(86, (0, 29), (5, 8), (13, 42), (29, 100))
    poller = poller_for(stub)
    tracking = poller.track(86)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    assert [(a.transition, a.previous, a.status, a.at) for a in result.anomalies] == [
        (Transition.BACKWARD, 29, 8, 6.0),
        (Transition.UNKNOWN_CODE, 8, 42, 14.0),
        (Transition.UNKNOWN_CODE, 42, 100, 30.0),
    ]


async def test_move_out_of_a_final_code_is_an_anomaly(stub: StubOmeda, clock: VirtualClock) -> None:
    """With terminal={100, 101}, a 110 (discard) that later turns 100 is recorded FROM_TERMINAL."""
    stub.timeline(88, (0, 110), (5, 100))
    poller = poller_for(stub, attrs.evolve(EXACT, terminal={100, 101}))
    tracking = poller.track(88)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.SUCCEEDED
    assert [(a.transition, a.previous, a.status) for a in result.anomalies] == [
        (Transition.FROM_TERMINAL, 110, 100)
    ]


async def test_transaction_errors_reach_the_result_and_store(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """Omeda's record errors (invalid email, vulgarity) are on the result and in the store."""
    stub.timeline(87, (0, 2))
    stub.errors[87] = ("invalid email", "vulgarity")
    store = MemoryStore()
    poller = poller_for(stub, store=store)
    tracking = poller.track(87)
    await clock.run_until(tracking.done)
    result = tracking.result()
    assert result.outcome is Outcome.FAILED
    assert result.transaction is not None
    assert result.transaction.errors == ("invalid email", "vulgarity")
    record = await store.get(transaction_key(87))
    assert record is not None
    assert record.errors == ("invalid email", "vulgarity")


async def test_jitter_keeps_records_tracked_together_apart(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """Records tracked at the same moment do not all poll at the same instants."""
    for tid in range(200, 220):
        stub.timeline(tid, (0, 29))
    poller = poller_for(stub, PollPolicy(initial_delay=2.0, max_interval=30.0, learn=False))
    for tid in range(200, 220):
        poller.track(tid)
    await clock.advance(60)
    calls = [stub.calls_for(tid) for tid in range(200, 220)]
    # The first lookup is within [1, 1.25] x initial_delay; the clamp at initial_delay
    # puts about half of them exactly on it.
    assert all(2.0 <= times[0] <= 2.5 for times in calls)
    # So is the one after the first status (a change). The next interval, backed off
    # to 3 s nominal, is jittered in [2.25, 3.75] above the clamp: the thirds all differ.
    thirds = [times[2] for times in calls]
    assert len(set(thirds)) == 20
    assert max(thirds) - min(thirds) > 0.5
    await poller.close()


class BrokenStore(MemoryStore):
    """A store whose disk is full: status writes fail."""

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        raise OSError("disk full")


async def test_failing_store_stops_the_poller(stub: StubOmeda, autorun: VirtualClock) -> None:
    """A store that cannot record fails every tracking with its error, never silently."""
    before = set(asyncio.all_tasks())
    stub.timeline(210, (0, 29))
    stub.timeline(211, (50, 29))
    poller = poller_for(stub, store=BrokenStore())
    trackings = [poller.track(210), poller.track(211)]
    with pytest.raises(OSError, match="disk full"):
        await poller.join()
    for tracking in trackings:
        with pytest.raises(OSError, match="disk full"):
            tracking.result()
    await poller.close()
    assert other_tasks(before) == set()


# -- store --------------------------------------------------------------------


async def test_store_hooks_accept_each_change_and_finish(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """The store sees accept, then every status change, then the outcome, in that order."""
    stub.timeline(90, (0, 0), (3, 29), (9, 100))
    store = RecordingStore()
    poller = poller_for(stub, store=store)
    tracking = poller.track(90, key="row-1")
    await clock.run_until(tracking.done)
    assert store.log == [
        ("accept", "row-1"),
        ("record_status", "row-1"),
        ("record_status", "row-1"),
        ("record_status", "row-1"),
        ("finish", "row-1"),
    ]
    record = await store.get("row-1")
    assert record is not None
    assert record.state is RecordState.FINISHED
    assert record.transaction_id == 90
    assert record.outcome is Outcome.SUCCEEDED
    assert record.history == tracking.result().history


async def test_store_is_written_before_the_first_lookup(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A tracked id is in the store before anything about it is looked up or reported."""
    store = MemoryStore()
    poller = poller_for(stub, store=store)
    poller.track(91)
    await clock.settle()
    assert stub.calls == []
    assert [r.transaction_id for r in await store.unfinished()] == [91]
    await poller.close()


async def test_already_accepted_record_is_not_accepted_again(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """A record the store already holds as accepted (submit_many wrote it) is not re-accepted."""
    stub.timeline(92, (0, 100))
    store = RecordingStore()
    await store.accept("row-92", 92, service="storecustomerandorder")
    store.log.clear()
    poller = poller_for(stub, store=store)
    tracking = poller.track(92, key="row-92")
    await clock.run_until(tracking.done)
    assert [hook for hook, _ in store.log] == ["record_status", "finish"]
    record = await store.get("row-92")
    assert record is not None
    assert record.service == "storecustomerandorder"


async def test_resume_tracks_every_unfinished_record(
    stub: StubOmeda, autorun: VirtualClock
) -> None:
    """resume() re-tracks what a previous run left unfinished, starting from the stored status."""
    store = MemoryStore()
    await store.accept("a", 93)
    await store.record_status("a", StatusCode.DUPECHECK_RUNNING, 12345.0)
    await store.accept("b", 94)
    await store.accept("c", 95)
    await store.finish("c", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
    stub.timeline(93, (0, 29), (5, 101))
    stub.timeline(94, (0, 110))
    events: list[StatusEvent] = []
    async with poller_for(stub, store=store) as poller:
        resumed = await poller.resume()
        assert [(t.transaction_id, t.key) for t in resumed] == [(93, "a"), (94, "b")]
        assert resumed[0].status() == StatusCode.DUPECHECK_RUNNING
        events = [e async for e in poller.events()]
    assert [(e.transaction_id, e.previous, e.status) for e in events] == [
        (94, None, 110),
        (93, 29, 101),
    ]
    assert await store.unfinished() == []
    assert resumed[0].result().outcome is Outcome.SUCCEEDED
    assert resumed[0].result().history[0][1] == 29
    assert stub.calls_for(95) == []


async def test_resume_skips_add_orders(stub: StubOmeda, autorun: VirtualClock) -> None:
    """An accepted Add Order holds an OrderId: resume() never looks it up as a transaction."""
    store = MemoryStore()
    await store.accept("order-row", 97, service="orderqueue")
    await store.accept("customer-row", 98, service="storecustomerandorder")
    stub.timeline(98, (0, 100))
    async with poller_for(stub, store=store) as poller:
        resumed = await poller.resume()
    assert [t.transaction_id for t in resumed] == [98]
    assert stub.calls_for(97) == []


async def test_resume_after_close_picks_up_cancelled_work(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """Trackings closed (CANCELLED) stay unfinished in the store and a new poller resumes them."""
    stub.timeline(96, (0, 29), (30, 100))
    store = MemoryStore()
    first = poller_for(stub, store=store)
    first.track(96)
    await clock.advance(5)
    await first.close()
    second = poller_for(stub, store=store)
    [tracking] = await second.resume()
    await clock.run_until(tracking.done)
    assert tracking.result().outcome is Outcome.SUCCEEDED
    assert await store.unfinished() == []


def test_status_event_fields_keep_the_design_order() -> None:
    """StatusEvent(transaction_id, previous, status, at) as DESIGN.md names it; key comes last."""
    event = StatusEvent(7, None, StatusCode(0), 1.5, "k")
    assert (event.transaction_id, event.previous, event.status, event.at, event.key) == (
        7,
        None,
        StatusCode(0),
        1.5,
        "k",
    )
    assert [field.name for field in attrs.fields(StatusEvent)][:4] == [
        "transaction_id",
        "previous",
        "status",
        "at",
    ]


# -- a poller for an app's lifetime -------------------------------------------------


async def test_a_started_poller_keeps_its_feeds_open_while_idle(
    stub: StubOmeda, autorun: VirtualClock
) -> None:
    """start(): results() and events() outlast idle spells and end only with close()."""
    stub.timeline(300, (0, 29), (10, 100))
    stub.timeline(301, (0, 101))
    poller = await poller_for(stub).start()
    results, events = poller.results(), poller.events()
    poller.track(300)
    first = await anext(results)
    assert (first.transaction_id, first.outcome) == (300, Outcome.SUCCEEDED)
    assert len(poller) == 0
    waiting = asyncio.ensure_future(anext(results))
    await autorun.settle()
    assert not waiting.done()  # idle, still open: it waits
    poller.track(301)
    second = await waiting
    assert (second.transaction_id, second.outcome) == (301, Outcome.SUCCEEDED)
    seen = [(e.transaction_id, e.status) async for e in _until_quiet(events, poller)]
    assert seen == [(300, 29), (300, 100), (301, 101)]
    assert [r async for r in results] == []  # closed: the feed ends


async def _until_quiet(
    events: AsyncIterator[StatusEvent], poller: TransactionPoller
) -> AsyncIterator[StatusEvent]:
    """The events buffered so far, then close the poller so the feed ends."""
    closing = asyncio.ensure_future(poller.close())
    async for event in events:
        yield event
    await closing


async def test_close_does_not_wait_on_a_record_held_for_a_person(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """Shutting an app down with a record held (polled every hold_interval) is immediate; the
    record ends CANCELLED in memory and stays unfinished in the store."""
    stub.timeline(310, (0, 35))
    store = MemoryStore()
    poller = await poller_for(stub, store=store).start()
    tracking = poller.track(310)
    await clock.advance(3)
    assert poller.counts() == TrackingCounts(unseen=0, queued=0, processing=0, held=1)
    await poller.close()  # no clock advance needed: nothing is waited for
    assert tracking.result().outcome is Outcome.CANCELLED
    assert [r.transaction_id for r in await store.unfinished()] == [310]


async def test_stop_on_hold_leaves_the_record_resumable(
    stub: StubOmeda, clock: VirtualClock
) -> None:
    """stop_on_hold ends tracking HELD, yet the store keeps the record unfinished, with its held
    status: resume() follows it again once a person acted."""
    stub.timeline(320, (0, 20), (500, 101))
    store = MemoryStore()
    policy = attrs.evolve(EXACT, stop_on_hold=True)
    poller = poller_for(stub, policy, store=store)
    tracking = poller.track(320)
    await clock.run_until(tracking.done)
    assert tracking.result().outcome is Outcome.HELD
    [record] = await store.unfinished()
    assert (record.transaction_id, record.status) == (320, StatusCode.OEC_ON_HOLD)
    await clock.advance(600)
    [resumed] = await poller.resume()
    await clock.run_until(resumed.done)
    assert resumed.result().outcome is Outcome.SUCCEEDED
    assert await store.unfinished() == []


async def test_counts_say_where_tracked_records_stand(stub: StubOmeda, clock: VirtualClock) -> None:
    """counts(): not looked up yet, queued, processing, held; finished ones leave."""
    stub.timeline(330, (0, 0))
    stub.timeline(331, (0, 29))
    stub.timeline(332, (0, 1))
    stub.timeline(333, (0, 100))
    poller = poller_for(stub)
    for tid in (330, 331, 332, 333):
        poller.track(tid)
    assert poller.counts() == TrackingCounts(unseen=4, queued=0, processing=0, held=0)
    await clock.advance(3)
    counts = poller.counts()
    assert counts == TrackingCounts(unseen=0, queued=1, processing=1, held=1)
    assert counts.tracking == 3 == len(poller)
    await poller.close()
    assert poller.counts().tracking == 0


async def test_a_store_the_poller_opened_is_closed_with_it(
    stub: StubOmeda, autorun: VirtualClock, tmp_path: Path
) -> None:
    """store=SqliteStore(path), unopened: the poller opens it and closes it at the end, so the
    journal is free for the next store; one the caller opened stays open."""
    stub.timeline(340, (0, 100))
    async with poller_for(stub, store=SqliteStore(tmp_path / "a.db")) as poller:
        await poller.track(340)
    async with SqliteStore(tmp_path / "a.db") as again:  # the lock was released
        assert (await again.get(transaction_key(340))) is not None
        async with poller_for(stub, store=again) as poller:
            await poller.track(340)
        assert (await again.get(transaction_key(340))) is not None  # still open: usable
