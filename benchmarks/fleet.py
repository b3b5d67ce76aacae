"""The fleet (issue 16): worker processes sharing one PostgreSQL job, against FakeOmeda.

Every scenario queues its records (``PostgresStore.enqueue``), runs
``omeda-async worker`` processes on the job and reads the outcome from two
independent witnesses: FakeOmeda's own records (how many transactions, how
many records queued twice, when each request arrived) and the journal.

- **crash**: 4 workers (submit and track), one SIGKILLed a third of the way
  through and a replacement started. Goals: 0 duplicates, 0 lost, unknown no
  more than the killed worker's POSTs in flight; its transactions (those it
  was looking up) looked up again within lease + claim interval.
- **stall**: a worker SIGSTOPped for longer than its lease, then continued.
  Goals: its stale writes refused, 0 duplicates.
- **scaling**: records per second for 1, 2 and 4 submitting workers with
  every answer 200 ms late. Goal: >= 3x at 4 workers. Then 4 workers under a
  fleet budget below their capacity. Goal: the budget's rate, and no second
  of FakeOmeda's request times over it.
- **database cost**: one process, ``submit_many`` with SqliteStore and with
  PostgresStore (a server with PostgreSQL's default durability), no latency.
  Goal: PostgresStore >= 0.8 of SqliteStore's records per second; statements
  per record reported.
"""

from __future__ import annotations

import asyncio
import math
import re
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omeda_async import OmedaClient, SqliteStore

from ._common import Goal, Section, Table, median
from ._fleet_support import NoPostgres, Remote, latency_fake, postgres, rows, spawn_worker

__all__ = ["run"]

LEASE = 5.0
CLAIM = 0.5


def _schema() -> str:
    return f"bench_{uuid.uuid4().hex[:10]}"


async def _enqueue(dsn: str, schema: str, job: str, count: int) -> None:
    from omeda_async.postgres import PostgresStore

    async with PostgresStore(dsn, job=job, schema=schema) as store:
        for start in range(0, count, 5000):
            await store.enqueue(rows(min(5000, count - start), prefix=f"P{start}_"))


async def _counts(dsn: str, schema: str, job: str) -> Any:
    from omeda_async.postgres import PostgresStore

    async with PostgresStore(dsn, job=job, schema=schema) as store:
        return await store.counts()


async def _drop(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def _worker_options(*extra: str, track: bool = True, concurrency: int = 16) -> list[str]:
    options = [
        "--drain",
        "--lease",
        str(LEASE),
        "--claim-interval",
        str(CLAIM),
        "--concurrency",
        str(concurrency),
        "--poll-interval",
        "0.5",
        *extra,
    ]
    if not track:
        options.append("--submit")
    return options


def _finish(workers: Sequence[subprocess.Popen[str]], timeout: float) -> list[tuple[int, str]]:
    """Wait for every worker; (exit status, stderr) of each."""
    deadline = time.monotonic() + timeout
    done = []
    for process in workers:
        try:
            _, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        done.append((process.returncode, err))
    return done


def _statements(err: str) -> int:
    found = re.search(r"(\d+) database statements", err)
    return int(found.group(1)) if found else 0


async def _start(
    dsn: str, remote: Remote, job: str, count: int, workers: int
) -> tuple[str, str, list[str], list[subprocess.Popen[str]]]:
    """A fresh schema, ``count`` records queued in ``job``, ``workers`` workers started on it."""
    schema = _schema()
    await _enqueue(dsn, schema, job, count)
    options = _worker_options()
    return (
        schema,
        job,
        options,
        [spawn_worker(remote, dsn, schema, job, options) for _ in range(workers)],
    )


async def _third_done(conn: Any, schema: str, count: int) -> None:
    """Until a third of the records are accepted (other processes' progress, read as it goes)."""
    while True:
        done = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.records WHERE state IN ('accepted', 'finished')"
        )
        if done >= count // 3:
            return
        await asyncio.sleep(0.05)


# -------------------------------------------------------------------------- crash


async def _crash(dsn: str, remote: Remote, count: int) -> dict[str, Any]:
    import asyncpg

    schema, job, options, workers = await _start(dsn, remote, "crash", count, 4)
    victim = workers[0]
    # Its leases name it: host:pid:tag.
    owner = f"%:{victim.pid}:%"
    conn = await asyncpg.connect(dsn)
    try:
        await _third_done(conn, schema, count)
        # Killed while it looks transactions up (what takeover is about), if it does soon.
        for _ in range(100):
            looking = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.records "
                "WHERE lease_owner LIKE $1 AND state = 'accepted'",
                owner,
            )
            if looking:
                break
            await asyncio.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        killed_at = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
        victim.wait()
        in_flight = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.records "
            "WHERE lease_owner LIKE $1 AND state = 'pending'",
            owner,
        )
        followed = [
            r[0]
            for r in await conn.fetch(
                f"SELECT key FROM {schema}.records "
                "WHERE lease_owner LIKE $1 AND state = 'accepted'",
                owner,
            )
        ]
        workers.append(spawn_worker(remote, dsn, schema, job, options))
        # When each of the victim's transactions is looked up again (by anyone).
        taken: dict[str, float] = {}
        while len(taken) < len(followed):
            if all(worker.poll() is not None for worker in workers[1:]):
                # Every worker ended with some of the victim's records not looked up
                # again: say why, rather than wait for what will never come.
                errors = "\n".join(err[-2000:] for _, err in _finish(workers[1:], timeout=5))
                raise RuntimeError(
                    f"crash: the workers ended with {len(followed) - len(taken)} of the "
                    f"killed worker's transactions not taken over:\n{errors}"
                )
            for key, seen, state in await conn.fetch(
                f"SELECT key, seen, state FROM {schema}.records WHERE key = ANY($1)", followed
            ):
                if key not in taken and seen is not None and seen > killed_at:
                    taken[key] = seen - killed_at
                elif key not in taken and state == "finished":
                    taken[key] = time.time() - killed_at
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    results = _finish(workers[1:], timeout=900)
    counts = await _counts(dsn, schema, job)
    await _drop(dsn, schema)
    return {
        "records": count,
        "in_flight": in_flight,
        "followed": len(followed),
        "takeover_max": max(taken.values(), default=0.0),
        "finished": counts.finished,
        "unknown": counts.unknown,
        "rejected": counts.rejected,
        "open": counts.open,
        "exit": [code for code, _ in results],
        "statements": sum(_statements(err) for _, err in results),
    }


# -------------------------------------------------------------------------- stall


async def _stall(dsn: str, remote: Remote, count: int) -> dict[str, Any]:
    import asyncpg

    schema, job, _, workers = await _start(dsn, remote, "stall", count, 3)
    stalled = workers[0]
    conn = await asyncpg.connect(dsn)
    try:
        await _third_done(conn, schema, count)
        stalled.send_signal(signal.SIGSTOP)
        await asyncio.sleep(LEASE * 2.5)  # past its lease: the fleet takes its records over
        stalled.send_signal(signal.SIGCONT)
    finally:
        await conn.close()
    results = _finish(workers, timeout=900)
    counts = await _counts(dsn, schema, job)
    await _drop(dsn, schema)
    code, err = results[0]
    return {
        "records": count,
        "stalled_exit": code,
        "stale_refused": len(re.findall(r"taken over by another worker", err))
        + sum(int(n) for n in re.findall(r"refused (\d+)", err)),
        "finished": counts.finished,
        "unknown": counts.unknown,
        "open": counts.open,
    }


# ------------------------------------------------------------------------ scaling


async def _scaling(dsn: str, remote: Remote, count: int, workers: int, rate: float | None) -> float:
    schema, job = _schema(), f"scale{workers}"
    await _enqueue(dsn, schema, job, count)
    extra = [] if rate is None else ["--rate", str(rate)]
    started = time.monotonic()
    processes = [
        spawn_worker(remote, dsn, schema, job, _worker_options(*extra, track=False))
        for _ in range(workers)
    ]
    results = _finish(processes, timeout=900)
    elapsed = time.monotonic() - started
    counts = await _counts(dsn, schema, job)
    await _drop(dsn, schema)
    if counts.accepted != count or any(code != 0 for code, _ in results):
        raise RuntimeError(f"scaling run incomplete: {counts}, exits {[c for c, _ in results]}")
    return elapsed


def _rate_of(times: Sequence[float]) -> tuple[float, int, int]:
    """(requests per second over the busy span, the busiest calendar second, its budget seconds)."""
    ordered = sorted(times)
    span = ordered[-1] - ordered[0]
    per_second = Counter(math.floor(t) for t in ordered)
    whole = sorted(per_second)[1:-1]  # the first and last seconds are partial
    busiest = max((per_second[s] for s in whole), default=0)
    return (len(ordered) - 1) / span if span > 0 else 0.0, busiest, len(whole)


# ------------------------------------------------------------------ database cost


async def _store_throughput(remote: Remote, store: Any, count: int) -> float:
    async with OmedaClient(
        brand=remote.brand, app_id=remote.app_id, input_id=remote.input_id, base_url=remote.url
    ) as client:
        started = time.perf_counter()
        async with store:
            async for outcome in client.submit_many(
                rows(count, prefix=f"D{uuid.uuid4().hex[:6]}_"), concurrency=16, store=store
            ):
                assert outcome.transaction_id is not None
        return count / (time.perf_counter() - started)


async def _database_cost(dsn: str, remote: Remote, count: int, rounds: int) -> dict[str, Any]:
    from omeda_async.postgres import PostgresStore

    sqlite: list[float] = []
    pg: list[float] = []
    statements = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            contenders = ["sqlite", "postgres"] if n % 2 == 0 else ["postgres", "sqlite"]
            for name in contenders:
                if name == "sqlite":
                    store: Any = SqliteStore(Path(tmp) / f"j{n}.db")
                    sqlite.append(await _store_throughput(remote, store, count))
                else:
                    schema = _schema()
                    store = PostgresStore(dsn, job="cost", schema=schema)
                    pg.append(await _store_throughput(remote, store, count))
                    statements = store.database.statements
                    await _drop(dsn, schema)
    return {
        "sqlite": median(sqlite),
        "postgres": median(pg),
        "ratio": median(pg) / median(sqlite),
        "statements_per_record": statements / count,
    }


# ----------------------------------------------------------------------------- run


def run(quick: bool) -> Section:
    """All four scenarios (``quick``: small sizes, a smoke test)."""
    try:
        with postgres() as dsn:
            return _run(dsn, quick)
    except NoPostgres as exc:
        return Section(
            "fleet", [Table("Fleet (skipped)", ["why"], [[str(exc)]])], [], {"skipped": str(exc)}
        )


def _run(dsn: str, quick: bool) -> Section:
    crash_n, stall_n = (2_000, 1_000) if quick else (20_000, 3_000)
    scale_n = 200 if quick else 1_000
    budget_rate, budget_n = 40.0, (200 if quick else 1_200)
    with latency_fake(0.05) as fake:
        crash = asyncio.run(_crash(dsn, fake.remote, crash_n))
        crash_fake = fake.report()
    with latency_fake(0.05) as fake:
        stall = asyncio.run(_stall(dsn, fake.remote, stall_n))
        stall_fake = fake.report()
    scaling: dict[int, float] = {}
    for workers in (1, 2, 4):
        with latency_fake(0.2) as fake:
            asyncio.run(_scaling(dsn, fake.remote, scale_n * workers, workers, None))
            # From FakeOmeda's first POST to its last: the workers' steady rate, not
            # their start-up (a second of imports and connections each).
            scaling[workers] = _rate_of(fake.report().post_times)[0]
    with latency_fake(0.2) as fake:
        asyncio.run(_scaling(dsn, fake.remote, budget_n, 4, budget_rate))
        budget_fake = fake.report()
    sent_rate, busiest, seconds = _rate_of(budget_fake.post_times)
    with latency_fake(0.0) as fake:
        cost = asyncio.run(_database_cost(dsn, fake.remote, 500 if quick else 3_000, 3))

    lost = crash["records"] - crash["finished"] - crash["unknown"] - crash["rejected"]
    bound = LEASE + CLAIM
    speedup = scaling[4] / scaling[1]
    tables = [
        Table(
            "Fleet: a worker SIGKILLed a third of the way through (4 workers, submit and track)",
            [
                "records",
                "duplicates",
                "lost",
                "unknown",
                "killed worker's POSTs in flight",
                "its lookups taken over after",
                "statements per record",
            ],
            [
                [
                    f"{crash['records']:,}",
                    str(crash_fake.duplicates),
                    str(lost),
                    str(crash["unknown"]),
                    str(crash["in_flight"]),
                    f"{crash['takeover_max']:.1f} s ({crash['followed']} transactions)",
                    f"{crash['statements'] / crash['records']:.1f}",
                ]
            ],
        ),
        Table(
            f"Fleet: a worker SIGSTOPped for {LEASE * 2.5:g} s, past its {LEASE:g} s lease",
            ["records", "duplicates", "its stale writes refused", "its exit", "unknown", "lost"],
            [
                [
                    f"{stall['records']:,}",
                    str(stall_fake.duplicates),
                    str(stall["stale_refused"]),
                    str(stall["stalled_exit"]),
                    str(stall["unknown"]),
                    str(stall["records"] - stall["finished"] - stall["unknown"]),
                ]
            ],
        ),
        Table(
            "Fleet: scaling (every answer 200 ms late, 16 POSTs in flight a worker; "
            "records per second between FakeOmeda's first and last POST)",
            ["workers", "records/s", "x one worker"],
            [[str(w), f"{r:.1f}", f"{r / scaling[1]:.2f}"] for w, r in scaling.items()],
        ),
        Table(
            f"Fleet: 4 workers sharing a budget of {budget_rate:g} requests/s",
            ["records", "sent/s", "busiest second (of FakeOmeda's)", "whole seconds"],
            [[str(budget_n), f"{sent_rate:.2f}", str(busiest), str(seconds)]],
        ),
        Table(
            "Fleet: the database's cost (one process, submit_many, no latency)",
            ["store", "records/s", "statements per record"],
            [
                ["SqliteStore", f"{cost['sqlite']:.0f}", "-"],
                [
                    "PostgresStore",
                    f"{cost['postgres']:.0f}",
                    f"{cost['statements_per_record']:.1f}",
                ],
            ],
        ),
    ]
    goals = [
        Goal("crash: duplicates", str(crash_fake.duplicates), "0", crash_fake.duplicates == 0),
        Goal("crash: lost", str(lost), "0", lost == 0 and crash["open"] == 0),
        Goal(
            "crash: unknown",
            str(crash["unknown"]),
            f"<= {crash['in_flight']} (in flight)",
            crash["unknown"] <= crash["in_flight"],
        ),
        Goal(
            "crash: takeover",
            f"{crash['takeover_max']:.1f} s",
            f"<= lease + claim interval ({bound:g} s) + a lookup",
            crash["takeover_max"] <= bound + 1.0,
        ),
        Goal(
            "stall: stale writes refused, 0 duplicates",
            f"{stall['stale_refused']} refused, {stall_fake.duplicates} duplicates",
            ">= 1 refused, 0",
            stall["stale_refused"] >= 1 and stall_fake.duplicates == 0,
        ),
        Goal("scaling: 4 workers", f"{speedup:.2f}x", ">= 3x", speedup >= 3.0),
        Goal(
            "budget: busiest second",
            str(busiest),
            f"<= {budget_rate:g}",
            busiest <= budget_rate,
        ),
        Goal(
            "budget: rate sent",
            f"{sent_rate:.1f}/s",
            f">= 0.95 x {budget_rate:g} (the slots are 3% apart: 0.97)",
            sent_rate >= 0.95 * budget_rate,
        ),
        Goal(
            "database: PostgresStore / SqliteStore",
            f"{cost['ratio']:.2f}",
            ">= 0.8",
            cost["ratio"] >= 0.8,
        ),
    ]
    data = {
        "crash": crash,
        "stall": stall,
        "scaling": scaling,
        "budget": {"rate": budget_rate, "sent": sent_rate, "busiest": busiest},
        "cost": cost,
    }
    return Section("fleet", tables, goals, data)
