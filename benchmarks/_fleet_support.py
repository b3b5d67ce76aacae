"""What the fleet benchmarks stand on: a PostgreSQL, FakeOmeda with latency, worker processes.

- :func:`postgres` yields a DSN: ``OMEDA_BENCH_POSTGRES_DSN`` if set, else a
  throwaway server started here with PostgreSQL's default durability (fsync
  on, synchronous commit), as a production database has it, stopped after.
- :func:`latency_fake` runs FakeOmeda in its own process (its CPU must not
  be the workers'), holding every answer ``latency`` real seconds (its
  ``slow`` fault at rate 1), and at the end reports what it received: how
  many transactions, how many records it queued twice, and the real time of
  every request.
- :func:`spawn_worker` starts ``omeda-async worker`` as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from omeda_async.testing import FakeOmeda

from ._server import Remote

__all__ = ["FakeReport", "Remote", "latency_fake", "postgres", "spawn_worker"]


class NoPostgres(Exception):
    """Neither OMEDA_BENCH_POSTGRES_DSN nor a local PostgreSQL to start."""


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A DSN for the benchmark's own database (see the module docstring)."""
    given = os.environ.get("OMEDA_BENCH_POSTGRES_DSN", "").strip()
    if given:
        yield given
        return
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise NoPostgres("no pg_config: install PostgreSQL or set OMEDA_BENCH_POSTGRES_DSN")
    bindir = subprocess.run(
        [pg_config, "--bindir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    base = tempfile.mkdtemp(prefix="omeda-bench-pg-")
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data = os.path.join(base, "data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    subprocess.run(
        _as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]), **quiet
    )  # type: ignore[call-overload]
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c max_connections=200"
    subprocess.run(
        _as_postgres(
            [f"{bindir}/pg_ctl", "-D", data, "-l", f"{base}/log", "-w", "-o", options, "start"]
        ),
        **quiet,  # type: ignore[call-overload]
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


@attrs.frozen
class FakeReport:
    """What the fake received, read when it stops."""

    transactions: int
    duplicates: int
    """Records (by FirstName, unique per record) queued more than once."""
    post_times: tuple[float, ...]
    """Real seconds (the fake's clock / its scale) of every POST."""
    get_times: tuple[float, ...]


_NO_FULL_COLLECTIONS = 1_000_000_000


async def _serve(
    conn: multiprocessing.connection.Connection, latency: float, time_scale: float
) -> None:
    first, second, _ = gc.get_threshold()
    gc.set_threshold(first, second, _NO_FULL_COLLECTIONS)
    faults = {"slow": 1.0} if latency > 0 else None
    async with FakeOmeda(record_bodies=False, seed=1, time_scale=time_scale, faults=faults) as fake:
        fake.faults.slow_seconds = latency
        conn.send(Remote(fake.url, fake.brand, fake.app_id, fake.input_id, time_scale))
        await asyncio.to_thread(conn.recv)
        names = Counter(tx.body.get("FirstName") for tx in fake.transactions.values())
        posts = tuple(r.at / time_scale for r in fake.requests if r.method == "POST")
        gets = tuple(r.at / time_scale for r in fake.requests if r.method == "GET")
        conn.send(
            FakeReport(
                len(fake.transactions),
                sum(1 for n in names.values() if n > 1),
                posts,
                gets,
            )
        )


def _main(conn: multiprocessing.connection.Connection, latency: float, time_scale: float) -> None:
    asyncio.run(_serve(conn, latency, time_scale))


class LatencyFake:
    """A running fake in its child process; ``report()`` stops it and says what it saw."""

    def __init__(self, latency: float, time_scale: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_main, args=(child, latency, time_scale), daemon=True
        )
        self._process.start()
        child.close()
        remote = self._conn.recv()
        if not isinstance(remote, Remote):
            raise RuntimeError(f"the FakeOmeda process answered {remote!r}")
        self.remote = remote
        self._report: FakeReport | None = None

    def report(self) -> FakeReport:
        if self._report is None:
            self._conn.send("stop")
            self._report = self._conn.recv()
            self._process.join(30)
        return self._report

    def close(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(Exception):
                self.report()
            self._process.terminate()
            self._process.join()


@contextlib.contextmanager
def latency_fake(latency: float, *, time_scale: float = 3600.0) -> Iterator[LatencyFake]:
    """FakeOmeda in a child process, every answer ``latency`` seconds late."""
    fake = LatencyFake(latency, time_scale)
    try:
        yield fake
    finally:
        fake.close()


def spawn_worker(
    remote: Remote, dsn: str, schema: str, job: str, options: Sequence[str]
) -> subprocess.Popen[str]:
    """``omeda-async worker`` on ``job`` with the fake's credentials in its environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMEDA_")}
    environment.update(
        OMEDA_BRAND=remote.brand,
        OMEDA_APP_ID=remote.app_id,
        OMEDA_INPUT_ID=remote.input_id,
        OMEDA_BASE_URL=remote.url,
        OMEDA_POSTGRES_DSN=dsn,
        PYTHONUNBUFFERED="1",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "omeda_async.cli",
            "worker",
            "--job",
            job,
            "--schema",
            schema,
            *options,
        ],
        env=environment,
        stdout=subprocess.DEVNULL,  # the results: the journal and the fake are the witnesses
        stderr=subprocess.PIPE,
        text=True,
    )


def rows(count: int, *, prefix: str = "P") -> list[dict[str, Any]]:
    """``count`` valid customer rows, each with its own FirstName (how duplicates are found)."""
    return [
        {
            "FirstName": f"{prefix}{i}",
            "Emails": [{"EmailAddress": f"{prefix.lower()}{i}@example.com"}],
        }
        for i in range(count)
    ]
