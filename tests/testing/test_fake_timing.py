"""Timing models: the spread model as before, and Omeda's queue processed in runs (Batch)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from omeda_async import Outcome, PollPolicy, StatusCode
from omeda_async.testing import SCENARIOS, Batch, FakeOmeda, Mix, Spread
from omeda_async.testing._timing import parse_timing

if TYPE_CHECKING:
    from tests.testing.conftest import ManualClock, Raw

NEW_CUSTOMER = [int(step.status) for step in SCENARIOS["new_customer"].steps]


def _codes(fake: FakeOmeda, transaction_id: int) -> list[int]:
    return [int(step.status) for step in fake.transactions[transaction_id].scenario.steps]


# --- the pure model ------------------------------------------------------------------


def test_a_record_belongs_to_the_first_run_strictly_after_it_was_queued() -> None:
    """Runs happen at phase + k * every; a record queued exactly at a run waits for the next."""
    batch = Batch(every=600, phase=100)
    assert batch.run_after(0.0) == 100.0
    assert batch.run_after(99.9) == 100.0
    assert batch.run_after(100.0) == 700.0
    assert batch.run_after(650.0) == 700.0
    assert batch.run_after(-1000.0) == -500.0


def test_a_run_takes_its_records_in_queue_order() -> None:
    """Earlier-queued records of a run leave status 0 first, all within the run's ramp."""
    batch = Batch(every=600, phase=0, ramp=10)
    starts = [batch.starts_at(t) for t in (0.0, 1.0, 300.0, 599.0)]
    assert starts == sorted(starts)
    assert all(600.0 <= start <= 610.0 for start in starts)
    assert batch.starts_at(600.0) >= 1200.0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_batch_path_waits_at_0_then_passes_its_codes_within_a_minute(name: str) -> None:
    """Status 0 until the run, then the scenario's own codes in order, all done within 60 s."""
    batch = Batch(every=900, phase=0)
    scenario = SCENARIOS[name]
    for queued_at in (1.0, 450.0, 899.0):
        path = batch.path(scenario, queued_at=queued_at, rng=random.Random(3))
        assert [int(s.status) for s in path.steps] == [0] + [int(s.status) for s in scenario.steps]
        assert path.status_at(899.0 - queued_at) == StatusCode(0)
        assert queued_at + path.steps[0].seconds >= 900.0
        assert 900.0 <= queued_at + path.total_seconds <= 960.0
        assert path.final == scenario.final


def test_a_path_that_starts_at_0_waits_on_its_own_first_step() -> None:
    """A custom path beginning with 0 is not given a second 0 step."""
    scenario = SCENARIOS["new_customer"].from_steps([(0, 5), (7, 5), 100])
    path = Batch(every=60, phase=0).path(scenario, queued_at=10.0, rng=random.Random(1))
    assert [int(s.status) for s in path.steps] == [0, 7, 100]
    assert 10.0 + path.steps[0].seconds >= 60.0


def test_spread_keeps_the_path_as_drawn() -> None:
    """The default model changes nothing: each code after its own pause."""
    scenario = SCENARIOS["partial"]
    assert Spread().path(scenario, queued_at=123.0, rng=random.Random(1)) is scenario


def test_batch_phase_is_drawn_from_the_seed_when_not_given() -> None:
    """The phase is reproducible with a seed, within one period, and kept when given."""
    drawn = [Batch(every=600).resolved(random.Random(seed)).phase for seed in (1, 1, 2)]
    assert drawn[0] == drawn[1] != drawn[2]
    assert all(phase is not None and 0 <= phase < 600 for phase in drawn)
    fixed = Batch(every=600, phase=42)
    assert fixed.resolved(random.Random(1)) is fixed


@pytest.mark.parametrize(
    "options",
    [
        {"every": 0},
        {"every": -5},
        {"every": float("inf")},
        {"ramp": -1},
        {"duration": (10, 5)},
        {"duration": (-1, 5)},
        {"phase": float("nan")},
    ],
)
def test_batch_refuses_impossible_settings(options: dict[str, object]) -> None:
    """Non-positive periods, negative ramps and reversed durations are errors."""
    with pytest.raises(ValueError, match="Batch"):
        Batch(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spread", Spread()),
        ("batch", Batch()),
        ("Batch:600", Batch(every=600)),
        (
            "batch:every=300,phase=0,ramp=2,duration=5-20",
            Batch(every=300, phase=0, ramp=2, duration=(5, 20)),
        ),
    ],
)
def test_parse_timing_reads_the_command_line_forms(text: str, expected: object) -> None:
    """`--timing` takes spread, batch, batch:SECONDS or batch:key=value,..."""
    assert parse_timing(text) == expected


@pytest.mark.parametrize("text", ["", "steady", "spread:5", "batch:often", "batch:speed=3"])
def test_parse_timing_refuses_what_it_cannot_read(text: str) -> None:
    """Unknown models, options and numbers are errors that say what is known."""
    with pytest.raises(ValueError, match=r"timing|batch"):
        parse_timing(text)


# --- FakeOmeda with the batch model ----------------------------------------------------


@pytest.mark.omeda_fake(timing=Batch(every=600, phase=1000 + 300))
async def test_fake_holds_records_at_0_until_the_run_then_finishes_them(
    raw: Raw, clock: ManualClock
) -> None:
    """Lookups show 0 until the processor's run; a minute later every record is final."""
    first = await raw.submit()
    clock.advance(200)
    second = await raw.submit()
    clock.advance(99)  # 1299: one second before the run
    for transaction_id in (first, second):
        assert (await raw.lookup(transaction_id)).json()["Status"] == 0
    clock.advance(61)  # a minute after the run
    for transaction_id in (first, second):
        assert (await raw.lookup(transaction_id)).json()["Status"] == 100
        assert _codes(raw.fake, transaction_id) == [0, *NEW_CUSTOMER]
    assert raw.fake.transactions[first].finished_at() <= raw.fake.transactions[second].finished_at()


@pytest.mark.omeda_fake(timing=Batch(every=600, phase=1000 + 300))
async def test_a_record_queued_after_a_run_waits_for_the_next(raw: Raw, clock: ManualClock) -> None:
    """The run takes only what was queued before it; later records wait a whole period."""
    clock.advance(301)  # just after the run at 1300
    late = await raw.submit()
    clock.advance(500)  # 1801: long after the run it missed
    assert (await raw.lookup(late)).json()["Status"] == 0
    clock.advance(160)  # 1961: a minute after the next run at 1900
    assert (await raw.lookup(late)).json()["Status"] == 100


@pytest.mark.omeda_fake(
    timing=Batch(every=900, phase=1000),
    scenario=Mix({"new_customer": 0.5, "failed_validation": 0.3, "held_oec": 0.2}),
)
async def test_a_mix_of_records_queued_together_moves_together(
    raw: Raw, clock: ManualClock
) -> None:
    """Whatever each record's path, a run's records wait at 0 and all end within its minute."""
    ids = []
    for _ in range(30):
        ids.append(await raw.submit())
        clock.advance(20)
    for transaction_id in ids:
        tx = raw.fake.transactions[transaction_id]
        assert tx.scenario.steps[0].status == StatusCode(0)
        assert 1900.0 <= tx.finished_at() <= 1960.0
    assert len({raw.fake.transactions[i].scenario.name for i in ids}) == 3


@pytest.mark.omeda_fake(timing=Batch(every=900, phase=1000 + 450))
async def test_run_processor_still_processes_a_waiting_record_at_once(raw: Raw) -> None:
    """Run Processor jumps a record to its final code even while it waits for the batch."""
    transaction_id = await raw.submit()
    answer = await raw.post("/runprocessor/*", {"Process": [{"TransactionId": [transaction_id]}]})
    assert answer.status == 200, answer.text
    assert (await raw.lookup(transaction_id)).json()["Status"] == 100


@pytest.mark.parametrize("seed", [1, 2])
async def test_batch_fakes_with_one_seed_follow_the_same_paths(
    seed: int, clock: ManualClock
) -> None:
    """A seed reproduces the phase and every record's path; another seed differs."""
    mix = Mix({"new_customer": 0.7, "discarded": 0.3})

    async def paths(run_seed: int) -> list[object]:
        async with FakeOmeda(clock=clock, seed=run_seed, scenario=mix, timing=Batch()) as fake:
            async with fake.client() as client:
                for n in range(5):
                    await client.store_customer_and_order({"FirstName": f"J{n}"})
            return [fake.timing, *(tx.scenario for tx in fake.transactions.values())]

    start = clock.t
    first = await paths(seed)
    clock.t = start
    assert await paths(seed) == first
    clock.t = start
    assert await paths(seed + 10) != first


def test_fake_refuses_a_timing_that_is_not_a_model() -> None:
    """A loose string or number is a TypeError naming the two models."""
    with pytest.raises(TypeError, match="Spread"):
        FakeOmeda(timing="batch")  # type: ignore[arg-type]


# --- a client on the scaled clock ----------------------------------------------------


async def test_a_client_follows_a_batch_record_to_its_end_on_the_scaled_clock() -> None:
    """wait_for_transaction sees 0 first, then the final code after the run."""
    async with (
        FakeOmeda(
            time_scale=2000, seed=5, timing=Batch(every=120, phase=60), scenario="existing_customer"
        ) as fake,
        fake.client() as client,
    ):
        receipt = await client.store_customer_and_order({"FirstName": "Jane"})
        result = await client.wait_for_transaction(
            receipt.transaction_id, policy=PollPolicy(initial_delay=1.0, max_interval=10.0)
        )
    assert result.outcome is Outcome.SUCCEEDED
    assert result.status == StatusCode(101)
    assert result.history[0][1] == StatusCode(0)
    assert fake.lookups_after_terminal == {}


@pytest.mark.omeda_fake(time_scale=1000, timing=Batch(every=3600, phase=1800))
async def test_the_omeda_fake_fixture_takes_a_timing_model_in_its_marker(
    omeda_fake: FakeOmeda,
) -> None:
    """`@pytest.mark.omeda_fake(timing=Batch(...))` gives the fixture's fake that model."""
    assert omeda_fake.timing == Batch(every=3600, phase=1800)
    async with omeda_fake.client() as client:
        receipt = await client.store_customer_and_order({"FirstName": "Jane"})
        transaction = await client.get_transaction(receipt.transaction_id)
    assert transaction.status == StatusCode(0)
