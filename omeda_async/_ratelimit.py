"""A token bucket shared by every request of one client.

Implemented as GCRA (the "virtual scheduling" form of a token bucket): each
:meth:`TokenBucket.acquire` reserves the next free slot synchronously, before it
awaits anything, so callers are served strictly in the order they asked (FIFO)
and each waits exactly once, on the client's :class:`~omeda_async.Clock`, for its
own slot: no polling, no busy-wait, and scaled or manual clocks just work.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol, runtime_checkable

from ._clock import Clock

__all__ = ["RateLimiter", "TokenBucket"]


@runtime_checkable
class RateLimiter(Protocol):
    """What a client's rate limit is: ``await acquire()`` before each request.

    ``OmedaClient(rate_limit=20)`` builds a :class:`TokenBucket`; a limiter
    object is used as given: ``PostgresStore.rate_limit(20)`` is one whose
    budget every worker of a fleet shares.
    """

    @property
    def rate(self) -> float:
        """Requests per second on average."""
        ...

    async def acquire(self) -> None:
        """Wait until the caller may send one request."""
        ...


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts of up to ``burst``.

    ``burst`` defaults to 1: requests are spaced ``1/rate`` seconds apart, the
    gentlest pattern for a server that counts requests per second. A waiter that
    is cancelled gives its slot back when nobody queued behind it.
    """

    __slots__ = ("_clock", "_interval", "_tat", "_tolerance", "burst", "rate")

    def __init__(self, rate: float, *, burst: int | None = None, clock: Clock) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise TypeError(f"rate must be a number of requests per second, not {rate!r}")
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if burst is None:
            burst = 1
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, not {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._interval = 1.0 / self.rate
        self._tolerance = (burst - 1) * self._interval
        # Theoretical arrival time: when the bucket would be full again. None until
        # the first request, so a new bucket starts full whatever the clock's origin.
        self._tat: float | None = None

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}, burst={self.burst})"

    def _reserve(self) -> tuple[float, float]:
        """Claim the next slot; return (seconds to wait, the new arrival time)."""
        now = self._clock.now()
        tat = now if self._tat is None or self._tat < now else self._tat
        allowed_at = tat - self._tolerance
        self._tat = tat + self._interval
        return max(0.0, allowed_at - now), self._tat

    async def acquire(self) -> None:
        """Wait until this caller may send one request (FIFO among waiters)."""
        wait, reserved_tat = self._reserve()
        if wait <= 0:
            return
        try:
            await self._clock.sleep(wait)
        except asyncio.CancelledError:
            if self._tat == reserved_tat:
                # Nobody reserved after us: the slot can go back to the bucket.
                self._tat -= self._interval
            raise
