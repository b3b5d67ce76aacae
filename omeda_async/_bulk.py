"""``submit_many``: push many records to Omeda without queueing one twice or losing one.

One job reads payloads lazily (a sync or async iterable, with backpressure:
reading waits while the pipeline is full, so a million-row generator keeps
memory flat), gives each record a stable key, and runs at most
``concurrency`` submissions at once. Every record read ends as exactly one
:class:`SubmissionOutcome`; validation failures, Omeda's refusals and unknown
outcomes are outcomes of their record, never the end of the job.

With a store (``SqliteStore`` for durable work) each record is journaled:
``begin`` (durable) before its POST, ``accept`` (durable) before its outcome
is reported, ``reject`` or ``mark_unknown`` otherwise. Running the same job
again with the same store:

- skips records already accepted or finished (re-tracking, with
  ``track=True``, the accepted-but-unfinished ones: ``poller.resume()``);
- does not resend records whose outcome is unknown (including those a crash
  left *pending*: their POST may have left) unless ``resend_unknown=True``;
  they are reported as unknown outcomes for the user to reconcile;
- resends records that were rejected (they were never queued).

Only ``SubmissionOutcomeUnknown`` (DESIGN.md, "No duplicate submissions") and
a stop (crash, ``aclose()``, a fatal error) between ``begin`` and Omeda's
answer leave a record unknown.

What stops a job (after every outcome produced so far is delivered): an
``AuthenticationError`` (every further record would be refused too), a
``StoreError`` (the journal can no longer record what is sent), an exception
raised by the payload iterable itself, or a bug. Records in flight at that
moment stay *pending* in the store: a re-run reports them as unknown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
from collections import Counter, deque
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import attrs

from ._errors import (
    ApiError,
    AuthenticationError,
    CustomerMergedError,
    OmedaError,
    PayloadValidationError,
    PendingDeactivationError,
    SubmissionOutcomeUnknown,
)
from ._status import Outcome
from ._store import CUSTOMER_SERVICE, ORDER_SERVICE, RecordState, StoredRecord, TrackingStore
from .models import _wire
from .models._converter import to_dict
from .models._payloads import Order, Payload
from .models._responses import OrderReceipt, ProcessorResult, SubmissionReceipt
from .models._validation import Violation

if TYPE_CHECKING:
    from ._client import OmedaClient
    from ._policies import PollPolicy
    from ._poller import TrackingResult, TransactionPoller

__all__ = ["BulkSubmission", "BulkSummary", "SubmissionOutcome", "record_key", "submit_many"]

CUSTOMERS: Final = CUSTOMER_SERVICE
ORDERS: Final = ORDER_SERVICE
_SERVICE_OF_KIND: Final = {"customer": CUSTOMERS, "order": ORDERS}
_LISTED_KEYS: Final = 5
"""How many unknown/failed keys ``str(summary)`` names (``summary`` keeps them all)."""

Kind = Literal["customer", "order"]


# ----------------------------------------------------------------------- outcome


# Not slotted: attrs's frozen __init__ then writes the instance dict directly,
# where a slotted class calls object.__setattr__ per field (twice the cost, and
# a job makes one outcome per record).
@attrs.frozen(kw_only=True, slots=False)
class SubmissionOutcome:
    """What became of one record of a ``submit_many`` job.

    ``index`` is its position in the input, ``key`` its stable key (None only
    when the caller's key function failed on it). For a record sent in this
    run, ``receipt`` (Omeda queued it) or ``error`` (it was refused, or
    ``SubmissionOutcomeUnknown``: it may or may not be queued) is set;
    ``result`` is its ``TrackingResult`` when tracking.

    ``state`` is where the record stands now: ACCEPTED (queued), FINISHED
    (tracked to ``result``), REJECTED (never queued: safe to fix and resend),
    UNKNOWN (reconcile before resending), PENDING (a duplicate of a record
    still in flight). ``skipped`` is True when nothing was sent for it in this
    run (the store already had it, or an identical key was in flight:
    ``duplicate_of``); ``stored`` is what the store held when the record was
    read. ``merged_into`` is the OmedaCustomerId it was resent with after
    Omeda said the customer was merged; ``attempts`` counts its POSTs in this
    run; ``processor`` is Run Processor's answer for it (``run_processor=True``).
    """

    index: int
    key: str | None
    receipt: SubmissionReceipt | OrderReceipt | None = None
    error: OmedaError | None = None
    result: TrackingResult | None = None
    state: RecordState
    service: str
    skipped: bool = False
    duplicate_of: int | None = None
    stored: StoredRecord | None = attrs.field(default=None, repr=False)
    merged_into: int | None = None
    attempts: int = 0
    processor: ProcessorResult | None = None

    @property
    def transaction_id(self) -> int | None:
        """The record's TransactionId (``storecustomerandorder``), from this run or the store."""
        if self.service != CUSTOMERS:
            return None
        if isinstance(self.receipt, SubmissionReceipt):
            return self.receipt.transaction_id
        if self.result is not None:
            return self.result.transaction_id
        return self.stored.transaction_id if self.stored is not None else None

    @property
    def outcome(self) -> Outcome | None:
        """The tracking outcome: from ``result``, else the one the store recorded."""
        if self.result is not None:
            return self.result.outcome
        if self.stored is not None and self.state is RecordState.FINISHED:
            return self.stored.outcome
        return None


# Called directly, attrs's __init__ takes the keywords as they are (see _emit).
_init_outcome: Final = SubmissionOutcome.__init__


# ----------------------------------------------------------------------- summary


@attrs.frozen(kw_only=True)
class BulkSummary:
    """Counts of a ``submit_many`` job, fit to log (``str(summary)``).

    Every record read is counted once in ``accepted`` (queued in this run),
    ``skipped`` (nothing sent: already accepted or finished, or a duplicate),
    ``rejected`` (never queued: invalid, refused by Omeda, or not sent) or
    ``unknown`` (may or may not be queued: ``unknown_keys``), so
    ``total == accepted + skipped + rejected + unknown`` once the job ends.
    ``outcomes`` counts tracking outcomes; ``failed_keys`` lists rejected
    records and tracked ones that FAILED. ``elapsed`` is in seconds on the
    client's clock.
    """

    total: int = 0
    accepted: int = 0
    skipped: int = 0
    rejected: int = 0
    unknown: int = 0
    outcomes: Mapping[Outcome, int] = attrs.field(factory=lambda: MappingProxyType({}))
    posts: int = 0
    merges_followed: int = 0
    pending_retries: int = 0
    processed: int = 0
    elapsed: float = 0.0
    finished: bool = False
    unknown_keys: tuple[str, ...] = ()
    failed_keys: tuple[str, ...] = ()

    @property
    def records_per_second(self) -> float:
        """Records accounted for per second of ``elapsed``."""
        done = self.accepted + self.skipped + self.rejected + self.unknown
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def accepted_per_second(self) -> float:
        """Records queued by Omeda per second of ``elapsed``."""
        return self.accepted / self.elapsed if self.elapsed > 0 else 0.0

    def __str__(self) -> str:
        head = (
            f"{self.total} records in {self.elapsed:.1f}s "
            f"({self.records_per_second:.1f}/s{'' if self.finished else ', running'}): "
            f"{self.accepted} accepted, {self.rejected} rejected, {self.unknown} unknown, "
            f"{self.skipped} skipped"
        )
        parts = [head]
        if self.outcomes:
            listed = ", ".join(
                f"{count} {outcome.value}" for outcome, count in self.outcomes.items()
            )
            parts.append(f"tracking: {listed}")
        extras = []
        if self.merges_followed:
            extras.append(f"{self.merges_followed} merges followed")
        if self.pending_retries:
            extras.append(f"{self.pending_retries} pending-deactivation retries")
        if self.processed:
            extras.append(f"{self.processed} run through the processor")
        if extras:
            parts.append(", ".join(extras))
        for name, keys in (("unknown", self.unknown_keys), ("failed", self.failed_keys)):
            if keys:
                more = f" (+{len(keys) - _LISTED_KEYS} more)" if len(keys) > _LISTED_KEYS else ""
                parts.append(f"{name}: {', '.join(keys[:_LISTED_KEYS])}{more}")
        return "; ".join(parts)


@dataclasses.dataclass(slots=True)
class _Tally:
    """The running counts behind ``BulkSummary``."""

    total: int = 0
    accepted: int = 0
    skipped: int = 0
    rejected: int = 0
    unknown: int = 0
    posts: int = 0
    merges_followed: int = 0
    pending_retries: int = 0
    processed: int = 0
    outcomes: Counter[Outcome] = dataclasses.field(default_factory=Counter)
    unknown_keys: list[str] = dataclasses.field(default_factory=list)
    failed_keys: list[str] = dataclasses.field(default_factory=list)

    def count(self, outcome: SubmissionOutcome) -> None:
        state = outcome.state
        if state is RecordState.UNKNOWN:
            self.unknown += 1
            self.unknown_keys.append(_name(outcome))
        elif state is RecordState.REJECTED:
            self.rejected += 1
            self.failed_keys.append(_name(outcome))
        elif outcome.skipped:
            self.skipped += 1
        else:
            self.accepted += 1
        result = outcome.result
        if result is not None:
            self.outcomes[result.outcome] += 1
            if result.outcome is Outcome.FAILED:
                self.failed_keys.append(_name(outcome))
        if outcome.processor is not None and outcome.processor.succeeded:
            self.processed += 1


def _name(outcome: SubmissionOutcome) -> str:
    """How the summary lists a record: its key, else its index."""
    return outcome.key if outcome.key is not None else f"#{outcome.index}"


# ------------------------------------------------------------------- record keys


def _canonical(value: object) -> object:
    """JSON for what ``json`` cannot write, stable from run to run."""
    if isinstance(value, Payload):
        return to_dict(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(json.dumps(item, sort_keys=True, default=_canonical) for item in value)
    if isinstance(value, bytes):
        return value.hex()
    return f"{type(value).__qualname__}:{value!r}"


_BODY_BUILDERS: Final[Mapping[str, Callable[[Any], bytes]]] = {
    CUSTOMERS: _wire.customer_and_order_body,
    ORDERS: _wire.order_body,
}


def _request_body(payload: Any, service: str) -> bytes | None:
    """The exact body a POST of ``payload`` to ``service`` sends; None if it breaks a rule.

    A payload without a body is validated again when it is sent, and rejected
    there with every violation, exactly as a direct client call rejects it.
    """
    build = _BODY_BUILDERS.get(service)
    if build is None:
        return None
    try:
        return build(payload)
    except PayloadValidationError:
        return None


def _key_of(payload: Any, service: str, body: bytes | None) -> str:
    """SHA-256 of the service and the request body (else the canonical JSON)."""
    if body is None:
        data = to_dict(payload) if isinstance(payload, Payload) else payload
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical
        )
        body = text.encode("utf-8", "surrogatepass")
    prefix = _KEY_PREFIXES.get(service)
    if prefix is None:
        digest = hashlib.sha256(service.encode())
        digest.update(b"\n")
    else:
        digest = prefix.copy()
    digest.update(body)
    return digest.hexdigest()


# The hash of each service's name and newline, ready to be copied for a record's key.
_KEY_PREFIXES: Final = {
    service: hashlib.sha256(f"{service}\n".encode()) for service in (CUSTOMERS, ORDERS)
}


def record_key(payload: object, service: str) -> str:
    """The default key of a record: SHA-256 of its service and its request body.

    The body is the exact bytes sent (``customer_and_order_body``/``order_body``),
    which are the same for the same record whatever the key order of its dict
    and whether it came as a model or a dict: the same record gets the same key
    in every run of a job, and submit_many serializes each record only once. A
    payload that breaks a rule has no body; it is keyed by its canonical JSON
    (dict keys sorted, a model as its wire dict).
    """
    return _key_of(payload, service, _request_body(payload, service))


def _with_field(payload: Any, attribute: str, wire: str, value: int) -> Any:
    """``payload`` with one field set: a changed copy, never the caller's object."""
    if isinstance(payload, Payload):
        return attrs.evolve(payload, **{attribute: value})  # type: ignore[misc]
    if isinstance(payload, Mapping):
        return {**payload, wire: value}
    return payload


def _reasons(exc: BaseException) -> list[str]:
    if isinstance(exc, PayloadValidationError):
        return [str(violation) for violation in exc.violations] or [str(exc)]
    if isinstance(exc, ApiError) and exc.errors:
        return list(exc.errors)
    return [f"{type(exc).__name__}: {exc}"]


def _record_error(path: str, message: str, rule: str) -> PayloadValidationError:
    return PayloadValidationError([Violation(path, message, rule)])


# ------------------------------------------------------------------------- job


class _Release(Protocol):
    def release(self) -> None: ...


class _Record:
    """One input record on its way through the pipeline.

    What most records never change is a class attribute, so making one sets
    five attributes, not fifteen (a job makes one per row).
    """

    key: str | None = None
    error: OmedaError | None = None
    attempts: int = 0
    checked: bool = False
    merged_into: int | None = None
    pending_tries: int = 0
    receipt: SubmissionReceipt | OrderReceipt | None = None
    processor: ProcessorResult | None = None
    stored: StoredRecord | None = None
    skipped: bool = False

    def __init__(self, index: int, payload: Any, service: str, window: _Window) -> None:
        self.index = index
        self.payload = payload
        self.service = service
        # Built once, when the record is read: keyed by it and sent as it is.
        self.body = _request_body(payload, service)
        # The room this record holds (read-ahead, tracking), released when its
        # outcome is taken: that is what bounds the job's memory.
        self.held: list[_Release] = [window]

    def change_payload(self, payload: Any) -> None:
        """Send ``payload`` instead (a merge followed, a TransactionId filled in).

        Its body is rebuilt; its key stays the key of the record as it was read.
        """
        self.payload = payload
        self.body = _request_body(payload, self.service)


class _Window:
    """The read-ahead window: how many more records may be read before some are taken.

    Only the reader waits for room, so this needs neither a Semaphore's queue
    of waiters nor a coroutine per record: the reader takes room with
    ``free -= 1`` and awaits ``room()`` only when there is none.
    """

    __slots__ = ("_waiter", "free")

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiter: asyncio.Future[None] | None = None

    async def room(self) -> None:
        """Wait until ``free`` is positive."""
        while self.free <= 0:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def release(self) -> None:
        self.free += 1
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


@attrs.frozen(kw_only=True)
class _Options:
    concurrency: int
    track: bool
    store: TrackingStore | None
    key: Callable[[Any], str] | None
    kind: Kind | None
    ordered: bool
    resend_unknown: bool
    follow_merges: bool
    pending_retries: int
    pending_retry_delay: float
    run_processor: bool
    processor_batch: int
    processor_wait: float
    poll_policy: PollPolicy | None
    max_tracked: int
    input_id: str | None
    transaction_of: Callable[[Any], str | None] | None


class BulkSubmission:
    """A running ``submit_many`` job: an async iterator of :class:`SubmissionOutcome`.

    Iterate it (``async for outcome in job``) or use it as an async context
    manager; ``summary`` gives the counts at any time, final once iteration
    has ended. Leaving early: ``await job.aclose()`` (or the ``async with``
    block) stops the job; records in flight stay pending in the store and
    tracked ones unfinished, so a re-run picks them up.
    """

    def __init__(self, client: OmedaClient, payloads: Any, options: _Options) -> None:
        if not isinstance(payloads, Iterable | AsyncIterable):
            raise TypeError(
                f"payloads must be an iterable or async iterable, not {type(payloads).__name__}"
            )
        self._client = client
        self._payloads = payloads
        self._options = options
        self._store = options.store
        self._clock = client.clock
        # Ordered output holds outcomes back behind the oldest record, so it
        # gets a deeper read-ahead; both stay bounded.
        window = max(4 * options.concurrency, 256) if options.ordered else 2 * options.concurrency
        self._window = _Window(window)
        self._tracking_slots = asyncio.Semaphore(options.max_tracked)
        # Records waiting for a worker, and the idle workers' wake-up futures
        # (an asyncio.Queue's work, without its per-call bookkeeping).
        self._todo: deque[_Record] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._tally = _Tally()
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._runner: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._poller: TransactionPoller | None = None
        self._tracking_started = asyncio.Event()
        self._all_accounted = asyncio.Event()
        self._reading_done = False
        self._open = 0
        self._finished = False
        self._fatal: BaseException | None = None
        self._fatal_raised = False
        self._wakeup: asyncio.Future[None] | None = None
        # Output: in arrival order, or by index for ordered=True.
        self._ordered = options.ordered
        self._service = None if options.kind is None else _SERVICE_OF_KIND[options.kind]
        # No journal, dependency, Run Processor or tracking: an accepted
        # record's outcome is its receipt (see _accepted).
        self._report_at_once = not (
            self._store is not None
            or options.transaction_of is not None
            or options.run_processor
            or options.track
        )
        self._out: deque[tuple[SubmissionOutcome, list[_Release]]] = deque()
        self._ready: dict[int, tuple[SubmissionOutcome, list[_Release]]] = {}
        self._next_index = 0
        # Keys in this job from read to final outcome: in-job duplicates wait for nobody.
        self._active: dict[str, int] = {}
        # Tracking: transaction id -> record; resumed (key -> id) not yet claimed by a row.
        self._tracked: dict[int, _Record] = {}
        self._resumed: dict[str, int] = {}
        self._parked: dict[str, TrackingResult] = {}
        # Add Orders waiting for a record of this job (transaction_of), and how those ended.
        self._waiting: dict[str, list[_Record]] = {}
        self._dependency_ends: dict[str, int | None] = {}
        self._processor_batch: list[tuple[_Record, int]] = []
        self._processor_generation = 0

    def __repr__(self) -> str:
        state = "finished" if self._finished else ("running" if self._runner else "not started")
        return f"BulkSubmission({state}, {self.summary})"

    # -- the caller's side ----------------------------------------------------------

    @property
    def summary(self) -> BulkSummary:
        """The job's counts so far (final once iteration has ended)."""
        tally = self._tally
        if self._started_at is None:
            elapsed = 0.0
        else:
            end = self._ended_at if self._ended_at is not None else self._clock.now()
            elapsed = max(0.0, end - self._started_at)
        return BulkSummary(
            total=tally.total,
            accepted=tally.accepted,
            skipped=tally.skipped,
            rejected=tally.rejected,
            unknown=tally.unknown,
            outcomes=MappingProxyType(dict(sorted(tally.outcomes.items()))),
            posts=tally.posts,
            merges_followed=tally.merges_followed,
            pending_retries=tally.pending_retries,
            processed=tally.processed,
            elapsed=elapsed,
            finished=self._finished,
            unknown_keys=tuple(tally.unknown_keys),
            failed_keys=tuple(tally.failed_keys),
        )

    def __aiter__(self) -> BulkSubmission:
        return self

    async def __anext__(self) -> SubmissionOutcome:
        if self._runner is None:
            self._start()
        while True:
            taken = self._take()
            if taken is not None:
                return taken
            if self._finished:
                if self._fatal is not None and not self._fatal_raised:
                    self._fatal_raised = True
                    raise self._fatal
                raise StopAsyncIteration
            self._wakeup = asyncio.get_running_loop().create_future()
            try:
                await self._wakeup
            finally:
                self._wakeup = None

    async def __aenter__(self) -> BulkSubmission:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the job now (idempotent); what was recorded stays recorded."""
        runner = self._runner
        if runner is None:
            self._finished = True
            return
        if not runner.done():
            runner.cancel()
        await asyncio.wait([runner])

    def _take(self) -> SubmissionOutcome | None:
        entry: tuple[SubmissionOutcome, list[_Release]] | None
        if self._out:  # unordered output
            entry = self._out.popleft()
        elif self._ordered:
            entry = self._ready.pop(self._next_index, None)
            if entry is None and self._finished and self._ready:
                # The job stopped with gaps: hand over the rest in index order.
                entry = self._ready.pop(min(self._ready))
            if entry is None:
                return None
            self._next_index = entry[0].index + 1
        else:
            return None
        outcome, held = entry
        for room in held:
            room.release()
        return outcome

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- running ------------------------------------------------------------------

    def _start(self) -> None:
        if self._runner is None and not self._finished:
            self._started_at = self._clock.now()
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            if self._store is not None:
                await self._store.open()
            if self._options.track:
                self._poller = self._client.poller(
                    policy=self._options.poll_policy, store=self._store
                )
                if self._store is not None:
                    await self._resume()
            async with asyncio.TaskGroup() as group:
                self._group = group
                tasks = [group.create_task(self._read())]
                tasks += [group.create_task(self._work()) for _ in range(self._options.concurrency)]
                if self._poller is not None:
                    tasks.append(group.create_task(self._follow_results()))
                await self._all_accounted.wait()
                for task in (*tasks, *self._background):
                    task.cancel()
        except BaseExceptionGroup as group_error:
            self._fatal = _first_error(group_error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # opening the store or resuming failed: the job's end
            self._fatal = exc
        finally:
            self._group = None
            if self._poller is not None:
                # Unclaimed resumed trackings stop here; they stay unfinished in the store.
                await self._poller.close()
            self._ended_at = self._clock.now()
            self._finished = True
            self._wake()

    async def _resume(self) -> None:
        """Re-track every accepted-but-unfinished record of the store (``poller.resume``)."""
        assert self._store is not None
        assert self._poller is not None
        for stored in await self._store.unfinished():
            if stored.service == ORDERS:
                # An OrderId is no TransactionId: Transaction Lookup cannot follow it.
                await self._store.finish(stored.key, outcome=Outcome.PENDING, status=None)
        trackings = await self._poller.resume()
        self._resumed = {tracking.key: tracking.transaction_id for tracking in trackings}
        if trackings:
            self._tracking_started.set()

    def _spawn(self, coro: Any) -> None:
        assert self._group is not None
        task: asyncio.Task[None] = self._group.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read(self) -> None:
        index = 0
        window = self._window
        try:
            if isinstance(self._payloads, AsyncIterable):
                iterator = aiter(self._payloads)
                while True:
                    if window.free <= 0:
                        await window.room()
                    try:
                        payload = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    window.free -= 1
                    self._admit(index, payload)
                    index += 1
            else:
                sync_iterator: Iterator[Any] = iter(self._payloads)
                while True:
                    if window.free <= 0:
                        await window.room()
                    try:
                        payload = next(sync_iterator)
                    except StopIteration:
                        break
                    window.free -= 1
                    self._admit(index, payload)
                    index += 1
        finally:
            self._reading_done = True
            self._check_accounted()

    def _admit(self, index: int, payload: Any) -> None:
        """Key one record read from the input and queue it (or answer it at once)."""
        self._tally.total += 1
        self._open += 1
        service = self._service
        if service is None:
            service = ORDERS if isinstance(payload, Order) else CUSTOMERS
        record = _Record(index, payload, service, self._window)
        key_of = self._options.key
        try:
            key = _key_of(payload, service, record.body) if key_of is None else key_of(payload)
            if not isinstance(key, str) or not key:
                raise TypeError("a record key must be a non-empty string")
        except Exception as exc:  # the caller's key function, on a malformed row
            record.error = _record_error(
                "", f"cannot key this record ({type(exc).__name__}); nothing was sent.", "key"
            )
            self._emit(record, state=RecordState.REJECTED, error=record.error)
            return
        record.key = key
        first = self._active.get(key)
        if first is not None:
            self._emit(record, state=RecordState.PENDING, skipped=True, duplicate_of=first)
            return
        self._active[key] = index
        self._enqueue(record)

    def _enqueue(self, record: _Record) -> None:
        """Queue a record for the workers, waking an idle one."""
        self._todo.append(record)
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _work(self) -> None:
        # Without a store or transaction_of there is nothing to check before a
        # record's first POST: no per-record coroutines that would return at once.
        checks = self._store is not None or self._options.transaction_of is not None
        todo = self._todo
        loop = asyncio.get_running_loop()
        while True:
            if not todo:
                # Workers are only ever cancelled all at once (the job's end), so
                # a record a cancelled worker was woken for needs no other taker.
                waiter = loop.create_future()
                self._idle.append(waiter)
                await waiter
                continue
            record = todo.popleft()
            if checks and not record.checked:
                record.checked = True
                if await self._settled_before(record) or not await self._dependency_ready(record):
                    continue
            await self._submit(record)

    # -- what the store and the job already know ------------------------------------

    async def _settled_before(self, record: _Record) -> bool:
        """Answer a record the store already holds; True if nothing is to be sent."""
        store = self._store
        assert record.key is not None
        if store is None:
            return False
        stored = await store.get(record.key)
        record.stored = stored
        if stored is None or stored.state is RecordState.REJECTED:
            return False  # never queued: send (again)
        record.skipped = True
        key = record.key
        tid = stored.transaction_id if stored.service == CUSTOMERS else None
        if stored.state is RecordState.FINISHED:
            await self._dependency_ended(key, tid, "")
            parked = self._parked.pop(key, None)
            self._emit(record, state=RecordState.FINISHED, result=parked)
            return True
        if stored.state is RecordState.ACCEPTED:
            await self._dependency_ended(key, tid, "")
            if self._poller is not None and tid is not None:
                await self._follow_resumed(record, tid)
            else:
                self._emit(record, state=RecordState.ACCEPTED)
            return True
        # PENDING (a run stopped between sending and recording the answer) or UNKNOWN.
        if stored.state is RecordState.PENDING:
            reason = (
                "a previous run stopped after sending began, before Omeda's answer was recorded"
            )
            await store.mark_unknown(key, reason)
        else:
            reason = stored.errors[0] if stored.errors else "its outcome is unknown"
        if self._options.resend_unknown:
            record.skipped = False
            return False
        error = SubmissionOutcomeUnknown(
            f"not resent: {reason} (resend_unknown=True resends it)",
            payload=record.payload,
            service=record.service,
        )
        await self._dependency_ended(key, None, "its outcome is unknown")
        self._emit(record, state=RecordState.UNKNOWN, error=error)
        return True

    async def _follow_resumed(self, record: _Record, tid: int) -> None:
        """Attach a row to the tracking resumed for it (or start one)."""
        assert record.key is not None
        assert self._poller is not None
        parked = self._parked.pop(record.key, None)
        if parked is not None:
            self._emit(record, state=RecordState.FINISHED, result=parked)
            return
        await self._hold_tracking_slot(record)
        parked = self._parked.pop(record.key, None)  # it may have ended while we waited
        if parked is not None:
            self._emit(record, state=RecordState.FINISHED, result=parked)
            return
        if self._resumed.pop(record.key, None) is None:
            self._poller.track(tid, key=record.key)
            self._tracking_started.set()
        self._tracked[tid] = record

    async def _dependency_ready(self, record: _Record) -> bool:
        """For an Add Order naming a record of this job: wait for it, fill its TransactionId.

        True when the record can be sent now; False when it waits or was answered.
        """
        find = self._options.transaction_of
        if find is None or record.service != ORDERS:
            return True
        try:
            dependency = find(record.payload)
        except Exception as exc:  # the caller's function, on a malformed row
            await self._reject(
                record,
                _record_error(
                    "TransactionId",
                    f"transaction_of failed on this record ({type(exc).__name__})",
                    "transaction_of",
                ),
            )
            return False
        if dependency is None:
            return True
        if dependency in self._dependency_ends:
            return await self._use_dependency(record, dependency, self._dependency_ends[dependency])
        if dependency in self._active:
            self._waiting.setdefault(dependency, []).append(record)
            return False
        tid: int | None = None
        if self._store is not None:
            stored = await self._store.get(dependency)
            if (
                stored is not None
                and stored.service == CUSTOMERS
                and stored.state in (RecordState.ACCEPTED, RecordState.FINISHED)
            ):
                tid = stored.transaction_id
        if tid is None and dependency in self._dependency_ends:  # ended while we read the store
            tid = self._dependency_ends[dependency]
        return await self._use_dependency(record, dependency, tid, "it is not in this job")

    async def _use_dependency(
        self, record: _Record, dependency: str, tid: int | None, why: str = "it was not accepted"
    ) -> bool:
        if tid is None:
            await self._reject(
                record,
                _record_error(
                    "TransactionId",
                    f"names the TransactionId of record {dependency!r}, but {why}",
                    "transaction_of",
                ),
            )
            return False
        record.change_payload(_with_field(record.payload, "transaction_id", "TransactionId", tid))
        return True

    async def _dependency_ended(self, key: str, tid: int | None, why: str) -> None:
        """A record's submission ended: release the Add Orders waiting for its TransactionId."""
        if self._options.transaction_of is None:
            return
        self._dependency_ends[key] = tid
        for waiting in self._waiting.pop(key, []):
            if await self._use_dependency(waiting, key, tid, why or "it was not accepted"):
                self._enqueue(waiting)

    # -- sending ------------------------------------------------------------------

    async def _submit(self, record: _Record) -> None:
        options = self._options
        store = self._store
        key = record.key
        assert key is not None
        while True:
            if store is not None:
                await store.begin(key, service=record.service)
            record.attempts += 1
            self._tally.posts += 1
            receipt: SubmissionReceipt | OrderReceipt
            try:
                if record.service == CUSTOMERS:
                    receipt = await self._client._send_customer_and_order(
                        record.payload, record.body, input_id=options.input_id
                    )
                else:
                    receipt = await self._client._send_order(
                        record.payload, record.body, input_id=options.input_id
                    )
            except CustomerMergedError as exc:
                if options.follow_merges and record.merged_into is None:
                    # Omeda: resend with the customer it was merged into (once).
                    record.merged_into = exc.merged_into_customer_id
                    record.change_payload(
                        _with_field(
                            record.payload,
                            "omeda_customer_id",
                            "OmedaCustomerId",
                            exc.merged_into_customer_id,
                        )
                    )
                    self._tally.merges_followed += 1
                    continue
                await self._reject(record, exc)
            except PendingDeactivationError as exc:
                # Omeda: "pending deactivation. Please try again later": later, a few times.
                if record.pending_tries < options.pending_retries:
                    record.pending_tries += 1
                    self._tally.pending_retries += 1
                    if store is not None:
                        await store.reject(key, _reasons(exc))
                    self._spawn(self._retry_later(record))
                    return
                await self._reject(record, exc)
            except AuthenticationError as exc:
                await self._reject(record, exc)
                raise  # every further record would be refused as well: stop the job
            except SubmissionOutcomeUnknown as exc:
                if store is not None:
                    await store.mark_unknown(key, str(exc))
                await self._dependency_ended(key, None, "its outcome is unknown")
                self._emit(record, state=RecordState.UNKNOWN, error=exc)
            except OmedaError as exc:
                # Validation, Omeda's refusals, retries used up (429, 503, connect):
                # the transport raises these only when nothing was queued.
                await self._reject(record, exc)
            except Exception as exc:
                # Not an I/O failure (the transport maps those): raised before sending.
                if store is not None:
                    await store.reject(key, _reasons(exc))
                raise
            else:
                if self._report_at_once:
                    # The usual bulk job: reported at once, without another coroutine.
                    record.receipt = receipt
                    self._emit_accepted(record, receipt)
                else:
                    await self._accepted(record, receipt)
            return

    async def _retry_later(self, record: _Record) -> None:
        await self._clock.sleep(self._options.pending_retry_delay)
        self._enqueue(record)

    async def _reject(self, record: _Record, exc: OmedaError) -> None:
        if self._store is not None and record.key is not None:
            await self._store.reject(record.key, _reasons(exc))
        if record.key is not None:
            await self._dependency_ended(record.key, None, "it was rejected")
        self._emit(record, state=RecordState.REJECTED, error=exc)

    async def _accepted(self, record: _Record, receipt: SubmissionReceipt | OrderReceipt) -> None:
        key = record.key
        assert key is not None
        record.receipt = receipt
        if isinstance(receipt, SubmissionReceipt):
            tid: int | None = receipt.transaction_id
            stored_id = receipt.transaction_id
        else:
            tid = None
            stored_id = receipt.order_id
        store = self._store
        if store is not None:
            # Durable before it is reported (DESIGN.md, "Nothing lost").
            await store.accept(key, stored_id, service=record.service)
            if tid is None:
                # An OrderId cannot be followed with Transaction Lookup: nothing to resume.
                await store.finish(key, outcome=Outcome.PENDING, status=None)
        if self._options.transaction_of is not None:
            await self._dependency_ended(key, tid, "")
        if tid is not None and self._options.run_processor:
            self._processor_batch.append((record, tid))
            if len(self._processor_batch) >= self._options.processor_batch:
                self._flush_processor()
            elif len(self._processor_batch) == 1:
                self._processor_generation += 1
                self._spawn(self._processor_timer(self._processor_generation))
            return
        if self._poller is None:
            self._emit(record, state=RecordState.ACCEPTED, receipt=receipt)
        else:
            await self._hand_off(record, tid)

    async def _hand_off(self, record: _Record, tid: int | None) -> None:
        """An accepted record: follow it (``track=True``) or report it."""
        if self._poller is not None and tid is not None:
            assert record.key is not None
            await self._hold_tracking_slot(record)
            self._poller.track(tid, key=record.key)
            self._tracked[tid] = record
            self._tracking_started.set()
        else:
            self._emit(record, state=RecordState.ACCEPTED, receipt=record.receipt)

    # -- Run Processor ------------------------------------------------------------

    async def _processor_timer(self, generation: int) -> None:
        await self._clock.sleep(self._options.processor_wait)
        if generation == self._processor_generation and self._processor_batch:
            self._flush_processor()

    def _flush_processor(self) -> None:
        batch, self._processor_batch = self._processor_batch, []
        self._processor_generation += 1
        self._spawn(self._run_processor(batch))

    async def _run_processor(self, batch: list[tuple[_Record, int]]) -> None:
        ids = [tid for _, tid in batch]
        try:
            results = await self._client.run_processor(ids)
        except OmedaError as exc:
            # The records are queued all the same: Omeda processes them in 15-30 minutes.
            message = f"{type(exc).__name__}: {exc}"
            results = [
                ProcessorResult(transaction_id=tid, succeeded=False, message=message) for tid in ids
            ]
        for (record, tid), result in zip(batch, results, strict=True):
            record.processor = result
            await self._hand_off(record, tid)

    # -- tracking -------------------------------------------------------------------

    async def _follow_results(self) -> None:
        """Hand each TrackingResult to its record; the poller's feed ends whenever it idles."""
        assert self._poller is not None
        while True:
            # Made before waiting, so no result of a later track() can miss it.
            feed = self._poller.results()
            await self._tracking_started.wait()
            self._tracking_started.clear()
            async for result in feed:
                self._on_result(result)

    def _on_result(self, result: TrackingResult) -> None:
        record = self._tracked.pop(result.transaction_id, None)
        if record is None:
            # A resumed tracking no row has claimed (yet): kept for the row.
            if self._resumed.pop(result.key, None) is not None:
                self._parked[result.key] = result
            return
        self._emit(record, state=RecordState.FINISHED, receipt=record.receipt, result=result)

    # -- output -------------------------------------------------------------------

    async def _hold_tracking_slot(self, record: _Record) -> None:
        """Trade the read-ahead slot for a tracking one: reading goes on while it is followed.

        Ordered output keeps the read-ahead slot too: outcomes wait behind the
        oldest record, and the slot bounds that buffer.
        """
        await self._tracking_slots.acquire()
        record.held.append(self._tracking_slots)
        if not self._ordered and self._window in record.held:
            record.held.remove(self._window)
            self._window.release()

    def _emit(
        self,
        record: _Record,
        *,
        state: RecordState,
        receipt: SubmissionReceipt | OrderReceipt | None = None,
        error: OmedaError | None = None,
        result: TrackingResult | None = None,
        skipped: bool | None = None,
        duplicate_of: int | None = None,
    ) -> None:
        """Report a record's one and only outcome."""
        # SubmissionOutcome(...) with keywords makes CPython build a dict of them
        # and unpack it again; calling attrs's __init__ passes them as they are.
        outcome = object.__new__(SubmissionOutcome)
        _init_outcome(
            outcome,
            index=record.index,
            key=record.key,
            receipt=receipt,
            error=error,
            result=result,
            state=state,
            service=record.service,
            skipped=record.skipped if skipped is None else skipped,
            duplicate_of=duplicate_of,
            stored=record.stored,
            merged_into=record.merged_into,
            attempts=record.attempts,
            processor=record.processor,
        )
        self._tally.count(outcome)
        self._deliver(record, outcome)

    def _emit_accepted(self, record: _Record, receipt: SubmissionReceipt | OrderReceipt) -> None:
        """``_emit(record, state=ACCEPTED, receipt=receipt)`` for a record sent in this run.

        The usual outcome of a bulk job, made with only what can differ from
        the defaults (nothing skipped, stored, tracked or processed).
        """
        outcome = object.__new__(SubmissionOutcome)
        _init_outcome(
            outcome,
            index=record.index,
            key=record.key,
            receipt=receipt,
            state=RecordState.ACCEPTED,
            service=record.service,
            merged_into=record.merged_into,
            attempts=record.attempts,
        )
        self._tally.accepted += 1
        self._deliver(record, outcome)

    def _deliver(self, record: _Record, outcome: SubmissionOutcome) -> None:
        """Hand ``outcome`` to the caller's side; the record's key is free again."""
        key = record.key
        if key is not None and self._active.get(key) == record.index:
            del self._active[key]
        entry = (outcome, record.held)
        record.held = []
        if self._ordered:
            self._ready[record.index] = entry
        else:
            self._out.append(entry)
        self._open -= 1
        if self._open == 0:
            self._check_accounted()
        if self._wakeup is not None:
            self._wake()

    def _check_accounted(self) -> None:
        if self._reading_done and self._open == 0:
            self._all_accounted.set()


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that stopped the job (not the cancellations it caused)."""
    errors: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            errors.append(error)

    walk(group)
    for error in errors:
        if not isinstance(error, asyncio.CancelledError):
            return error
    return errors[0] if errors else group


# ---------------------------------------------------------------------- entry


def submit_many(
    client: OmedaClient,
    payloads: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int = 16,
    track: bool = False,
    store: TrackingStore | None = None,
    key: Callable[[Any], str] | None = None,
    kind: Kind | None = None,
    ordered: bool = False,
    resend_unknown: bool = False,
    follow_merges: bool = False,
    pending_retries: int = 3,
    pending_retry_delay: float = 60.0,
    run_processor: bool = False,
    processor_batch: int = 100,
    processor_wait: float = 1.0,
    poll_policy: PollPolicy | None = None,
    max_tracked: int = 10_000,
    input_id: str | None = None,
    transaction_of: Callable[[Any], str | None] | None = None,
) -> BulkSubmission:
    """Submit many records, at most ``concurrency`` at once; iterate the outcomes.

    ``payloads``: models or wire dicts, from a sync or async iterable read
    lazily. ``kind`` (``"customer"``: storecustomerandorder, ``"order"``:
    orderqueue) applies to every record; by default a record's service is
    inferred from its model class (``Order`` -> orderqueue) and dicts are
    customers. ``key(payload) -> str`` names a record across runs (default:
    :func:`record_key`, a hash of the exact body sent). Each record is
    validated and serialized once, when it is read; its body is sent as built.

    ``store``: the journal that makes re-runs safe (see the module docstring);
    opened here, closed by its owner. ``track``: follow each accepted
    TransactionId with one shared poller (``poll_policy``); the
    ``TrackingResult`` rides on the outcome; at most ``max_tracked`` records
    are followed (or wait to be taken) at once, reading waits beyond that.
    ``ordered``: outcomes in input order (reading then waits behind the
    oldest unfinished record).
    ``resend_unknown``: resend records whose outcome is unknown.
    ``follow_merges``: a record refused with ``CustomerMergedError`` is resent
    once with ``OmedaCustomerId`` = the id it was merged into.
    ``pending_retries``/``pending_retry_delay``: a ``PendingDeactivationError``
    record is sent again after that many seconds (client clock), at most that
    many times. ``run_processor``: accepted TransactionIds go through Omeda's
    Run Processor in batches of ``processor_batch`` (or after
    ``processor_wait`` seconds), for brands whose input allows it.
    ``transaction_of(payload) -> key | None``: for an Add Order, the key of an
    earlier record of this job whose TransactionId it must carry; the order is
    sent once that record is accepted (rejected if it is not).
    ``input_id`` is passed to every POST.

    Without a store a finished record is not remembered: identical rows far
    apart are each sent (rows identical to one still in flight are skipped).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, not {concurrency!r}")
    if kind is not None and kind not in _SERVICE_OF_KIND:
        raise ValueError(f"kind must be 'customer' or 'order', not {kind!r}")
    if isinstance(pending_retries, bool) or not isinstance(pending_retries, int):
        raise ValueError(f"pending_retries must be an integer >= 0, not {pending_retries!r}")
    if pending_retries < 0:
        raise ValueError(f"pending_retries must be an integer >= 0, not {pending_retries!r}")
    for name, count in (("processor_batch", processor_batch), ("max_tracked", max_tracked)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{name} must be an integer >= 1, not {count!r}")
    for name, value in (
        ("pending_retry_delay", pending_retry_delay),
        ("processor_wait", processor_wait),
    ):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, not {value!r}")
    if store is not None and not isinstance(store, TrackingStore):
        raise TypeError(f"store must be a TrackingStore, not {type(store).__name__}")
    options = _Options(
        concurrency=concurrency,
        track=track,
        store=store,
        key=key,
        kind=kind,
        ordered=ordered,
        resend_unknown=resend_unknown,
        follow_merges=follow_merges,
        pending_retries=pending_retries,
        pending_retry_delay=float(pending_retry_delay),
        run_processor=run_processor,
        processor_batch=processor_batch,
        processor_wait=float(processor_wait),
        poll_policy=poll_policy,
        max_tracked=max_tracked,
        input_id=input_id,
        transaction_of=transaction_of,
    )
    return BulkSubmission(client, payloads, options)
