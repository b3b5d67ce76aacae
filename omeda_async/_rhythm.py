"""What the poller learns about a brand's queue: pure values and pure updates.

Omeda queues every record and a decoupled processor takes it later; its pages
give no timing beyond "15-30 minutes". Two readings fit them (FakeOmeda offers
both): records move on independently (*spread*), or a processor *run* takes
every record queued before it, in order, and each passes through its codes
within a minute (*batch*). The schedule in ``_schedule`` polls well under both
if it knows which one it faces, so the poller watches for the signs:

- **Leaving the queue in order.** A record seen at a queue code (0 or 7) at
  time ``a`` and out of it later was taken by a run that began after
  ``a - RUN_SPREAD`` (a run takes its records over its first seconds). If
  records leave in runs, every record queued before that has left too: the
  *frontier*.
  Records queued before the frontier are then looked up once the run is over,
  and what they show is evidence: out of the queue confirms the reading, still
  in it contradicts it. ``fifo`` is the running share of confirmations; below
  ``FIFO_BELIEF`` the schedule stops relying on runs (spread).
- **The cadence.** A departure seen between two close lookups pins a run's
  time; runs seen a whole number of periods apart give the period, and with it
  the next run: a record waiting alone is looked up around then, not every
  minute in between.
- **How long a run's records take to finish** (``settle``): a quantile of the
  time from the run's frontier to each record's end, learned as records end.

Nothing here awaits, reads a clock or keeps a reference: a ``Rhythm`` is a
small immutable value, replaced as the poller learns; the client keeps the
current one (``RhythmMemory``), shared by its pollers, and a durable store may
keep it across restarts (``to_json``/``from_json``).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ._clock import Clock
from ._status import StatusCode

__all__ = [
    "FIFO_BELIEF",
    "QUEUE_CODES",
    "RUN_SPREAD",
    "Rhythm",
    "RhythmMemory",
    "after_departure",
    "after_evidence",
    "after_settled",
    "estimate_period",
    "left_queue",
    "next_window",
    "queued",
    "rhythm_from_note",
    "rhythm_to_note",
]

QUEUE_CODES: frozenset[StatusCode] = frozenset(
    {StatusCode.LOADED_INTO_STAGING, StatusCode.API_TRANSACTION_LOADED_INTO_STAGING}
)
"""Codes of a record waiting in Omeda's queue (0, 7: loaded into staging), not yet processed."""


_ZERO = StatusCode.LOADED_INTO_STAGING
_SEVEN = StatusCode.API_TRANSACTION_LOADED_INTO_STAGING


def queued(rhythm: Rhythm, status: StatusCode | None) -> bool:
    """True if ``status`` says the record waits in the queue.

    0 always; 7 ("API Transaction Loaded into Staging") unless the brand's
    records are known to wait at 0 (``Rhythm.zero``): then 7 is the first code
    of a record a run has taken (FakeOmeda's batch model shows it so).
    """
    return status == _ZERO or (status == _SEVEN and not rhythm.zero)


def left_queue(rhythm: Rhythm, before: StatusCode | None, status: StatusCode) -> bool:
    """True if a record seen at ``before`` (None: not seen) and now at ``status`` has left the
    queue with this answer."""
    if queued(rhythm, status):
        return False
    return before is None or queued(rhythm, before)


RUN_SPREAD = 30.0
"""Seconds within which the records of one run leave the queue (FakeOmeda's batch: 10)."""

FIFO_BELIEF = 0.9
"""The share of confirmations below which records are no longer taken to leave in runs."""

FIFO_RATE = 0.05
"""Weight of one piece of evidence in ``fifo`` (three contradictions in a row end a full belief)."""

SETTLE_QUANTILE = 0.8
"""The share of a run's records that should have finished when the schedule looks them up."""

SETTLE_STEP = 5.0
"""Seconds one observation moves the ``settle`` estimate (before weighting by the quantile)."""

JITTER_NEAR = 0.75
"""A lookup this share of the ``settle`` estimate or later counts as made near it."""

NARROW = 3 * RUN_SPREAD
"""The widest departure bracket (seconds) that may pin a run's time."""

MIN_PERIOD = 120.0
"""The shortest period between runs the schedule will believe."""

MAX_RUNS = 8
"""Runs remembered to estimate the period (older ones are forgotten: cadences change)."""

WINDOW_MARGIN = RUN_SPREAD / 3
"""Seconds added on either side of a predicted run: where in its run a record leaves varies."""


class Window(NamedTuple):
    """A span of time (clock seconds): when a run happened, or is expected."""

    lo: float
    hi: float


class Rhythm(NamedTuple):
    """What has been learned about a brand's queue: an immutable value.

    Times are on the poller's clock; ``shifted`` moves them to another clock.
    """

    fifo: float = 1.0
    """Running share of evidence that records leave the queue in runs, in queue order."""
    frontier: float = -math.inf
    """Every record queued before this time has left the queue (if runs hold)."""
    frontier_at: float = -math.inf
    """When the run that last moved the frontier was first seen (a lookup showed a departure)."""
    runs: tuple[Window, ...] = ()
    """Recent runs pinned by a narrow departure bracket, oldest first."""
    period: float | None = None
    """Seconds between runs, once runs seen agree on one (None: unknown)."""
    settle: float | None = None
    """Seconds after a run's frontier by which most of its records have finished."""
    longest_wait: float = 0.0
    """The longest a record was seen waiting in the queue (a lower bound of the period)."""
    zero: bool = False
    """Records of this brand wait at 0: 7 is then on the way out, not a queue code."""

    @property
    def cohort(self) -> bool:
        """True while records are believed to leave the queue in runs."""
        return self.fifo >= FIFO_BELIEF

    def shifted(self, delta: float) -> Rhythm:
        """The same rhythm with every time moved by ``delta`` seconds (another clock)."""
        return self._replace(
            frontier=self.frontier + delta,
            frontier_at=self.frontier_at + delta,
            runs=tuple(Window(w.lo + delta, w.hi + delta) for w in self.runs),
        )

    def to_json(self, delta: float = 0.0) -> dict[str, Any]:
        """A JSON-able dict, times moved by ``delta`` (to a clock a later process can map)."""
        moved = self.shifted(delta)
        # The frontier is about records of this process; a later one starts without it.
        return {
            "fifo": moved.fifo,
            "runs": [[w.lo, w.hi] for w in moved.runs],
            "period": moved.period,
            "settle": moved.settle,
            "longest_wait": moved.longest_wait,
            "zero": moved.zero,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], delta: float = 0.0) -> Rhythm:
        """Read ``to_json``'s dict, moving times by ``delta``; anything odd gives a fresh Rhythm.

        A stored rhythm is a hint, never an authority: a value out of range is
        dropped rather than trusted, and the schedule relearns it.
        """
        try:
            fifo = _unit(data.get("fifo", 1.0))
            runs = tuple(
                Window(float(lo), float(hi))
                for lo, hi in data.get("runs", ())[-MAX_RUNS:]
                if math.isfinite(float(lo)) and math.isfinite(float(hi)) and lo <= hi
            )
            rhythm = cls(
                fifo=fifo,
                runs=runs,
                period=_duration(data.get("period")),
                settle=_duration(data.get("settle")),
                longest_wait=_duration(data.get("longest_wait")) or 0.0,
                zero=data.get("zero") is True,
            )
        except (TypeError, ValueError, AttributeError):
            return cls()
        return rhythm.shifted(delta)


def _unit(value: Any) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(number)
    return number


def _duration(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(number)
    return number


# -- updates -----------------------------------------------------------------------


def after_evidence(rhythm: Rhythm, *, left: bool) -> Rhythm:
    """A record queued before the frontier was looked up once its run was over.

    ``left``: it was out of the queue (the reading holds) or still in it (it does not).
    """
    target = 1.0 if left else 0.0
    return rhythm._replace(fifo=rhythm.fifo + FIFO_RATE * (target - rhythm.fifo))


def after_departure(rhythm: Rhythm, *, queued: float, seen_queued: float, now: float) -> Rhythm:
    """A record tracked since ``queued`` and seen queued at ``seen_queued`` is out at ``now``.

    Moves the frontier to ``RUN_SPREAD`` before ``seen_queued`` (a run takes its
    records over its first seconds, so this one may have left well after its
    run began, and only records queued before that were surely taken), or to
    ``queued`` if later (its run began after it was queued). A narrow
    bracket also pins a run (the same run as the last one if they overlap, else
    a new one, which may teach the period).
    """
    if not now > seen_queued:
        return rhythm  # a clock that went back: nothing to learn
    changes: dict[str, Any] = {}
    frontier = max(seen_queued - RUN_SPREAD, queued)
    if frontier > rhythm.frontier:
        changes["frontier"] = frontier
        if now > rhythm.frontier_at + 2 * RUN_SPREAD:
            # A new run (within one, the run's time stays when it was first seen).
            changes["frontier_at"] = now
    if now - seen_queued <= NARROW:
        wait = seen_queued - queued
        if wait > rhythm.longest_wait:
            changes["longest_wait"] = wait
        runs = _pin(rhythm.runs, Window(seen_queued, now))
        if runs is not rhythm.runs:
            changes["runs"] = runs
            if len(runs) != len(rhythm.runs) or runs[-1] != rhythm.runs[-1]:
                changes["period"] = estimate_period(
                    runs, changes.get("longest_wait", rhythm.longest_wait)
                )
    return rhythm._replace(**changes) if changes else rhythm


def _pin(runs: tuple[Window, ...], bracket: Window) -> tuple[Window, ...]:
    """``runs`` with ``bracket`` merged into the run it belongs to, or added as a new one."""
    if not runs:
        return (bracket,)
    last = runs[-1]
    if bracket.lo <= last.hi + RUN_SPREAD and bracket.hi >= last.lo - RUN_SPREAD:
        lo, hi = max(last.lo, bracket.lo), min(last.hi, bracket.hi)
        if lo < hi and (lo, hi) != (last.lo, last.hi):
            return (*runs[:-1], Window(lo, hi))
        return runs
    if bracket.lo > last.hi:
        return (*runs, bracket)[-MAX_RUNS:]
    return runs  # a departure from an older run, seen late: nothing new


def after_settled(
    rhythm: Rhythm,
    *,
    elapsed: float,
    previous: float,
    done: bool,
    prior: float,
    max_interval: float,
) -> Rhythm:
    """A record of the frontier's run, looked up ``elapsed`` seconds after the run showed (its
    lookup before at ``previous`` seconds), was ``done`` (at its end) or not.

    A stochastic-approximation quantile (``SETTLE_QUANTILE``) that learns only
    from what a lookup made near the estimate proves: done by then when that is
    no later than the estimate (it may come down), not done when that is no
    earlier, for its first lookup past the estimate (it must go up); both
    happen, in proportions that balance at the quantile. (A lookup long before
    the estimate, of a record that had left before its run was seen, proves
    nothing about the estimate.) ``prior`` stands for the estimate until one is
    learned.
    """
    if not 0.0 <= elapsed <= 10 * max_interval:
        return rhythm  # another run's record, or a clock jump: not this run's timing
    current = rhythm.settle if rhythm.settle is not None else prior
    if done and JITTER_NEAR * current <= elapsed <= current:
        current -= SETTLE_STEP * (1.0 - SETTLE_QUANTILE)
    elif not done and elapsed >= current > previous:
        current += SETTLE_STEP * SETTLE_QUANTILE
    else:
        return rhythm
    return rhythm._replace(settle=min(max(current, 0.0), 10 * max_interval))


def estimate_period(runs: tuple[Window, ...], longest_wait: float = 0.0) -> float | None:
    """The period the pinned ``runs`` agree on, or None.

    Runs a client sees are often whole periods apart with runs unseen in
    between (nothing of its own was queued), so the gaps between runs are
    multiples of the period. The estimate is the largest candidate (a gap divided
    by 1..8) of which every gap is a whole multiple, within what the brackets
    allow; it must be at least ``MIN_PERIOD`` and longer than any wait seen (a
    record is taken by the first run after it was queued). One gap alone could
    be any multiple of the period, so it is believed only when that bound rules
    out every shorter one. If the oldest runs disagree with the newer ones (a
    cadence changed), they are dropped until the rest agree.
    """
    floor = max(MIN_PERIOD, longest_wait)
    for start in range(len(runs) - 1):
        kept = runs[start:]
        mids = [(w.lo + w.hi) / 2 for w in kept]
        gaps = [b - a for a, b in itertools.pairwise(mids)]
        if len(gaps) == 1:
            return gaps[0] if floor <= gaps[0] < 2 * floor else None
        slack = max(w.hi - w.lo for w in kept) + RUN_SPREAD / 2
        best = None
        for gap in gaps:
            for k in range(1, 9):
                candidate = gap / k
                if candidate < floor or (best is not None and candidate <= best):
                    continue
                if all(_multiple(g, candidate, slack) for g in gaps):
                    best = candidate
        if best is not None:
            # Refined by every gap's own estimate of it.
            return sum(gaps) / sum(round(g / best) for g in gaps)
    return None


def _multiple(gap: float, period: float, slack: float) -> bool:
    k = round(gap / period)
    return k >= 1 and abs(gap - k * period) <= slack


def next_window(rhythm: Rhythm, *, queued: float, now: float, late: float = 0.0) -> Window | None:
    """When the run that takes a record queued at ``queued`` (still queued at ``now``) is
    expected to show, or None if that cannot be told.

    Known only while runs are believed and a period is learned. A run takes
    what was queued before it: the first run whose window had not closed when
    the record was queued, nor ``late`` seconds before ``now`` (the last pinned
    run itself included: within a run, records leave in queue order). The
    window widens with the periods since the last pinned run (the period is an
    estimate).
    """
    period = rhythm.period
    if period is None or not rhythm.runs or not rhythm.cohort:
        return None
    runs = rhythm.runs
    last = runs[-1]
    # How far the period may be off, per period ahead: the runs it was measured
    # from are only known to within their brackets, over the periods they span.
    spanned = max(1.0, (last.lo + last.hi - runs[0].lo - runs[0].hi) / 2 / period)
    drift = (max(w.hi - w.lo for w in runs) + RUN_SPREAD / 2) / spanned
    k = max(0, math.floor((max(queued - last.lo, now - late - last.hi) - WINDOW_MARGIN) / period))
    while True:
        margin = WINDOW_MARGIN + drift * k
        lo, hi = last.lo + k * period - margin, last.hi + k * period + margin
        # Queued before the window closed: that run may still take it (where in a run's
        # window the run itself began is not known), so it is looked for there.
        if hi > queued and hi + late > now:
            return Window(lo, hi)
        k += 1


# -- across processes -------------------------------------------------------------------

SAVE_EVERY = 300.0
"""Clock seconds between writes of a changed rhythm to a store (and one at close)."""


def _scale(clock: Clock) -> float:
    # A ScaledClock runs faster than the wall clock; any other clock is taken at wall speed.
    scale = getattr(clock, "scale", 1.0)
    return float(scale) if isinstance(scale, int | float) and scale > 0 else 1.0


def rhythm_to_note(rhythm: Rhythm, clock: Clock) -> str:
    """``rhythm`` as text for a store, with what a later process needs to map its times.

    Clocks are monotonic with an arbitrary origin, so the note records one
    instant on both the clock and the wall clock; ``rhythm_from_note`` maps the
    stored times onto its own clock through the wall time that passed.
    """
    note = rhythm.to_json()
    note["clock"] = clock.now()
    note["wall"] = time.time()
    return json.dumps(note, separators=(",", ":"))


def rhythm_from_note(text: str, clock: Clock) -> Rhythm:
    """The rhythm ``rhythm_to_note`` wrote, its times on ``clock`` (a fresh one if unreadable)."""
    try:
        note = json.loads(text)
        saved_clock, saved_wall = float(note["clock"]), float(note["wall"])
    except (ValueError, TypeError, KeyError):
        return Rhythm()
    if not (math.isfinite(saved_clock) and math.isfinite(saved_wall)):
        return Rhythm()
    delta = clock.now() - saved_clock - (time.time() - saved_wall) * _scale(clock)
    return Rhythm.from_json(note, delta)


# -- the client's memory (mechanism, kept tiny) ------------------------------------------


Listener = Callable[[Rhythm, Rhythm], None]


class RhythmMemory:
    """The current ``Rhythm`` of one client, shared by its pollers and ``wait_for_transaction``.

    Pollers read ``rhythm`` and replace it through ``update``; those listening
    hear when the frontier moves or the belief in runs changes (a poller then
    releases the records it held back). ``dirty`` says whether it changed since
    ``saved()`` (a poller with a durable store writes it back).
    """

    __slots__ = ("_listeners", "_saved_at", "dirty", "rhythm")

    def __init__(self, rhythm: Rhythm | None = None) -> None:
        self.rhythm = rhythm if rhythm is not None else Rhythm()
        self.dirty = False
        self._saved_at = -math.inf
        self._listeners: list[Listener] = []

    def __repr__(self) -> str:
        r = self.rhythm
        return f"RhythmMemory(fifo={r.fifo:.2f}, period={r.period}, settle={r.settle})"

    def listen(self, listener: Listener) -> None:
        """Call ``listener(old, new)`` when the frontier moves or the belief in runs flips."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error if it was not listening)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def update(self, new: Rhythm) -> None:
        """Make ``new`` the current rhythm and tell the listeners what matters to them."""
        old = self.rhythm
        if new is old:
            return
        self.rhythm = new
        self.dirty = True
        if new.frontier != old.frontier or new.cohort != old.cohort:
            for listener in list(self._listeners):
                listener(old, new)

    def adopt(self, stored: Rhythm) -> None:
        """Start from a rhythm a store kept from an earlier process, if nothing was learned yet."""
        if self.rhythm == Rhythm():
            self.update(stored)
            self.dirty = False

    def due_for_save(self, now: float) -> bool:
        """True if the rhythm changed and was not written for ``SAVE_EVERY`` seconds."""
        return self.dirty and now - self._saved_at >= SAVE_EVERY

    def saved(self, now: float) -> None:
        """The current rhythm was written to a store at ``now``."""
        self.dirty = False
        self._saved_at = now
