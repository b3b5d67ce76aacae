"""One rate budget per brand across the fleet: GCRA in one row, slots reserved in small blocks.

The same algorithm as the client's own ``TokenBucket`` (GCRA, the "virtual
scheduling" form of a token bucket), with its one number, the theoretical
arrival time (``tat``), kept in ``rate_budgets`` on the database's clock. A
worker reserves a small block of consecutive slots in one statement::

    tat0 = greatest(tat, now);  tat = tat0 + k * T        (T = 1 / rate)
    slot i may be used at  max(now, tat0 + i*T - tolerance)

so every slot of the fleet is handed out once, spaced ``T`` apart whatever the
number of workers: N workers never send N times the rate. ``T`` is 3% longer
than ``1 / rate``: requests reach the server a little off their slots (a
worker's event loop wakes late, its estimate of the database's clock is off
by up to half a round trip, the request takes its time on the way), and
without that margin one second of the server's count could be ``rate + 1``.
A second of slots then spans 1.03 s, so requests may drift by up to 30 ms,
less the grace below, before any second of the server's holds ``rate + 1``
(2% allowed 20 ms; on a loaded 2-core machine one CI run of four workers
drifted past it once). The fleet sends 0.97 of the rate. A worker waits
for each of its slots on its own clock (the offset to the database's clock is
measured at each reservation); a slot it comes too late for is dropped, not
spent later, so a slow worker cannot save slots up and burst them. Dropped
slots cost throughput, never the budget.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from typing import TYPE_CHECKING, Final

from ._batch import Refill

if TYPE_CHECKING:
    from ._store import PostgresStore

__all__ = ["FleetRateLimit"]

_BLOCK_SECONDS: Final = 0.1
_SPACING: Final = 1.03
"""Slots are this much further apart than ``1 / rate`` (see the module docstring)."""
_MAX_BLOCK: Final = 32


class FleetRateLimit:
    """At most ``rate`` requests per second for ``brand``, summed over every worker of the fleet.

    Made by ``PostgresStore.rate_limit(rate)`` and given to a client as its
    rate limit (``OmedaClient(rate_limit=store.rate_limit(20))``): it then
    spaces every request of the client (submissions and lookups), as a
    ``TokenBucket`` does, but the budget is the brand's, shared through the
    database. ``burst`` lets that many requests go at once after a quiet spell.
    """

    __slots__ = (
        "_block",
        "_grace",
        "_interval",
        "_reserving",
        "_slots",
        "_store",
        "brand",
        "burst",
        "rate",
        "reservations",
    )

    def __init__(self, store: PostgresStore, brand: str, rate: float, *, burst: int = 1) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise TypeError(f"rate must be a number of requests per second, not {rate!r}")
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, not {burst!r}")
        self._store = store
        self.brand = brand
        self.rate = float(rate)
        self.burst = burst
        self._interval = _SPACING / self.rate
        # A slot is used at most this late; later, it is dropped (see the module docstring).
        self._grace = min(self._interval / 4, 0.05)
        # About a tenth of a second's worth of slots per statement.
        self._block = max(1, min(_MAX_BLOCK, math.ceil(self.rate * _BLOCK_SECONDS)))
        self._slots: collections.deque[float] = collections.deque()  # local monotonic times
        self._reserving = Refill(self._reserve)
        self.reservations = 0
        """Statements run so far (one per block)."""

    def __repr__(self) -> str:
        return f"FleetRateLimit(brand={self.brand!r}, rate={self.rate:g}, burst={self.burst})"

    async def acquire(self) -> None:
        """Wait until this caller may send one request (the next slot of this worker's block)."""
        while True:
            now = time.monotonic()
            slots = self._slots
            while slots and slots[0] + self._grace < now:
                slots.popleft()  # too late for it: dropped, never saved up
            if slots:
                at = slots.popleft()
                if at > now:
                    await asyncio.sleep(at - now)
                return
            await self._reserving.wait()

    async def _reserve(self) -> None:
        db = await self._store._ready()
        k = self._block
        sent = time.monotonic()
        row = await db.fetchrow(
            _RESERVE.format(s=db.sql.schema),
            self.brand,
            k,
            self._interval,
            doing="reserve slots of the fleet's rate budget",
        )
        received = time.monotonic()
        assert row is not None
        start, db_now = float(row[0]), float(row[1])
        # The database read its clock somewhere in the round trip: its middle.
        offset = (sent + received) / 2 - db_now
        tolerance = (self.burst - 1) * self._interval
        self._slots.extend(
            max(db_now, start + i * self._interval - tolerance) + offset for i in range(k)
        )
        self.reservations += 1


_RESERVE: Final = """
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now)
INSERT INTO {s}.rate_budgets AS b (brand, tat)
SELECT $1, clock.now + $2 * $3::float8 FROM clock
ON CONFLICT (brand) DO UPDATE
   SET tat = greatest(b.tat, (SELECT now FROM clock)) + $2 * $3::float8
RETURNING tat - $2 * $3::float8 AS start, (SELECT now FROM clock) AS now"""
