"""Group commit for the store's hot writes: calls that arrive while a batch runs go in the next.

A job sends 16 or 64 records at once; each needs a ``begin`` before its POST
and an ``accept`` after. One statement (and one commit, one WAL flush) per
call would make the database's commit the job's bottleneck. So, as
``SqliteStore``'s writer thread does, calls of one kind wait while the
statements before them run, and then go together as one statement over
arrays (``unnest``): an idle store adds no delay, a busy one pays one round
trip and one flush for many records. A few batches may run at once (on the
pool's connections), so a commit waiting for its flush does not hold up the
next. Each call gets its own answer, and a key is never in two batches at
once, nor twice in one (one statement cannot change a row twice).

The write happens whether or not its caller is still waiting: a caller
cancelled after its call was taken learns nothing, and the store's own
bookkeeping is done by ``run``, never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Generic, TypeVar

__all__ = ["Batcher", "Refill"]

_T = TypeVar("_T")
_LIMIT: Final = 256


class Batcher(Generic[_T]):
    """Runs ``run(items)`` for the calls waiting, at most ``parallel`` batches at a time.

    ``run`` answers one result per item, in order. ``key(item)`` names the row an
    item writes.
    """

    __slots__ = ("_busy", "_key", "_parallel", "_run", "_tasks", "_waiting")

    def __init__(
        self,
        run: Callable[[Sequence[Any]], Awaitable[Sequence[_T]]],
        key: Callable[[Any], str],
        *,
        parallel: int = 2,
    ) -> None:
        self._run = run
        self._key = key
        self._parallel = parallel
        self._waiting: list[tuple[Any, asyncio.Future[_T]]] = []
        self._busy: set[str] = set()  # keys in a batch now
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, item: Any) -> asyncio.Future[_T]:
        """Queue ``item`` for the next batch; the future gets its result (or the batch's error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._tasks) < self._parallel:
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    def _take(self) -> list[tuple[Any, asyncio.Future[_T]]]:
        batch: list[tuple[Any, asyncio.Future[_T]]] = []
        later: list[tuple[Any, asyncio.Future[_T]]] = []
        busy = self._busy
        for item, future in self._waiting:
            key = self._key(item)
            if key in busy or len(batch) >= _LIMIT:
                later.append((item, future))
            else:
                busy.add(key)
                batch.append((item, future))
        self._waiting = later
        return batch

    async def _drain(self) -> None:
        try:
            # One turn of the loop first: calls made together go together.
            await asyncio.sleep(0)
            while True:
                batch = self._take()
                if not batch:
                    return
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                finally:
                    self._busy.difference_update(self._key(item) for item, _ in batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        except asyncio.CancelledError:
            # Cancelled under us (the store is closing): nobody is left to answer.
            waiting, self._waiting = self._waiting, []
            for _, future in waiting:
                future.cancel()
            raise


class Refill:
    """One run of ``refill()`` at a time: callers that need it meanwhile wait for that run.

    For the reserved blocks (first-seen numbers, rate-budget slots): whoever finds
    the block empty starts one reservation, and everyone else waits on it rather
    than reserving again. A caller cancelled while waiting leaves the run going.
    """

    __slots__ = ("_refill", "_task")

    def __init__(self, refill: Callable[[], Awaitable[None]]) -> None:
        self._refill = refill
        self._task: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        """Until a run (this caller's, or one already going) has ended; its error, if any."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(_run(self._refill))
        task = self._task
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._task is task:
                self._task = None


async def _run(refill: Callable[[], Awaitable[None]]) -> None:
    await refill()
