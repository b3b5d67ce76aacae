"""The mechanism of a job: a reader with backpressure, a pool of workers, ordered output.

It knows nothing of Omeda, stores or decisions: the job hands it what to do
with each record read (``admit``) and each record taken by a worker
(``handle``), and the outcomes to deliver. What makes it cheap per record
(a job pushes a million rows through here) is said where it is done: a
counter window instead of a Semaphore, a deque and idle futures instead of an
``asyncio.Queue``, and no coroutine per record beyond the one that sends it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from ._keys import request_body

if TYPE_CHECKING:
    from omeda_async._errors import PayloadValidationError
    from omeda_async._store import StoredRecord
    from omeda_async.models._responses import OrderReceipt, ProcessorResult, SubmissionReceipt

    from ._outcome import SubmissionOutcome

__all__ = ["Output", "Pipeline", "Record", "Release", "Window"]


class Release(Protocol):
    """Room a record holds (read-ahead, a tracking slot), given back when its outcome is taken."""

    def release(self) -> None: ...


class Window:
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


class Record:
    """One input record on its way through the pipeline.

    What most records never change is a class attribute, so making one sets
    five attributes, not fifteen (a job makes one per row).
    """

    key: str | None = None
    attempts: int = 0
    checked: bool = False
    merged_into: int | None = None
    pending_tries: int = 0
    receipt: SubmissionReceipt | OrderReceipt | None = None
    processor: ProcessorResult | None = None
    stored: StoredRecord | None = None
    skipped: bool = False

    def __init__(
        self,
        index: int,
        payload: Any,
        service: str,
        body: bytes | PayloadValidationError,
        window: Window,
    ) -> None:
        self.index = index
        self.payload = payload
        self.service = service
        # Built once, when the record is read: keyed by it and sent as it is (or,
        # for a payload that breaks a rule, the violations it is rejected with).
        self.body = body
        # The room this record holds, released when its outcome is taken: that
        # is what bounds the job's memory.
        self.held: list[Release] = [window]

    def change_payload(self, payload: Any) -> None:
        """Send ``payload`` instead (a merge followed, a TransactionId filled in).

        Its body is rebuilt; its key stays the key of the record as it was read.
        """
        self.payload = payload
        self.body = request_body(payload, self.service)


_Entry = tuple["SubmissionOutcome", list[Release]]


class Output:
    """Outcomes waiting for the caller: in arrival order, or by index (``ordered``)."""

    __slots__ = ("_next_index", "_ordered", "_out", "_ready", "waiter")

    def __init__(self, *, ordered: bool) -> None:
        self._ordered = ordered
        self._out: deque[_Entry] = deque()
        self._ready: dict[int, _Entry] = {}
        self._next_index = 0
        self.waiter: asyncio.Future[None] | None = None
        """The caller's wake-up, while it waits for an outcome."""

    def put(self, outcome: SubmissionOutcome, held: list[Release]) -> None:
        """Deliver ``outcome`` (the room in ``held`` is released when it is taken)."""
        if self._ordered:
            self._ready[outcome.index] = (outcome, held)
        else:
            self._out.append((outcome, held))
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, *, finished: bool) -> SubmissionOutcome | None:
        """The next outcome to hand over, if any; ``finished``: no more will come."""
        entry: _Entry | None
        if self._out:  # unordered output
            entry = self._out.popleft()
        elif self._ordered:
            entry = self._ready.pop(self._next_index, None)
            if entry is None and finished and self._ready:
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


class Pipeline:
    """Reads records with backpressure and feeds them to a pool of workers.

    ``open`` counts records read whose outcome is not delivered yet; once the
    input is exhausted and ``open`` is 0, ``all_accounted`` is set.
    """

    __slots__ = ("_idle", "_reading_done", "_todo", "all_accounted", "open", "window")

    def __init__(self, window: int) -> None:
        self.window = Window(window)
        # Records waiting for a worker, and the idle workers' wake-up futures
        # (an asyncio.Queue's work, without its per-call bookkeeping).
        self._todo: deque[Record] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self.open = 0
        self._reading_done = False
        self.all_accounted = asyncio.Event()

    async def read(self, payloads: Any, admit: Callable[[int, Any], None]) -> None:
        """Read every payload, ``admit(index, payload)`` each, waiting for room as needed."""
        window = self.window
        try:
            # Room is waited for before the next payload is pulled: a generator is
            # never read further than the window allows.
            if window.free <= 0:
                await window.room()
            if isinstance(payloads, AsyncIterable):
                index = 0
                async for payload in payloads:
                    window.free -= 1
                    self.open += 1
                    admit(index, payload)
                    index += 1
                    if window.free <= 0:
                        await window.room()
            else:
                for index, payload in enumerate(payloads):
                    window.free -= 1
                    self.open += 1
                    admit(index, payload)
                    if window.free <= 0:
                        await window.room()
        finally:
            self._reading_done = True
            self.check_accounted()

    def enqueue(self, record: Record) -> None:
        """Queue a record for the workers, waking an idle one."""
        self._todo.append(record)
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def work(self, handle: Callable[[Record], Awaitable[None]]) -> None:
        """One worker: ``handle`` each queued record, waiting while there is none."""
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
            await handle(todo.popleft())

    def check_accounted(self) -> None:
        """Set ``all_accounted`` once reading is done and every record is delivered."""
        if self._reading_done and self.open == 0:
            self.all_accounted.set()
