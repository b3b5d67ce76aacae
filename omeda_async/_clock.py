"""The time seam: every wait in the library goes through a ``Clock``.

The poller, the retry loop and the rate limiter read ``now()`` and ``await
sleep()`` from a clock instead of ``time``/``asyncio``, so tests and the fake
server can run minutes of Omeda time in milliseconds without patching anything.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ScaledClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds and a way to wait on it."""

    def now(self) -> float:
        """Seconds on this clock (monotonic; the origin is arbitrary)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Real time: ``time.monotonic`` and ``asyncio.sleep``."""

    def __repr__(self) -> str:
        return "SystemClock()"

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs ``scale`` times faster than real time.

    ``ScaledClock(60)`` turns a minute of clock time into a real second; the
    fake server moves transactions on the same clock so the two agree.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError(f"scale must be > 0, not {scale!r}")
        self.scale = float(scale)
        self._origin = time.monotonic()

    def __repr__(self) -> str:
        return f"ScaledClock(scale={self.scale:g})"

    def now(self) -> float:
        return (time.monotonic() - self._origin) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)
