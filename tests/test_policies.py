"""Retry and poll policies: frozen, keyword-only, validated, with documented defaults."""

from __future__ import annotations

import attrs
import pytest

from omeda_async import PollPolicy, RetryPolicy, StatusCode
from omeda_async._status import DEFAULT_TERMINAL


def test_retry_defaults_match_design() -> None:
    """RetryPolicy defaults are DESIGN.md's."""
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.base_delay, policy.max_delay) == (5, 0.5, 30.0)
    assert RetryPolicy.none().max_attempts == 1


def test_poll_defaults_match_design() -> None:
    """PollPolicy defaults are DESIGN.md's (suited to production Omeda)."""
    p = PollPolicy()
    assert (p.initial_delay, p.multiplier, p.max_interval, p.jitter) == (2.0, 1.5, 60.0, True)
    assert (p.deadline, p.hold_interval, p.stop_on_hold) == (7200.0, 300.0, False)
    assert (p.not_found_grace, p.terminal) == (60.0, None)
    assert p.terminal_codes == DEFAULT_TERMINAL


def test_policies_are_frozen_and_keyword_only() -> None:
    """Policies cannot be mutated or built positionally; evolve makes variants."""
    policy = PollPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.deadline = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryPolicy(3)  # type: ignore[misc]
    assert attrs.evolve(policy, deadline=10.0).deadline == 10.0


def test_terminal_override_is_normalised_to_status_codes() -> None:
    """`terminal` accepts plain ints and replaces the default set."""
    policy = PollPolicy(terminal=[100, 35])
    assert policy.terminal_codes == frozenset({StatusCode(100), StatusCode(35)})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": 0},
        {"multiplier": 0.5},
        {"max_interval": 1.0, "initial_delay": 2.0},
        {"deadline": -1},
        {"hold_interval": 0},
        {"not_found_grace": -1},
    ],
)
def test_poll_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    """Impossible poll settings fail at construction with the field's name."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PollPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"max_attempts": True}, {"base_delay": -1}, {"max_delay": -0.1}],
)
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    """Impossible retry settings fail at construction."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
