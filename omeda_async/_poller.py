"""``TransactionPoller``: follow many TransactionIds through Omeda's status codes to an outcome.

Both POST services only *queue* data; Transaction Lookup
(``GET /transaction/{id}/*``) then reports each record's status code until
processing ends. The poller follows any number of transactions at once with:

- **one scheduler**: a heap of ``(due, seq, tracking)``; one loop sleeps on the
  injected ``Clock`` until the earliest lookup is due (or a new, earlier one is
  tracked) and hands due transactions to a pool of at most ``max_in_flight``
  worker tasks. No task per transaction: a tracked transaction is one small
  ``__slots__`` object, so 100,000 of them fit in well under 100 MB;
- **pure decisions** (``_schedule``): when to look up next and when a
  transaction is finished are functions of the ``PollPolicy`` and the last
  answer; the loop only acts on them;
- **the client's limits**: lookups go through ``client.get_transaction`` with
  ``RetryPolicy.none()`` (the poller schedules its own retries), so the client's
  shared rate limit and connection bounds apply to polling too.

Tasks exist only while something is tracked: once every tracking has finished
the scheduler and its workers end, and the next ``track`` starts them again.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import weakref
from collections import deque
from collections.abc import AsyncIterator, Generator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import attrs

from . import _schedule
from ._clock import Clock
from ._errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from ._policies import PollPolicy, RetryPolicy
from ._status import Outcome, StatusCode, Transition, classify_transition
from ._store import ORDER_SERVICE, MemoryStore, RecordState, TrackingStore, transaction_key
from .models._responses import Transaction

__all__ = [
    "Anomaly",
    "StatusEvent",
    "Tracking",
    "TrackingResult",
    "TransactionLookup",
    "TransactionPoller",
]

_T = TypeVar("_T")

_MAX_LOOKUP_ERRORS = 16
"""Distinct lookup-error notes kept per transaction (a long outage repeats one message)."""

_NO_RETRY = RetryPolicy.none()


class TransactionLookup(Protocol):
    """What the poller needs from a client: ``OmedaClient`` is one."""

    @property
    def clock(self) -> Clock:
        """The clock the client waits on (rate limit, retries)."""
        ...

    async def get_transaction(self, transaction_id: int, *, retry: RetryPolicy) -> Transaction:
        """Transaction Lookup: ``GET /transaction/{transaction_id}/*``."""
        ...


@attrs.frozen
class Anomaly:
    """A status move the pipeline does not make: recorded on the result, never fatal.

    ``transition`` is BACKWARD (to an earlier stage), FROM_TERMINAL (out of a
    terminal code) or UNKNOWN_CODE (to or from a code not on Omeda's page).
    """

    transition: Transition
    previous: StatusCode | None
    status: StatusCode
    at: float


@attrs.frozen
class StatusEvent:
    """One observed change of a transaction's status (``previous`` is None the first time)."""

    transaction_id: int
    previous: StatusCode | None
    status: StatusCode
    at: float
    key: str
    """The tracking's key (after DESIGN.md's four fields, so their positions hold)."""


@attrs.frozen
class TrackingResult:
    """How tracking one transaction ended.

    ``outcome`` is SUCCEEDED, PARTIAL or FAILED (a terminal status code), HELD
    (``stop_on_hold``, or a held code made terminal), PENDING (a pending code the
    policy made terminal), TIMED_OUT (the deadline passed), NOT_FOUND (404 past
    the grace window: unknown or expired) or CANCELLED (the poller was closed).
    ``status`` and ``transaction`` are the last answer seen, ``history`` every
    status change as ``(time, code)`` on the poller's clock, ``polls`` the
    lookups made, ``elapsed`` the seconds from ``track`` to the end.
    ``anomalies`` lists moves the pipeline does not make; ``lookup_errors`` the
    distinct failed-lookup messages (429, 5xx, transport, malformed answers).
    """

    transaction_id: int
    key: str
    outcome: Outcome
    status: StatusCode | None
    transaction: Transaction | None
    history: tuple[tuple[float, StatusCode], ...]
    polls: int
    elapsed: float
    anomalies: tuple[Anomaly, ...] = ()
    lookup_errors: tuple[str, ...] = ()


class Tracking:
    """One tracked transaction; ``await tracking`` gives its ``TrackingResult``.

    Awaiting raises only where tracking is impossible (``AuthenticationError``:
    Omeda refused the credentials). Cancelling a task that awaits a tracking
    does not stop the tracking; ``TransactionPoller.close()`` does.
    """

    # Slots, and no task or future until someone awaits: the poller keeps one of
    # these per tracked transaction, possibly 100,000 at once.
    __slots__ = (
        "_anomalies",
        "_errors",
        "_history",
        "_key",
        "_outcome",
        "_polls",
        "_result",
        "_started",
        "_status",
        "_transaction",
        "_unchanged",
        "_waiters",
        "transaction_id",
    )

    def __init__(
        self,
        transaction_id: int,
        key: str | None,
        started: float,
        status: StatusCode | None = None,
    ) -> None:
        self.transaction_id = transaction_id
        # None stands for transaction_key(transaction_id), built only when asked for.
        self._key = key
        self._started = started
        self._status = status
        self._history: tuple[tuple[float, StatusCode], ...] = ()
        self._polls = 0
        self._unchanged = 0
        self._transaction: Transaction | None = None
        self._anomalies: tuple[Anomaly, ...] = ()
        self._errors: tuple[str, ...] = ()
        self._result: TrackingResult | BaseException | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        state = "done" if self._result is not None else "tracking"
        return (
            f"Tracking(transaction_id={self.transaction_id}, key={self.key!r}, "
            f"status={self._status!r}, {state})"
        )

    @property
    def key(self) -> str:
        """The store key: the one given to ``track``, else ``transaction:<id>``."""
        return self._key if self._key is not None else transaction_key(self.transaction_id)

    def done(self) -> bool:
        """True once tracking has ended (with a result or an error)."""
        return self._result is not None

    def status(self) -> StatusCode | None:
        """The last status code seen, or None before the first answer."""
        return self._status

    def result(self) -> TrackingResult:
        """The result; raises the error if tracking failed, ``InvalidStateError`` if not done."""
        result = self._result
        if result is None:
            raise asyncio.InvalidStateError(f"{self!r} has not finished")
        if isinstance(result, BaseException):
            raise result
        return result

    def __await__(self) -> Generator[Any, None, TrackingResult]:
        return self._wait().__await__()

    async def _wait(self) -> TrackingResult:
        if self._result is None:
            # One future per awaiter: a cancelled awaiter must not cancel the others.
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self.result()

    def _settle(self, result: TrackingResult | BaseException) -> None:
        if self._result is not None:
            return
        self._result = result
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def _finish(self, outcome: Outcome, now: float) -> TrackingResult:
        result = TrackingResult(
            transaction_id=self.transaction_id,
            key=self.key,
            outcome=outcome,
            status=self._status,
            transaction=self._transaction,
            history=self._history,
            polls=self._polls,
            elapsed=max(0.0, now - self._started),
            anomalies=self._anomalies,
            lookup_errors=self._errors,
        )
        self._settle(result)
        return result

    def _note(self, message: str) -> None:
        if message not in self._errors and len(self._errors) < _MAX_LOOKUP_ERRORS:
            self._errors += (message,)


class _Feed(Generic[_T]):
    """An async iterator fed by the poller; it buffers only while someone holds it."""

    __slots__ = ("__weakref__", "_ended", "_items", "_poller", "_raises", "_registry", "_waiter")

    def __init__(
        self, poller: TransactionPoller, registry: weakref.WeakSet[_Feed[_T]], *, raises: bool
    ) -> None:
        self._poller = poller
        # Held weakly by the poller: an iterator nobody references stops buffering.
        self._registry = registry
        registry.add(self)
        self._items: deque[_T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._raises = raises
        self._ended = False

    def __aiter__(self) -> _Feed[_T]:
        return self

    def _push(self, item: _T) -> None:
        self._items.append(item)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def __anext__(self) -> _T:
        while True:
            if self._items:
                return self._items.popleft()
            if self._ended or self._poller._quiet():
                return self._end()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _end(self) -> _T:
        fatal = None if self._ended else self._poller._fatal
        self._ended = True
        self._registry.discard(self)
        if self._raises and fatal is not None:
            raise fatal
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop receiving; drops anything buffered."""
        self._ended = True
        self._items.clear()
        self._registry.discard(self)


class TransactionPoller:
    """Follows TransactionIds with Transaction Lookup until each reaches an outcome.

    ::

        async with client.poller(policy=PollPolicy(deadline=3600)) as poller:
            for receipt in receipts:
                poller.track(receipt.transaction_id)
            async for result in poller.results():
                print(result.transaction_id, result.outcome)

    Leaving the ``async with`` block waits for every tracked transaction, as
    ``asyncio.TaskGroup`` does (if the block raised, the poller is closed
    instead). ``close()`` stops at once: unfinished trackings end CANCELLED in
    memory and stay unfinished in the store, for ``resume()`` to pick up.

    Store hooks: ``accept`` for every tracked id the store does not already hold
    as accepted, ``record_status`` on every change, ``finish`` with the outcome
    (never for CANCELLED). A 403 on any lookup means no lookup can succeed: every
    tracking then fails with that ``AuthenticationError`` and the poller stops.
    So does a store that raises: progress that cannot be recorded is not hidden.
    """

    def __init__(
        self,
        client: TransactionLookup,
        *,
        policy: PollPolicy | None = None,
        store: TrackingStore | None = None,
        max_in_flight: int = 32,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int):
            raise TypeError(f"max_in_flight must be an integer, not {max_in_flight!r}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, not {max_in_flight!r}")
        self._client = client
        self._policy = policy if policy is not None else PollPolicy()
        self._store: TrackingStore = store if store is not None else MemoryStore()
        self._max_in_flight = max_in_flight
        self._clock: Clock = clock if clock is not None else client.clock
        self._rng = random.Random()
        self._seq = itertools.count()
        # Unfinished trackings by id; a finished one leaves, so memory follows the live work.
        self._trackings: dict[int, Tracking] = {}
        self._heap: list[tuple[float, int, Tracking]] = []
        self._to_register: deque[Tracking] = deque()
        self._event_feeds: weakref.WeakSet[_Feed[StatusEvent]] = weakref.WeakSet()
        self._result_feeds: weakref.WeakSet[_Feed[TrackingResult]] = weakref.WeakSet()
        self._idle_waiters: list[asyncio.Future[None]] = []
        # Every runner not yet ended (one winding down may overlap the next), and the
        # one whose scheduler is live: the only one that may touch the heap.
        self._runners: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        # The scheduler's sleep: the task to interrupt, and when it wakes by itself
        # (inf: only when woken; -inf: not sleeping, it will look at the heap anyway).
        self._sleeper: asyncio.Task[Any] | None = None
        self._wake_requested = False
        self._wake_at = -math.inf
        self._wants_slot = False
        self._unregistered = 0
        self._store_opened = False
        self._closed = False
        self._fatal: BaseException | None = None
        self._lookups = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"TransactionPoller(tracking={len(self._trackings)}, "
            f"max_in_flight={self._max_in_flight}, {state})"
        )

    @property
    def policy(self) -> PollPolicy:
        """The schedule this poller follows."""
        return self._policy

    @property
    def store(self) -> TrackingStore:
        """Where accepted ids, status changes and outcomes are recorded."""
        return self._store

    @property
    def lookups(self) -> int:
        """Transaction Lookups made so far (failed ones included)."""
        return self._lookups

    def __len__(self) -> int:
        """The number of transactions being tracked now."""
        return len(self._trackings)

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> TransactionPoller:
        self._check_usable()
        await self._open_store()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            await self.close()
            return
        try:
            await self.join()
        finally:
            await self.close()

    async def join(self) -> None:
        """Wait until every transaction tracked so far has finished.

        Raises the ``AuthenticationError`` that stopped the poller, if one did.
        """
        while self._trackings and not self._closed and self._fatal is None:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._idle_waiters:
                    self._idle_waiters.remove(waiter)
        if self._fatal is not None:
            raise self._fatal

    async def close(self) -> None:
        """Stop at once: unfinished trackings end CANCELLED (and stay unfinished in the store).

        Idempotent. The store, which the caller may share, is left open.
        """
        if self._closed:
            return
        self._closed = True
        runners = list(self._runners)
        for runner in runners:
            runner.cancel()
        # Resolved before waiting, so a caller cancelled during the wait still leaves
        # every tracking settled; a cancelled runner can no longer touch them.
        now = self._clock.now()
        pending = list(self._trackings.values())
        self._trackings.clear()
        self._heap.clear()
        self._to_register.clear()
        self._unregistered = 0
        for tracking in pending:
            if not tracking.done():
                self._publish_result(tracking._finish(Outcome.CANCELLED, now))
        self._notify_quiet()
        if runners:
            # asyncio.wait, unlike gather, never raises the runners' CancelledError here
            # while still letting a cancellation of the caller through.
            await asyncio.wait(runners)

    # -- tracking ------------------------------------------------------------

    def track(self, transaction_id: int, *, key: str | None = None) -> Tracking:
        """Start following ``transaction_id`` and return its ``Tracking``.

        While it is followed, tracking the same id again returns the same
        ``Tracking``; once finished it leaves the poller (memory follows the live
        work), so tracking it again starts anew. ``key`` names the record in the
        store (default ``transaction:<id>``). A TransactionId is a positive
        integer: anything else is refused at once (``TypeError``/``ValueError``)
        instead of costing lookups.
        """
        if isinstance(transaction_id, bool) or not isinstance(transaction_id, int):
            raise TypeError(
                f"transaction_id must be an integer, not {type(transaction_id).__name__}"
            )
        if transaction_id < 1:
            raise ValueError(f"transaction_id must be a positive integer, not {transaction_id}")
        if key is not None and not isinstance(key, str):
            raise TypeError(f"key must be a string, not {type(key).__name__}")
        return self._track(transaction_id, key, None)

    async def resume(self) -> list[Tracking]:
        """Track again every record the store holds as accepted but unfinished.

        Records of Add Orders (service ``orderqueue``) are skipped: their id is
        an OrderId, not a TransactionId.

        The stored status is taken as the last one seen, so the first answer is
        compared with it; the deadline counts from now, since stored times come
        from another run's clock.
        """
        self._check_usable()
        await self._open_store()
        trackings = []
        for record in await self._store.unfinished():
            # An Add Order's id is an OrderId, which Transaction Lookup does not
            # know: looking it up would report a wrong (or someone else's) status.
            if record.transaction_id is None or record.service == ORDER_SERVICE:
                continue
            existing = self._trackings.get(record.transaction_id)
            if existing is not None:
                trackings.append(existing)
                continue
            trackings.append(self._track(record.transaction_id, record.key, record.status))
        return trackings

    def events(self) -> AsyncIterator[StatusEvent]:
        """Every observed status change from now on, in order, as ``StatusEvent``s.

        Ends once nothing is being tracked (or the poller closes). Events are
        buffered only for iterators that exist, never for nobody.
        """
        self._check_usable()
        return _Feed(self, self._event_feeds, raises=False)

    def results(self) -> AsyncIterator[TrackingResult]:
        """Each ``TrackingResult`` from now on, as its tracking finishes.

        Ends once nothing is being tracked; raises the ``AuthenticationError``
        that stopped the poller, if one did.
        """
        self._check_usable()
        return _Feed(self, self._result_feeds, raises=True)

    # -- internals: bookkeeping ----------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise RuntimeError("this TransactionPoller is closed")
        if self._fatal is not None:
            raise RuntimeError(f"this TransactionPoller stopped: {self._fatal}") from self._fatal

    async def _open_store(self) -> None:
        if not self._store_opened:
            await self._store.open()
            self._store_opened = True

    def _track(self, transaction_id: int, key: str | None, status: StatusCode | None) -> Tracking:
        self._check_usable()
        existing = self._trackings.get(transaction_id)
        if existing is not None:
            if key is not None and key != existing.key:
                raise ValueError(
                    f"transaction {transaction_id} is already tracked under key {existing.key!r}"
                )
            return existing
        now = self._clock.now()
        tracking = Tracking(transaction_id, key, now, status)
        self._trackings[transaction_id] = tracking
        self._to_register.append(tracking)
        self._unregistered += 1
        self._push(tracking, _schedule.first_due(self._policy, now, self._rng.random()))
        self._ensure_running()
        self._wake()
        return tracking

    def _quiet(self) -> bool:
        """True when feeds and joiners should stop waiting: nothing left to report."""
        return not self._trackings or self._closed or self._fatal is not None

    def _notify_quiet(self) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        for event_feed in list(self._event_feeds):
            event_feed._wake()
        for result_feed in list(self._result_feeds):
            result_feed._wake()

    def _publish_result(self, result: TrackingResult) -> None:
        for feed in self._result_feeds:
            feed._push(result)

    def _finished(self, tracking: Tracking) -> None:
        self._trackings.pop(tracking.transaction_id, None)
        if not self._trackings:
            self._notify_quiet()
            self._wake()

    def _fail(self, exc: BaseException) -> None:
        """Tracking is impossible (403, or the store failed): every tracking gets ``exc``."""
        self._fatal = exc
        pending = list(self._trackings.values())
        self._trackings.clear()
        self._heap.clear()
        self._to_register.clear()
        self._unregistered = 0
        for tracking in pending:
            tracking._settle(exc)
        self._notify_quiet()

    # -- internals: the scheduler --------------------------------------------

    def _push(self, tracking: Tracking, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), tracking))
        if due < self._wake_at:
            self._wake()

    def _wake(self) -> None:
        """Interrupt the scheduler's sleep (it decides again what is due and when)."""
        sleeper = self._sleeper
        if sleeper is not None and not self._wake_requested:
            # The pattern asyncio.timeout uses: cancel, then uncancel where it is caught.
            # Cheaper than a timer task and a future per sleep, which matters when
            # every lookup of 100,000 transactions is one sleep of the scheduler.
            self._wake_requested = True
            sleeper.cancel()

    def _ensure_running(self) -> None:
        if self._runner is None:
            runner = asyncio.get_running_loop().create_task(self._run())
            self._runner = runner
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)

    async def _run(self) -> None:
        # This run's lookup slots: at most max_in_flight tasks, each handed one due
        # transaction at a time through a future while it waits idle.
        slots: list[asyncio.Task[None]] = []
        idle: list[asyncio.Future[Tracking]] = []
        try:
            async with asyncio.TaskGroup() as group:
                try:
                    await self._dispatch(group, slots, idle)
                finally:
                    for slot in slots:
                        slot.cancel()
        except ExceptionGroup as group_error:
            self._fail(group_error.exceptions[0])
        finally:
            if self._runner is asyncio.current_task():
                self._runner = None

    async def _dispatch(
        self,
        group: asyncio.TaskGroup,
        slots: list[asyncio.Task[None]],
        idle: list[asyncio.Future[Tracking]],
    ) -> None:
        await self._open_store()
        heap = self._heap
        clock = self._clock
        limit = self._max_in_flight
        while True:
            while self._to_register:
                await self._register(self._to_register.popleft())
            now = clock.now()
            while heap and heap[0][0] <= now and (idle or len(slots) < limit):
                tracking = heapq.heappop(heap)[2]
                if tracking.done():
                    continue
                if idle:
                    idle.pop().set_result(tracking)
                else:
                    slots.append(group.create_task(self._slot(tracking, idle)))
            if not self._trackings and not self._to_register:
                # Decided without an await in between, so a track() from now on starts
                # a new runner rather than relying on this one.
                self._runner = None
                return
            if not idle and len(slots) >= limit:
                # Every slot busy: only a slot coming free matters (the slots themselves
                # take due transactions meanwhile).
                await self._sleep(None, for_slot=True)
            elif heap:
                await self._sleep(heap[0][0] - now)
            else:
                await self._sleep(None)

    async def _sleep(self, delay: float | None, *, for_slot: bool = False) -> None:
        task = asyncio.current_task()
        assert task is not None
        if for_slot:
            self._wake_at = -math.inf
        else:
            self._wake_at = math.inf if delay is None else self._clock.now() + delay
        self._wants_slot = for_slot
        self._sleeper = task
        try:
            if delay is None:
                await asyncio.get_running_loop().create_future()
            else:
                await self._clock.sleep(delay)
        except asyncio.CancelledError:
            # Our own wake-up is swallowed; any other cancellation (close(), the task
            # group aborting) is still pending after uncancel() and goes on up.
            if not self._wake_requested or task.uncancel() > 0:
                raise
        finally:
            self._sleeper = None
            self._wake_requested = False
            self._wants_slot = False
            self._wake_at = -math.inf

    async def _register(self, tracking: Tracking) -> None:
        try:
            if tracking.done():
                return
            key = tracking.key
            record = await self._store.get(key)
            if (
                record is None
                or record.state is not RecordState.ACCEPTED
                or record.transaction_id != tracking.transaction_id
            ):
                await self._store.accept(key, tracking.transaction_id)
        finally:
            self._unregistered -= 1

    async def _slot(self, tracking: Tracking, idle: list[asyncio.Future[Tracking]]) -> None:
        """One of ``max_in_flight`` lookup slots: look up what it is handed, then wait idle."""
        heap = self._heap
        clock = self._clock
        loop = asyncio.get_running_loop()
        while True:
            if not tracking.done():
                await self._poll(tracking)
            # Take the next due transaction straight away instead of a round trip
            # through the scheduler; never one whose store record is still pending.
            if heap and heap[0][0] <= clock.now() and not self._unregistered:
                tracking = heapq.heappop(heap)[2]
                continue
            waiter: asyncio.Future[Tracking] = loop.create_future()
            idle.append(waiter)
            if self._wants_slot:
                self._wake()
            tracking = await waiter

    # -- internals: one lookup -----------------------------------------------

    async def _poll(self, tracking: Tracking) -> None:
        policy = self._policy
        tracking._polls += 1
        self._lookups += 1
        try:
            transaction = await self._client.get_transaction(
                tracking.transaction_id, retry=_NO_RETRY
            )
        except AuthenticationError:
            raise
        except NotFoundError:
            now = self._clock.now()
            tracking._unchanged += 1
            step = _schedule.after_not_found(
                policy,
                tracking._status,
                unchanged=tracking._unchanged,
                now=now,
                started=tracking._started,
                u=self._rng.random(),
            )
        except (RateLimitedError, ServerError) as exc:
            step = self._fault(tracking, _describe(exc), exc.retry_after)
        except MalformedResponseError as exc:
            step = self._fault(tracking, f"malformed answer: {_describe(exc)}", None)
        except (TransportError, ApiError) as exc:
            step = self._fault(tracking, _describe(exc), None)
        else:
            step = await self._observe(tracking, transaction)
        if step.outcome is None:
            assert step.due is not None
            self._push(tracking, step.due)
            return
        last = tracking._transaction
        # The outcome is stored before it is reported, so a crash in between re-reports
        # it rather than losing it.
        await self._store.finish(
            tracking.key,
            outcome=step.outcome,
            status=tracking._status,
            history=tracking._history,
            errors=(last.errors if last is not None else ()) + tracking._errors,
        )
        self._publish_result(tracking._finish(step.outcome, self._clock.now()))
        self._finished(tracking)

    def _fault(self, tracking: Tracking, message: str, retry_after: float | None) -> _schedule.Step:
        tracking._note(message)
        tracking._unchanged += 1
        return _schedule.after_fault(
            self._policy,
            tracking._status,
            unchanged=tracking._unchanged,
            now=self._clock.now(),
            started=tracking._started,
            retry_after=retry_after,
            u=self._rng.random(),
        )

    async def _observe(self, tracking: Tracking, transaction: Transaction) -> _schedule.Step:
        now = self._clock.now()
        status = transaction.status
        previous = tracking._status
        tracking._transaction = transaction
        if previous is None or status != previous:
            transition = classify_transition(previous, status)
            if transition.is_anomaly:
                tracking._anomalies += (Anomaly(transition, previous, status, now),)
            tracking._status = status
            tracking._history += ((now, status),)
            tracking._unchanged = 0
            await self._store.record_status(tracking.key, status, now)
            event = StatusEvent(tracking.transaction_id, previous, status, now, tracking.key)
            for feed in self._event_feeds:
                feed._push(event)
        else:
            if not tracking._history:
                # Resumed with a stored status that this answer confirms: history starts
                # here, but nothing changed, so no event and no store write.
                tracking._history = ((now, status),)
            tracking._unchanged += 1
        return _schedule.after_status(
            self._policy,
            status,
            unchanged=tracking._unchanged,
            now=now,
            started=tracking._started,
            u=self._rng.random(),
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
