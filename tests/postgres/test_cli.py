"""``omeda-async enqueue`` and ``omeda-async worker`` as an operator runs them."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from omeda_async.testing import FakeOmeda
from tests.cli.conftest import ENV_NAMES, Cli, finish, valid_payloads, write_payloads
from tests.postgres.support import admin

DSN_PASSWORD_SECRET = "cli-Secret-0b1d2e3f"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOmeda]:
    async with FakeOmeda(time_scale=3600, seed=12) as server:
        yield server


@pytest.fixture
def cli(
    fake: FakeOmeda, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    runner = Cli(fake, capsys)
    for name, value in runner.env().items():
        monkeypatch.setenv(name, value)
    return runner


def job_args(dsn: str, schema: str, job: str = "cli") -> list[str]:
    return ["--dsn", dsn, "--job", job, "--schema", schema]


async def test_enqueue_reports_each_refused_line_and_queues_the_rest_once(
    cli: Cli, dsn: str, schema: str, tmp_path: Path
) -> None:
    """Valid lines are queued once; a broken line and an invalid payload are named by line."""
    payloads: list[object] = [*valid_payloads(3), "not json", {"FirstName": "x", "Emails": 5}]
    rows = write_payloads(tmp_path / "rows.jsonl", payloads)
    first = await cli.run("enqueue", *job_args(dsn, schema), str(rows))
    again = await cli.run("enqueue", *job_args(dsn, schema), str(rows))
    assert first.code == 1
    assert "queued 3 records in job 'cli'" in first.err
    assert [(line["line"], line["queued"]) for line in first.lines()] == [(4, False), (5, False)]
    assert "not valid JSON" in first.lines()[0]["errors"][0]
    assert "queued 0 records" in again.err
    assert "3 already in the job" in again.err


async def test_worker_drains_a_job_submitting_and_tracking_every_record(
    cli: Cli, fake: FakeOmeda, dsn: str, schema: str, tmp_path: Path
) -> None:
    """One JSON line per record sent and per tracking ended; exit 0 when all succeeded."""
    rows = write_payloads(tmp_path / "rows.jsonl", valid_payloads(20))
    assert (await cli.run("enqueue", *job_args(dsn, schema), str(rows))).code == 0
    result = await cli.run(
        "worker",
        *job_args(dsn, schema),
        "--drain",
        "--poll-interval",
        "0.05",
        "--claim-interval",
        "0.05",
    )
    assert result.code == 0, result.err
    lines = result.lines()
    sent = [line for line in lines if line["state"] == "accepted"]
    ended = [line for line in lines if line["state"] == "finished"]
    assert len(sent) == 20
    assert len(ended) == 20
    assert {line["outcome"] for line in ended} == {"succeeded"}
    assert {line["transaction_id"] for line in sent} == set(fake.transactions)
    assert "stopped after" in result.err


async def test_sigterm_stops_a_worker_cleanly_and_releases_its_leases(
    cli: Cli, dsn: str, schema: str, tmp_path: Path
) -> None:
    """A service manager's SIGTERM: exit 130, said on stderr, nothing left held."""
    rows = write_payloads(tmp_path / "rows.jsonl", valid_payloads(5))
    assert (await cli.run("enqueue", *job_args(dsn, schema), str(rows))).code == 0
    env = {**cli.env(), "OMEDA_POSTGRES_DSN": dsn}
    process = await cli.spawn(
        "worker",
        "--job",
        "cli",
        "--schema",
        schema,
        "--poll-interval",
        "30",
        "--claim-interval",
        "0.05",
        env=env,
    )
    assert process.stdout is not None
    # Once it has sent the five (their lines are out), it has nothing to do but wait.
    for _ in range(5):
        await asyncio.wait_for(process.stdout.readline(), 30)
    process.send_signal(signal.SIGTERM)
    result = await finish(process)
    async with admin(dsn) as conn:
        held = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.records WHERE lease_owner IS NOT NULL"
        )
    assert result.code == 130, result.err
    assert "stopping on SIGTERM" in result.err
    assert "releasing this worker's leases" in result.err
    assert held == 0


async def test_a_dsn_that_does_not_connect_is_a_usage_error_without_the_password(
    cli: Cli, dsn: str, schema: str
) -> None:
    """Exit 2, the server named, its password never printed."""
    wrong = dsn.replace("postgres@", f"postgres:{DSN_PASSWORD_SECRET}@").rsplit(":", 1)[0]
    result = await cli.run("worker", *job_args(f"{wrong}:1/postgres", schema), "--drain")
    assert result.code == 2
    assert "cannot connect to PostgreSQL at postgresql://postgres@" in result.err
    assert DSN_PASSWORD_SECRET not in result.err + result.out


async def test_a_worker_without_a_dsn_says_where_to_give_one(cli: Cli) -> None:
    """No --dsn and no OMEDA_POSTGRES_DSN: exit 2 naming both."""
    result = await cli.run("worker", "--job", "x")
    assert result.code == 2
    assert "--dsn" in result.err
    assert "OMEDA_POSTGRES_DSN" in result.err
