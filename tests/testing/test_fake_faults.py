"""Fault selection: scripts, rates, limits and counts."""

from __future__ import annotations

import pytest

from omeda_async.testing import FaultKind, Faults


def test_script_is_consumed_one_entry_per_request_in_order() -> None:
    """Scripted faults come in order; None answers one request normally."""
    faults = Faults()
    faults.script("rate_limit", None, "server_error")
    picks = [faults.choose("transaction", "GET") for _ in range(4)]
    assert picks == [FaultKind.RATE_LIMIT, None, FaultKind.SERVER_ERROR, None]
    assert faults.injected == {"rate_limit": 1, "server_error": 1}
    assert faults.scripted == 0


def test_limits_apply_to_the_script_too() -> None:
    """A request outside the service/method limits neither gets nor consumes a fault."""
    faults = Faults(services={"storecustomerandorder"}, methods={"post"})
    faults.script("drop")
    assert faults.choose("transaction", "GET") is None
    assert faults.scripted == 1
    assert faults.choose("storecustomerandorder", "POST") is FaultKind.DROP


def test_rates_are_drawn_from_a_seeded_generator() -> None:
    """Rates inject about the configured share, and a seed repeats the same sequence."""
    one = Faults(rates={"server_error": 0.2, "unavailable": 0.1}, seed=5)
    two = Faults(rates={"server_error": 0.2, "unavailable": 0.1}, seed=5)
    picks = [one.choose("transaction", "GET") for _ in range(2000)]
    assert picks == [two.choose("transaction", "GET") for _ in range(2000)]
    assert 300 < picks.count(FaultKind.SERVER_ERROR) < 500
    assert 130 < picks.count(FaultKind.UNAVAILABLE) < 270
    assert one.injected[FaultKind.SERVER_ERROR] == picks.count(FaultKind.SERVER_ERROR)


def test_script_goes_before_rates() -> None:
    """While a script has entries it decides, even with a rate of 1."""
    faults = Faults(rates={"server_error": 1.0})
    faults.script(None)
    assert faults.choose("transaction", "GET") is None
    assert faults.choose("transaction", "GET") is FaultKind.SERVER_ERROR


def test_bad_configuration_is_refused() -> None:
    """Unknown kinds or services and rates over 1 are errors, not silent no-ops."""
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults(rates={"explode": 0.1})
    with pytest.raises(ValueError, match="at most 1"):
        Faults(rates={"drop": 0.7, "slow": 0.5})
    with pytest.raises(ValueError, match="unknown services"):
        Faults(services={"transactions"})
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults().script("oops")


def test_clear_and_configure_replace_the_plan() -> None:
    """clear() drops script and rates; configure() sets new rates and limits."""
    faults = Faults(rates={"drop": 1.0})
    faults.script("slow")
    faults.clear()
    assert faults.choose("orderqueue", "POST") is None
    faults.configure(rates={"malformed": 1.0}, methods={"GET"})
    assert faults.choose("orderqueue", "POST") is None
    assert faults.choose("transaction", "GET") is FaultKind.MALFORMED


def test_which_faults_answer_before_handling() -> None:
    """429, 500 and 503 answer instead of handling; the others happen after handling."""
    before = {kind for kind in FaultKind if kind.before_handling}
    assert before == {FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE}
