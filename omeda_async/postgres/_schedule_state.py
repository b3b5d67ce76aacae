"""A tracked transaction's schedule as a row keeps it, and the poller's rules applied to it.

What the fleet stores per transaction (so any worker continues any schedule):
``started`` (tracking began, the deadline and the 404 grace count from it),
``status`` (the last code seen), ``unchanged`` (lookups since the status last
changed: the backoff's exponent), ``seen`` (when the last lookup answered),
and the next lookup time (``next_due``, the answer of these functions). All
times are the database's epoch seconds.

The decisions are the poller's own (``omeda_async._schedule``, pure
functions); this module is the one place that translates a row to them and
back, so that a change of the schedule's shape is a change here only.
"""

from __future__ import annotations

import attrs

from omeda_async import _schedule
from omeda_async._errors import OmedaError
from omeda_async._policies import PollPolicy
from omeda_async._status import Outcome, StatusCode

__all__ = ["Decision", "Schedule", "after_answer", "after_failed_lookup", "first_lookup"]


@attrs.frozen
class Schedule:
    """The persisted schedule of one transaction (see the module docstring)."""

    started: float
    status: StatusCode | None = None
    unchanged: int = 0
    seen: float | None = None


@attrs.frozen
class Decision:
    """After a lookup: the outcome that ends tracking, or when to look again; the new state."""

    outcome: Outcome | None
    due: float | None
    state: Schedule
    changed: bool = False


def first_lookup(policy: PollPolicy, started: float, u: float) -> float:
    """When the first lookup of a transaction accepted at ``started`` is due."""
    return _schedule.first_due(policy, started, u)


def _poll_state(state: Schedule, now: float) -> _schedule.PollState:
    return _schedule.PollState(state.started, now, state.status, state.unchanged, state.seen)


def _decided(step: _schedule.Step, *, changed: bool = False) -> Decision:
    new = step.state
    return Decision(
        step.outcome, step.due, Schedule(new.started, new.status, new.unchanged, new.seen), changed
    )


def after_answer(
    policy: PollPolicy, state: Schedule, status: StatusCode, *, now: float, u: float
) -> Decision:
    """Transaction Lookup answered ``status`` (no learned rhythm: a fleet's records each
    follow the plain bounded backoff)."""
    step = _schedule.after_status(policy, _poll_state(state, now), status, now=now, u=u)
    return _decided(step, changed=status != state.status)


def after_failed_lookup(
    policy: PollPolicy, state: Schedule, error: OmedaError, *, now: float, u: float
) -> Decision:
    """Transaction Lookup raised ``error``: a 404 (not visible yet, or gone after the
    grace) or a fault (429, 5xx, transport, an unreadable answer: back off, never stop)."""
    return _decided(
        _schedule.after_failed_lookup(policy, _poll_state(state, now), error, now=now, u=u)
    )
