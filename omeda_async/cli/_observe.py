"""A ``TrackingStore`` that reports every write to a progress board.

``submit_many`` and the poller already tell their store each step of each
record (begin, accept, reject, unknown, every status change, finish), so the
live display reads its counts from there instead of reaching into either.
Every call is passed on to the real store first: the board only ever shows
what was recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from omeda_async._status import Outcome, StatusCode
from omeda_async._store import DEFAULT_RESEND, Begun, RecordState, StoredRecord, TrackingStore

from ._progress import Board

__all__ = ["NullStore", "ObservedStore"]


class NullStore:
    """A ``TrackingStore`` that keeps nothing: the same as no store, in a store's shape.

    Used under :class:`ObservedStore` when there is no journal, so the live
    display works without holding every record of a large input in memory.
    """

    def __repr__(self) -> str:
        return "NullStore()"

    async def open(self) -> bool:
        return False

    async def close(self) -> None:
        return None

    async def get(self, key: str) -> StoredRecord | None:
        return None

    async def begin(
        self, key: str, *, service: str, resend: Collection[RecordState] = DEFAULT_RESEND
    ) -> Begun:
        # Nothing is remembered, so nothing is ever held: as with no store, the job
        # itself keeps one key from being sent twice at once.
        return Begun(won=True)

    async def release(self, key: str, *, sent: bool) -> None:
        return None

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        return None

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        return None

    async def mark_unknown(self, key: str, reason: str) -> None:
        return None

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        return None

    async def finish(
        self,
        key: str,
        *,
        outcome: Outcome,
        status: StatusCode | None,
        history: Sequence[tuple[float, StatusCode]] = (),
        errors: Sequence[str] = (),
    ) -> None:
        return None

    async def unfinished(self) -> list[StoredRecord]:
        return []


class ObservedStore:
    """Wraps ``inner`` (any ``TrackingStore``) and feeds ``board`` after each write."""

    def __init__(
        self, inner: TrackingStore, board: Board, on_change: Callable[[], None] | None = None
    ) -> None:
        self.inner = inner
        self._board = board
        self._on_change = on_change

    def __repr__(self) -> str:
        return f"ObservedStore({self.inner!r})"

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    async def open(self) -> bool:
        return await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def get(self, key: str) -> StoredRecord | None:
        record = await self.inner.get(key)
        if record is not None and record.state is RecordState.ACCEPTED:
            # Accepted in an earlier run and not finished: a tracking job follows it again.
            self._board.on_known(record)
        return record

    async def begin(
        self, key: str, *, service: str, resend: Collection[RecordState] = DEFAULT_RESEND
    ) -> Begun:
        begun = await self.inner.begin(key, service=service, resend=resend)
        record = begun.record
        if not begun.won and record is not None and record.state is RecordState.ACCEPTED:
            # Accepted in an earlier run and not finished: a tracking job follows it again.
            self._board.on_known(record)
        return begun

    async def release(self, key: str, *, sent: bool) -> None:
        await self.inner.release(key, sent=sent)

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        await self.inner.accept(key, transaction_id, service=service)
        self._board.on_accept(key)
        self._changed()

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        # Rejections and unknowns are counted from the job's outcomes: a record may
        # be rejected here and retried later (pending deactivation).
        await self.inner.reject(key, errors)

    async def mark_unknown(self, key: str, reason: str) -> None:
        await self.inner.mark_unknown(key, reason)

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        await self.inner.record_status(key, status, at)
        self._board.on_status(key, status)
        self._changed()

    async def finish(
        self,
        key: str,
        *,
        outcome: Outcome,
        status: StatusCode | None,
        history: Sequence[tuple[float, StatusCode]] = (),
        errors: Sequence[str] = (),
    ) -> None:
        await self.inner.finish(key, outcome=outcome, status=status, history=history, errors=errors)
        self._board.on_finish(key, outcome)
        self._changed()

    # A store's optional notes (what a poller learned of the brand's queue) pass
    # through, so a journal keeps them across runs of the command.

    async def read_note(self, name: str) -> str | None:
        read = getattr(self.inner, "read_note", None)
        if read is None:
            return None
        note: str | None = await read(name)
        return note

    async def write_note(self, name: str, text: str) -> None:
        write = getattr(self.inner, "write_note", None)
        if write is not None:
            await write(name, text)

    async def unfinished(self) -> list[StoredRecord]:
        records = await self.inner.unfinished()
        for record in records:
            self._board.on_known(record)
        if records:
            self._changed()
        return records
