"""The Clock seam: system and scaled time."""

from __future__ import annotations

import pytest

from omeda_async import Clock, ScaledClock, SystemClock


async def test_scaled_clock_runs_faster_than_real_time() -> None:
    """A 1000x clock advances at least the slept clock time while really waiting 1/1000."""
    clock = ScaledClock(1000)
    start = clock.now()
    await clock.sleep(5.0)  # 5 ms real
    assert clock.now() - start >= 5.0


async def test_system_clock_is_monotonic_and_sleeps_nonnegative() -> None:
    """SystemClock never goes back and treats negative sleeps as zero."""
    clock = SystemClock()
    first = clock.now()
    await clock.sleep(-1)
    assert clock.now() >= first


def test_clocks_satisfy_the_protocol() -> None:
    """Both clocks are Clocks (runtime-checkable protocol)."""
    assert isinstance(SystemClock(), Clock)
    assert isinstance(ScaledClock(2), Clock)


def test_scale_must_be_positive() -> None:
    """A zero or negative scale is refused."""
    with pytest.raises(ValueError, match="scale"):
        ScaledClock(0)
