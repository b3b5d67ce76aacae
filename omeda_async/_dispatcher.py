"""The poller's loop: a heap of due lookups, one sleeping task, at most ``max_in_flight`` slots.

``TransactionPoller`` keeps the books (trackings, results, the store) and
applies the decisions of ``_schedule``; ``Dispatcher`` only makes lookups
happen on time:

- **one heap** of ``(due, tracking)``. An entry counts only if the tracking
  is still waiting for a lookup (``tracking._dispatch`` is ``DUE``) at that
  very time (``tracking._state.due``): rescheduling pushes a new entry and
  leaves the old one to be skipped, and a tracking being looked up
  (``LOOKING``) is never handed out again, so it is never looked up twice at once;
- **one scheduler task** that sleeps on the injected ``Clock`` until the
  earliest entry is due (or an earlier one arrives: ``wake``) and hands due
  trackings to **at most ``max_in_flight`` slot tasks**, each looking up one
  tracking at a time. No task per transaction: 100,000 tracked transactions are
  100,000 small objects and a heap;
- **admission**: a tracking's first lookup waits until ``admit`` (the store's
  ``accept``) has returned for it, so an id is on record before it is polled.

Tasks exist only while something is tracked: once nothing is (``busy()`` is
false) the scheduler and its slots end, and the next tracking starts them again.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._clock import Clock

if TYPE_CHECKING:
    from ._poller import Tracking

__all__ = ["DUE", "IDLE", "LOOKING", "Dispatcher"]

IDLE = 0
"""``tracking._dispatch``: no lookup scheduled (finished, or waiting on a representative)."""
DUE = 1
"""``tracking._dispatch``: a lookup is scheduled at ``tracking._state.due``."""
LOOKING = 2
"""``tracking._dispatch``: being looked up now."""


class Dispatcher:
    """Runs ``lookup(tracking)`` for each tracking when it is due, ``max_in_flight`` at once.

    The host (the poller) provides the callbacks: ``prepare()`` once per run
    of the scheduler (open the store), ``admit(tracking)`` before a tracking's
    first lookup, ``lookup(tracking)`` per due entry, ``busy()`` (is anything
    tracked?) and ``crashed(exc)`` when a slot or the scheduler raised
    (403, a failing store): the host stops.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        max_in_flight: int,
        prepare: Callable[[], Awaitable[None]],
        admit: Callable[[Tracking], Awaitable[None]],
        lookup: Callable[[Tracking], Awaitable[None]],
        busy: Callable[[], bool],
        crashed: Callable[[BaseException], None],
    ) -> None:
        self._clock = clock
        self._limit = max_in_flight
        self._prepare = prepare
        self._admit = admit
        self._lookup = lookup
        self._busy = busy
        self._crashed = crashed
        self._heap: list[tuple[float, Tracking]] = []
        # Trackings whose store record is not written yet: no lookup starts while any is.
        self._arrivals: deque[Tracking] = deque()
        self._admitting = 0
        # Every runner not yet ended (one winding down may overlap the next), and the
        # one whose scheduler is live: the only one that may touch the heap.
        self._runners: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        # The scheduler's sleep: the task to interrupt, whether a wake-up is pending,
        # when it wakes by itself (inf: only when woken; -inf: not sleeping, it will
        # look at the heap anyway), and whether it waits for a slot to come free.
        self._sleeper: asyncio.Task[Any] | None = None
        self._wake_requested = False
        self._wake_at = -math.inf
        self._wants_slot = False

    @property
    def limit(self) -> int:
        """At most this many lookups at once."""
        return self._limit

    @property
    def running(self) -> bool:
        """True while a scheduler task is live."""
        return self._runner is not None

    @property
    def tasks(self) -> frozenset[asyncio.Task[None]]:
        """The scheduler tasks not yet ended (tests check none is left)."""
        return frozenset(self._runners)

    @property
    def admitting(self) -> int:
        """Trackings whose first lookup waits for their store record."""
        return self._admitting

    # -- scheduling --------------------------------------------------------------

    def arrive(self, tracking: Tracking) -> None:
        """Admit ``tracking`` (its store record) before its first lookup; start the loop."""
        self._arrivals.append(tracking)
        self._admitting += 1
        self.ensure_running()
        self.wake()

    def schedule(self, tracking: Tracking, due: float) -> None:
        """Look ``tracking`` up at ``due``, its ``_state.due`` (instead of any earlier time)."""
        tracking._dispatch = DUE
        heapq.heappush(self._heap, (due, tracking))
        if due < self._wake_at:
            self.wake()

    def clear(self) -> None:
        """Forget every entry and arrival (the host settles the trackings)."""
        for _, tracking in self._heap:
            tracking._dispatch = IDLE
        self._heap.clear()
        self._arrivals.clear()
        self._admitting = 0

    def wake(self) -> None:
        """Interrupt the scheduler's sleep (it decides again what is due and when)."""
        sleeper = self._sleeper
        if sleeper is not None and not self._wake_requested:
            # The pattern asyncio.timeout uses: cancel, then uncancel where it is caught.
            # Cheaper than a timer task and a future per sleep, which matters when
            # every lookup of 100,000 transactions is one sleep of the scheduler.
            self._wake_requested = True
            sleeper.cancel()

    def ensure_running(self) -> None:
        """Start the scheduler if none is live."""
        if self._runner is None:
            runner = asyncio.get_running_loop().create_task(self._run())
            self._runner = runner
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)

    def cancel(self) -> list[asyncio.Task[None]]:
        """Cancel the scheduler and its slots; the caller awaits the tasks returned."""
        runners = list(self._runners)
        for runner in runners:
            runner.cancel()
        return runners

    def _take(self, now: float) -> Tracking | None:
        """The next tracking due by ``now`` (its entry consumed), or None."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, tracking = heapq.heappop(heap)
            if tracking._dispatch == DUE and tracking._state.due == due:
                tracking._dispatch = LOOKING
                return tracking
        return None

    # -- the loop -----------------------------------------------------------------

    async def _run(self) -> None:
        # This run's lookup slots: at most max_in_flight tasks, each handed one due
        # tracking at a time through a future while it waits idle.
        slots: list[asyncio.Task[None]] = []
        idle: list[asyncio.Future[Tracking]] = []
        try:
            async with asyncio.TaskGroup() as group:
                try:
                    await self._dispatch(group, slots, idle)
                finally:
                    for slot in slots:
                        slot.cancel()
        except ExceptionGroup as group_error:
            self._crashed(group_error.exceptions[0])
        finally:
            if self._runner is asyncio.current_task():
                self._runner = None

    async def _dispatch(
        self,
        group: asyncio.TaskGroup,
        slots: list[asyncio.Task[None]],
        idle: list[asyncio.Future[Tracking]],
    ) -> None:
        await self._prepare()
        heap = self._heap
        clock = self._clock
        limit = self._limit
        arrivals = self._arrivals
        while True:
            while arrivals:
                tracking = arrivals.popleft()
                try:
                    await self._admit(tracking)
                finally:
                    self._admitting -= 1
            now = clock.now()
            while idle or len(slots) < limit:
                due = self._take(now)
                if due is None:
                    break
                if idle:
                    idle.pop().set_result(due)
                else:
                    slots.append(group.create_task(self._slot(due, idle)))
            if not self._busy() and not arrivals:
                # Decided without an await in between, so a tracking from now on starts
                # a new runner rather than relying on this one.
                self._runner = None
                return
            if not idle and len(slots) >= limit:
                # Every slot busy: only a slot coming free matters (the slots themselves
                # take due trackings meanwhile).
                await self._sleep(None, for_slot=True)
            elif heap:
                await self._sleep(heap[0][0] - now)
            else:
                await self._sleep(None)

    async def _sleep(self, delay: float | None, *, for_slot: bool = False) -> None:
        task = asyncio.current_task()
        assert task is not None
        if for_slot:
            self._wake_at = -math.inf
        else:
            self._wake_at = math.inf if delay is None else self._clock.now() + delay
        self._wants_slot = for_slot
        self._sleeper = task
        try:
            if delay is None:
                await asyncio.get_running_loop().create_future()
            else:
                await self._clock.sleep(delay)
        except asyncio.CancelledError:
            # Our own wake-up is swallowed; any other cancellation (close(), the task
            # group aborting) is still pending after uncancel() and goes on up.
            if not self._wake_requested or task.uncancel() > 0:
                raise
        finally:
            self._sleeper = None
            self._wake_requested = False
            self._wants_slot = False
            self._wake_at = -math.inf

    async def _slot(self, tracking: Tracking, idle: list[asyncio.Future[Tracking]]) -> None:
        """One of ``max_in_flight`` lookup slots: look up what it is handed, then wait idle."""
        clock = self._clock
        loop = asyncio.get_running_loop()
        while True:
            await self._lookup(tracking)
            # Take the next due tracking straight away instead of a round trip through
            # the scheduler; never while a store record is still pending.
            if not self._admitting:
                taken = self._take(clock.now())
                if taken is not None:
                    tracking = taken
                    continue
            waiter: asyncio.Future[Tracking] = loop.create_future()
            idle.append(waiter)
            if self._wants_slot:
                self.wake()
            tracking = await waiter
