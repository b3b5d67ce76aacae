"""The poller's pure schedule: next delay, terminal decisions, deadline, grace, Retry-After."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omeda_async import (
    MalformedResponseError,
    NotFoundError,
    OmedaError,
    Outcome,
    PollPolicy,
    RateLimitedError,
    ServerError,
    StatusCode,
    TransportError,
)
from omeda_async._policies import RETRY_AFTER_CAP
from omeda_async._rhythm import RUN_SPREAD, Rhythm, Window, next_window
from omeda_async._schedule import (
    HELD,
    JITTER_HIGH,
    JITTER_LOW,
    MOVING,
    QUEUED,
    UNSEEN,
    PollState,
    Step,
    after_failed_lookup,
    after_fault,
    after_not_found,
    after_status,
    backoff_interval,
    first_due,
    jittered,
    learn,
    parked_due,
    phase_of,
    poll_interval,
    release_due,
    start,
    status_outcome,
    waits_on_cohort,
    watch_due,
)

HELD_CODES = [1, 3, 20, 35, 36, 37]
PENDING = StatusCode.DUPECHECK_RUNNING
QUEUED_0 = StatusCode.LOADED_INTO_STAGING
PLAIN = PollPolicy(initial_delay=2.0, multiplier=2.0, max_interval=60.0, jitter=False)


def state(
    status: int | None = None,
    *,
    started: float = 0.0,
    unchanged: int = 0,
    seen: float | None = None,
    due: float = 0.0,
) -> PollState:
    """A PollState in a line."""
    code = None if status is None else StatusCode(status)
    return PollState(started, due, code, unchanged, seen)


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
    before = state(29, unchanged=unchanged)
    for step in (
        after_status(policy, before, PENDING, now=elapsed, u=u),
        after_not_found(policy, before, now=elapsed, u=u),
        after_fault(policy, before, now=elapsed, retry_after=500.0, u=u),
    ):
        if step.outcome is None:
            assert step.due is not None
            assert elapsed < step.due <= policy.deadline


def test_the_ramp_goes_on_through_the_codes_of_a_phase() -> None:
    """Moving from code to code (29 -> 30 -> 49) does not start the ramp again."""
    before = state(29, unchanged=2)
    step = after_status(PLAIN, before, StatusCode(30), now=100.0)
    assert step.state.unchanged == 3
    assert step.due == 100.0 + 16.0


def test_the_first_answer_continues_the_first_lookups_ramp() -> None:
    """The first lookup came initial_delay after tracking; the next one comes a step later."""
    step = after_status(PLAIN, state(), StatusCode(29), now=2.0)
    assert step.state == PollState(0.0, 6.0, StatusCode(29), 1, 2.0)


@pytest.mark.parametrize(
    ("before", "after"), [(29, 35), (35, 29), (0, 29)], ids=["to held", "from held", "departs"]
)
def test_a_new_phase_starts_the_ramp_again(before: int, after: int) -> None:
    """Held <-> moving, and (where runs are believed) leaving the queue, start at initial_delay."""
    step = after_status(
        PLAIN, state(before, unchanged=5), StatusCode(after), now=50.0, rhythm=Rhythm()
    )
    assert step.state.unchanged == 0


def test_leaving_the_queue_without_runs_is_one_more_code() -> None:
    """Where records do not leave the queue in runs, 7 -> 8 is a code on the way, not a start."""
    spread = Rhythm(fifo=0.2)
    step = after_status(PLAIN, state(7, unchanged=4), StatusCode(8), now=50.0, rhythm=spread)
    assert step.state.unchanged == 5


@pytest.mark.parametrize(
    ("code", "phase"),
    [
        (None, UNSEEN),
        (0, QUEUED),
        (7, QUEUED),
        (29, MOVING),
        (100, MOVING),
        (35, HELD),
        (42, MOVING),
    ],
)
def test_phases(code: int | None, phase: int) -> None:
    """Queue codes 0 and 7, held codes, and everything else (unknown codes too) moves."""
    assert phase_of(None if code is None else StatusCode(code)) == phase


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
    step = after_status(PollPolicy(), state(), StatusCode(code), now=1.0)
    assert step.outcome is outcome
    assert step.due is None
    assert step.state.status == code


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
    step = after_status(policy, state(29, unchanged=3), PENDING, now=100.0)
    assert step.outcome is Outcome.TIMED_OUT


def test_terminal_answer_at_the_deadline_wins() -> None:
    """An answer that reached a terminal code at the deadline is that outcome, not TIMED_OUT."""
    policy = PollPolicy(deadline=100.0)
    step = after_status(policy, state(29), StatusCode(100), now=100.0)
    assert step.outcome is Outcome.SUCCEEDED


def test_last_lookup_lands_exactly_on_the_deadline() -> None:
    """Near the deadline the next lookup is clamped to it, so the deadline is checked once more."""
    policy = PollPolicy(deadline=100.0, initial_delay=2.0, max_interval=60.0, jitter=False)
    step = after_status(policy, state(29, unchanged=10), PENDING, now=90.0)
    assert step == Step(None, PollState(0.0, 100.0, PENDING, 11, 90.0))


def test_not_found_within_grace_keeps_polling() -> None:
    """A 404 within not_found_grace means "not visible yet": look again later."""
    policy = PollPolicy(not_found_grace=60.0, jitter=False)
    step = after_not_found(policy, state(started=100.0), now=160.0)
    assert step.outcome is None
    assert step.due == 163.0
    assert step.state.seen == 160.0


def test_not_found_after_grace_ends_not_found() -> None:
    """A 404 past not_found_grace means unknown or expired: NOT_FOUND."""
    policy = PollPolicy(not_found_grace=60.0)
    step = after_not_found(policy, state(started=100.0), now=160.5)
    assert step.outcome is Outcome.NOT_FOUND


def test_not_found_after_a_status_past_grace_is_not_found() -> None:
    """A transaction that vanishes after being seen (expired data) also ends NOT_FOUND."""
    policy = PollPolicy(not_found_grace=10.0)
    step = after_not_found(policy, state(29), now=50.0)
    assert step.outcome is Outcome.NOT_FOUND


def test_fault_never_ends_tracking_before_the_deadline() -> None:
    """A 429/5xx/transport fault only delays the next lookup."""
    policy = PollPolicy(deadline=1000.0, jitter=False)
    for unchanged in range(30):
        step = after_fault(policy, state(29, unchanged=unchanged), now=500.0)
        assert step.outcome is None


def test_fault_at_the_deadline_times_out() -> None:
    """A lookup failing at the deadline ends TIMED_OUT (only the deadline ends a faulty one)."""
    policy = PollPolicy(deadline=100.0)
    assert after_fault(policy, state(), now=100.0).outcome is Outcome.TIMED_OUT


def test_retry_after_pushes_the_next_lookup_out() -> None:
    """Retry-After longer than the backoff wins: the next lookup waits that long."""
    policy = PollPolicy(initial_delay=2.0, jitter=False)
    step = after_fault(policy, state(), now=10.0, retry_after=45.0)
    assert step.due == 55.0


def test_retry_after_shorter_than_backoff_keeps_the_backoff() -> None:
    """A short Retry-After is a minimum: the usual backoff still applies."""
    policy = PollPolicy(initial_delay=2.0, multiplier=2.0, jitter=False)
    step = after_fault(policy, state(unchanged=2), now=10.0, retry_after=1.0)
    assert step.due == 26.0


def test_retry_after_is_capped() -> None:
    """An absurd Retry-After is capped at RETRY_AFTER_CAP seconds."""
    policy = PollPolicy(jitter=False)
    step = after_fault(policy, state(), now=0.0, retry_after=86_400.0)
    assert step.due == RETRY_AFTER_CAP


def test_retry_after_never_passes_the_deadline() -> None:
    """Even a Retry-After is clamped to the deadline, where the last lookup happens."""
    policy = PollPolicy(deadline=100.0, jitter=False)
    step = after_fault(policy, state(), now=90.0, retry_after=60.0)
    assert step.due == 100.0


@pytest.mark.parametrize(
    ("error", "retry_after"),
    [
        (RateLimitedError("busy", status=429, retry_after=45.0), 45.0),
        (ServerError("unavailable", status=503, retry_after=30.0), 30.0),
        (ServerError("broken", status=500), None),
        (TransportError("connection dropped", sent=True), None),
        (MalformedResponseError("cut JSON", status=200), None),
    ],
)
def test_a_failed_lookup_is_a_fault_with_the_servers_retry_after(
    error: OmedaError, retry_after: float | None
) -> None:
    """Every failure but a 404 is the same fault; a 429's or 5xx's Retry-After rides along."""
    policy = PollPolicy(initial_delay=2.0, jitter=False)
    before = state(29, started=0.0)
    expected = after_fault(policy, before, now=10.0, retry_after=retry_after)
    assert after_failed_lookup(policy, before, error, now=10.0) == expected


def test_a_failed_lookup_answering_404_waits_out_the_grace() -> None:
    """A 404 is read as not visible yet, then as gone: after_not_found, not a fault."""
    policy = PollPolicy(not_found_grace=60.0, jitter=False)
    missing = NotFoundError("No status found", status=404)
    for now in (130.0, 160.5):
        before = state(started=100.0)
        expected = after_not_found(policy, before, now=now)
        assert after_failed_lookup(policy, before, missing, now=now) == expected
    late = after_failed_lookup(policy, state(started=100.0), missing, now=160.5)
    assert late.outcome is Outcome.NOT_FOUND


def test_faults_back_off_like_unchanged_lookups() -> None:
    """Consecutive faults grow the interval, so a failing server is not hammered."""
    policy = PollPolicy(initial_delay=1.0, multiplier=2.0, max_interval=30.0, jitter=False)
    dues = []
    current = state()
    for _ in range(6):
        step = after_fault(policy, current, now=0.0)
        dues.append(step.due)
        current = step.state
    assert dues == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


@pytest.mark.parametrize("unchanged", [0, 1, 50])
def test_jitter_never_piles_records_onto_a_bound(unchanged: int) -> None:
    """Distinct draws give distinct intervals, even at initial_delay and at the cap."""
    policy = PollPolicy(initial_delay=2.0, multiplier=1.5, max_interval=60.0)
    draws = [i / 10 for i in range(10)]
    intervals = [poll_interval(policy, None, unchanged, u) for u in draws]
    assert len(set(intervals)) == len(draws)
    assert all(policy.initial_delay <= i <= policy.max_interval for i in intervals)


# -- the state value --------------------------------------------------------------------


def test_poll_state_round_trips_through_json_on_another_clock() -> None:
    """A store keeps the state as JSON in its own time; another worker reads it on its clock."""
    original = PollState(10.0, 70.0, StatusCode(29), 3, 40.0)
    text = original.to_json(delta=1_000.0)
    assert text == {"started": 1010.0, "due": 1070.0, "status": 29, "unchanged": 3, "seen": 1040.0}
    assert PollState.from_json(text, delta=-1_000.0) == original
    assert PollState.from_json(start(PLAIN, 5.0).to_json()) == start(PLAIN, 5.0)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"started": "x", "due": 1},
        {"started": 1, "due": float("nan")},
        {"started": 1, "due": 2, "status": "?"},
    ],
)
def test_poll_state_from_odd_json_is_refused(data: dict[str, object]) -> None:
    """What a store hands back is checked: nothing odd becomes a schedule."""
    with pytest.raises(ValueError, match="not a poll state"):
        PollState.from_json(data)


# -- records that leave the queue in runs -------------------------------------------------

RUNS = Rhythm(
    runs=(Window(1000.0, 1010.0), Window(1900.0, 1910.0), Window(2800.0, 2810.0)), period=900.0
)


def test_a_queued_record_sleeps_until_its_run_then_looks_within_it() -> None:
    """With the cadence known, a lone queued record waits for the run, not every minute."""
    queued = state(0, started=3000.0, unchanged=1, seen=3002.0)
    step = after_status(PLAIN, queued, QUEUED_0, now=3002.0, rhythm=RUNS)
    # The next run shows around 3700-3710 (one period after 2800-2810): a look halfway
    # there (the period may be a multiple of the true one), then at the window.
    window = next_window(RUNS, queued=3000.0, now=3002.0)
    assert window is not None
    assert window.lo < 3700.0 < 3710.0 < window.hi
    assert step.due == pytest.approx(3002.0 + 450.0)
    nearer = after_status(PLAIN, queued, QUEUED_0, now=3600.0, rhythm=RUNS)
    assert nearer.due == pytest.approx(window.lo)
    within = after_status(PLAIN, queued, QUEUED_0, now=3695.0, rhythm=RUNS)
    assert within.due is not None
    assert within.due - 3695.0 <= (window.hi - window.lo) / 2


def test_a_record_queued_during_a_run_waits_for_the_next_one() -> None:
    """A run takes what was queued before it: one queued after it started waits a period."""
    queued = state(0, started=2825.0, seen=2827.0)
    step = after_status(PLAIN, queued, QUEUED_0, now=2827.0, rhythm=RUNS)
    assert step.due is not None
    assert step.due >= 2827.0 + 60.0


def test_a_late_run_falls_back_to_the_backoff() -> None:
    """Past the window with the record still queued: the plain backoff, never a long sleep."""
    queued = state(0, started=3000.0, unchanged=6, seen=3740.0)
    step = after_status(PLAIN, queued, QUEUED_0, now=3740.0, rhythm=RUNS)
    assert step.due == 3740.0 + 60.0


def test_a_record_taken_by_the_last_run_is_looked_up_when_the_run_is_done() -> None:
    """Moving after its run showed: next look when the run's records are usually done."""
    rhythm = RUNS._replace(frontier=2800.0, frontier_at=2810.0, settle=40.0)
    moving = state(29, started=2500.0, unchanged=0, seen=2812.0)
    step = after_status(PLAIN, moving, StatusCode(30), now=2812.0, rhythm=rhythm, u=0.5)
    assert step.due == pytest.approx(2850.0)


def test_a_moving_record_is_never_left_longer_than_max_interval() -> None:
    """However long a run is thought to take, a moving record is looked up within max_interval."""
    rhythm = RUNS._replace(frontier=2800.0, frontier_at=2810.0, settle=500.0)
    step = after_status(PLAIN, state(29, started=2500.0), StatusCode(30), now=2812.0, rhythm=rhythm)
    assert step.due == 2812.0 + 60.0


def test_release_waits_for_the_run_then_never_past_max_interval() -> None:
    """A record freed by a run is looked up when the run is usually done (settle)."""
    rhythm = Rhythm(frontier=100.0, frontier_at=110.0, settle=35.0)
    assert release_due(PLAIN, rhythm, state(started=50.0), now=111.0) == pytest.approx(145.0)
    assert release_due(PLAIN, rhythm, state(started=50.0), now=200.0) == 200.0
    # Nothing learned yet: half of max_interval after the run showed.
    assert release_due(PLAIN, Rhythm(frontier=100.0, frontier_at=110.0), state(), now=111.0) == (
        pytest.approx(140.0)
    )
    # A clock that jumped back: still within max_interval.
    far = Rhythm(frontier=100.0, frontier_at=10_000.0, settle=35.0)
    assert release_due(PLAIN, far, state(), now=111.0) == 171.0


def test_who_waits_on_a_cohort() -> None:
    """Queued (or never looked up) records beyond the frontier, while runs are believed."""
    rhythm = Rhythm(frontier=100.0)
    assert waits_on_cohort(PLAIN, rhythm, state(0, started=150.0, seen=152.0))
    assert waits_on_cohort(PLAIN, rhythm, state(started=150.0))
    assert not waits_on_cohort(PLAIN, rhythm, state(0, started=50.0, seen=52.0))  # its run came
    assert not waits_on_cohort(PLAIN, rhythm, state(29, started=150.0))
    assert not waits_on_cohort(PLAIN, rhythm, state(started=150.0, seen=152.0))  # a 404
    assert not waits_on_cohort(PLAIN, rhythm._replace(fifo=0.5), state(0, started=150.0))
    assert not waits_on_cohort(attrs.evolve(PLAIN, learn=False), rhythm, state(started=150.0))


def test_a_representative_looks_more_often_the_more_records_wait_on_it() -> None:
    """Its lookups are shared: 1,000 waiting records make it look every few seconds."""
    alone = watch_due(PLAIN, Rhythm(), state(0, unchanged=9, seen=100.0), now=100.0, waiting=1)
    crowd = watch_due(PLAIN, Rhythm(), state(0, unchanged=9, seen=100.0), now=100.0, waiting=1000)
    assert alone == 160.0
    assert crowd == pytest.approx(100.0 + 60.0 * 4 / 1000**0.5)
    # Made representative before its first lookup: that first lookup, as usual.
    assert watch_due(PLAIN, Rhythm(), state(started=5.0), now=6.0, waiting=50) == 7.0


def test_a_waiting_record_is_still_looked_up_every_queue_interval() -> None:
    """Behind its representative, a record has a ceiling of its own (the deadline permitting)."""
    policy = PollPolicy(queue_interval=900.0, deadline=7200.0)
    assert parked_due(policy, state(started=0.0), now=100.0) == 1000.0
    assert parked_due(policy, state(started=0.0), now=7000.0) == 7200.0


# -- what a lookup teaches ---------------------------------------------------------------


def test_a_departure_moves_the_frontier_and_pins_the_run() -> None:
    """Seen queued at 100, out at 105: everything queued before the run (which began after
    100 - RUN_SPREAD) has left, if runs hold."""
    learned = learn(PLAIN, Rhythm(), state(0, started=10.0, seen=100.0), StatusCode(29), now=105.0)
    assert (learned.frontier, learned.frontier_at) == (100.0 - RUN_SPREAD, 105.0)
    assert learned.runs == (Window(100.0, 105.0),)
    assert learned.longest_wait == 90.0


def test_a_record_out_before_its_run_confirms_runs_and_one_still_queued_contradicts() -> None:
    """Queued before the frontier: out after the run confirms, still at 0 past it contradicts."""
    rhythm = Rhythm(fifo=0.95, frontier=100.0, frontier_at=105.0, zero=True)
    out = learn(PLAIN, rhythm, state(0, started=50.0, seen=60.0), StatusCode(29), now=140.0)
    still = learn(PLAIN, rhythm, state(0, started=50.0, seen=60.0), QUEUED_0, now=140.0)
    assert out.fifo > rhythm.fifo
    assert still.fifo < rhythm.fifo
    # Too soon after the run to tell (a run takes its records in order): nothing learned.
    assert learn(PLAIN, rhythm, state(0, started=50.0, seen=60.0), QUEUED_0, now=110.0) == rhythm
    # Where it is not known that records wait at 0, a first 7 may be a run's record on its
    # way out or one waiting: nothing learned either.
    unsure = rhythm._replace(zero=False)
    assert learn(PLAIN, unsure, state(started=50.0), StatusCode(7), now=140.0).fifo == unsure.fifo


def test_where_records_wait_at_0_a_7_is_on_the_way_out() -> None:
    """Seeing a 0 teaches that this brand's records wait there; a 7 then means a run took it."""
    learned = learn(PLAIN, Rhythm(), state(started=10.0), QUEUED_0, now=12.0)
    assert learned.zero
    out = learn(PLAIN, learned, state(0, started=10.0, seen=100.0), StatusCode(7), now=103.0)
    assert out.frontier == 100.0 - RUN_SPREAD
    # A 7 and then a later code is no second departure.
    again = learn(PLAIN, out, state(7, started=10.0, seen=103.0), StatusCode(29), now=200.0)
    assert again.frontier == out.frontier
    # And a 7 is polled as a moving record is, not as a queued one.
    step = after_status(
        PLAIN, state(0, unchanged=4, seen=100.0), StatusCode(7), now=103.0, rhythm=learned
    )
    assert step.state.unchanged == 0


def test_nothing_is_learned_without_learning() -> None:
    """learn=False: the rhythm is never changed."""
    policy = attrs.evolve(PLAIN, learn=False)
    rhythm = Rhythm()
    assert learn(policy, rhythm, state(0, seen=100.0), StatusCode(29), now=105.0) is rhythm
