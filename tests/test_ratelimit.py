"""The token bucket: spacing, bursts, FIFO order, no busy-wait, any Clock."""

from __future__ import annotations

import asyncio

import pytest

from omeda_async import ScaledClock
from omeda_async._ratelimit import TokenBucket


class JumpClock:
    """Virtual time: ``sleep(s)`` yields once, then moves time to the sleeper's wake-up."""

    def __init__(self, start: float = 5000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.t + max(0.0, seconds)
        await asyncio.sleep(0)
        self.t = max(self.t, wake)


async def test_sequential_requests_are_spaced_one_interval_apart() -> None:
    """N requests at rate r (burst 1) take (N - 1) / r seconds of clock time."""
    clock = JumpClock()
    bucket = TokenBucket(10, clock=clock)
    start = clock.now()
    for _ in range(21):
        await bucket.acquire()
    assert clock.now() - start == pytest.approx(2.0)


async def test_concurrent_waiters_are_served_fifo_at_their_slots() -> None:
    """Waiters asking at once are let through in call order, one interval apart."""
    clock = JumpClock()
    bucket = TokenBucket(4, clock=clock)
    start = clock.now()
    served: list[tuple[int, float]] = []

    async def one(index: int) -> None:
        await bucket.acquire()
        served.append((index, clock.now() - start))

    await asyncio.gather(*(one(i) for i in range(8)))
    assert [index for index, _ in served] == list(range(8))
    assert [at for _, at in served] == pytest.approx([i * 0.25 for i in range(8)])


async def test_each_waiter_sleeps_exactly_once() -> None:
    """No busy-wait: every delayed caller sleeps once, for exactly its own wait."""
    clock = JumpClock()
    bucket = TokenBucket(2, clock=clock)
    await asyncio.gather(*(bucket.acquire() for _ in range(5)))
    assert clock.sleeps == pytest.approx([0.5, 1.0, 1.5, 2.0])


async def test_burst_lets_that_many_through_at_once_then_spaces() -> None:
    """A full bucket of burst b serves b requests at once, then one per interval."""
    clock = JumpClock()
    bucket = TokenBucket(10, burst=3, clock=clock)
    start = clock.now()
    times = []
    for _ in range(6):
        await bucket.acquire()
        times.append(clock.now() - start)
    assert times == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2, 0.3])


async def test_idle_bucket_refills_only_up_to_burst() -> None:
    """After a long idle spell the bucket holds burst tokens, not more."""
    clock = JumpClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    for _ in range(4):
        await bucket.acquire()
    clock.t += 3600.0
    start = clock.now()
    times = []
    for _ in range(3):
        await bucket.acquire()
        times.append(clock.now() - start)
    assert times == pytest.approx([0.0, 0.0, 0.1])


async def test_cancelled_last_waiter_gives_its_slot_back() -> None:
    """A waiter cancelled with nobody behind it returns its slot to the bucket."""
    clock = JumpClock()
    bucket = TokenBucket(1, clock=clock)
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)  # the waiter reserves its slot and starts sleeping
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # The next caller gets the slot the cancelled one had: one interval, not two.
    start = clock.now()
    await bucket.acquire()
    assert clock.now() - start == pytest.approx(1.0)


async def test_works_on_a_scaled_clock() -> None:
    """On ScaledClock(1000), 11 requests at 100/s span at least 0.1 clock seconds."""
    clock = ScaledClock(1000)
    bucket = TokenBucket(100, clock=clock)
    start = clock.now()
    await asyncio.gather(*(bucket.acquire() for _ in range(11)))
    assert clock.now() - start >= 0.1 - 1e-9


@pytest.mark.parametrize(
    ("rate", "burst", "error"),
    [
        (0, None, ValueError),
        (-1, None, ValueError),
        (float("inf"), None, ValueError),
        (float("nan"), None, ValueError),
        ("10", None, TypeError),
        (True, None, TypeError),
        (1, 0, ValueError),
        (1, True, ValueError),
        (1, 1.5, ValueError),
    ],
)
def test_bad_configuration_is_refused(rate: object, burst: object, error: type[Exception]) -> None:
    """Rates must be positive finite numbers; bursts integers >= 1."""
    with pytest.raises(error):
        TokenBucket(rate, burst=burst, clock=JumpClock())  # type: ignore[arg-type]


def test_repr_shows_rate_and_burst() -> None:
    """The repr says what the bucket allows."""
    assert repr(TokenBucket(2.5, burst=4, clock=JumpClock())) == "TokenBucket(rate=2.5, burst=4)"
