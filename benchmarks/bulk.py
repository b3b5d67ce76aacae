"""Bulk memory: a 100,000-record generator through ``submit_many``.

The job runs in a fresh child process (so earlier benchmarks leave nothing in
its memory) against FakeOmeda in another process (so the fake's own record of
100,000 transactions is not counted). The child opens the client, sends a
short warm-up job (imports, connection pool), takes its RSS as the baseline,
then submits the records from a generator at concurrency 64 with no store,
sampling RSS every 10% of the records. Reported: the peak RSS above the
baseline, and the samples, which show whether memory stays flat.
Goal (issue 7): flat, under 50 MB.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time

from omeda_async import OmedaClient

from ._common import Goal, Section, Table, rss_bytes
from ._server import Remote, remote_fake
from .throughput import CONCURRENCY, records

MB = 1024 * 1024


async def _job(remote: Remote, count: int) -> dict[str, object]:
    async with OmedaClient(
        brand=remote.brand, app_id=remote.app_id, input_id=remote.input_id, base_url=remote.url
    ) as client:
        async for _ in client.submit_many(records(500), concurrency=CONCURRENCY):
            pass
        baseline = rss_bytes()[0]
        samples: list[float] = []
        step = max(1, count // 10)
        peak = baseline
        accepted = 0
        started = time.perf_counter()
        async for outcome in client.submit_many(records(count), concurrency=CONCURRENCY):
            accepted += outcome.transaction_id is not None
            if outcome.index % 1000 == 0:
                peak = max(peak, rss_bytes()[0])
            if (outcome.index + 1) % step == 0:
                samples.append((rss_bytes()[0] - baseline) / MB)
        elapsed = time.perf_counter() - started
        peak = max(peak, rss_bytes()[0])
    return {
        "accepted": accepted,
        "baseline_mb": baseline / MB,
        "peak_above_mb": (peak - baseline) / MB,
        "samples_mb": samples,
        "seconds": elapsed,
    }


def _child(remote: Remote, count: int, conn: multiprocessing.connection.Connection) -> None:
    conn.send(asyncio.run(_job(remote, count)))


def run(quick: bool) -> Section:
    """Peak RSS above baseline over the job, samples every 10%, the goal."""
    count = 10_000 if quick else 100_000
    context = multiprocessing.get_context("spawn")
    with remote_fake() as remote:
        parent, child = context.Pipe()
        process = context.Process(target=_child, args=(remote, count, child))
        process.start()
        child.close()  # so that recv() ends with EOFError if the child dies early
        result = parent.recv()
        process.join()
    if result["accepted"] != count:
        raise RuntimeError(f"bulk: {result['accepted']} of {count} records accepted")
    peak = float(result["peak_above_mb"])
    samples = [float(s) for s in result["samples_mb"]]
    # Flat: the second half of the job grows no more than a few MB past the first.
    flat = max(samples[len(samples) // 2 :]) - max(samples[: len(samples) // 2]) < 5.0
    return Section(
        name="bulk",
        tables=[
            Table(
                f"Bulk memory: {count:,} records from a generator through submit_many "
                f"(concurrency {CONCURRENCY}, no store), RSS above the baseline",
                ["measure", "value"],
                [
                    ["baseline RSS (client open, warmed up)", f"{result['baseline_mb']:.1f} MB"],
                    ["peak RSS above baseline", f"{peak:.1f} MB"],
                    [
                        "RSS above baseline at 10%, 20%, ... 100%",
                        " ".join(f"{s:.1f}" for s in samples),
                    ],
                    ["records/s", f"{count / float(result['seconds']):,.0f}"],
                ],
            )
        ],
        goals=[
            Goal(
                "bulk: peak memory above baseline",
                f"{peak:.1f} MB",
                "< 50 MB, flat",
                peak < 50 and flat,
            )
        ],
        data=result,
    )
