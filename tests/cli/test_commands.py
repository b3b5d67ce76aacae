"""`status`, `track`, `history` and `serve`, run as a user would against FakeOmeda."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from omeda_async import Outcome, SqliteStore, StatusCode
from omeda_async.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from omeda_async.testing import FakeOmeda

from .conftest import Cli, finish, valid_payloads


async def _queue(fake: FakeOmeda, count: int, *, processed: bool = False) -> list[int]:
    """Queue ``count`` customers on ``fake``; with ``processed``, run them to their end now."""
    async with fake.client() as client:
        ids = [
            (await client.store_customer_and_order(payload)).transaction_id
            for payload in valid_payloads(count)
        ]
        if processed:
            await client.run_processor(ids)
    return ids


# ------------------------------------------------------------------------ status


async def test_status_prints_one_json_line_per_transaction(cli: Cli) -> None:
    """`status` looks each id up once and prints its code, description and outcome as JSON."""
    ids = await _queue(cli.fake, 2, processed=True)
    result = await cli.run("status", *map(str, ids))
    assert result.code == EXIT_OK
    lines = result.lines()
    assert [line["transaction_id"] for line in lines] == ids
    for line in lines:
        assert line["status"] == 100
        assert line["status_description"] == StatusCode(100).description
        assert line["outcome"] == "succeeded"
        assert line["terminal"] is True
    assert sum(cli.fake.lookups[tid] for tid in ids) == 2


async def test_status_of_an_unknown_id_exits_1(cli: Cli) -> None:
    """An id Omeda does not know is an error line with Omeda's reason, and exit 1."""
    cli.fake.script_next([3])  # stays "Paid Customer On Hold"
    (known,) = await _queue(cli.fake, 1)
    result = await cli.run("status", str(known), "424242")
    assert result.code == EXIT_FAILED
    by_id = {line["transaction_id"]: line for line in result.lines()}
    assert by_id[known]["status"] == 3
    assert by_id[known]["outcome"] == "held"
    assert "No status found for transaction 424242" in by_id[424242]["error"]


async def test_status_table(cli: Cli) -> None:
    """`--format table` renders a table with the id, the status and its outcome."""
    (tid,) = await _queue(cli.fake, 1, processed=True)
    result = await cli.run("status", str(tid), "--format", "table")
    assert result.code == EXIT_OK
    assert "Transaction Lookup" in result.out
    assert str(tid) in result.out
    assert "succeeded" in result.out


# ------------------------------------------------------------------------- track


async def test_track_follows_each_id_to_its_end(cli: Cli) -> None:
    """`track` polls until each transaction ends and prints its history; exit 0 when all succeed."""
    ids = await _queue(cli.fake, 3)
    result = await cli.run("track", *map(str, ids), "--poll-interval", "0.05")
    assert result.code == EXIT_OK
    lines = result.lines()
    assert sorted(line["transaction_id"] for line in lines) == sorted(ids)
    for line in lines:
        assert line["outcome"] == "succeeded"
        assert line["status"] == 100
        assert line["history"][-1][1] == 100
        assert (
            line["omeda_customer_id"] == cli.fake.transactions[line["transaction_id"]].customer_id
        )
    assert "succeeded" in result.err  # the summary on stderr


async def test_track_reports_failures_with_exit_1(cli: Cli) -> None:
    """A transaction that fails validation at Omeda ends `failed` with its errors; exit 1."""
    cli.fake.script_next("failed_validation")
    ids = await _queue(cli.fake, 1)
    result = await cli.run("track", str(ids[0]), "--poll-interval", "0.05")
    assert result.code == EXIT_FAILED
    (line,) = result.lines()
    assert line["outcome"] == "failed"
    assert line["status"] == 9
    assert "EmailAddress is not valid jsmith@" in line["errors"]


async def test_track_table(cli: Cli) -> None:
    """`track --format table` renders one row per transaction with its outcome."""
    ids = await _queue(cli.fake, 1)
    result = await cli.run("track", str(ids[0]), "--poll-interval", "0.05", "--format", "table")
    assert result.code == EXIT_OK
    assert "Tracking results" in result.out
    assert str(ids[0]) in result.out
    assert "succeeded" in result.out


async def test_track_resume_finishes_a_journal(cli: Cli, tmp_path: Path) -> None:
    """`track --resume` follows every unfinished id of a journal and records each end in it."""
    ids = await _queue(cli.fake, 2)
    journal = tmp_path / "job.db"
    async with SqliteStore(journal, brand=cli.fake.brand) as store:
        for n, tid in enumerate(ids):
            await store.accept(f"row-{n}", tid, service="storecustomerandorder")
    result = await cli.run("track", "--resume", str(journal), "--poll-interval", "0.05")
    assert result.code == EXIT_OK
    assert sorted(line["transaction_id"] for line in result.lines()) == sorted(ids)
    async with SqliteStore(journal, brand=cli.fake.brand) as store:
        assert await store.unfinished() == []
        record = await store.get("row-0")
        assert record is not None
        assert record.outcome is Outcome.SUCCEEDED


async def test_track_refuses_another_brands_journal(cli: Cli, tmp_path: Path) -> None:
    """A journal written for another brand is refused with exit 2 and left as it was."""
    journal = tmp_path / "other.db"
    async with SqliteStore(journal, brand="OTHERBRAND") as store:
        await store.accept("row-0", 1, service="storecustomerandorder")
    result = await cli.run("track", "--resume", str(journal))
    assert result.code == EXIT_USAGE
    assert "OTHERBRAND" in result.err
    async with SqliteStore(journal, brand="OTHERBRAND") as store:
        assert len(await store.unfinished()) == 1


async def test_track_needs_ids_or_a_journal(cli: Cli) -> None:
    """`track` with nothing to track is a usage error."""
    result = await cli.run("track")
    assert result.code == EXIT_USAGE
    assert "--resume" in result.err


# ----------------------------------------------------------------------- history


async def test_history_prints_the_customers_orders(cli: Cli) -> None:
    """`history ID --product P` prints that product's orders as one JSON object."""
    (tid,) = await _queue(cli.fake, 1, processed=True)
    customer = cli.fake.transactions[tid].customer_id
    assert customer is not None
    result = await cli.run("history", str(customer), "--product", "2")
    assert result.code == EXIT_OK
    (data,) = result.lines()
    assert data["customer_id"] == str(customer)
    assert [p["product_id"] for p in data["products"]] == [2]
    order = data["products"][0]["orders"][0]
    assert order["receive"] is True
    assert order["marketing_class_description"] == "Active Qualified"


async def test_history_without_purchases_is_empty_not_an_error(cli: Cli) -> None:
    """Omeda's "No purchases found" is an empty history (exit 0); the table says so."""
    result = await cli.run("history", "777")
    assert result.code == EXIT_OK
    assert result.lines()[0]["products"] == []
    table = await cli.run("history", "777", "--format", "table")
    assert "No purchases found for customer 777" in table.out


# ------------------------------------------------------------------------- serve


async def test_serve_runs_a_fake_for_other_programs(cli: Cli) -> None:
    """`serve --port 0` prints its URL and test credentials, answers requests, stops on Ctrl-C."""
    process = await cli.spawn(
        "serve", "--port", "0", "--time-scale", "1000", "--faults", "server_error=0", env={}
    )
    assert process.stdout is not None
    settings: dict[str, str] = {}
    while "x-omeda-inputid" not in settings:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line, "serve ended before printing its settings"
        name, _, value = line.strip().partition(":")
        settings[name] = value.strip()
    env = {
        "OMEDA_BASE_URL": settings["base URL"],
        "OMEDA_BRAND": settings["brand"],
        "OMEDA_APP_ID": settings["x-omeda-appid"],
        "OMEDA_INPUT_ID": settings["x-omeda-inputid"],
    }
    status = await finish(await cli.spawn("status", "31337", env=env))
    # A real answer from the served fake: Omeda's 404 for an unknown transaction.
    assert status.code == EXIT_FAILED
    assert "No status found for transaction 31337" in status.out
    process.send_signal(signal.SIGINT)
    served = await finish(process)
    assert served.code == EXIT_OK
    assert "FakeOmeda stopped." in served.out


async def test_serve_rejects_an_unknown_fault(cli: Cli) -> None:
    """`--faults` with a kind FakeOmeda does not know is a usage error naming the known ones."""
    result = await cli.run("serve", "--port", "0", "--faults", "gremlins=0.5")
    assert result.code == EXIT_USAGE
    assert "rate_limit" in result.err
