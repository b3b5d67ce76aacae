"""How many Transaction Lookups per second FakeOmeda serves to OmedaClient.

The fake must never be a benchmark's bottleneck (issue 3: at least 2,000
lookups/s with the client in the same process). This starts a fake with
recording of headers and bodies off, queues ``--submissions`` transactions,
then runs ``--lookups`` ``get_transaction`` calls with ``--concurrency`` in
flight and prints the rate.

On a shared machine single runs are noisy, so it runs ``--rounds`` rounds and
prints the median. Each round also runs the same client against a bare
``aiohttp.web`` server that answers every lookup with a constant body: the
ceiling for this client on this machine, so the fake's own cost shows as the
gap between the two. Run: ``python benchmarks/bench_fake.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from omeda_async import OmedaClient
from omeda_async.testing import FakeOmeda

_CONSTANT = b'{"TransactionId":1,"Status":7,"SubmissionId":"40078f34-7f99-416b-9635-1d63242ef3fd"}'


async def _measure(
    lookup: Callable[[int], Awaitable[object]], ids: list[int], lookups: int, concurrency: int
) -> float:
    cycle = itertools.cycle(ids)
    remaining = lookups

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await lookup(next(cycle))

    # Warm the connection pool, then measure.
    await asyncio.gather(*(lookup(i) for i in ids[:concurrency]))
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return lookups / (time.perf_counter() - started)


async def fake_round(submissions: int, lookups: int, concurrency: int) -> float:
    """Lookups/s from OmedaClient against FakeOmeda."""
    async with FakeOmeda(time_scale=60.0, seed=1, record_bodies=False) as fake:
        async with fake.client() as client:
            ids = [
                (await client.store_customer_and_order({"FirstName": f"Jane {n}"})).transaction_id
                for n in range(submissions)
            ]
            fake.reset_records()
            rate = await _measure(client.get_transaction, ids, lookups, concurrency)
        assert sum(fake.lookups.values()) >= lookups  # plus the warm-up
        return rate


async def baseline_round(lookups: int, concurrency: int) -> float:
    """Lookups/s from OmedaClient against a bare aiohttp server (a constant answer)."""

    async def answer(_request: web.BaseRequest) -> web.Response:
        return web.Response(body=_CONSTANT, content_type="application/json")

    runner = web.ServerRunner(web.Server(answer, access_log=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with OmedaClient(
            brand="BENCH", app_id="bench", base_url=f"http://127.0.0.1:{port}"
        ) as client:
            return await _measure(client.get_transaction, [1], lookups, concurrency)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="FakeOmeda lookups per second")
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    fake_rates: list[float] = []
    bare_rates: list[float] = []
    for number in range(1, args.rounds + 1):
        fake_rates.append(asyncio.run(fake_round(args.submissions, args.lookups, args.concurrency)))
        bare_rates.append(asyncio.run(baseline_round(args.lookups, args.concurrency)))
        print(
            f"round {number}: FakeOmeda {fake_rates[-1]:,.0f} lookups/s, "
            f"bare aiohttp server {bare_rates[-1]:,.0f} lookups/s"
        )
    fake, bare = statistics.median(fake_rates), statistics.median(bare_rates)
    print(
        f"{args.lookups} lookups of {args.submissions} transactions, "
        f"{args.concurrency} in flight, median of {args.rounds} rounds:\n"
        f"  FakeOmeda:           {fake:,.0f} lookups/s (min {min(fake_rates):,.0f}, "
        f"max {max(fake_rates):,.0f})\n"
        f"  bare aiohttp server: {bare:,.0f} lookups/s (the client's ceiling here)\n"
        f"  FakeOmeda / bare:    {fake / bare:.0%}"
    )


if __name__ == "__main__":
    main()
