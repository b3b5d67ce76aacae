"""The fleet as it runs in production: worker processes on one job, one of them SIGKILLed.

2,000 queued records, three ``omeda-async worker`` processes and FakeOmeda in
this process (an hour a second, every answer held 20 ms, so POSTs are in
flight when the kill comes). A third of the way through one worker is
killed and a replacement started. What must hold: 0 duplicates by FakeOmeda's
own records, 0 lost (every record ends finished or unknown), and unknown no
more than the killed worker's POSTs in flight (at most its concurrency).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

import pytest

from omeda_async.postgres import PostgresStore
from omeda_async.testing import FakeOmeda
from tests.support import customer, eventually

RECORDS = 2000
CONCURRENCY = 8
MakeStore = Callable[..., PostgresStore]


async def _spawn(fake: FakeOmeda, dsn: str, schema: str) -> asyncio.subprocess.Process:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMEDA_")}
    environment.update(
        OMEDA_BRAND=fake.brand,
        OMEDA_APP_ID=fake.app_id,
        OMEDA_INPUT_ID=fake.input_id,
        OMEDA_BASE_URL=fake.url,
        OMEDA_POSTGRES_DSN=dsn,
        PYTHONUNBUFFERED="1",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omeda_async.cli",
        "worker",
        "--job",
        "fleet",
        "--schema",
        schema,
        "--drain",
        "--quiet",
        "--concurrency",
        str(CONCURRENCY),
        "--lease",
        "3",
        "--claim-interval",
        "0.1",
        "--poll-interval",
        "0.05",
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.timeout(90)
async def test_a_killed_worker_costs_no_duplicate_and_loses_nothing(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """SIGKILL a third of the way through, start a replacement: 0 duplicates, 0 lost."""
    async with FakeOmeda(time_scale=3600, seed=11, faults={"slow": 1.0}) as fake:
        fake.faults.slow_seconds = 0.02
        async with make_store(job="fleet") as store:
            assert (await store.enqueue([customer(i) for i in range(RECORDS)])).added == RECORDS
            workers = [await _spawn(fake, dsn, schema) for _ in range(3)]
            try:
                await eventually(lambda: len(fake.transactions) >= RECORDS // 3)
                workers[0].send_signal(signal.SIGKILL)
                killed_at = len(fake.transactions)
                workers.append(await _spawn(fake, dsn, schema))
                async with asyncio.timeout(75):
                    codes = [await worker.wait() for worker in workers]
            finally:
                for worker in workers:
                    if worker.returncode is None:
                        worker.kill()
                        await worker.wait()
            counts = await store.counts()
    assert codes[0] == -signal.SIGKILL
    assert codes[1:] == [0, 0, 0]
    assert 0 < killed_at < RECORDS
    assert fake.duplicates() == []
    assert counts.open == 0
    assert counts.finished + counts.unknown == RECORDS  # nothing lost
    assert counts.unknown <= CONCURRENCY  # only the killed worker's POSTs in flight
    # Each finished record is one of the fake's transactions; an unknown one may be too.
    assert counts.finished <= len(fake.transactions) <= RECORDS
