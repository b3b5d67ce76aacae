"""The poller's pure schedule: next delay, terminal decisions, deadline, grace, Retry-After."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omeda_async import Outcome, PollPolicy, StatusCode
from omeda_async._policies import RETRY_AFTER_CAP
from omeda_async._schedule import (
    JITTER_HIGH,
    JITTER_LOW,
    Step,
    after_fault,
    after_not_found,
    after_status,
    backoff_interval,
    first_due,
    jittered,
    poll_interval,
    status_outcome,
)
from omeda_async.testing import Scenario

HELD_CODES = [1, 3, 20, 35, 36, 37]
PENDING = StatusCode.DUPECHECK_RUNNING

policies = st.builds(
    lambda initial, spread, mult, hold, jitter, deadline: PollPolicy(
        initial_delay=initial,
        max_interval=initial * spread,
        multiplier=mult,
        hold_interval=hold,
        jitter=jitter,
        deadline=deadline,
    ),
    st.floats(0.01, 100.0),
    st.floats(1.0, 100.0),
    st.floats(1.0, 4.0),
    st.floats(0.01, 1000.0),
    st.booleans(),
    st.floats(0.01, 10_000.0),
)
uniform = st.floats(0.0, 1.0, exclude_max=True)


def test_backoff_grows_geometrically_to_the_cap() -> None:
    """The nominal interval is initial_delay * multiplier**n, capped at max_interval."""
    policy = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=10.0, jitter=False)
    assert [backoff_interval(policy, n) for n in range(6)] == [2.0, 3.0, 4.5, 6.75, 10.0, 10.0]


def test_backoff_survives_huge_poll_counts() -> None:
    """A transaction polled for ages does not overflow the power: it stays at the cap."""
    policy = PollPolicy(initial_delay=1.0, multiplier=4.0, max_interval=60.0)
    assert backoff_interval(policy, 10_000) == 60.0


def test_jitter_factor_spans_three_quarters_to_five_quarters() -> None:
    """u=0 gives 0.75x, u->1 gives 1.25x the nominal interval (mean-preserving)."""
    assert jittered(8.0, 0.0, floor=0.0, ceiling=100.0) == 8.0 * JITTER_LOW
    assert jittered(8.0, 0.5, floor=0.0, ceiling=100.0) == 8.0
    assert jittered(8.0, 0.999999, floor=0.0, ceiling=100.0) == pytest.approx(8.0 * JITTER_HIGH)


def test_jitter_off_gives_the_nominal_interval() -> None:
    """Without jitter the interval is exactly the nominal one, whatever u is."""
    policy = PollPolicy(initial_delay=2.0, multiplier=2.0, max_interval=60.0, jitter=False)
    assert poll_interval(policy, PENDING, 2, u=0.0) == 8.0
    assert poll_interval(policy, PENDING, 2, u=0.99) == 8.0


def test_jitter_spreads_intervals_within_the_quarter_band() -> None:
    """Mid-range intervals move by up to a quarter either way, so records drift apart."""
    policy = PollPolicy(initial_delay=2.0, multiplier=2.0, max_interval=60.0)
    assert poll_interval(policy, PENDING, 2, u=0.0) == 6.0
    assert poll_interval(policy, PENDING, 2, u=0.5) == 8.0
    assert poll_interval(policy, PENDING, 2, u=0.99) == pytest.approx(9.96)


@given(policies, st.integers(0, 200), uniform)
def test_interval_bounded_by_initial_delay_and_max_interval(
    policy: PollPolicy, unchanged: int, u: float
) -> None:
    """A pending status is polled no sooner than initial_delay and no later than max_interval."""
    interval = poll_interval(policy, PENDING, unchanged, u)
    assert policy.initial_delay <= interval <= policy.max_interval


@given(policies, st.sampled_from(HELD_CODES), st.integers(0, 200), uniform)
def test_held_interval_never_exceeds_hold_interval(
    policy: PollPolicy, code: int, unchanged: int, u: float
) -> None:
    """A held status is polled at hold_interval at most, jitter or not."""
    interval = poll_interval(policy, StatusCode(code), unchanged, u)
    assert min(policy.initial_delay, policy.hold_interval) <= interval <= policy.hold_interval


def test_held_status_uses_hold_interval_not_backoff() -> None:
    """Held codes (a person must act) wait hold_interval, whatever the backoff says."""
    policy = PollPolicy(initial_delay=2.0, max_interval=60.0, hold_interval=300.0, jitter=False)
    for code in HELD_CODES:
        assert poll_interval(policy, StatusCode(code), 0) == 300.0
    assert poll_interval(policy, StatusCode.LOADED_INTO_STAGING, 0) == 2.0


@given(policies, uniform)
def test_first_lookup_after_initial_delay_and_not_past_deadline(
    policy: PollPolicy, u: float
) -> None:
    """The first lookup waits initial_delay (or the whole deadline if that is shorter)."""
    due = first_due(policy, 100.0, u)
    assert due <= 100.0 + policy.deadline
    assert due >= 100.0 + min(policy.initial_delay, policy.deadline)


@given(policies, st.integers(0, 50), uniform, st.floats(0.0, 20_000.0))
def test_never_scheduled_past_the_deadline(
    policy: PollPolicy, unchanged: int, u: float, elapsed: float
) -> None:
    """Whatever was seen, the next lookup is never due after started + deadline."""
    for step in (
        after_status(policy, PENDING, unchanged=unchanged, now=elapsed, started=0.0, u=u),
        after_not_found(policy, None, unchanged=unchanged, now=elapsed, started=0.0, u=u),
        after_fault(
            policy, None, unchanged=unchanged, now=elapsed, started=0.0, retry_after=500.0, u=u
        ),
    ):
        if step.outcome is None:
            assert step.due is not None
            assert elapsed < step.due <= policy.deadline


@given(policies, uniform)
def test_change_goes_back_to_initial_delay(policy: PollPolicy, u: float) -> None:
    """After a status change (unchanged=0) the next lookup is at the initial delay band."""
    step = after_status(policy, PENDING, unchanged=0, now=0.0, started=0.0, u=u)
    assert step.due is not None
    expected = min(policy.initial_delay, policy.deadline)
    if policy.jitter:
        assert expected <= step.due <= min(policy.initial_delay * JITTER_HIGH, policy.deadline)
    else:
        assert step.due == expected


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (100, Outcome.SUCCEEDED),
        (101, Outcome.SUCCEEDED),
        (98, Outcome.PARTIAL),
        (99, Outcome.PARTIAL),
        (2, Outcome.FAILED),
        (6, Outcome.FAILED),
        (9, Outcome.FAILED),
        (110, Outcome.FAILED),
    ],
)
def test_default_terminal_codes_end_with_their_outcome(code: int, outcome: Outcome) -> None:
    """Omeda's final codes end tracking with the outcome the status table gives them."""
    assert status_outcome(PollPolicy(), StatusCode(code)) is outcome
    assert after_status(PollPolicy(), StatusCode(code), unchanged=0, now=1, started=0) == Step(
        outcome
    )


@pytest.mark.parametrize("code", [0, 7, 4, 5, 8, 10, 19, 21, 28, 29, 30, 31, 49, 50, 51, 52, 90])
def test_pending_codes_keep_polling(code: int) -> None:
    """Codes still moving through the pipeline do not end tracking."""
    assert status_outcome(PollPolicy(), StatusCode(code)) is None


@pytest.mark.parametrize("code", HELD_CODES)
def test_held_codes_keep_polling_unless_stop_on_hold(code: int) -> None:
    """Held codes are polled slowly by default and end HELD with stop_on_hold."""
    assert status_outcome(PollPolicy(), StatusCode(code)) is None
    assert status_outcome(PollPolicy(stop_on_hold=True), StatusCode(code)) is Outcome.HELD


def test_unknown_code_keeps_polling() -> None:
    """A code Omeda adds later counts as pending: it never ends tracking by itself."""
    assert status_outcome(PollPolicy(), StatusCode(42)) is None


def test_custom_terminal_replaces_the_default_set() -> None:
    """terminal= decides which codes end tracking; a dropped default code keeps polling."""
    policy = PollPolicy(terminal={100, 101, 90})
    assert status_outcome(policy, StatusCode(100)) is Outcome.SUCCEEDED
    assert status_outcome(policy, StatusCode(110)) is None


def test_custom_terminal_pending_code_ends_with_its_own_outcome() -> None:
    """A pending or held code made terminal ends PENDING/HELD, never a success not reached."""
    policy = PollPolicy(terminal={90, 35})
    assert status_outcome(policy, StatusCode(90)) is Outcome.PENDING
    assert status_outcome(policy, StatusCode(35)) is Outcome.HELD


def test_non_terminal_answer_at_the_deadline_times_out() -> None:
    """The lookup at the deadline is the last; a pending answer then ends TIMED_OUT."""
    policy = PollPolicy(deadline=100.0)
    assert after_status(policy, PENDING, unchanged=3, now=100.0, started=0.0) == Step(
        Outcome.TIMED_OUT
    )


def test_terminal_answer_at_the_deadline_wins() -> None:
    """An answer that reached a terminal code at the deadline is that outcome, not TIMED_OUT."""
    policy = PollPolicy(deadline=100.0)
    step = after_status(policy, StatusCode(100), unchanged=0, now=100.0, started=0.0)
    assert step == Step(Outcome.SUCCEEDED)


def test_last_lookup_lands_exactly_on_the_deadline() -> None:
    """Near the deadline the next lookup is clamped to it, so the deadline is checked once more."""
    policy = PollPolicy(deadline=100.0, initial_delay=2.0, max_interval=60.0, jitter=False)
    step = after_status(policy, PENDING, unchanged=10, now=90.0, started=0.0)
    assert step == Step(None, 100.0)


def test_not_found_within_grace_keeps_polling() -> None:
    """A 404 within not_found_grace means "not visible yet": look again later."""
    policy = PollPolicy(not_found_grace=60.0, jitter=False)
    step = after_not_found(policy, None, unchanged=1, now=160.0, started=100.0)
    assert step.outcome is None
    assert step.due == 163.0


def test_not_found_after_grace_ends_not_found() -> None:
    """A 404 past not_found_grace means unknown or expired: NOT_FOUND."""
    policy = PollPolicy(not_found_grace=60.0)
    step = after_not_found(policy, None, unchanged=1, now=160.5, started=100.0)
    assert step == Step(Outcome.NOT_FOUND)


def test_not_found_after_a_status_past_grace_is_not_found() -> None:
    """A transaction that vanishes after being seen (expired data) also ends NOT_FOUND."""
    policy = PollPolicy(not_found_grace=10.0)
    step = after_not_found(policy, PENDING, unchanged=0, now=50.0, started=0.0)
    assert step.outcome is Outcome.NOT_FOUND


def test_fault_never_ends_tracking_before_the_deadline() -> None:
    """A 429/5xx/transport fault only delays the next lookup."""
    policy = PollPolicy(deadline=1000.0, jitter=False)
    for unchanged in range(30):
        step = after_fault(policy, PENDING, unchanged=unchanged, now=500.0, started=0.0)
        assert step.outcome is None


def test_fault_at_the_deadline_times_out() -> None:
    """A lookup failing at the deadline ends TIMED_OUT (only the deadline ends a faulty one)."""
    policy = PollPolicy(deadline=100.0)
    assert after_fault(policy, None, unchanged=1, now=100.0, started=0.0) == Step(Outcome.TIMED_OUT)


def test_retry_after_pushes_the_next_lookup_out() -> None:
    """Retry-After longer than the backoff wins: the next lookup waits that long."""
    policy = PollPolicy(initial_delay=2.0, jitter=False)
    step = after_fault(policy, None, unchanged=1, now=10.0, started=0.0, retry_after=45.0)
    assert step.due == 55.0


def test_retry_after_shorter_than_backoff_keeps_the_backoff() -> None:
    """A short Retry-After is a minimum: the usual backoff still applies."""
    policy = PollPolicy(initial_delay=2.0, multiplier=2.0, jitter=False)
    step = after_fault(policy, None, unchanged=3, now=10.0, started=0.0, retry_after=1.0)
    assert step.due == 26.0


def test_retry_after_is_capped() -> None:
    """An absurd Retry-After is capped at RETRY_AFTER_CAP seconds."""
    policy = PollPolicy(jitter=False)
    step = after_fault(policy, None, unchanged=1, now=0.0, started=0.0, retry_after=86_400.0)
    assert step.due == RETRY_AFTER_CAP


def test_retry_after_never_passes_the_deadline() -> None:
    """Even a Retry-After is clamped to the deadline, where the last lookup happens."""
    policy = PollPolicy(deadline=100.0, jitter=False)
    step = after_fault(policy, None, unchanged=1, now=90.0, started=0.0, retry_after=60.0)
    assert step.due == 100.0


def test_faults_back_off_like_unchanged_lookups() -> None:
    """Consecutive faults grow the interval, so a failing server is not hammered."""
    policy = PollPolicy(initial_delay=1.0, multiplier=2.0, max_interval=30.0, jitter=False)
    delays = [after_fault(policy, None, unchanged=n, now=0.0, started=0.0).due for n in range(1, 7)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


@pytest.mark.parametrize("unchanged", [0, 1, 50])
def test_jitter_never_piles_records_onto_a_bound(unchanged: int) -> None:
    """Distinct draws give distinct intervals, even at initial_delay and at the cap."""
    policy = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=60.0)
    draws = [i / 10 for i in range(10)]
    intervals = [poll_interval(policy, None, unchanged, u) for u in draws]
    assert len(set(intervals)) == len(draws)
    assert all(policy.initial_delay <= i <= policy.max_interval for i in intervals)


def _walk(policy: PollPolicy, path: Scenario, rng: random.Random) -> tuple[int, float]:
    """(lookups, seconds from completion to report) of the pure schedule on a fake's path."""
    now, lookups, previous, unchanged = first_due(policy, 0.0, rng.random()), 0, None, 0
    while True:
        lookups += 1
        status = path.status_at(now)
        unchanged = 0 if status != previous else unchanged + 1
        previous = status
        step = after_status(
            policy, status, unchanged=unchanged, now=now, started=0.0, u=rng.random()
        )
        if step.due is None:
            return lookups, now - path.total_seconds
        now = step.due


def test_bulk_preset_spends_fewer_lookups_and_still_reports_within_a_minute() -> None:
    """PollPolicy.bulk() on FakeOmeda's paths: fewer lookups than the defaults, prompt reports.

    Records take 1-30 minutes over the fake's dozen-code paths; the defaults
    go back to 2 s at every code, the bulk preset to 20 s.
    """
    rng = random.Random(3)
    paths = [
        Scenario.named(name).jittered(rng, rng.uniform(60.0, 1800.0))
        for name in ("new_customer", "existing_customer", "partial") * 40
    ]
    default = [_walk(PollPolicy(), path, rng) for path in paths]
    bulk = [_walk(PollPolicy.bulk(), path, rng) for path in paths]
    assert sum(n for n, _ in bulk) < 0.6 * sum(n for n, _ in default)
    assert max(delay for _, delay in bulk) <= PollPolicy.bulk().max_interval * JITTER_HIGH
    assert (PollPolicy.bulk().initial_delay, PollPolicy.bulk().multiplier) == (20.0, 1.5)
