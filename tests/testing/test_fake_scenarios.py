"""Status paths: named scenarios, step lookup, mixes and their reproducibility."""

from __future__ import annotations

import random

import pytest

from omeda_async import StatusCode
from omeda_async.testing import SCENARIOS, Mix, Scenario, Step
from omeda_async.testing._scenarios import to_source

NAMED_PATHS = {
    "new_customer": [7, 8, 10, 19, 21, 28, 29, 30, 49, 50, 90, 100],
    "existing_customer": [7, 8, 10, 19, 21, 28, 29, 31, 49, 50, 91, 101],
    "partial": [7, 8, 10, 19, 21, 28, 29, 30, 49, 52, 99],
    "failed_source_prioritization": [7, 8, 10, 19, 21, 28, 29, 30, 49, 51, 98],
    "failed_validation": [7, 8, 9],
    "discarded": [7, 8, 10, 110],
    "payment_failed": [7, 4, 6],
    "excessive_errors": [7, 2],
    "held_customer": [7, 1],
    "held_oec": [7, 8, 10, 19, 20],
    "held_dupecheck": [7, 8, 10, 19, 21, 28, 29, 35],
}


def test_named_scenarios_follow_the_documented_paths() -> None:
    """Every named scenario walks exactly the codes its name promises, ending on the right one."""
    assert {name: [int(s.status) for s in sc.steps] for name, sc in SCENARIOS.items()} == (
        NAMED_PATHS
    )


def test_failing_scenarios_carry_transaction_errors() -> None:
    """The failed-validation and excessive-errors paths end with errors; the latter repeats keys."""
    assert SCENARIOS["failed_validation"].final.errors
    assert not SCENARIOS["failed_validation"].repeat_error_keys
    assert SCENARIOS["excessive_errors"].final.errors == ("invalid email", "vulgarity")
    assert SCENARIOS["excessive_errors"].repeat_error_keys
    assert not SCENARIOS["new_customer"].final.errors


def test_named_scenarios_take_realistic_fake_time() -> None:
    """A full pipeline takes minutes of fake time, as Omeda's queue does."""
    assert 600 <= SCENARIOS["new_customer"].total_seconds <= 1800
    assert all(s.seconds > 0 for s in SCENARIOS["new_customer"].steps[:-1])


def test_status_at_switches_exactly_at_step_ends() -> None:
    """A step lasts its seconds: the next code shows from the moment the previous one ends."""
    scenario = Scenario.from_steps([(7, 10), (29, 5), 100])
    assert scenario.status_at(0) is StatusCode(7)
    assert scenario.status_at(9.999) is StatusCode(7)
    assert scenario.status_at(10) is StatusCode(29)
    assert scenario.status_at(14.9) is StatusCode(29)
    assert scenario.status_at(15) is StatusCode(100)
    assert scenario.status_at(1e9) is StatusCode(100)
    assert scenario.index_at(12) == 1
    assert scenario.total_seconds == 15


def test_zero_length_steps_are_skipped_in_time() -> None:
    """A bare code lasts 0 s, so the path moves straight past it."""
    scenario = Scenario.from_steps([7, 8, (10, 3), 100])
    assert scenario.status_at(0) is StatusCode(10)
    assert scenario.status_at(3) is StatusCode(100)


def test_customer_becomes_known_at_dupe_check_decision() -> None:
    """OmedaCustomerId shows from 30/31 on; failure paths never learn it."""
    new = SCENARIOS["new_customer"]
    assert new.customer_from is not None
    assert new.steps[new.customer_from].status == 30
    assert new.makes_new_customer
    existing = SCENARIOS["existing_customer"]
    assert existing.customer_from is not None
    assert existing.steps[existing.customer_from].status == 31
    assert not existing.makes_new_customer
    assert SCENARIOS["failed_validation"].customer_from is None
    assert SCENARIOS["held_dupecheck"].customer_from is None


def test_scaled_keeps_the_shape_and_changes_the_total() -> None:
    """scaled(total) stretches every step by the same factor."""
    scaled = SCENARIOS["new_customer"].scaled(80)
    assert scaled.total_seconds == pytest.approx(80)
    assert [s.status for s in scaled.steps] == [s.status for s in SCENARIOS["new_customer"].steps]


def test_jittered_adds_up_to_the_total() -> None:
    """A jittered copy has varied step lengths that add up to the requested total."""
    jittered = SCENARIOS["existing_customer"].jittered(random.Random(3), 500)
    assert jittered.total_seconds == pytest.approx(500)
    lengths = {round(s.seconds, 6) for s in jittered.steps[:-1]}
    assert len(lengths) > 3


def test_mix_draws_reproducibly_with_a_seed() -> None:
    """The same seed draws the same scenarios with the same durations."""
    mix = Mix({"new_customer": 0.5, "failed_validation": 0.3, "held_oec": 0.2}, spread=(60, 600))
    rng_a, rng_b = random.Random(9), random.Random(9)
    draws_a = [mix.draw(rng_a) for _ in range(50)]
    draws_b = [mix.draw(rng_b) for _ in range(50)]
    assert draws_a == draws_b
    assert [d.steps for d in draws_a] == [d.steps for d in draws_b]
    assert len({d.total_seconds for d in draws_a}) == 50


def test_mix_follows_its_weights_and_spread() -> None:
    """Draws follow the weights, and each total processing time lies within the spread."""
    mix = Mix({"new_customer": 0.8, "discarded": 0.2}, spread=(100, 200))
    rng = random.Random(1)
    draws = [mix.draw(rng) for _ in range(1000)]
    share = sum(d.name == "new_customer" for d in draws) / len(draws)
    assert 0.75 < share < 0.85
    assert all(100 <= d.total_seconds <= 200 + 1e-6 for d in draws)


def test_mix_rejects_bad_weights_and_names() -> None:
    """A Mix needs known names, non-negative weights and a sane spread."""
    with pytest.raises(ValueError, match="unknown scenario"):
        Mix({"no_such": 1.0})
    with pytest.raises(ValueError, match="weights"):
        Mix({"new_customer": -1.0})
    with pytest.raises(ValueError, match="weights"):
        Mix({"new_customer": 0.0})
    with pytest.raises(ValueError, match="spread"):
        Mix({"new_customer": 1.0}, spread=(10, 5))


def test_from_steps_accepts_codes_tuples_and_steps() -> None:
    """Steps can be given as codes, (code, seconds), (code, seconds, errors) or Step."""
    scenario = Scenario.from_steps([7, (29, 2.5), Step(31, 1), (9, 0, ["bad email"])])
    assert [s.status for s in scenario.steps] == [7, 29, 31, 9]
    assert scenario.steps[1].seconds == 2.5
    assert scenario.final.errors == ("bad email",)
    with pytest.raises(ValueError, match="at least one step"):
        Scenario.from_steps([])
    with pytest.raises(ValueError, match="seconds"):
        Step(7, -1)


def test_unknown_codes_are_allowed_on_a_path() -> None:
    """A custom path may use an undocumented code (to test the client's tolerance)."""
    scenario = Scenario.from_steps([(42, 1), 100])
    assert scenario.status_at(0) == 42
    assert not scenario.status_at(0).is_documented


def test_to_source_understands_every_form() -> None:
    """scenario= takes a name, a Scenario, a Mix, a {name: weight} mapping or steps."""
    assert to_source("held_oec") is SCENARIOS["held_oec"]
    assert isinstance(to_source({"new_customer": 1.0}), Mix)
    assert isinstance(to_source([7, 100]), Scenario)
    with pytest.raises(ValueError, match="known:"):
        to_source("nope")
