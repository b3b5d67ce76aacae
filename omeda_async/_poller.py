"""``TransactionPoller``: follow many TransactionIds through Omeda's status codes to an outcome.

Both POST services only *queue* data; Transaction Lookup
(``GET /transaction/{id}/*``) then reports each record's status code until
processing ends. The poller follows any number of transactions at once with:

- **pure decisions** (``_schedule``): when to look up next and when a
  transaction is finished are functions of the ``PollPolicy``, what was learned
  about the brand's queue (``_rhythm``), the transaction's ``PollState`` and the
  last answer; this module only applies them (and keeps the books: trackings,
  results, events, the store);
- **one loop** (``_dispatcher``): a heap of due lookups, one sleeping task, at
  most ``max_in_flight`` lookups at once. No task per transaction: a tracked
  transaction is one small ``__slots__`` object, so 100,000 fit in well under
  100 MB. Queued records that wait on a representative are kept by ``_cohort``;
- **the client's limits**: lookups go through ``client.get_transaction`` with
  ``RetryPolicy.none()`` (the poller schedules its own retries), so the client's
  shared rate limit and connection bounds apply to polling too.

Tasks exist only while something is tracked: once every tracking has finished
the loop ends, and the next ``track`` starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from collections import deque
from collections.abc import AsyncIterator, Generator
from typing import Any, Generic, Protocol, TypeVar

import attrs

from . import _schedule
from ._clock import Clock
from ._cohort import Cohort
from ._dispatcher import IDLE, Dispatcher
from ._errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    TransportError,
)
from ._policies import PollPolicy, RetryPolicy
from ._rhythm import QUEUE_CODES, RhythmMemory, rhythm_from_note, rhythm_to_note
from ._schedule import PollState
from ._status import Outcome, StatusCode, Transition, classify_transition
from ._store import (
    ORDER_SERVICE,
    KeepsNotes,
    MemoryStore,
    RecordState,
    TrackingStore,
    store_in_use,
    transaction_key,
)
from .models._responses import Transaction

__all__ = [
    "Anomaly",
    "StatusEvent",
    "Tracking",
    "TrackingCounts",
    "TrackingResult",
    "TransactionLookup",
    "TransactionPoller",
]

_T = TypeVar("_T")

_MAX_LOOKUP_ERRORS = 16
"""Distinct lookup-error notes kept per transaction (a long outage repeats one message)."""

_NO_RETRY = RetryPolicy.none()

_RHYTHM_NOTE = "poller.rhythm"
"""The store note that keeps what was learned about the brand's queue (``KeepsNotes``)."""


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


@attrs.frozen
class TrackingCounts:
    """How the transactions a poller follows stand now (``TransactionPoller.counts()``).

    ``unseen``: no status yet (waiting for a first lookup, or not visible yet);
    ``queued``: waiting in Omeda's queue (0, 7); ``processing``: moving through
    Omeda's stages; ``held``: waiting for a person at Omeda (1, 3, 20, 35-37).
    """

    unseen: int
    queued: int
    processing: int
    held: int

    @property
    def tracking(self) -> int:
        """Every transaction being followed."""
        return self.unseen + self.queued + self.processing + self.held


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
        "_dispatch",
        "_errors",
        "_history",
        "_key",
        "_parked",
        "_polls",
        "_result",
        "_scout",
        "_state",
        "_transaction",
        "_waiters",
        "transaction_id",
    )

    def __init__(self, transaction_id: int, key: str | None, state: PollState) -> None:
        self.transaction_id = transaction_id
        # None stands for transaction_key(transaction_id), built only when asked for.
        self._key = key
        # The schedule: a pure value the decisions of _schedule replace after each lookup.
        self._state = state
        # IDLE, DUE or LOOKING (the dispatcher's); whether it waits on a cohort, or
        # keeps its own lookups while queued to see whether records leave in order.
        self._dispatch = IDLE
        self._parked = False
        self._scout = False
        self._history: tuple[tuple[float, StatusCode], ...] = ()
        self._polls = 0
        self._transaction: Transaction | None = None
        self._anomalies: tuple[Anomaly, ...] = ()
        self._errors: tuple[str, ...] = ()
        self._result: TrackingResult | BaseException | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        state = "done" if self._result is not None else "tracking"
        return (
            f"Tracking(transaction_id={self.transaction_id}, key={self.key!r}, "
            f"status={self._state.status!r}, {state})"
        )

    def __lt__(self, other: Tracking) -> bool:
        # Ties in the schedule's heaps (same time) are broken by id, never by a crash.
        return self.transaction_id < other.transaction_id

    @property
    def key(self) -> str:
        """The store key: the one given to ``track``, else ``transaction:<id>``."""
        return self._key if self._key is not None else transaction_key(self.transaction_id)

    @property
    def poll_state(self) -> PollState:
        """Its schedule now: next lookup time, last status, lookups in this phase (a value a
        store can keep, so that another worker continues the schedule)."""
        return self._state

    def done(self) -> bool:
        """True once tracking has ended (with a result or an error)."""
        return self._result is not None

    def status(self) -> StatusCode | None:
        """The last status code seen, or None before the first answer."""
        return self._state.status

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
        self._dispatch = IDLE
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def _finish(self, outcome: Outcome, now: float) -> TrackingResult:
        result = TrackingResult(
            transaction_id=self.transaction_id,
            key=self.key,
            outcome=outcome,
            status=self._state.status,
            transaction=self._transaction,
            history=self._history,
            polls=self._polls,
            elapsed=max(0.0, now - self._state.started),
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

    Two ways to run one:

    - **for a job** (``async with``): leaving the block waits for every tracked
      transaction, as ``asyncio.TaskGroup`` does (if the block raised, the poller
      is closed instead); ``results()``/``events()`` end once nothing is tracked::

          async with client.poller() as poller:
              for receipt in receipts:
                  poller.track(receipt.transaction_id)
              async for result in poller.results():
                  print(result.transaction_id, result.outcome)

    - **for an app's lifetime** (``await poller.start()`` at startup,
      ``await poller.close()`` at shutdown): ``results()``/``events()`` keep
      waiting while it is open, however often it goes idle, and shutdown waits
      on nothing, records held for a person included.

    ``close()`` stops at once: unfinished trackings end CANCELLED in memory and
    stay unfinished in the store, for ``resume()`` to pick up. A store the
    poller opened itself is closed then; one the caller opened stays open.

    Store hooks: ``accept`` for every tracked id the store does not already hold
    as accepted, ``record_status`` on every change, ``finish`` with the outcome
    (never for CANCELLED, nor for HELD: a record waiting for a person stays
    resumable). A 403 on any lookup means no lookup can succeed: every tracking
    then fails with that ``AuthenticationError`` and the poller stops. So does
    a store that raises: progress that cannot be recorded is not hidden.
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
        self._clock: Clock = clock if clock is not None else client.clock
        self._rng = random.Random()
        # What was learned about the brand's queue: the client's, shared by its pollers.
        memory = getattr(client, "rhythm_memory", None)
        self._memory: RhythmMemory = memory if isinstance(memory, RhythmMemory) else RhythmMemory()
        # Unfinished trackings by id; a finished one leaves, so memory follows the live work.
        self._trackings: dict[int, Tracking] = {}
        # How many of them are in each phase (UNSEEN, QUEUED, MOVING, HELD): counts().
        self._phases = [0, 0, 0, 0]
        self._dispatcher = Dispatcher(
            clock=self._clock,
            max_in_flight=max_in_flight,
            prepare=self._open_store,
            admit=self._admit,
            lookup=self._lookup,
            busy=self._busy,
            crashed=self._fail,
        )
        self._cohort = Cohort(
            dispatcher=self._dispatcher,
            policy=self._policy,
            memory=self._memory,
            draw=self._rng.random,
            now=self._clock.now,
        )
        self._event_feeds: weakref.WeakSet[_Feed[StatusEvent]] = weakref.WeakSet()
        self._result_feeds: weakref.WeakSet[_Feed[TrackingResult]] = weakref.WeakSet()
        self._idle_waiters: list[asyncio.Future[None]] = []
        # The store's use by this poller, from its opening to close() (see _open_store).
        self._store_use: contextlib.AsyncExitStack | None = None
        self._serving = False
        self._closed = False
        self._fatal: BaseException | None = None
        self._lookups = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"TransactionPoller(tracking={len(self._trackings)}, "
            f"max_in_flight={self._dispatcher.limit}, {state})"
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

    def counts(self) -> TrackingCounts:
        """How the tracked transactions stand now: unseen, queued, processing, held."""
        unseen, queued, moving, held = self._phases
        return TrackingCounts(unseen=unseen, queued=queued, processing=moving, held=held)

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> TransactionPoller:
        self._check_usable()
        await self._open_store()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            await self.close()
            return
        try:
            await self.join()
        finally:
            await self.close()

    async def start(self) -> TransactionPoller:
        """Open for an app's lifetime: ``results()``/``events()`` keep waiting until ``close()``.

        For a web backend's startup (``close()`` at its shutdown). Opens the
        store; ``resume()`` afterwards picks up what an earlier run left unfinished.
        """
        self._check_usable()
        await self._open_store()
        self._serving = True
        return self

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

        Idempotent. Waits on nothing Omeda does (held records included). The
        store is closed if this poller opened it, left open if the caller did.
        """
        if self._closed:
            return
        self._closed = True
        # Cancelled before anything is settled, and settled before waiting, so a caller
        # cancelled during the wait still leaves every tracking settled; a cancelled
        # runner can no longer touch them.
        runners = self._dispatcher.cancel()
        self._halt(None)
        if runners:
            # asyncio.wait, unlike gather, never raises the runners' CancelledError here
            # while still letting a cancellation of the caller through.
            await asyncio.wait(runners)
        use, self._store_use = self._store_use, None
        if use is not None:
            try:
                await self._save_rhythm()
            finally:
                await use.aclose()

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
        an OrderId, not a TransactionId. Records held for a person (stopped with
        ``stop_on_hold``) are resumed too.

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

        Ends once nothing is being tracked (for a poller started with ``start()``:
        once it closes). Events are buffered only for iterators that exist.
        """
        self._check_usable()
        return _Feed(self, self._event_feeds, raises=False)

    def results(self) -> AsyncIterator[TrackingResult]:
        """Each ``TrackingResult`` from now on, as its tracking finishes.

        Ends once nothing is being tracked (for a poller started with ``start()``:
        once it closes); raises the ``AuthenticationError`` that stopped the
        poller, if one did.
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
        if self._store_use is None:
            # Opened for this poller's use: closed when its last user ends, if (and only
            # if) one of them opened it; a store the caller opened stays open.
            use = contextlib.AsyncExitStack()
            await use.enter_async_context(store_in_use(self._store))
            if self._store_taken():
                await use.aclose()  # another call got here first, during the await
                return
            self._store_use = use
            await self._load_rhythm()

    def _store_taken(self) -> bool:
        return self._store_use is not None

    def _track(self, transaction_id: int, key: str | None, status: StatusCode | None) -> Tracking:
        self._check_usable()
        existing = self._trackings.get(transaction_id)
        if existing is not None:
            if key is not None and key != existing.key:
                raise ValueError(
                    f"transaction {transaction_id} is already tracked under key {existing.key!r}"
                )
            return existing
        state = _schedule.start(self._policy, self._clock.now(), self._rng.random(), status)
        tracking = Tracking(transaction_id, key, state)
        self._trackings[transaction_id] = tracking
        self._phases[state.phase] += 1
        if not self._dispatcher.running:
            self._memory.listen(self._cohort.on_rhythm)
        self._dispatcher.arrive(tracking)
        self._cohort.on_track(tracking)
        return tracking

    def _busy(self) -> bool:
        if self._trackings:
            return True
        # Going idle: stop hearing about the rhythm until something is tracked again.
        self._memory.unlisten(self._cohort.on_rhythm)
        return False

    def _quiet(self) -> bool:
        """True when feeds and joiners should stop waiting: nothing left to report."""
        if self._closed or self._fatal is not None:
            return True
        return not self._trackings and not self._serving

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
        self._phases[tracking._state.phase] -= 1
        self._cohort.leave(tracking)
        self._cohort.unscout(tracking)
        if not self._trackings:
            self._notify_quiet()
            self._dispatcher.wake()

    def _fail(self, exc: BaseException) -> None:
        """Tracking is impossible (403, or the store failed): every tracking gets ``exc``."""
        self._fatal = exc
        self._halt(exc)

    def _halt(self, error: BaseException | None) -> None:
        """Settle every unfinished tracking: with ``error``, or CANCELLED (close)."""
        self._memory.unlisten(self._cohort.on_rhythm)
        pending = list(self._trackings.values())
        self._trackings.clear()
        self._phases = [0, 0, 0, 0]
        self._dispatcher.clear()
        self._cohort.clear()
        now = self._clock.now()
        for tracking in pending:
            if error is not None:
                tracking._settle(error)
            elif not tracking.done():
                self._publish_result(tracking._finish(Outcome.CANCELLED, now))
        self._notify_quiet()

    async def _admit(self, tracking: Tracking) -> None:
        """Write the tracked id to the store before its first lookup (unless it is there)."""
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

    # -- internals: what was learned, kept in a store that can ------------------

    async def _load_rhythm(self) -> None:
        store = self._store
        if not self._policy.learn or not isinstance(store, KeepsNotes):
            return
        text = await store.read_note(_RHYTHM_NOTE)
        if text is not None:
            self._memory.adopt(rhythm_from_note(text, self._clock))

    async def _save_rhythm(self) -> None:
        store = self._store
        if self._memory.dirty and self._policy.learn and isinstance(store, KeepsNotes):
            await store.write_note(_RHYTHM_NOTE, rhythm_to_note(self._memory.rhythm, self._clock))
            self._memory.saved(self._clock.now())

    # -- internals: one lookup -----------------------------------------------

    async def _lookup(self, tracking: Tracking) -> None:
        if tracking.done():
            return
        policy = self._policy
        before = tracking._state
        tracking._polls += 1
        self._lookups += 1
        step: _schedule.Step | None = None
        try:
            transaction = await self._client.get_transaction(
                tracking.transaction_id, retry=_NO_RETRY
            )
        except AuthenticationError:
            raise
        except (ApiError, MalformedResponseError, TransportError) as exc:
            if not isinstance(exc, NotFoundError):
                malformed = isinstance(exc, MalformedResponseError)
                tracking._note(
                    f"malformed answer: {_describe(exc)}" if malformed else _describe(exc)
                )
            step = _schedule.after_failed_lookup(
                policy, before, exc, now=self._clock.now(), u=self._rng.random()
            )
        # Only an answer shows where the record stands: after a failed lookup it keeps
        # its own backoff (and any Retry-After) rather than a cohort's pace.
        answered = step is None
        if step is None:
            step = await self._observe(tracking, transaction)
        if tracking.done():
            return  # closed while the answer was on its way
        tracking._state = state = step.state
        outcome = step.outcome
        if outcome is None:
            if (
                answered
                and state.status in QUEUE_CODES
                and _schedule.waits_on_cohort(policy, self._memory.rhythm, state)
            ):
                if not tracking._scout:
                    self._cohort.join(tracking, looked_up=True)
                    return
            elif tracking._scout:
                self._cohort.unscout(tracking)
            if tracking._parked:
                self._cohort.leave(tracking)
            self._dispatcher.schedule(tracking, state.due)
            return
        if outcome is not Outcome.HELD:
            last = tracking._transaction
            # The outcome is stored before it is reported, so a crash in between re-reports
            # it rather than losing it. A held record is left unfinished: it is resumable.
            await self._store.finish(
                tracking.key,
                outcome=outcome,
                status=state.status,
                history=tracking._history,
                errors=(last.errors if last is not None else ()) + tracking._errors,
            )
        self._publish_result(tracking._finish(outcome, self._clock.now()))
        self._finished(tracking)

    async def _observe(self, tracking: Tracking, transaction: Transaction) -> _schedule.Step:
        now = self._clock.now()
        status = transaction.status
        before = tracking._state
        previous = before.status
        tracking._transaction = transaction
        memory = self._memory
        learned = _schedule.learn(self._policy, memory.rhythm, before, status, now=now)
        step = _schedule.after_status(
            self._policy,
            before,
            status,
            now=now,
            rhythm=learned,
            waiting=self._cohort.waiting_on(tracking) if tracking._parked else 1,
            # A scout with records waiting behind others keeps its own pace: it is there to
            # notice a run that the learned cadence did not predict.
            predict=not (tracking._scout and len(self._cohort)),
            u=self._rng.random(),
        )
        if previous is None or status != previous:
            phases = self._phases
            phases[before.phase] -= 1
            phases[step.state.phase] += 1
            transition = classify_transition(previous, status)
            if transition.is_anomaly:
                tracking._anomalies += (Anomaly(transition, previous, status, now),)
            tracking._history += ((now, status),)
            await self._store.record_status(tracking.key, status, now)
            event = StatusEvent(tracking.transaction_id, previous, status, now, tracking.key)
            for feed in self._event_feeds:
                feed._push(event)
        elif not tracking._history:
            # Resumed with a stored status that this answer confirms: history starts
            # here, but nothing changed, so no event and no store write.
            tracking._history = ((now, status),)
        if learned is not memory.rhythm:
            # After the step is taken: what the frontier frees must not race this answer.
            tracking._state = step.state
            memory.update(learned)
            if memory.due_for_save(now):
                await self._save_rhythm()
        return step


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
