"""What the poller learns about a brand's queue: runs, their period, how long they take."""

from __future__ import annotations

import json
import math
import time

import pytest

from omeda_async import ScaledClock, StatusCode, SystemClock
from omeda_async._rhythm import (
    FIFO_BELIEF,
    MAX_RUNS,
    MIN_PERIOD,
    RUN_SPREAD,
    Rhythm,
    RhythmMemory,
    Window,
    after_departure,
    after_evidence,
    after_settled,
    estimate_period,
    left_queue,
    next_window,
    queued,
    rhythm_from_note,
    rhythm_to_note,
)


def runs(*mids: float, width: float = 10.0) -> tuple[Window, ...]:
    """Pinned runs around the given times."""
    return tuple(Window(m - width / 2, m + width / 2) for m in mids)


def test_the_period_is_what_every_gap_is_a_multiple_of() -> None:
    """Runs seen 1, 2 and 3 periods apart (a client saw only some of them) give the period."""
    assert estimate_period(runs(0.0, 900.0, 2700.0, 5400.0)) == pytest.approx(900.0)


def test_the_period_is_refined_by_every_gap() -> None:
    """Each gap's own estimate counts: the period comes out between the noisy ones."""
    period = estimate_period(runs(0.0, 905.0, 1795.0, 2702.0))
    assert period is not None
    assert abs(period - 900.67) < 0.01


def test_one_gap_is_believed_only_when_no_shorter_period_fits() -> None:
    """A single gap could be two periods, unless a record waited longer than half of it."""
    assert estimate_period(runs(0.0, 900.0)) is None
    assert estimate_period(runs(0.0, 900.0), longest_wait=600.0) == 900.0
    assert estimate_period(runs(0.0, 900.0), longest_wait=300.0) is None


def test_a_changed_cadence_drops_the_older_runs() -> None:
    """Runs every 900 s, then every 300 s at another phase: the newer ones win."""
    seen = runs(0.0, 900.0, 1800.0, 2137.0, 2437.0, 2737.0)
    assert estimate_period(seen) == pytest.approx(300.0)


def test_no_period_below_the_minimum_or_a_wait_seen() -> None:
    """Departures a few seconds apart are not runs; a record that waited 500 s rules out 300."""
    assert estimate_period(runs(0.0, 30.0, 60.0, 90.0)) is None
    assert estimate_period(runs(0.0, 300.0, 600.0, 900.0)) == pytest.approx(300.0)
    assert estimate_period(runs(0.0, 300.0, 600.0, 900.0), longest_wait=500.0) is None
    assert MIN_PERIOD > 60.0


def test_a_departure_moves_the_frontier_and_pins_a_run() -> None:
    """Seen queued at 100, out at 106: a run began after 100 - RUN_SPREAD (it takes its records
    over its first seconds), so the frontier is there, and a run is pinned in (100, 106]."""
    rhythm = after_departure(Rhythm(), queued=40.0, seen_queued=100.0, now=106.0)
    assert (rhythm.frontier, rhythm.frontier_at) == (100.0 - RUN_SPREAD, 106.0)
    assert rhythm.runs == (Window(100.0, 106.0),)
    assert rhythm.longest_wait == 60.0


def test_departures_of_one_run_narrow_it() -> None:
    """Two brackets of the same run intersect; the run keeps when it was first seen."""
    first = after_departure(Rhythm(), queued=0.0, seen_queued=100.0, now=130.0)
    second = after_departure(first, queued=50.0, seen_queued=110.0, now=120.0)
    assert second.runs == (Window(110.0, 120.0),)
    assert second.frontier == 110.0 - RUN_SPREAD
    assert second.frontier_at == 130.0


def test_a_vague_departure_moves_the_frontier_but_pins_nothing() -> None:
    """Out of the queue between two lookups an hour apart: a run happened, no telling when."""
    rhythm = after_departure(Rhythm(), queued=0.0, seen_queued=100.0, now=3700.0)
    assert rhythm.frontier == 100.0 - RUN_SPREAD
    assert rhythm.runs == ()


def test_a_clock_that_went_back_teaches_nothing() -> None:
    """Out at a time before it was seen queued: nothing to learn."""
    rhythm = Rhythm()
    assert after_departure(rhythm, queued=0.0, seen_queued=100.0, now=90.0) is rhythm


def test_runs_are_remembered_up_to_a_bound() -> None:
    """Only the last MAX_RUNS runs are kept: cadences change."""
    rhythm = Rhythm()
    for k in range(MAX_RUNS + 5):
        seen = 900.0 * k
        rhythm = after_departure(rhythm, queued=seen - 100.0, seen_queued=seen, now=seen + 5.0)
    assert len(rhythm.runs) == MAX_RUNS
    assert rhythm.period == pytest.approx(900.0, abs=1.0)


def test_evidence_moves_the_belief_in_runs() -> None:
    """Three contradictions in a row end a full belief; confirmations restore it."""
    rhythm = Rhythm()
    assert rhythm.cohort
    rhythm = after_evidence(after_evidence(rhythm, left=False), left=False)
    assert rhythm.cohort
    rhythm = after_evidence(rhythm, left=False)
    assert not rhythm.cohort
    for _ in range(60):
        rhythm = after_evidence(rhythm, left=True)
    assert rhythm.fifo >= FIFO_BELIEF


def test_settle_learns_a_quantile_from_what_lookups_prove() -> None:
    """Done by the estimate brings it down a little; not done past it pushes it up more."""
    rhythm = Rhythm(settle=30.0)
    down = after_settled(rhythm, elapsed=29.0, previous=0.0, done=True, prior=30.0, max_interval=60)
    up = after_settled(rhythm, elapsed=31.0, previous=0.0, done=False, prior=30.0, max_interval=60)
    assert down.settle is not None
    assert down.settle < 30.0
    assert up.settle is not None
    assert up.settle > 30.0
    assert 30.0 - down.settle < up.settle - 30.0
    # What proves nothing changes nothing: done late, not done early, or a later look.
    assert (
        after_settled(rhythm, elapsed=40.0, previous=0.0, done=True, prior=30, max_interval=60)
        is rhythm
    )
    assert (
        after_settled(rhythm, elapsed=20.0, previous=0.0, done=False, prior=30, max_interval=60)
        is rhythm
    )
    assert (
        after_settled(rhythm, elapsed=40.0, previous=35.0, done=False, prior=30, max_interval=60)
        is rhythm
    )


def test_leaving_the_queue() -> None:
    """Out of the queue codes; where records wait at 0 (learned), 7 is already on the way out."""
    zero, seven, moving = StatusCode(0), StatusCode(7), StatusCode(29)
    fresh, at_zero = Rhythm(), Rhythm(zero=True)
    assert left_queue(fresh, zero, moving)
    assert left_queue(fresh, seven, moving)
    assert not left_queue(fresh, zero, seven)  # 7 may be where this brand's records wait
    assert not left_queue(fresh, None, seven)
    assert left_queue(fresh, None, StatusCode(100))
    assert left_queue(at_zero, zero, seven)
    assert left_queue(at_zero, None, seven)
    assert not left_queue(at_zero, seven, moving)  # it left at the 7
    assert not left_queue(at_zero, zero, zero)
    assert queued(fresh, seven)
    assert not queued(at_zero, seven)


def test_next_window_is_the_first_run_after_queuing() -> None:
    """A run takes what was queued before it: the window is the next one that can."""
    rhythm = Rhythm(runs=runs(1000.0, 1900.0, 2800.0), period=900.0)
    window = next_window(rhythm, queued=2900.0, now=2902.0)
    assert window is not None
    assert window.lo < 3700.0 < window.hi
    # Queued just before a run: that very run may take it.
    window = next_window(rhythm, queued=2790.0, now=2792.0)
    assert window is not None
    assert window.lo < 2800.0 < window.hi
    # Runs not believed, or no period: nothing to predict.
    assert next_window(rhythm._replace(fifo=0.5), queued=2900.0, now=2902.0) is None
    assert next_window(rhythm._replace(period=None), queued=2900.0, now=2902.0) is None


def test_a_rhythm_survives_a_restart_on_another_clock() -> None:
    """Written with one clock and read with another, the runs land where they happen."""
    rhythm = Rhythm(fifo=0.97, runs=runs(100.0, 1000.0), period=900.0, settle=35.0)
    before, after = ScaledClock(1.0), ScaledClock(1.0)
    note = rhythm_to_note(rhythm, before)
    time.sleep(0.01)
    read = rhythm_from_note(note, after)
    assert read.period == 900.0
    assert read.settle == 35.0
    assert read.fifo == 0.97
    # Same wall time, so the runs move by exactly the clocks' difference.
    shift = after.now() - before.now()
    assert read.runs[-1].lo - 995.0 == pytest.approx(shift, abs=0.05)
    assert read.frontier == -math.inf  # the frontier was about that process's records


def test_a_faster_clock_is_mapped_at_its_own_speed() -> None:
    """A ScaledClock runs faster than the wall: the wall time between is scaled too."""
    note = json.loads(rhythm_to_note(Rhythm(runs=runs(100.0), period=900.0), SystemClock()))
    note["wall"] -= 10.0  # written ten wall seconds ago
    clock = ScaledClock(60.0)
    read = rhythm_from_note(json.dumps(note), clock)
    assert read.period == 900.0
    # Ten wall seconds are 600 of this clock's seconds: the run is that much further back.
    expected = 95.0 + clock.now() - note["clock"] - 600.0
    assert read.runs[0].lo == pytest.approx(expected, abs=3.0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"clock": 1}',
        '{"clock": 1, "wall": "x"}',
        '{"clock": 1, "wall": 2, "fifo": 7}',
        '{"clock": 1, "wall": 2, "period": -5}',
    ],
)
def test_an_unreadable_note_is_a_fresh_start(text: str) -> None:
    """A stored rhythm is a hint, never an authority: anything odd is relearned."""
    assert rhythm_from_note(text, SystemClock()) == Rhythm()


def test_memory_tells_listeners_only_what_matters_to_them() -> None:
    """A moved frontier or a flipped belief is heard; a settle update is not, but is saved."""
    memory = RhythmMemory()
    heard: list[tuple[Rhythm, Rhythm]] = []
    memory.listen(lambda old, new: heard.append((old, new)))
    memory.update(memory.rhythm._replace(settle=30.0))
    assert heard == []
    assert memory.dirty
    assert memory.due_for_save(0.0)
    memory.saved(0.0)
    assert not memory.due_for_save(10.0)
    memory.update(memory.rhythm._replace(frontier=5.0))
    assert len(heard) == 1
    memory.update(memory.rhythm._replace(fifo=0.1))
    assert len(heard) == 2


def test_memory_adopts_a_stored_rhythm_only_when_fresh() -> None:
    """What this process learned wins over what a store kept from an earlier one."""
    stored = Rhythm(period=900.0)
    fresh = RhythmMemory()
    fresh.adopt(stored)
    assert fresh.rhythm == stored
    assert not fresh.dirty
    learned = RhythmMemory(Rhythm(period=300.0))
    learned.adopt(stored)
    assert learned.rhythm.period == 300.0
