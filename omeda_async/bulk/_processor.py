"""``run_processor=True``: accepted TransactionIds go through Omeda's Run Processor in batches.

Built only when a job asks for it. A batch goes out when it is full, or
``wait`` seconds (the client's clock) after its first id; each record then
carries Run Processor's answer and goes on (tracked, or reported).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from omeda_async._errors import OmedaError
from omeda_async.models._responses import ProcessorResult

if TYPE_CHECKING:
    from ._pipeline import Record
    from ._sender import Submitter

__all__ = ["ProcessorBatcher"]


class ProcessorBatcher:
    """Collects accepted records into Run Processor batches.

    ``spawn`` runs a coroutine as a task of the job; ``hand_off(record, id)``
    takes each record on once its batch was processed.
    """

    def __init__(
        self,
        submitter: Submitter,
        *,
        size: int,
        wait: float,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        hand_off: Callable[[Record, int], Awaitable[None]],
    ) -> None:
        self._submitter = submitter
        self._size = size
        self._wait = wait
        self._spawn = spawn
        self._hand_off = hand_off
        self._batch: list[tuple[Record, int]] = []
        self._generation = 0
        """Counts batches sent, so a timer started for a batch already sent does nothing."""

    def add(self, record: Record, transaction_id: int) -> None:
        """Put an accepted record in the batch (sent when full, or after ``wait``)."""
        self._batch.append((record, transaction_id))
        if len(self._batch) >= self._size:
            self._flush()
        elif len(self._batch) == 1:
            self._generation += 1
            self._spawn(self._timer(self._generation))

    async def _timer(self, generation: int) -> None:
        await self._submitter.clock.sleep(self._wait)
        if generation == self._generation and self._batch:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        self._generation += 1
        self._spawn(self._process(batch))

    async def _process(self, batch: list[tuple[Record, int]]) -> None:
        ids = [tid for _, tid in batch]
        try:
            results = await self._submitter.run_processor(ids)
        except OmedaError as exc:
            # The records are queued all the same: Omeda processes them in 15-30 minutes.
            message = f"{type(exc).__name__}: {exc}"
            results = [
                ProcessorResult(transaction_id=tid, succeeded=False, message=message) for tid in ids
            ]
        for (record, tid), result in zip(batch, results, strict=True):
            record.processor = result
            await self._hand_off(record, tid)
