"""The row's schedule and the poller's rules: a takeover continues where the last lookup left it."""

from __future__ import annotations

from omeda_async import NotFoundError, Outcome, PollPolicy, RateLimitedError, StatusCode
from omeda_async.postgres._schedule_state import (
    Schedule,
    after_answer,
    after_failed_lookup,
    first_lookup,
)

POLICY = PollPolicy(initial_delay=2, multiplier=2, max_interval=60, jitter=False, deadline=600)


def test_an_unchanged_answer_backs_off_from_where_the_row_left_it() -> None:
    """The row's unchanged count is the backoff's exponent: another worker continues it."""
    state = Schedule(started=1000.0, status=StatusCode(0), unchanged=2, seen=1010.0)
    decision = after_answer(POLICY, state, StatusCode(0), now=1020.0, u=0.5)
    assert (decision.outcome, decision.changed) == (None, False)
    assert decision.state == Schedule(1000.0, StatusCode(0), 3, 1020.0)
    assert decision.due == 1020.0 + 2 * 2**3


def test_a_new_phase_starts_the_ramp_again_and_a_new_code_is_recorded() -> None:
    """A code of another phase resets the count; any new code is a change (in the history)."""
    state = Schedule(started=1000.0, status=StatusCode(30), unchanged=4)
    moving_on = after_answer(POLICY, state, StatusCode(50), now=1100.0, u=0.5)
    assert moving_on.changed
    assert moving_on.state.unchanged == 5  # within a phase the ramp goes on
    back_to_moving = after_answer(
        POLICY, Schedule(1000.0, StatusCode(35), 4), StatusCode(50), now=1100.0, u=0.5
    )
    assert back_to_moving.state.unchanged == 0
    assert back_to_moving.due == 1102.0


def test_a_terminal_code_ends_it_and_the_deadline_times_it_out() -> None:
    """Outcomes come from the poller's own rules."""
    state = Schedule(started=1000.0, status=StatusCode(0))
    assert after_answer(POLICY, state, StatusCode(100), now=1050.0, u=0.5).outcome is (
        Outcome.SUCCEEDED
    )
    late = after_answer(POLICY, state, StatusCode(0), now=1600.0, u=0.5)
    assert late.outcome is Outcome.TIMED_OUT


def test_faults_back_off_and_honour_retry_after_and_404s_wait_out_the_grace() -> None:
    """A failed lookup never ends tracking; a 404 does only after the grace."""
    state = Schedule(started=1000.0, status=StatusCode(0), unchanged=0)
    busy = RateLimitedError("slow down", status=429, retry_after=30.0)
    fault = after_failed_lookup(POLICY, state, busy, now=1010.0, u=0.5)
    assert (fault.outcome, fault.due, fault.state.unchanged) == (None, 1040.0, 1)
    missing = NotFoundError("no status", status=404)
    early = after_failed_lookup(POLICY, Schedule(started=1000.0), missing, now=1010.0, u=0.5)
    assert early.outcome is None
    gone = after_failed_lookup(POLICY, Schedule(started=1000.0), missing, now=1100.0, u=0.5)
    assert gone.outcome is Outcome.NOT_FOUND


def test_the_first_lookup_is_initial_delay_after_acceptance() -> None:
    """Whoever claims a new row first looks it up initial_delay after it was accepted."""
    assert first_lookup(POLICY, 1000.0, 0.5) == 1002.0
