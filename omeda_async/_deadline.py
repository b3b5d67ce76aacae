"""The client's request timeout: many time limits of one length, kept with one timer.

aiohttp's per-request ``ClientTimeout(total=...)``, like ``asyncio.timeout()``,
schedules a timer for every request and cancels it when the answer comes: at a
bulk job's ten thousand requests a second that is about 8 µs of client CPU a
request on a 2-core Xeon, the largest single cost the client adds to a bare
aiohttp loop (see ``benchmarks/README.md``). Every request of a client has the
same time limit, so the deadlines come due in the order the requests started:
:class:`Deadlines` keeps the running ones in an insertion-ordered dict and one
timer, set for the oldest. A request that ends removes itself (a dict
delete); when the timer fires, every request past its deadline is cancelled
and the timer is set again for the oldest left. A request that outlives its
deadline ends with :class:`TimeoutError`, exactly as under
``asyncio.timeout()``: the cancellation is the limit's own, told apart from
any other by ``Task.cancelling()`` and ``Task.uncancel()``, so a caller's
cancel still propagates as ``CancelledError``.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Final

__all__ = ["Deadlines"]


class Deadlines:
    """Time limits of ``seconds`` each, for the requests of one client.

    ``with deadlines.limit(): ...`` inside a task bounds the block like
    ``async with asyncio.timeout(seconds)``: past the deadline the task is
    cancelled and the block raises :class:`TimeoutError`.
    """

    __slots__ = ("_loop", "_running", "_timer", "seconds")

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, not {seconds!r}")
        self.seconds: Final = seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        # Oldest first: all limits have one length, so this is deadline order.
        self._running: dict[_Limit, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"Deadlines(seconds={self.seconds!r}, running={len(self._running)})"

    def limit(self) -> _Limit:
        """A context manager bounding its block (in the current task) to ``seconds``."""
        return _Limit(self)

    def _expire(self) -> None:
        """The timer: cancel every request past its deadline; wake again for the oldest."""
        self._timer = None
        loop = self._loop
        if loop is None:  # pragma: no cover - the timer only runs once started
            return
        now = loop.time()
        running = self._running
        while running:
            oldest = next(iter(running))
            if oldest.deadline > now:
                self._timer = loop.call_at(oldest.deadline, self._expire)
                return
            del running[oldest]
            oldest.expire()


class _Limit:
    """One block's time limit (see :class:`Deadlines`)."""

    __slots__ = ("_cancelling", "_expired", "_owner", "_task", "deadline")

    def __init__(self, owner: Deadlines) -> None:
        self._owner = owner
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._expired = False
        self.deadline = 0.0

    def __enter__(self) -> _Limit:
        # Once per request: the owner's bookkeeping is inlined here and in __exit__.
        if self._task is not None:
            raise RuntimeError("a time limit is entered once")
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a time limit is entered inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        owner = self._owner
        if loop is not owner._loop:
            # First use, or a new event loop: what the old one ran is gone with it.
            owner._loop, owner._running, owner._timer = loop, {}, None
        self.deadline = deadline = loop.time() + owner.seconds
        owner._running[self] = None
        if owner._timer is None:
            owner._timer = loop.call_at(deadline, owner._expire)
        return self

    def expire(self) -> None:
        """Past the deadline: cancel the task, so the block ends with TimeoutError."""
        if self._task is not None and not self._task.done():
            self._expired = True
            self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._owner._running.pop(self, None)
        if not self._expired:
            return
        assert self._task is not None
        # Our cancel is spent; any other (the caller's) still stands and wins.
        if (
            self._task.uncancel() <= self._cancelling
            and exc_type is not None
            and issubclass(exc_type, asyncio.CancelledError)
        ):
            raise TimeoutError from exc
