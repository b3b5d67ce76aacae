"""The tracking bridge (``track=True``): accepted records followed to their end by one poller.

Built only when a job tracks. An accepted record trades its read-ahead room
for a tracking slot (at most ``max_tracked`` followed at once) and is reported
when its ``TrackingResult`` arrives. On a re-run with a store, the records the
store holds as accepted but unfinished are resumed first (``poller.resume()``)
and each row of the input claims its resumed tracking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from omeda_async._status import Outcome
from omeda_async._store import ORDER_SERVICE, RecordState, TrackingStore

if TYPE_CHECKING:
    from omeda_async._policies import PollPolicy
    from omeda_async._poller import TrackingResult

    from ._pipeline import Record, Window
    from ._sender import Submitter

__all__ = ["TrackingBridge"]

Report = Callable[["Record", RecordState, "TrackingResult | None"], None]
"""How the bridge reports a record: its state, and its tracking result if any."""


class TrackingBridge:
    """Follows accepted TransactionIds with one shared poller and reports each as it ends.

    ``stop()`` ends the following early (a CLI's first Ctrl-C): records still
    followed are reported with their CANCELLED result, still ACCEPTED (and
    unfinished in the store, for ``resume``); records accepted afterwards are
    reported at once.
    """

    def __init__(
        self,
        submitter: Submitter,
        *,
        policy: PollPolicy | None,
        store: TrackingStore | None,
        max_tracked: int,
        window: Window | None,
        report: Report,
    ) -> None:
        self.poller = submitter.poller(policy=policy, store=store)
        self._slots = asyncio.Semaphore(max_tracked)
        # Ordered output keeps the read-ahead room too (None): outcomes wait behind
        # the oldest record, and that room bounds the buffer.
        self._window = window
        self._report = report
        self._started = asyncio.Event()
        self._stopped = False
        # Transaction id -> the record it reports; resumed (key -> id) not yet
        # claimed by a row; results of resumed trackings that ended before their row came.
        self._tracked: dict[int, Record] = {}
        self._resumed: dict[str, int] = {}
        self._parked: dict[str, TrackingResult] = {}

    async def resume(self, store: TrackingStore) -> None:
        """Re-track every accepted-but-unfinished record of the store (``poller.resume``)."""
        for stored in await store.unfinished():
            if stored.service == ORDER_SERVICE:
                # An OrderId is no TransactionId: Transaction Lookup cannot follow it.
                await store.finish(stored.key, outcome=Outcome.PENDING, status=None)
        trackings = await self.poller.resume()
        self._resumed = {tracking.key: tracking.transaction_id for tracking in trackings}
        if trackings:
            self._started.set()

    def parked(self, key: str) -> TrackingResult | None:
        """The result of a resumed tracking that ended before its row was read."""
        return self._parked.pop(key, None)

    async def follow(self, record: Record, transaction_id: int) -> None:
        """Follow a record accepted in this run; it is reported when its tracking ends."""
        await self._hold_slot(record)
        if self._stopped:
            self._report(record, RecordState.ACCEPTED, None)
            return
        assert record.key is not None
        self.poller.track(transaction_id, key=record.key)
        self._tracked[transaction_id] = record
        self._started.set()

    async def follow_resumed(self, record: Record, transaction_id: int) -> None:
        """Attach a row to the tracking resumed for it (or start one)."""
        assert record.key is not None
        parked = self._parked.pop(record.key, None)
        if parked is None:
            await self._hold_slot(record)
            parked = self._parked.pop(record.key, None)  # it may have ended while we waited
        if parked is not None:
            self._report(record, RecordState.FINISHED, parked)
            return
        if self._stopped:
            self._report(record, RecordState.ACCEPTED, None)
            return
        if self._resumed.pop(record.key, None) is None:
            self.poller.track(transaction_id, key=record.key)
            self._started.set()
        self._tracked[transaction_id] = record

    async def feed(self) -> None:
        """Hand each TrackingResult to its record; the poller's feed ends whenever it idles."""
        while not self._stopped:
            # Made before waiting, so no result of a later track() can miss it.
            results = self.poller.results()
            await self._started.wait()
            self._started.clear()
            async for result in results:
                self._on_result(result)

    def _on_result(self, result: TrackingResult) -> None:
        record = self._tracked.pop(result.transaction_id, None)
        if record is None:
            # A resumed tracking no row has claimed (yet): kept for the row.
            if self._resumed.pop(result.key, None) is not None:
                self._parked[result.key] = result
            return
        # Stopped early: the record stays accepted (unfinished in the store).
        state = (
            RecordState.ACCEPTED if result.outcome is Outcome.CANCELLED else RecordState.FINISHED
        )
        self._report(record, state, result)

    async def _hold_slot(self, record: Record) -> None:
        """Trade the read-ahead room for a tracking slot: reading goes on while it is followed."""
        await self._slots.acquire()
        record.held.append(self._slots)
        window = self._window
        if window is not None and window in record.held:
            record.held.remove(window)
            window.release()

    async def stop(self) -> None:
        """Stop following now; what was followed is reported CANCELLED (and stays resumable)."""
        self._stopped = True
        self._started.set()
        await self.poller.close()

    async def close(self) -> None:
        """The job's end: unclaimed resumed trackings stop here, unfinished in the store."""
        self._stopped = True
        await self.poller.close()
