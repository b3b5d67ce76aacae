"""Schedule properties over whole sequences of lookups, driven as the poller drives them.

tests/test_schedule.py checks each decision on its own; here a loop feeds the
pure functions a generated sequence of answers (statuses, 404s, faults with
and without Retry-After, late wake-ups), keeping ``unchanged`` exactly as
``TransactionPoller`` does, and checks every bound at every step and that the
loop always ends by the deadline.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from omeda_async import Outcome, PollPolicy, StatusCode
from omeda_async._policies import RETRY_AFTER_CAP
from omeda_async._schedule import (
    Step,
    after_fault,
    after_not_found,
    after_status,
    first_due,
    status_outcome,
)

POLICIES = st.builds(
    lambda initial, spread, mult, hold, jitter, deadline, grace, stop: PollPolicy(
        initial_delay=initial,
        max_interval=initial * spread,
        multiplier=mult,
        hold_interval=hold,
        jitter=jitter,
        deadline=deadline,
        not_found_grace=grace,
        stop_on_hold=stop,
    ),
    st.floats(0.5, 50.0),
    st.floats(1.0, 50.0),
    st.floats(1.0, 4.0),
    st.floats(0.5, 500.0),
    st.booleans(),
    st.floats(0.1, 1_000.0),
    st.floats(0.0, 600.0),
    st.booleans(),
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
_EPS = 1e-9


@settings(max_examples=300, deadline=None)
@given(POLICIES, OBSERVATIONS, UNIFORMS, LATENESS)
def test_any_sequence_of_answers_respects_every_bound(
    policy: PollPolicy, answers: list[tuple[str, object]], us: list[float], late: list[float]
) -> None:
    """Intervals stay in [initial_delay, ceiling] (Retry-After aside), never past the deadline,
    and tracking ends by the deadline whatever the answers (they repeat if they run out)."""
    started = 0.0
    deadline = started + policy.deadline
    now = first_due(policy, started, us[0])
    assert now <= deadline + _EPS
    assert now >= min(policy.initial_delay, policy.hold_interval, policy.deadline) - _EPS
    status: StatusCode | None = None
    unchanged = 0
    shortest = min(policy.initial_delay, policy.hold_interval)
    # Every scheduled interval is at least `shortest` unless the deadline cut it,
    # and the lookup at the deadline is the last: this many steps always suffice.
    bound = int(policy.deadline / shortest) + 3
    for n in range(bound):
        kind, value = answers[n % len(answers)]
        u = us[n % len(us)]
        changed = False
        retry_after: float | None = None
        step: Step
        if kind == "status":
            seen = StatusCode.parse(value)
            changed = status is None or seen != status
            unchanged = 0 if changed else unchanged + 1
            status = seen
            step = after_status(policy, seen, unchanged=unchanged, now=now, started=started, u=u)
            ending = status_outcome(policy, seen)
            if ending is not None:
                # A terminal answer ends tracking, even at the deadline.
                assert step.outcome is ending
                return
        elif kind == "not_found":
            unchanged += 1
            step = after_not_found(
                policy, status, unchanged=unchanged, now=now, started=started, u=u
            )
            if step.outcome is Outcome.NOT_FOUND:
                assert now - started > policy.not_found_grace
                return
        else:
            unchanged += 1
            retry_after = value if isinstance(value, float) else None
            step = after_fault(
                policy,
                status,
                unchanged=unchanged,
                now=now,
                started=started,
                retry_after=retry_after,
                u=u,
            )
        if step.outcome is not None:
            # Only the deadline ends tracking without an answer that says so.
            assert step.outcome is Outcome.TIMED_OUT
            assert now >= deadline - _EPS
            return
        assert step.due is not None
        interval = step.due - now
        assert step.due <= deadline + _EPS, "scheduled past the deadline"
        assert interval > 0
        held = status is not None and status.is_held
        ceiling = policy.hold_interval if held else policy.max_interval
        if retry_after is not None and retry_after > 0:
            ceiling = max(ceiling, min(retry_after, RETRY_AFTER_CAP))
        assert interval <= ceiling * (1 + 1e-9) + _EPS
        if step.due < deadline - _EPS:
            floor = min(policy.initial_delay, ceiling)
            assert interval >= floor * (1 - 1e-9) - _EPS
            if changed and not held:
                # A change starts again at initial_delay (jitter: its upper band).
                top = policy.initial_delay * (1.25 if policy.jitter else 1.0)
                assert interval <= top * (1 + 1e-9) + _EPS
        now = step.due + late[n % len(late)]
    raise AssertionError(f"tracking did not end within {bound} lookups")
