"""Schedule properties over whole sequences of lookups, driven as the poller drives them.

tests/test_schedule.py checks each decision on its own; here a loop feeds the
pure functions a generated sequence of answers (statuses, 404s, faults with
and without Retry-After, late wake-ups) *and of learned rhythms* (anything a
client could have learned, sensible or not: a wrong period, a frontier in the
future, a settle time of hours), and checks every bound at every step and that
the loop always ends by the deadline. What is learned may cost lookups; it
never takes a moving record past ``max_interval``, a waiting one past
``queue_interval``, nor any lookup past the deadline or below ``initial_delay``.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from omeda_async import Outcome, PollPolicy, StatusCode
from omeda_async._policies import RETRY_AFTER_CAP
from omeda_async._rhythm import MAX_RUNS, MIN_PERIOD, Rhythm, Window
from omeda_async._schedule import (
    HELD,
    MOVING,
    PollState,
    Step,
    after_fault,
    after_not_found,
    after_status,
    learn,
    parked_due,
    phase_of,
    release_due,
    start,
    status_outcome,
    watch_due,
)

POLICIES = st.builds(
    lambda initial, spread, mult, hold, jitter, deadline, grace, stop, learn, queue: PollPolicy(
        initial_delay=initial,
        max_interval=initial * spread,
        multiplier=mult,
        hold_interval=hold,
        jitter=jitter,
        deadline=deadline,
        not_found_grace=grace,
        stop_on_hold=stop,
        learn=learn,
        queue_interval=queue,
    ),
    st.floats(0.5, 50.0),
    st.floats(1.0, 50.0),
    st.floats(1.0, 4.0),
    st.floats(0.5, 500.0),
    st.booleans(),
    st.floats(0.1, 5_000.0),
    st.floats(0.0, 600.0),
    st.booleans(),
    st.booleans(),
    st.floats(1.0, 5_000.0),
)
TIMES = st.floats(-10_000.0, 20_000.0)
WINDOWS = st.lists(
    st.tuples(TIMES, st.floats(0.0, 200.0)).map(lambda p: Window(p[0], p[0] + p[1])),
    max_size=MAX_RUNS,
).map(lambda ws: tuple(sorted(ws)))
RHYTHMS = st.builds(
    Rhythm,
    fifo=st.floats(0.0, 1.0),
    frontier=TIMES | st.just(-math.inf),
    frontier_at=TIMES | st.just(-math.inf),
    runs=WINDOWS,
    period=st.none() | st.floats(1.0, 5_000.0),
    settle=st.none() | st.floats(0.0, 10_000.0),
    longest_wait=st.floats(0.0, 5_000.0),
)
CODES = st.sampled_from([int(code) for code in StatusCode]) | st.integers(0, 200)
OBSERVATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("status"), CODES),
        st.tuples(st.just("not_found"), st.none()),
        st.tuples(st.just("fault"), st.none() | st.floats(0.0, 1_000.0)),
    ),
    min_size=1,
    max_size=30,
)
UNIFORMS = st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=10)
# Lateness of a wake-up (an event loop busy elsewhere): the poller looks up at or after due.
LATENESS = st.lists(st.floats(0.0, 5.0), min_size=1, max_size=10)
WAITING = st.lists(st.integers(1, 10_000), min_size=1, max_size=5)
_EPS = 1e-6


def _ceiling(policy: PollPolicy, phase: int) -> float:
    """The longest a record in ``phase`` may wait between its own lookups."""
    if phase == HELD:
        return policy.hold_interval
    if phase == MOVING:
        return policy.max_interval
    return max(policy.max_interval, policy.queue_interval)


@settings(max_examples=300, deadline=None)
@given(
    POLICIES, OBSERVATIONS, st.lists(RHYTHMS, min_size=1, max_size=4), UNIFORMS, LATENESS, WAITING
)
def test_any_answers_and_any_learned_state_respect_every_bound(
    policy: PollPolicy,
    answers: list[tuple[str, object]],
    rhythms: list[Rhythm],
    us: list[float],
    late: list[float],
    waiting: list[int],
) -> None:
    """Intervals stay in [initial_delay, the phase's ceiling] (Retry-After aside), never past the
    deadline, and tracking ends by the deadline, whatever the answers and whatever was learned."""
    current = start(policy, 0.0, us[0])
    deadline = policy.deadline
    now = current.due
    assert now <= deadline + _EPS
    assert now >= min(policy.initial_delay, deadline) - _EPS
    # Every interval is at least min(initial_delay, hold_interval) unless the deadline cut
    # it, and the lookup at the deadline is the last: this many steps always suffice.
    bound = int(deadline / min(policy.initial_delay, policy.hold_interval)) + 3
    for n in range(bound):
        kind, value = answers[n % len(answers)]
        rhythm = rhythms[n % len(rhythms)]
        u = us[n % len(us)]
        retry_after: float | None = None
        step: Step
        if kind == "status":
            seen = StatusCode.parse(value)
            learned = learn(policy, rhythm, current, seen, now=now)
            assert 0.0 <= learned.fifo <= 1.0
            step = after_status(
                policy,
                current,
                seen,
                now=now,
                rhythm=learned,
                waiting=waiting[n % len(waiting)],
                u=u,
            )
            ending = status_outcome(policy, seen)
            if ending is not None:
                # A terminal answer ends tracking, even at the deadline.
                assert step.outcome is ending
                return
        elif kind == "not_found":
            step = after_not_found(policy, current, now=now, u=u)
            if step.outcome is Outcome.NOT_FOUND:
                assert now - current.started > policy.not_found_grace
                return
        else:
            retry_after = value if isinstance(value, float) else None
            step = after_fault(policy, current, now=now, retry_after=retry_after, u=u)
        if step.outcome is not None:
            # Only the deadline ends tracking without an answer that says so.
            assert step.outcome is Outcome.TIMED_OUT
            assert now >= deadline - _EPS
            return
        assert step.due is not None
        interval = step.due - now
        assert step.due <= deadline + _EPS, "scheduled past the deadline"
        assert interval > 0
        ceiling = _ceiling(policy, phase_of(step.state.status))
        if retry_after is not None and retry_after > 0:
            ceiling = max(ceiling, min(retry_after, RETRY_AFTER_CAP))
        assert interval <= ceiling * (1 + 1e-9) + _EPS
        if step.due < deadline - _EPS:
            floor = min(policy.initial_delay, ceiling, policy.hold_interval)
            assert interval >= floor * (1 - 1e-9) - _EPS
        current = step.state
        now = step.due + late[n % len(late)]
    raise AssertionError(f"tracking did not end within {bound} lookups")


@settings(max_examples=300, deadline=None)
@given(POLICIES, RHYTHMS, CODES | st.none(), TIMES, st.floats(0.0, 5_000.0), WAITING, UNIFORMS)
def test_cohort_decisions_stay_within_their_bounds(
    policy: PollPolicy,
    rhythm: Rhythm,
    code: int | None,
    started: float,
    age: float,
    waiting: list[int],
    us: list[float],
) -> None:
    """A representative's, a waiting record's and a released record's next lookups: never in
    the past, never past the deadline, within queue_interval (a released one: max_interval)."""
    status = None if code is None else StatusCode.parse(code)
    now = started + age
    seen = None if status is None else now
    state = PollState(started, now, status, 3, seen)
    end = started + policy.deadline
    for due, ceiling in (
        (watch_due(policy, rhythm, state, now=now, waiting=waiting[0], u=us[0]), None),
        (parked_due(policy, state, now=now), policy.queue_interval),
        (release_due(policy, rhythm, state, now=now, u=us[0]), policy.max_interval),
    ):
        assert due <= max(now, end) + _EPS
        assert due >= min(now, end) - _EPS
        if ceiling is not None:
            assert due <= now + ceiling + _EPS
        else:
            assert due <= now + max(policy.max_interval, policy.queue_interval) + _EPS


@settings(max_examples=300, deadline=None)
@given(POLICIES, RHYTHMS, st.lists(st.tuples(CODES, st.floats(0.0, 100.0)), max_size=20))
def test_whatever_is_observed_the_rhythm_stays_sane(
    policy: PollPolicy, rhythm: Rhythm, answers: list[tuple[int, float]]
) -> None:
    """Learning from any answers at any times, from any start, keeps the rhythm a valid value:
    a share, bounded runs in order, and what it changes (a period, a settle time) believable."""
    state = PollState(0.0, 0.0)
    now = 0.0
    for code, gap in answers:
        now += gap
        status = StatusCode.parse(code)
        learned = learn(policy, rhythm, state, status, now=now)
        assert 0.0 <= learned.fifo <= 1.0
        assert len(learned.runs) <= MAX_RUNS
        assert all(w.lo <= w.hi for w in learned.runs)
        if learned.settle != rhythm.settle:
            assert learned.settle is not None
            assert 0.0 <= learned.settle <= 10 * policy.max_interval
        if learned.period != rhythm.period and learned.period is not None:
            assert learned.period >= MIN_PERIOD
        rhythm = learned
        state = PollState(0.0, now, status, 0, now)
