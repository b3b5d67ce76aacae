"""Records waiting in Omeda's queue behind one representative (decisions: ``_schedule``).

While records are believed to leave the queue in runs (``Rhythm.cohort``), a
poller need not look every queued record up: if the oldest one is still
queued, so is every younger one. ``Cohort`` keeps a poller's queued records in
queue order (``started``) and looks up only the oldest, the representative,
on ``_schedule.watch_due``; the others wait on ``_schedule.parked_due``, a far
ceiling. When the frontier moves (a record was seen leaving the queue: see
``_rhythm``) every record queued before it is *released*: looked up at
``_schedule.release_due``. When the belief in runs ends, every record goes back
to its own backoff.

A newly tracked record joins at once, without a first lookup of its own, except
one in ``SAMPLE_EVERY``. Of those samples, up to ``SCOUTS`` at a time keep
their own lookups while queued: they are what shows that records do *not*
leave in runs (a younger one out while an older one waits), however the
representative's own wait turns out.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import _schedule
from ._dispatcher import DUE, IDLE, LOOKING, Dispatcher
from ._policies import PollPolicy
from ._rhythm import Rhythm, RhythmMemory

if TYPE_CHECKING:
    from ._poller import Tracking

__all__ = ["SAMPLE_EVERY", "SCOUTS", "Cohort"]

SAMPLE_EVERY = 10
"""One record in this many joins the cohort only after a first lookup of its own."""

SCOUTS = 2
"""Samples that keep their own lookups while queued, at most, per poller (the youngest)."""


class Cohort:
    """The queued records of one poller, in queue order, and their representative.

    Only the representative has a lookup scheduled; the others have none until
    a run releases them, or their own ceiling (``state.due``, set by
    ``parked_due``) passes: the representative never sleeps past the earliest
    ceiling, and each time it is scheduled, records whose ceiling has passed
    go back to their own lookups. So a waiting record costs two references,
    not a timer.
    """

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        policy: PollPolicy,
        memory: RhythmMemory,
        draw: Callable[[], float],
        now: Callable[[], float],
    ) -> None:
        self._dispatcher = dispatcher
        self._policy = policy
        self._memory = memory
        self._draw = draw
        self._now = now
        # (started, tracking): queue order; entries of trackings no longer parked are skipped.
        self._heap: list[tuple[float, Tracking]] = []
        # Trackings in the order they were parked, which is the order of their ceilings.
        self._ceilings: deque[Tracking] = deque()
        self._count = 0
        self._arrivals = 0
        self._scouts: deque[Tracking] = deque()

    def __len__(self) -> int:
        """Records waiting in the queue behind the representative (it included)."""
        return self._count

    def on_track(self, tracking: Tracking) -> None:
        """Schedule a newly tracked record: join the cohort at once, or look it up first."""
        state = tracking._state
        self._arrivals += 1
        waits = _schedule.waits_on_cohort(self._policy, self._memory.rhythm, state)
        if waits and self._arrivals % SAMPLE_EVERY != 1:
            self.join(tracking)
            return
        if waits:
            # The youngest samples scout: where records leave in no order, or the youngest
            # first, one of them leaves while older ones wait, and that shows.
            scouts = self._scouts
            while len(scouts) >= SCOUTS:
                scouts.popleft()._scout = False  # joins the cohort at its next answer
            tracking._scout = True
            scouts.append(tracking)
        self._dispatcher.schedule(tracking, state.due)

    def unscout(self, tracking: Tracking) -> None:
        """``tracking`` no longer scouts (out of the queue, or finished)."""
        if tracking._scout:
            tracking._scout = False
            self._scouts.remove(tracking)

    def waiting_on(self, tracking: Tracking) -> int:
        """How many records wait on ``tracking`` as their representative (1: none but itself)."""
        return self._count if tracking._parked and self._front() is tracking else 1

    def join(self, tracking: Tracking, *, looked_up: bool = False) -> None:
        """``tracking`` is queued: wait on the representative, or be it.

        ``looked_up``: it was just looked up, and its own ``due`` (decided for
        the records waiting on it) stands if it is the representative.
        """
        now = self._now()
        if not tracking._parked:
            tracking._parked = True
            self._count += 1
            heapq.heappush(self._heap, (tracking._state.started, tracking))
        front = self._front()
        if front is not tracking:
            # Waits: no lookup of its own until released, or until its ceiling.
            tracking._dispatch = IDLE
            tracking._state = tracking._state._replace(
                due=_schedule.parked_due(self._policy, tracking._state, now=now)
            )
            self._ceilings.append(tracking)
            if front is not None and front._dispatch == DUE:
                self._watch(front, now, front._state.due)
            return
        if looked_up:
            self._watch(tracking, now, tracking._state.due)
        else:
            self._watch(tracking, now, self._watch_due(tracking, now))

    def leave(self, tracking: Tracking) -> None:
        """``tracking`` no longer waits (out of the queue, finished, or on its own backoff)."""
        if tracking._parked:
            tracking._parked = False
            self._count -= 1
            self._elect()

    def on_rhythm(self, old: Rhythm, new: Rhythm) -> None:
        """A listener for ``RhythmMemory``: release whom a moved frontier or a lost belief frees."""
        if not new.cohort:
            self._release(lambda started: True, individually=True)
        elif new.frontier > old.frontier:
            frontier = new.frontier
            self._release(lambda started: started <= frontier, individually=False)

    def clear(self) -> None:
        """Forget every waiting record (the poller settles them)."""
        for _, tracking in self._heap:
            tracking._parked = False
        self._heap.clear()
        self._ceilings.clear()
        self._count = 0
        for scout in self._scouts:
            scout._scout = False
        self._scouts.clear()

    def _release(self, which: Callable[[float], bool], *, individually: bool) -> None:
        heap = self._heap
        rhythm = self._memory.rhythm
        now = self._now()
        while heap and which(heap[0][0]):
            _, tracking = heapq.heappop(heap)
            if tracking._parked:
                self._free(tracking, now, rhythm, individually=individually)
        self._elect()

    def _free(self, tracking: Tracking, now: float, rhythm: Rhythm, *, individually: bool) -> None:
        tracking._parked = False
        self._count -= 1
        if tracking._dispatch == LOOKING:
            return  # being looked up: its answer decides what comes next
        state = tracking._state
        if individually:
            due = _schedule.watch_due(
                self._policy, rhythm, state, now=now, waiting=1, u=self._draw()
            )
        else:
            due = _schedule.release_due(self._policy, rhythm, state, now=now, u=self._draw())
        tracking._state = state._replace(due=due)
        self._dispatcher.schedule(tracking, due)

    def _front(self) -> Tracking | None:
        heap = self._heap
        while heap and not heap[0][1]._parked:
            heapq.heappop(heap)
        return heap[0][1] if heap else None

    def _elect(self) -> None:
        """Make sure the oldest waiting record looks up as the representative does."""
        front = self._front()
        if front is None or front._dispatch == LOOKING:
            return  # nobody waits, or it is being looked up and will decide for itself
        now = self._now()
        due = self._watch_due(front, now)
        if front._dispatch == DUE:
            due = min(due, front._state.due)
        self._watch(front, now, due)

    def _watch_due(self, tracking: Tracking, now: float) -> float:
        return _schedule.watch_due(
            self._policy,
            self._memory.rhythm,
            tracking._state,
            now=now,
            waiting=self._count,
            u=self._draw(),
        )

    def _watch(self, front: Tracking, now: float, due: float) -> None:
        """Schedule the representative at ``due``, or sooner if a waiting record's ceiling is;
        records whose ceiling has passed go back to their own lookups."""
        ceilings = self._ceilings
        rhythm = self._memory.rhythm
        while ceilings:
            first = ceilings[0]
            if not first._parked or first is front:
                ceilings.popleft()
                continue
            ceiling = first._state.due
            if ceiling > now:
                due = min(due, ceiling)
                break
            ceilings.popleft()
            self._free(first, now, rhythm, individually=True)
        if front._dispatch != DUE or due != front._state.due:
            front._state = front._state._replace(due=due)
            self._dispatcher.schedule(front, due)
