"""Where tracking state lives: the ``TrackingStore`` protocol and ``MemoryStore``.

A store keeps one record per *key* (a caller's record key, or
``transaction:<id>`` when a transaction is tracked without one). Bulk jobs
write ``begin -> accept | reject | mark_unknown`` (or ``release``); the poller
writes ``accept`` (for ids it is handed), ``record_status`` on every change
and ``finish`` with the final outcome. ``unfinished()`` is what a restarted
poller resumes.

**Beginning a record is atomic** (DESIGN.md: of every job, process or host
sharing a store, exactly one may send a given key). ``begin`` decides and
writes in one step: the caller *wins* the key when no one else holds it and
the record is absent or in a state the caller may send it from (``resend``);
the record is then PENDING (durable: from now on its POST may leave) and the
caller *holds* the key until it settles the record. A key held by another
caller is reported ``held_elsewhere``: in flight in another job, never sent
twice. A record's life in a job that sends it::

    absent | REJECTED | (UNKNOWN, resend) --begin, won--> PENDING, held
        PENDING, held --accept--> ACCEPTED --record_status...--> --finish--> FINISHED
                      --reject--> REJECTED          --mark_unknown--> UNKNOWN
                      --release(sent=False)--> as it was before begin (handed back)
                      --release(sent=True)---> PENDING, not held: *stale*

Two phases are kept apart: **claimed** (held, POST not started: safe to hand
back with ``release(sent=False)``, nothing happened) and **pending** (the POST
may have left: only Omeda's answer settles it). A record left PENDING without
a holder (``release(sent=True)``, a crash, a SIGKILL) is stale: a later
``begin`` does not take it unless ``resend`` names PENDING, and a re-run
reports it unknown. So a crash turns only the POSTs in flight into unknowns.

Holds live where the store can see every caller: in the store object for
``MemoryStore`` and ``SqliteStore`` (SQLite's exclusive lock keeps any other
process out of the journal). A store shared by processes or hosts keeps them
as rows with an owner, an expiry and a fencing token (leases): an expired hold
on a claimed record goes back, one on a pending record is stale, and a late
write of a stale owner is refused.

The durable store, ``SqliteStore``, lives in ``_sqlite_store``; the rule both
honour: when ``accept`` returns, the transaction id is stored (durably, for
SQLite) and only then may it be reported. A TransactionId is a positive 64-bit
integer: anything else is refused with ``StoreError`` before it is written.

**Who closes a store:** whoever opened it. ``open()`` says whether the call
opened the store; :func:`store_in_use` opens a store for a job or poller and
closes it at the end only if one of them opened it (a store the caller opened,
or passed after ``async with``, stays open).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Final, Protocol, Self, runtime_checkable

import attrs

from ._errors import StoreError
from ._status import Outcome, StatusCode

__all__ = [
    "CUSTOMER_SERVICE",
    "DEFAULT_RESEND",
    "MAX_TRANSACTION_ID",
    "ORDER_SERVICE",
    "Begun",
    "KeepsNotes",
    "MemoryStore",
    "RecordState",
    "StoredRecord",
    "TrackingStore",
    "check_transaction_id",
    "store_in_use",
    "transaction_key",
]


CUSTOMER_SERVICE = "storecustomerandorder"
"""A record queued with Save Customer and Order; its id is a TransactionId."""
ORDER_SERVICE = "orderqueue"
"""A record queued with Add Order; its id is an OrderId, which Transaction Lookup does not know."""


def transaction_key(transaction_id: int) -> str:
    """The key a transaction is stored under when the caller gave none."""
    return f"transaction:{transaction_id}"


class RecordState(enum.StrEnum):
    """Where a record stands in a job."""

    PENDING = "pending"
    """About to be sent (or sent, with no answer recorded yet)."""
    ACCEPTED = "accepted"
    """Queued by Omeda: ``transaction_id`` is set; tracking not finished."""
    UNKNOWN = "unknown"
    """The POST may or may not have been queued; reconcile before resending."""
    REJECTED = "rejected"
    """Refused (by validation or by Omeda) with ``errors``."""
    FINISHED = "finished"
    """Tracking ended with ``outcome``."""


@attrs.frozen(kw_only=True)
class StoredRecord:
    """One record as a store holds it."""

    key: str
    state: RecordState
    service: str | None = None
    transaction_id: int | None = None
    status: StatusCode | None = None
    outcome: Outcome | None = None
    errors: tuple[str, ...] = ()
    history: tuple[tuple[float, StatusCode], ...] = ()
    updated_at: float = 0.0


@attrs.frozen
class Begun:
    """What ``begin`` found: whether the caller won the key, and the record as it stood.

    ``won``: the caller holds the key and the record is PENDING (send it now).
    Otherwise nothing was written: ``held_elsewhere`` when another caller holds
    the key (its POST is in flight), else ``record``'s state is not one the
    caller may send from. ``record`` is the record before this call (None for
    a new key, and when held elsewhere: it is the holder's to report). True in
    a boolean context when won.
    """

    won: bool
    record: StoredRecord | None = None
    held_elsewhere: bool = False

    def __bool__(self) -> bool:
        return self.won


DEFAULT_RESEND: Final = frozenset({RecordState.REJECTED, RecordState.UNKNOWN})
"""The states ``begin`` takes a record from unless told otherwise. ``submit_many``
passes only REJECTED (never queued), and adds UNKNOWN and a stale PENDING with
``resend_unknown=True``."""

MAX_TRANSACTION_ID: Final = 2**63 - 1
"""The largest TransactionId a store keeps (a signed 64-bit integer, as SQLite's)."""


def check_transaction_id(transaction_id: object, *, path: str = "") -> int:
    """``transaction_id`` if it is a positive 64-bit integer, else ``StoreError``.

    A hostile or broken answer must never reach a journal as a raw overflow
    (or poison it with an id no lookup can follow). ``path`` names the journal.
    """
    if (
        isinstance(transaction_id, bool)
        or not isinstance(transaction_id, int)
        or not 0 < transaction_id <= MAX_TRANSACTION_ID
    ):
        where = f"journal {path}: " if path else ""
        raise StoreError(
            f"{where}refused to record TransactionId {transaction_id!r}: not a positive "
            "64-bit integer; nothing was written",
            path=path,
        )
    return transaction_id


@runtime_checkable
class TrackingStore(Protocol):
    """What the poller and ``submit_many`` need from a store.

    Every method is a coroutine so a store may write off the event loop.
    Unknown keys passed to ``record_status``/``finish`` are created on the fly.
    """

    async def open(self) -> bool:
        """Prepare the store (create tables, check the schema). Idempotent.

        True when this call opened it (its caller then closes it), False when it
        was open already (or has nothing to open).
        """

    async def close(self) -> None:
        """Release resources. Idempotent."""

    async def get(self, key: str) -> StoredRecord | None:
        """The record stored under ``key``, if any."""

    async def begin(
        self, key: str, *, service: str, resend: Collection[RecordState] = DEFAULT_RESEND
    ) -> Begun:
        """Atomically take ``key`` to submit it to ``service`` now (see the module docstring).

        Won when no one holds the key and the record is absent or in a state of
        ``resend``: the record is then PENDING (durable when this returns) and
        the caller holds the key until it settles it (``accept``, ``reject``,
        ``mark_unknown``, ``finish``) or lets it go (``release``).
        """

    async def release(self, key: str, *, sent: bool) -> None:
        """Stop holding ``key`` without settling it (a job stopped before Omeda's answer).

        ``sent=False``: its POST never started: the record goes back to what it
        was before ``begin``. ``sent=True``: the POST may have left: the record
        stays PENDING, stale (a re-run reports it unknown). A key this caller
        does not hold is left alone.
        """

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        """Record that ``key`` was queued as ``transaction_id`` (durable when this returns).

        Refuses (``StoreError``) a TransactionId that is not a positive 64-bit integer.
        """

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        """Record that ``key`` was refused, with the reasons."""

    async def mark_unknown(self, key: str, reason: str) -> None:
        """Record that ``key``'s POST may or may not have been queued."""

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        """Record a status change observed at ``at`` (seconds, the poller's clock)."""

    async def finish(
        self,
        key: str,
        *,
        outcome: Outcome,
        status: StatusCode | None,
        history: Sequence[tuple[float, StatusCode]] = (),
        errors: Sequence[str] = (),
    ) -> None:
        """Record the final outcome of tracking ``key``."""

    async def unfinished(self) -> list[StoredRecord]:
        """Every record accepted but not finished, in the order records were first seen."""


@runtime_checkable
class KeepsNotes(Protocol):
    """An optional store capability: a few small named notes kept beside the records.

    The poller keeps in one what it learned about the brand's queue (when
    records leave it, how long a run takes), so a restarted process polls as
    well as the one before it. A store without it works as well; only that
    lesson is relearned.
    """

    async def read_note(self, name: str) -> str | None:
        """The note written under ``name``, or None."""

    async def write_note(self, name: str, text: str) -> None:
        """Keep ``text`` under ``name`` (replacing any earlier note; durable when this returns)."""


class MemoryStore:
    """A ``TrackingStore`` in a dict: the default, lost when the process ends."""

    def __init__(self) -> None:
        self._records: dict[str, StoredRecord] = {}
        # Keys begun and not settled, with the record as it was before (to hand back).
        self._held: dict[str, StoredRecord | None] = {}
        self._notes: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(records={len(self._records)})"

    def __len__(self) -> int:
        return len(self._records)

    async def open(self) -> bool:
        return False

    async def close(self) -> None:
        return None

    async def get(self, key: str) -> StoredRecord | None:
        return self._records.get(key)

    def _update(self, key: str, **changes: object) -> None:
        record = self._records.get(key)
        if record is None:
            record = StoredRecord(key=key, state=RecordState.PENDING)
        # Assigning to an existing key keeps its position, so unfinished()
        # stays in the order records were first seen.
        self._records[key] = attrs.evolve(record, **changes)  # type: ignore[arg-type]

    async def begin(
        self, key: str, *, service: str, resend: Collection[RecordState] = DEFAULT_RESEND
    ) -> Begun:
        # No await between the check and the write: atomic within the event loop.
        if key in self._held:
            return Begun(won=False, held_elsewhere=True)
        record = self._records.get(key)
        if record is not None and record.state not in resend:
            return Begun(won=False, record=record)
        self._held[key] = record
        self._update(key, state=RecordState.PENDING, service=service)
        return Begun(won=True, record=record)

    async def release(self, key: str, *, sent: bool) -> None:
        if key not in self._held:
            return
        before = self._held.pop(key)
        if sent:
            return
        if before is None:
            self._records.pop(key, None)
        else:
            self._records[key] = before

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        check_transaction_id(transaction_id)
        self._held.pop(key, None)
        changes: dict[str, object] = {
            "state": RecordState.ACCEPTED,
            "transaction_id": transaction_id,
        }
        if service is not None:
            changes["service"] = service
        self._update(key, **changes)

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        self._held.pop(key, None)
        self._update(key, state=RecordState.REJECTED, errors=tuple(errors))

    async def mark_unknown(self, key: str, reason: str) -> None:
        self._held.pop(key, None)
        self._update(key, state=RecordState.UNKNOWN, errors=(reason,))

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        record = self._records.get(key)
        history = (record.history if record else ()) + ((at, status),)
        self._update(key, status=status, history=history, updated_at=at)

    async def finish(
        self,
        key: str,
        *,
        outcome: Outcome,
        status: StatusCode | None,
        history: Sequence[tuple[float, StatusCode]] = (),
        errors: Sequence[str] = (),
    ) -> None:
        self._held.pop(key, None)
        changes: dict[str, object] = {
            "state": RecordState.FINISHED,
            "outcome": outcome,
            "status": status,
            "errors": tuple(errors),
        }
        if history:
            changes["history"] = tuple(history)
        self._update(key, **changes)

    async def unfinished(self) -> list[StoredRecord]:
        return [r for r in self._records.values() if r.state is RecordState.ACCEPTED]

    # -- KeepsNotes ----------------------------------------------------------------

    async def read_note(self, name: str) -> str | None:
        return self._notes.get(name)

    async def write_note(self, name: str, text: str) -> None:
        self._notes[name] = text


class StoreContext:
    """``async with store:`` opens the store and closes it (SqliteStore, PostgresStore)."""

    __slots__ = ()

    async def open(self) -> bool:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class _Use:
    """How many jobs and pollers use one store now, and whether one of them opened it."""

    __slots__ = ("opened", "users")

    def __init__(self) -> None:
        self.users = 0
        self.opened = False


# Several jobs and pollers may share one store object: the last of them to end
# closes it, and only if one of them opened it. Entries live only while a store
# is in use (keyed by identity: a store need not be hashable).
_IN_USE: dict[int, _Use] = {}


@contextlib.asynccontextmanager
async def store_in_use(store: TrackingStore) -> AsyncIterator[TrackingStore]:
    """Open ``store`` for a job or poller; close it at the end if (and only if) they opened it.

    A store the caller opened (``async with SqliteStore(path) as store``) stays
    open; one passed unopened (``store=SqliteStore(path)``) is closed when the
    last job or poller using it ends, so its journal lock is released.
    """
    use = _IN_USE.get(id(store))
    if use is None:
        use = _IN_USE[id(store)] = _Use()
    use.users += 1
    try:
        if await store.open():
            use.opened = True
        yield store
    finally:
        use.users -= 1
        if use.users == 0:
            del _IN_USE[id(store)]
            if use.opened:
                await store.close()
