"""Crash and resume: a bulk job SIGKILLed at random moments, again and again, then finished.

tests/test_bulk.py kills one job at a staged moment (8 answers held); here
each seeded run kills a journaled child job at a random number of POSTs the
fake has received (so mid-request, mid-journal-write, between records: wherever
it lands), restarts it on the same journal and kills it again, then finishes
the job in-process. The queue of FakeOmeda is the judge: no row lost (each
is queued exactly once or reported unknown), none queued twice, and a row a
child reported accepted is never sent again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from omeda_async import RecordState, SqliteStore
from omeda_async.testing import FakeOmeda, Faults
from tests.support import (
    CHILD_JOB,
    QUICK_PATH,
    check_accounted,
    collect,
    customer,
    eventually,
    posts,
    queued_by_row,
    rows_from,
)

ROWS = 120


async def kill_at_random(
    fake: FakeOmeda, script: Path, journal: Path, rows: Path, rng: random.Random
) -> dict[int, str]:
    """Run the child job until the fake has received a random number more POSTs; SIGKILL it.

    Returns what the child reported (row index -> state) before it died.
    """
    before = posts(fake)
    target = before + rng.randint(1, ROWS // 2)
    env = {
        **os.environ,
        "OMEDA_BRAND": fake.brand,
        "OMEDA_BASE_URL": fake.url,
        "OMEDA_APP_ID": fake.app_id,
        "OMEDA_INPUT_ID": fake.input_id,
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(journal),
        str(rows),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    reported: dict[int, str] = {}

    async def read() -> None:
        assert child.stdout is not None
        async for line in child.stdout:
            # SIGKILL can cut the last report mid-write: only a whole line was reported.
            if not line.endswith(b"\n"):
                break
            number, state = line.decode().split()
            reported[int(number)] = state

    reader = asyncio.create_task(read())
    try:
        # The child may finish first (every row already done): then there is nothing to kill.
        await eventually(lambda: posts(fake) >= target or child.returncode is not None, 60)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGKILL)
        await child.wait()
        await reader
    return reported


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_repeated_sigkill_then_resume_loses_nothing_and_queues_nothing_twice(
    tmp_path: Path, seed: int
) -> None:
    """Two random SIGKILLs, then a full run: every row queued once or unknown, none twice."""
    rng = random.Random(seed)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(customer(i)) + "\n" for i in range(ROWS)))
    script = tmp_path / "child.py"
    script.write_text(CHILD_JOB)
    journal = tmp_path / "journal.db"
    # A few answers are slow, so some kills land while POSTs wait on the server.
    faults = Faults(
        rates={"slow": 0.05}, services=["storecustomerandorder"], slow_seconds=0.3, seed=seed
    )
    async with FakeOmeda(time_scale=200, scenario=QUICK_PATH, faults=faults, seed=seed) as fake:
        reported: dict[int, str] = {}
        for _ in range(2):
            # A rerun reports what the journal had as it was (accepted, unknown): skipped.
            reported.update(await kill_at_random(fake, script, journal, rows, rng))
            assert fake.duplicates() == []
        fake.faults.clear()
        sent_before = posts(fake)
        async with fake.client() as client, SqliteStore(journal) as store:
            job = client.submit_many(rows_from(rows), concurrency=8, store=store)
            outcomes = {o.index: o for o in await collect(job)}
            check_accounted(list(outcomes.values()), ROWS, job.summary)
        queued = queued_by_row(fake)
        assert fake.duplicates() == []
        for index in range(ROWS):
            outcome, ids = outcomes[index], queued.get(index, [])
            if outcome.state is RecordState.UNKNOWN:
                # Killed with the POST out: reconcile by hand, never resent silently.
                assert len(ids) <= 1
                assert outcome.attempts == 0
            else:
                assert outcome.state is RecordState.ACCEPTED, (index, outcome.state)
                assert ids == [outcome.transaction_id], (index, ids)
            if reported.get(index) == "accepted":
                assert outcome.skipped
                assert outcome.attempts == 0
        # The last run sent only what no earlier run had touched.
        resent = posts(fake) - sent_before
        assert resent == job.summary.accepted
        assert job.summary.accepted + job.summary.skipped + job.summary.unknown == ROWS
