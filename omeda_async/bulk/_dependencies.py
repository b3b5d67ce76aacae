"""``transaction_of``: an Add Order that must carry the TransactionId of a record of the job.

Built only when a job is given ``transaction_of``. The order waits until the
record it names has ended in this job (or is found accepted in the store),
then goes out with that TransactionId; it is rejected when that record was
not accepted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from omeda_async._store import CUSTOMER_SERVICE, ORDER_SERVICE, RecordState, TrackingStore

from ._keys import with_field
from ._outcome import record_error

if TYPE_CHECKING:
    from omeda_async._errors import PayloadValidationError

    from ._pipeline import Record

__all__ = ["DependencyGate"]


class DependencyGate:
    """Holds Add Orders back until the record whose TransactionId they name has ended.

    ``in_job`` maps the keys of the records in flight in this job;
    ``reject(record, error)`` answers an order whose dependency failed and
    ``release(record)`` queues one whose dependency was accepted.
    """

    def __init__(
        self,
        transaction_of: Callable[[Any], str | None],
        *,
        store: TrackingStore | None,
        in_job: Mapping[str, int],
        reject: Callable[[Record, PayloadValidationError], Awaitable[None]],
        release: Callable[[Record], None],
    ) -> None:
        self._transaction_of = transaction_of
        self._store = store
        self._in_job = in_job
        self._reject = reject
        self._release = release
        # Orders waiting for a record of this job, and how those records ended.
        self._waiting: dict[str, list[Record]] = {}
        self._ends: dict[str, int | None] = {}

    async def ready(self, record: Record) -> bool:
        """True when ``record`` can be sent now; False when it waits or was answered."""
        if record.service != ORDER_SERVICE:
            return True
        try:
            dependency = self._transaction_of(record.payload)
        except Exception as exc:  # the caller's function, on a malformed row
            await self._reject(
                record,
                record_error(
                    "TransactionId",
                    f"transaction_of failed on this record ({type(exc).__name__})",
                    "transaction_of",
                ),
            )
            return False
        if dependency is None:
            return True
        if dependency in self._ends:
            return await self._use(record, dependency, self._ends[dependency])
        if dependency in self._in_job:
            self._waiting.setdefault(dependency, []).append(record)
            return False
        transaction_id: int | None = None
        if self._store is not None:
            stored = await self._store.get(dependency)
            if (
                stored is not None
                and stored.service == CUSTOMER_SERVICE
                and stored.state in (RecordState.ACCEPTED, RecordState.FINISHED)
            ):
                transaction_id = stored.transaction_id
        if transaction_id is None and dependency in self._ends:  # ended while we read the store
            transaction_id = self._ends[dependency]
        return await self._use(record, dependency, transaction_id, "it is not in this job")

    async def _use(
        self,
        record: Record,
        dependency: str,
        transaction_id: int | None,
        why: str = "it was not accepted",
    ) -> bool:
        if transaction_id is None:
            await self._reject(
                record,
                record_error(
                    "TransactionId",
                    f"names the TransactionId of record {dependency!r}, but {why}",
                    "transaction_of",
                ),
            )
            return False
        record.change_payload(
            with_field(record.payload, "transaction_id", "TransactionId", transaction_id)
        )
        return True

    async def ended(self, key: str, transaction_id: int | None, why: str) -> None:
        """A record's submission ended: release the Add Orders waiting for its TransactionId."""
        self._ends[key] = transaction_id
        for waiting in self._waiting.pop(key, []):
            if await self._use(waiting, key, transaction_id, why or "it was not accepted"):
                self._release(waiting)
