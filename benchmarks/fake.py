"""FakeOmeda's speed: Transaction Lookups per second served to OmedaClient in one process.

The fake must never be a benchmark's bottleneck (issue 3: at least 2,000
lookups/s with the client in the same process). Contenders, interleaved:

* FakeOmeda (headers and bodies not recorded) answering lookups of queued
  transactions: status computed from each transaction's path on its clock;
* a bare ``aiohttp.web`` server answering every lookup with a constant body:
  the ceiling for this client on this machine, so the fake's own cost shows
  as the gap between the two.

Each round makes ``lookups`` ``get_transaction`` calls with 32 in flight.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from omeda_async import OmedaClient
from omeda_async.testing import FakeOmeda

from ._common import Goal, Section, Table, interleaved_async, median

CONCURRENCY = 32
SUBMISSIONS = 200
_CONSTANT = b'{"TransactionId":1,"Status":7,"SubmissionId":"40078f34-7f99-416b-9635-1d63242ef3fd"}'
FAKE = "FakeOmeda"
BARE = "bare aiohttp server (constant answer)"


async def _rate(lookup: Callable[[int], Awaitable[object]], ids: list[int], lookups: int) -> float:
    """Lookups per second with CONCURRENCY in flight, after warming the connection pool."""
    cycle = itertools.cycle(ids)
    remaining = lookups

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await lookup(next(cycle))

    await asyncio.gather(*(lookup(i) for i in ids[:CONCURRENCY]))
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return lookups / (time.perf_counter() - started)


async def _fake_round(lookups: int) -> float:
    async with (
        FakeOmeda(time_scale=60.0, seed=1, record_bodies=False) as fake,
        fake.client() as client,
    ):
        ids = [
            (await client.store_customer_and_order({"FirstName": f"Jane {n}"})).transaction_id
            for n in range(SUBMISSIONS)
        ]
        return await _rate(client.get_transaction, ids, lookups)


async def _bare_round(lookups: int) -> float:
    async def answer(_request: web.BaseRequest) -> web.Response:
        return web.Response(body=_CONSTANT, content_type="application/json")

    runner = web.ServerRunner(web.Server(answer, access_log=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with OmedaClient(
            brand="BENCH", app_id="bench-app", base_url=f"http://127.0.0.1:{port}"
        ) as client:
            return await _rate(client.get_transaction, [1], lookups)
    finally:
        await runner.cleanup()


def run(quick: bool) -> Section:
    """Median lookups/s of FakeOmeda and of the bare server; the issue-3 goal."""
    rounds, lookups = (3, 2_000) if quick else (5, 10_000)
    figures = asyncio.run(
        interleaved_async(
            {FAKE: lambda: _fake_round(lookups), BARE: lambda: _bare_round(lookups)},
            rounds=rounds,
        )
    )
    medians = {name: median(values) for name, values in figures.items()}
    rows = [
        [name, f"{medians[name]:,.0f}", f"{min(values):,.0f}-{max(values):,.0f}",
         f"{medians[name] / medians[BARE]:.2f}"]
        for name, values in figures.items()
    ]  # fmt: skip
    fake = medians[FAKE]
    return Section(
        name="fake",
        tables=[
            Table(
                f"FakeOmeda lookups/s, client in the same process, {CONCURRENCY} in flight, "
                f"median of {rounds} interleaved rounds of {lookups:,}",
                ["server", "lookups/s (median)", "range", "vs bare"],
                rows,
            )
        ],
        goals=[Goal("fake: lookups per second", f"{fake:,.0f}/s", ">= 2,000/s", fake >= 2000)],
        data={"lookups_per_second": figures, "median": medians},
    )
