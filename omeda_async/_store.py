"""Where tracking state lives: the ``TrackingStore`` protocol and ``MemoryStore``.

A store keeps one record per *key* (a caller's record key, or
``transaction:<id>`` when a transaction is tracked without one). Bulk jobs
write ``begin -> accept | reject | mark_unknown``; the poller writes
``accept`` (for ids it is handed), ``record_status`` on every change and
``finish`` with the final outcome. ``unfinished()`` is what a restarted
poller resumes.

The durable store, ``SqliteStore``, lives in ``_sqlite_store``; the rule both
honour: when ``accept`` returns, the transaction id is stored (durably, for
SQLite) and only then may it be reported.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from ._status import Outcome, StatusCode

__all__ = [
    "CUSTOMER_SERVICE",
    "ORDER_SERVICE",
    "MemoryStore",
    "RecordState",
    "StoredRecord",
    "TrackingStore",
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


@runtime_checkable
class TrackingStore(Protocol):
    """What the poller and ``submit_many`` need from a store.

    Every method is a coroutine so a store may write off the event loop.
    Unknown keys passed to ``record_status``/``finish`` are created on the fly.
    """

    async def open(self) -> None:
        """Prepare the store (create tables, check the schema). Idempotent."""

    async def close(self) -> None:
        """Release resources. Idempotent."""

    async def get(self, key: str) -> StoredRecord | None:
        """The record stored under ``key``, if any."""

    async def begin(self, key: str, *, service: str) -> None:
        """Record that ``key`` is about to be submitted to ``service``."""

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        """Record that ``key`` was queued as ``transaction_id`` (durable when this returns)."""

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


class MemoryStore:
    """A ``TrackingStore`` in a dict: the default, lost when the process ends."""

    def __init__(self) -> None:
        self._records: dict[str, StoredRecord] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(records={len(self._records)})"

    def __len__(self) -> int:
        return len(self._records)

    async def open(self) -> None:
        return None

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

    async def begin(self, key: str, *, service: str) -> None:
        self._update(key, state=RecordState.PENDING, service=service)

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        changes: dict[str, object] = {
            "state": RecordState.ACCEPTED,
            "transaction_id": transaction_id,
        }
        if service is not None:
            changes["service"] = service
        self._update(key, **changes)

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        self._update(key, state=RecordState.REJECTED, errors=tuple(errors))

    async def mark_unknown(self, key: str, reason: str) -> None:
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
