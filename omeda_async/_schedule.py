"""Pure decisions for ``TransactionPoller``: when to look a transaction up next, and when to stop.

Nothing here awaits, reads a clock or draws a random number: every function is
a function of the policy, what the last Transaction Lookup showed, the times
involved and (for jitter) a uniform number ``u`` in ``[0, 1)`` the caller drew.
The poller's loop only acts on what these functions decide, so the whole
schedule is tested without an event loop.

The schedule (``PollPolicy``; seconds throughout):

- the first lookup comes ``initial_delay`` after tracking starts;
- after ``n`` lookups without a change the interval is
  ``initial_delay * multiplier**n``, capped at ``max_interval``; any change of
  status starts again at ``initial_delay`` (``n = 0``);
- held codes (1, 3, 20, 35, 36, 37: a person must act) are looked up every
  ``hold_interval`` instead, or end tracking HELD at once with ``stop_on_hold``;
- with ``jitter`` every interval is drawn uniformly from ``[0.75, 1.25]`` times
  its nominal value, cut to ``[initial_delay, max_interval]`` (``hold_interval``
  is the ceiling for held codes), so the first lookup falls in
  ``[initial_delay, 1.25 * initial_delay]``: records queued together
  drift apart instead of polling in lockstep, and, unlike full jitter, the mean
  interval stays near its nominal value;
- a failed lookup (429, 5xx, transport, malformed answer) counts as an unchanged
  lookup, so a struggling server is backed off from; a ``Retry-After`` pushes the
  next lookup at least that far out, capped at ``RETRY_AFTER_CAP``;
- a 404 within ``not_found_grace`` of the start means "not visible yet"; after
  it, tracking ends NOT_FOUND (Omeda: transaction data "will not necessarily be
  kept available indefinitely");
- nothing is scheduled past ``deadline``: the last lookup happens at the
  deadline, and a status that is still not terminal then ends TIMED_OUT.
"""

from __future__ import annotations

import math

import attrs

from ._policies import RETRY_AFTER_CAP, PollPolicy
from ._status import Outcome, StatusCode

__all__ = [
    "JITTER_HIGH",
    "JITTER_LOW",
    "Step",
    "after_fault",
    "after_not_found",
    "after_status",
    "backoff_interval",
    "first_due",
    "jittered",
    "poll_interval",
    "status_outcome",
]

JITTER_LOW = 0.75
"""Smallest jitter factor applied to a nominal interval."""
JITTER_HIGH = 1.25
"""Largest jitter factor applied to a nominal interval."""


@attrs.frozen
class Step:
    """What to do after one lookup: stop with ``outcome``, or look up again at ``due``."""

    outcome: Outcome | None
    """The tracking's final outcome, or None to keep polling."""
    due: float | None = None
    """When to look up next (the poller's clock); set exactly when ``outcome`` is None."""


def backoff_interval(policy: PollPolicy, unchanged: int) -> float:
    """The nominal interval after ``unchanged`` lookups that saw no change (no jitter)."""
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
    exactly ``floor`` (the first lookup, every lookup after a change) or
    ``ceiling``, and those records would poll in lockstep again.
    """
    low = max(nominal * JITTER_LOW, floor)
    high = min(nominal * JITTER_HIGH, ceiling)
    if low >= high:
        return min(max(nominal, floor), ceiling)
    return low + (high - low) * u


def poll_interval(
    policy: PollPolicy, status: StatusCode | None, unchanged: int, u: float = 0.5
) -> float:
    """Seconds until the next lookup of a transaction last seen at ``status``.

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
    if not policy.jitter:
        return nominal
    return jittered(nominal, u, floor=min(policy.initial_delay, ceiling), ceiling=ceiling)


def first_due(policy: PollPolicy, started: float, u: float = 0.5) -> float:
    """When the first lookup of a transaction tracked at ``started`` happens."""
    return _bounded(started + poll_interval(policy, None, 0, u), started, policy)


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
    if policy.stop_on_hold and status.is_held:
        return Outcome.HELD
    return None


def after_status(
    policy: PollPolicy,
    status: StatusCode,
    *,
    unchanged: int,
    now: float,
    started: float,
    u: float = 0.5,
) -> Step:
    """Decide after a lookup answered ``status``.

    ``unchanged`` counts the lookups since the status last changed (0 when this
    answer is a change). A terminal answer wins even at the deadline.
    """
    outcome = status_outcome(policy, status)
    if outcome is not None:
        return Step(outcome)
    return _again(policy, now + poll_interval(policy, status, unchanged, u), now, started)


def after_not_found(
    policy: PollPolicy,
    status: StatusCode | None,
    *,
    unchanged: int,
    now: float,
    started: float,
    u: float = 0.5,
) -> Step:
    """Decide after Transaction Lookup answered 404.

    Within ``not_found_grace`` of ``started`` (inclusive) a freshly queued record
    may not be visible yet, so polling goes on; after it, tracking ends NOT_FOUND.
    """
    if now - started > policy.not_found_grace:
        return Step(Outcome.NOT_FOUND)
    return _again(policy, now + poll_interval(policy, status, unchanged, u), now, started)


def after_fault(
    policy: PollPolicy,
    status: StatusCode | None,
    *,
    unchanged: int,
    now: float,
    started: float,
    retry_after: float | None = None,
    u: float = 0.5,
) -> Step:
    """Decide after a lookup failed (429, 5xx, transport error, malformed answer).

    A fault never ends tracking early; only the deadline can. The next lookup
    waits the usual backoff or the server's ``Retry-After`` (capped at
    ``RETRY_AFTER_CAP``), whichever is longer.
    """
    delay = poll_interval(policy, status, unchanged, u)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return _again(policy, now + delay, now, started)


def _again(policy: PollPolicy, due: float, now: float, started: float) -> Step:
    # The lookup that happened at (or after) the deadline was the last one.
    if now >= started + policy.deadline:
        return Step(Outcome.TIMED_OUT)
    return Step(None, _bounded(due, started, policy))


def _bounded(due: float, started: float, policy: PollPolicy) -> float:
    return min(due, started + policy.deadline)
