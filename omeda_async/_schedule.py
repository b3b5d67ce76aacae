"""Pure decisions for ``TransactionPoller``: when to look a transaction up next, and when to stop.

Nothing here awaits, reads a clock or draws a random number: every function is
a function of the policy, what was learned about the brand's queue (a
``Rhythm``), one transaction's ``PollState``, what the last Transaction Lookup
showed, the time, and (for jitter) a uniform number ``u`` in ``[0, 1)`` the
caller drew. The poller's loop only acts on what these functions decide, so
the whole schedule is tested without an event loop.

A transaction is in one of four *phases*: not seen yet (no answer, or 404),
*queued* (0 or 7: loaded into staging, waiting for Omeda's processor),
*moving* (any other code that is not final) or *held* (1, 3, 20, 35-37: a
person must act). The schedule (``PollPolicy``; seconds throughout):

- the first lookup comes ``initial_delay`` after tracking starts; each lookup
  that finds the transaction in the same phase multiplies the interval by
  ``multiplier``, up to ``max_interval``. A change of code within a phase (7 to
  8 to 10 ...) does not start the ramp again; a change of phase does;
- a moving transaction is never left longer than ``max_interval``; a held one
  is looked up every ``hold_interval`` (or ends HELD with ``stop_on_hold``);
- **records that leave the queue in runs** (what the poller learns, see
  ``_rhythm``): a queued record waits on the oldest queued record of its
  poller, the *representative*, which alone is looked up (more often the more
  records wait on it; near the next run once the cadence is known). When it
  leaves the queue, every record queued before it is looked up when the run's
  records are usually finished. A waiting record is still looked up at least
  every ``queue_interval``, and any sign that records do not leave in runs
  returns every record to its own backoff;
- with ``jitter`` every interval is drawn uniformly from ``[0.75, 1.25]`` times
  its nominal value, cut to its bounds, so records queued together drift apart;
- a failed lookup (429, 5xx, transport, malformed answer) counts as an unchanged
  lookup, so a struggling server is backed off from; a ``Retry-After`` pushes the
  next lookup at least that far out, capped at ``RETRY_AFTER_CAP``;
- a 404 within ``not_found_grace`` of the start means "not visible yet"; after
  it, tracking ends NOT_FOUND (Omeda: transaction data "will not necessarily be
  kept available indefinitely");
- nothing is scheduled past ``deadline``: the last lookup happens at the
  deadline, and a status that is still not terminal then ends TIMED_OUT.

With ``PollPolicy(learn=False)`` nothing is learned and every record follows
its own backoff.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ._errors import NotFoundError, OmedaError, RateLimitedError, ServerError
from ._policies import RETRY_AFTER_CAP, PollPolicy
from ._rhythm import (
    QUEUE_CODES,
    RUN_SPREAD,
    Rhythm,
    after_departure,
    after_evidence,
    after_settled,
    left_queue,
    next_window,
    queued,
)
from ._status import Outcome, StatusCode

__all__ = [
    "HELD",
    "JITTER_HIGH",
    "JITTER_LOW",
    "MOVING",
    "QUEUED",
    "UNSEEN",
    "PollState",
    "Step",
    "after_failed_lookup",
    "after_fault",
    "after_not_found",
    "after_status",
    "backoff_interval",
    "first_due",
    "jittered",
    "learn",
    "parked_due",
    "phase_of",
    "poll_interval",
    "release_due",
    "start",
    "status_outcome",
    "waits_on_cohort",
    "watch_due",
    "watch_interval",
]

JITTER_LOW = 0.75
"""Smallest jitter factor applied to a nominal interval."""
JITTER_HIGH = 1.25
"""Largest jitter factor applied to a nominal interval."""

UNSEEN = 0
"""Phase: no status seen yet (not looked up, or 404)."""
QUEUED = 1
"""Phase: waiting in Omeda's queue (0, 7)."""
MOVING = 2
"""Phase: being processed (any other code that is not final)."""
HELD = 3
"""Phase: waiting for a person (1, 3, 20, 35, 36, 37)."""

_NO_RHYTHM = Rhythm(fifo=0.0)
_ZERO = StatusCode.LOADED_INTO_STAGING
_SEVEN = StatusCode.API_TRANSACTION_LOADED_INTO_STAGING

# Every documented code's phase, looked up once per answer (unknown codes move).
_PHASES: dict[StatusCode | None, int] = {
    None: UNSEEN,
    **{
        code: QUEUED if code in QUEUE_CODES else HELD if code.is_held else MOVING
        for code in StatusCode
    },
}


def phase_of(status: StatusCode | None) -> int:
    """UNSEEN, QUEUED, MOVING or HELD (final codes count as MOVING: the ramp ends there)."""
    return _PHASES.get(status, MOVING)


class PollState(NamedTuple):
    """One tracked transaction's schedule: a small value a store can keep and another worker
    continue (``to_json``/``from_json``).

    Times are on the poller's clock (``shifted`` moves them to another one).
    ``started`` is when tracking began (the deadline and the 404 grace count from
    it, and it orders records in Omeda's queue); ``due`` when the next lookup is;
    ``status`` the last code seen; ``unchanged`` the lookups since the phase last
    changed (the backoff's exponent); ``seen`` when the last lookup answered
    (None: never looked up).
    """

    started: float
    due: float
    status: StatusCode | None = None
    unchanged: int = 0
    seen: float | None = None

    @property
    def phase(self) -> int:
        """UNSEEN, QUEUED, MOVING or HELD."""
        return phase_of(self.status)

    def shifted(self, delta: float) -> PollState:
        """The same state with every time moved by ``delta`` seconds."""
        seen = None if self.seen is None else self.seen + delta
        return self._replace(started=self.started + delta, due=self.due + delta, seen=seen)

    def to_json(self, delta: float = 0.0) -> dict[str, Any]:
        """A JSON-able dict (times moved by ``delta``, e.g. to wall-clock seconds)."""
        moved = self.shifted(delta)
        return {
            "started": moved.started,
            "due": moved.due,
            "status": None if moved.status is None else int(moved.status),
            "unchanged": moved.unchanged,
            "seen": moved.seen,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], delta: float = 0.0) -> PollState:
        """Read ``to_json``'s dict, moving times by ``delta`` (raises ``ValueError`` if odd)."""
        try:
            status = data.get("status")
            seen = data.get("seen")
            state = cls(
                started=float(data["started"]),
                due=float(data["due"]),
                status=None if status is None else StatusCode.parse(status),
                unchanged=max(0, int(data.get("unchanged", 0))),
                seen=None if seen is None else float(seen),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a poll state: {data!r}") from exc
        if not all(math.isfinite(t) for t in (state.started, state.due, state.seen or 0.0)):
            raise ValueError(f"not a poll state: {data!r}")
        return state.shifted(delta)


class Step(NamedTuple):
    """What to do after one lookup: stop with ``outcome``, or look up again at ``state.due``."""

    outcome: Outcome | None
    """The tracking's final outcome, or None to keep polling."""
    state: PollState
    """The transaction's schedule after this lookup."""

    @property
    def due(self) -> float | None:
        """When to look up next (the poller's clock); None exactly when ``outcome`` is set."""
        return None if self.outcome is not None else self.state.due


# -- intervals ------------------------------------------------------------------------


def backoff_interval(policy: PollPolicy, unchanged: int) -> float:
    """The nominal interval after ``unchanged`` lookups in one phase (no jitter)."""
    if unchanged <= 0:
        return policy.initial_delay
    try:
        interval = policy.initial_delay * policy.multiplier**unchanged
    except OverflowError:
        # A transaction polled long enough overflows the power: it is far past the cap.
        return policy.max_interval
    return min(interval, policy.max_interval) if math.isfinite(interval) else policy.max_interval


def jittered(nominal: float, u: float, *, floor: float, ceiling: float) -> float:
    """A point of ``[0.75, 1.25] * nominal`` cut to ``[floor, ceiling]``, picked by ``u``.

    ``u`` spreads over the cut band rather than being clamped after the draw:
    clamping would pile every record whose draw fell outside the bounds onto
    exactly ``floor`` or ``ceiling``, and those records would poll in lockstep again.
    """
    low = max(nominal * JITTER_LOW, floor)
    high = min(nominal * JITTER_HIGH, ceiling)
    if low >= high:
        return min(max(nominal, floor), ceiling)
    return low + (high - low) * u


def poll_interval(
    policy: PollPolicy, status: StatusCode | None, unchanged: int, u: float = 0.5
) -> float:
    """Seconds until the next lookup of a transaction on its own backoff.

    Held codes wait ``hold_interval``; others back off from ``initial_delay`` by
    ``multiplier`` up to ``max_interval``. Jitter (when ``policy.jitter``) never
    takes the result below ``initial_delay`` nor above the ceiling.
    """
    if status is not None and status.is_held:
        ceiling = policy.hold_interval
        nominal = policy.hold_interval
    else:
        ceiling = policy.max_interval
        nominal = backoff_interval(policy, unchanged)
    return _jitter(policy, nominal, u, ceiling)


def _jitter(policy: PollPolicy, nominal: float, u: float, ceiling: float) -> float:
    if not policy.jitter:
        return min(nominal, ceiling)
    return jittered(nominal, u, floor=min(policy.initial_delay, ceiling), ceiling=ceiling)


def watch_interval(policy: PollPolicy, waiting: int) -> float:
    """The longest interval of a representative ``waiting`` records wait on (``max_interval`` for
    itself alone, down to ``initial_delay``): its lookups are shared, and the sooner it shows a
    run, the sooner all of them are reported."""
    if waiting <= 16:
        return policy.max_interval
    return max(policy.initial_delay, policy.max_interval * 4.0 / math.sqrt(waiting))


# -- the first lookup ------------------------------------------------------------------


def first_due(policy: PollPolicy, started: float, u: float = 0.5) -> float:
    """When the first lookup of a transaction tracked at ``started`` happens."""
    return _bounded(started + poll_interval(policy, None, 0, u), started, policy)


def start(
    policy: PollPolicy, now: float, u: float = 0.5, status: StatusCode | None = None
) -> PollState:
    """The state of a transaction tracked at ``now`` (``status``: what a store said it was)."""
    return PollState(now, first_due(policy, now, u), status)


# -- after a lookup ----------------------------------------------------------------


def status_outcome(policy: PollPolicy, status: StatusCode) -> Outcome | None:
    """The outcome that ends tracking at ``status``, or None to keep polling.

    A code in ``policy.terminal_codes`` ends tracking with the code's own outcome:
    SUCCEEDED, PARTIAL or FAILED for Omeda's final codes; a code the caller made
    terminal although Omeda still moves it on (say 90, ready to migrate) ends with
    the outcome Omeda's table gives it, PENDING or HELD, never a success it has
    not reached. With ``stop_on_hold`` a held code ends tracking HELD.
    """
    if status in policy.terminal_codes:
        return status.outcome
    if policy.stop_on_hold and _PHASES.get(status) == HELD:
        return Outcome.HELD
    return None


def after_status(
    policy: PollPolicy,
    state: PollState,
    status: StatusCode,
    *,
    now: float,
    rhythm: Rhythm | None = None,
    waiting: int = 1,
    predict: bool = True,
    u: float = 0.5,
) -> Step:
    """Decide after a lookup at ``now`` answered ``status``.

    A terminal answer wins even at the deadline. A queued record's next lookup
    is that of a representative ``waiting`` records wait on (1: itself alone),
    timed to the next run once the cadence is known unless ``predict`` is false
    (a scout: it is there to see what predictions miss); ``waits_on_cohort``
    says whether the poller may hold it back behind another representative instead.
    """
    rhythm = _effective(policy, rhythm)
    phase = _PHASES.get(status, MOVING)
    before = _PHASES.get(state.status, MOVING)
    if rhythm.zero:
        # This brand's records wait at 0: a 7 is a record on its way out.
        if phase == QUEUED and status != _ZERO:
            phase = MOVING
        if before == QUEUED and state.status != _ZERO:
            before = MOVING
    # The first answer continues the ramp the first lookup began; a new phase restarts
    # it, except leaving the queue where records do not leave it in runs: there it is
    # one more code on the way, not the start of a run's last minute.
    same = (
        phase == before
        or before == UNSEEN
        or (before == QUEUED and phase == MOVING and not rhythm.cohort)
    )
    started = state.started
    unchanged = state.unchanged + 1 if same else 0
    outcome = status_outcome(policy, status)
    if outcome is not None:
        return Step(outcome, PollState(started, state.due, status, unchanged, now))
    if now >= started + policy.deadline:
        # The lookup that happened at (or after) the deadline was the last one.
        return Step(Outcome.TIMED_OUT, PollState(started, state.due, status, unchanged, now))
    if phase == MOVING:
        delay = _moving_delay(policy, rhythm, started, unchanged, now, u)
    elif phase == QUEUED:
        timing = rhythm if predict or rhythm.period is None else rhythm._replace(period=None)
        delay = _queued_delay(policy, timing, started, unchanged, now, waiting, u)
    else:
        delay = _jitter(policy, policy.hold_interval, u, policy.hold_interval)
    due = min(now + delay, started + policy.deadline)
    return Step(None, PollState(started, due, status, unchanged, now))


def _effective(policy: PollPolicy, rhythm: Rhythm | None) -> Rhythm:
    return _NO_RHYTHM if rhythm is None or not policy.learn else rhythm


def _queued_delay(
    policy: PollPolicy,
    rhythm: Rhythm,
    started: float,
    unchanged: int,
    now: float,
    waiting: int,
    u: float,
) -> float:
    ceiling = min(watch_interval(policy, waiting), policy.max_interval)
    base = _jitter(policy, backoff_interval(policy, unchanged), u, ceiling)
    if not rhythm.cohort:
        return base
    if started <= rhythm.frontier:
        # Its run has come: it is on its way out, and done when the run's records are.
        return _settle_delay(policy, rhythm, now, base, u)
    window = next_window(rhythm, queued=started, now=now, late=policy.max_interval)
    if window is None or now > window.hi:
        # Unknown cadence, or the run is late: the plain backoff until it shows.
        return base
    if now < window.lo:
        # Sleep until the run is due, with a look halfway through a long wait: a period
        # learned from runs seen far apart may be a multiple of the true one.
        longest = min(max(policy.max_interval, rhythm.period or 0.0) / 2, policy.queue_interval)
        return max(min(window.lo - now, max(longest, policy.max_interval)), policy.initial_delay)
    # Within the run's window: a few looks spread over it.
    return min(max((window.hi - window.lo) / 2, policy.initial_delay), base)


def _moving_delay(
    policy: PollPolicy, rhythm: Rhythm, started: float, unchanged: int, now: float, u: float
) -> float:
    base = _jitter(policy, backoff_interval(policy, unchanged), u, policy.max_interval)
    if rhythm.cohort and started <= rhythm.frontier:
        return _settle_delay(policy, rhythm, now, base, u)
    return base


def _settle_delay(policy: PollPolicy, rhythm: Rhythm, now: float, base: float, u: float) -> float:
    """A record taken by the last run: its run's records are usually done ``settle`` after the
    run showed; no sooner than its backoff, and never more than ``max_interval`` away. Until
    ``settle`` is learned, the backoff alone (a record that flies through is seen at once)."""
    if rhythm.settle is None:
        return base
    target = rhythm.frontier_at + rhythm.settle + (u - 0.5) * RUN_SPREAD / 6
    # Past its run's usual end and still going: one of the run's last few; looks a quarter
    # of the run's time apart rather than starting the ramp again.
    floor = base if target > now else max(base, rhythm.settle / 4)
    return min(max(target - now, floor), policy.max_interval)


def after_not_found(policy: PollPolicy, state: PollState, *, now: float, u: float = 0.5) -> Step:
    """Decide after Transaction Lookup answered 404.

    Within ``not_found_grace`` of ``state.started`` (inclusive) a freshly queued
    record may not be visible yet, so polling goes on; after it, tracking ends NOT_FOUND.
    """
    new = state._replace(unchanged=state.unchanged + 1, seen=now)
    if now - state.started > policy.not_found_grace:
        return Step(Outcome.NOT_FOUND, new)
    return _again(policy, new, now + poll_interval(policy, state.status, new.unchanged, u), now)


def after_fault(
    policy: PollPolicy,
    state: PollState,
    *,
    now: float,
    retry_after: float | None = None,
    u: float = 0.5,
) -> Step:
    """Decide after a lookup failed (429, 5xx, transport error, malformed answer).

    A fault never ends tracking early; only the deadline can. The next lookup
    waits the usual backoff or the server's ``Retry-After`` (capped at
    ``RETRY_AFTER_CAP``), whichever is longer.
    """
    new = state._replace(unchanged=state.unchanged + 1)
    delay = poll_interval(policy, state.status, new.unchanged, u)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return _again(policy, new, now + delay, now)


def after_failed_lookup(
    policy: PollPolicy, state: PollState, error: OmedaError, *, now: float, u: float = 0.5
) -> Step:
    """Decide after Transaction Lookup raised ``error``: the one reading of a failed lookup.

    A 404 is :func:`after_not_found` (not visible yet, or gone after the grace);
    anything else (429, 5xx, a transport error, an unreadable answer) is a
    :func:`after_fault`, with the server's ``Retry-After`` where a 429 or 5xx
    gave one. An ``AuthenticationError`` is the caller's to raise, not a
    schedule's to decide: no lookup can succeed after it.
    """
    if isinstance(error, NotFoundError):
        return after_not_found(policy, state, now=now, u=u)
    retry_after = error.retry_after if isinstance(error, RateLimitedError | ServerError) else None
    return after_fault(policy, state, now=now, retry_after=retry_after, u=u)


def _again(policy: PollPolicy, state: PollState, due: float, now: float) -> Step:
    # The lookup that happened at (or after) the deadline was the last one.
    if now >= state.started + policy.deadline:
        return Step(Outcome.TIMED_OUT, state)
    return Step(None, state._replace(due=_bounded(due, state.started, policy)))


def _bounded(due: float, started: float, policy: PollPolicy) -> float:
    return min(due, started + policy.deadline)


# -- records that wait on a cohort ---------------------------------------------------


def waits_on_cohort(policy: PollPolicy, rhythm: Rhythm, state: PollState) -> bool:
    """True if ``state``'s record may wait on its cohort's representative instead of its own
    lookups: it is queued (or not looked up yet), records are believed to leave the queue in
    runs, and no run seen so far has taken it."""
    return (
        policy.learn
        and rhythm.cohort
        and (queued(rhythm, state.status) or (state.status is None and state.seen is None))
        and state.started > rhythm.frontier
    )


def watch_due(
    policy: PollPolicy,
    rhythm: Rhythm,
    state: PollState,
    *,
    now: float,
    waiting: int,
    u: float = 0.5,
) -> float:
    """When the representative of ``waiting`` queued records (``state``'s, the oldest) looks next.

    For a record made representative between its own lookups (the one before
    it left the queue): its first lookup as usual, then its backoff from its
    last lookup, capped lower the more records wait on it, or around the next
    run once the cadence is known. (After its own lookups, ``after_status``
    with ``waiting`` decides.)
    """
    if state.seen is None:
        due = first_due(policy, state.started, u)
    else:
        due = state.seen + _queued_delay(
            policy,
            _effective(policy, rhythm),
            state.started,
            state.unchanged,
            state.seen,
            waiting,
            u,
        )
    return _bounded(max(due, now), state.started, policy)


def parked_due(policy: PollPolicy, state: PollState, *, now: float) -> float:
    """The latest a record waiting on its representative is looked up by itself."""
    return _bounded(now + policy.queue_interval, state.started, policy)


def release_due(
    policy: PollPolicy, rhythm: Rhythm, state: PollState, *, now: float, u: float = 0.5
) -> float:
    """When a record that waited on its cohort is looked up, now that a run has taken it.

    ``settle`` after the run showed (learned; half of ``max_interval`` until then),
    by when most of a run's records have finished, so one lookup usually reports it;
    never more than ``max_interval`` from now (it may be moving already).
    """
    settle = rhythm.settle if rhythm.settle is not None else _prior_settle(policy)
    spread = (u - 0.5) * RUN_SPREAD / 6
    due = min(max(now, rhythm.frontier_at + settle + spread), now + policy.max_interval)
    return _bounded(due, state.started, policy)


# -- what a lookup teaches -------------------------------------------------------------


def learn(
    policy: PollPolicy, rhythm: Rhythm, before: PollState, status: StatusCode, *, now: float
) -> Rhythm:
    """What a lookup at ``now`` answering ``status`` for ``before``'s record teaches about the
    queue (call it before ``after_status``, which then decides with what was learned).

    Three lessons, each from one lookup of one record: a departure from the
    queue (moves the frontier, may pin a run); evidence for or against runs
    (a record queued before the frontier, seen after its run); and whether a
    run's record is done some time after the run showed (teaches ``settle``).
    Returns ``rhythm`` itself when there is nothing to learn, which is most often.
    """
    if not policy.learn:
        return rhythm
    prior = _PHASES.get(before.status, MOVING)
    if prior == MOVING and (status == before.status or not rhythm.cohort):
        return rhythm  # on its way, nothing new: the common case, kept cheap
    if status == _ZERO and not rhythm.zero:
        rhythm = rhythm._replace(zero=True)  # this brand's records wait at 0
    if prior == QUEUED and not queued(rhythm, before.status):
        prior = MOVING  # a 7 where records wait at 0: already on its way out
    left = left_queue(rhythm, before.status, status)
    if prior <= QUEUED:
        last = before.seen if before.seen is not None else before.started
        # Where 0 comes first, 7 is on the way out of the queue, and a run's record may
        # show it for most of the run: a first 7 tells nothing, and a 7 that stays is
        # held against runs only once the run's records are done.
        seven = status == _SEVEN and not rhythm.zero
        patience = policy.max_interval if seven else RUN_SPREAD
        if (
            before.started < rhythm.frontier
            and last < rhythm.frontier_at + patience
            and not (seven and before.status is None)
        ):
            if left:
                rhythm = after_evidence(rhythm, left=True)
            elif now >= rhythm.frontier_at + patience:
                rhythm = after_evidence(rhythm, left=False)
        if left and before.started > rhythm.frontier:
            # Beyond the frontier: its departure says something new (one before it was
            # already taken to have left, and is evidence instead).
            if prior == QUEUED and before.seen is not None:
                rhythm = after_departure(
                    rhythm, queued=before.started, seen_queued=before.seen, now=now
                )
            elif before.status is None:
                # No status seen before (not looked up, or not visible), and already out:
                # taken after it was tracked.
                rhythm = after_departure(
                    rhythm, queued=before.started, seen_queued=before.started, now=now
                )
    if rhythm.cohort and before.started <= rhythm.frontier and prior != HELD:
        last = before.seen if before.seen is not None else before.started
        rhythm = after_settled(
            rhythm,
            elapsed=now - rhythm.frontier_at,
            previous=last - rhythm.frontier_at,
            done=status in policy.terminal_codes,
            prior=_prior_settle(policy),
            max_interval=policy.max_interval,
        )
    return rhythm


def _prior_settle(policy: PollPolicy) -> float:
    """``settle`` until one is learned: half of ``max_interval``."""
    return policy.max_interval / 2
