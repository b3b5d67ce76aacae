"""Records held for a person at Omeda: shown as held everywhere, with the way out, and by
default never polled for hours by a command someone is watching."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from omeda_async.cli import EXIT_FAILED, EXIT_INTERRUPTED
from omeda_async.testing import FakeOmeda

from .conftest import Cli, finish, valid_payloads, write_payloads


async def _queue_held(fake: FakeOmeda) -> int:
    fake.script_next([20])  # OEC On Hold, for as long as a person takes
    async with fake.client() as client:
        receipt = await client.store_customer_and_order(valid_payloads(1)[0])
    return receipt.transaction_id


async def test_track_ends_a_held_record_as_held_by_default(cli: Cli) -> None:
    """`track` stops at a held code at once (not after a 2-hour deadline), prints it as held
    and says how to follow it later or wait for it."""
    tid = await _queue_held(cli.fake)
    result = await cli.run("track", str(tid), "--poll-interval", "0.05")
    assert result.code == EXIT_FAILED
    (line,) = result.lines()
    assert (line["outcome"], line["status"]) == ("held", 20)
    assert cli.fake.lookups[tid] == 1
    assert "finished 1 (held 1)" in result.err
    advice = " ".join(result.err.split())
    assert "1 record is held: waiting for a person at Omeda (codes 1, 3, 20, 35-37)" in advice
    assert "--wait-on-hold" in advice
    assert "'omeda-async track' and their TransactionIds" in advice


async def test_wait_on_hold_says_so_and_ctrl_c_stops_it(cli: Cli) -> None:
    """With --wait-on-hold the progress shows the record held, a note says it is polled until
    --deadline and how to stop; Ctrl-C ends the run with the record unfinished."""
    tid = await _queue_held(cli.fake)
    process = await cli.spawn("track", str(tid), "--poll-interval", "0.05", "--wait-on-hold")
    assert process.stderr is not None
    seen = ""
    while "tracking 1: held 1" not in seen:
        chunk = await asyncio.wait_for(process.stderr.readline(), 30)
        assert chunk, seen
        seen += chunk.decode()
    process.send_signal(signal.SIGINT)
    result = await finish(process)
    assert result.code == EXIT_INTERRUPTED
    note = " ".join(seen.split())
    assert "A record is held: waiting for a person at Omeda" in note
    assert "polled until --deadline (2h00m after tracking began); Ctrl-C stops" in note
    (line,) = result.lines()
    assert line["outcome"] == "cancelled"
    assert line["status"] == 20


async def test_submit_track_reports_held_records_and_the_journal_to_resume(
    cli: Cli, tmp_path: Path
) -> None:
    """`submit --track` ends a held record as held by default; its line says so and the
    summary names `track --resume` with the journal."""
    cli.fake.script_next([20])
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(2))
    journal = tmp_path / "job.db"
    result = await cli.run(
        "submit", str(path), "--track", "--journal", str(journal), "--poll-interval", "0.05"
    )
    assert result.code == EXIT_FAILED
    outcomes = sorted(line["outcome"] for line in result.lines())
    assert outcomes == ["held", "succeeded"]
    assert "(held 1)" in result.err
    assert f"'omeda-async track --resume {journal}'" in " ".join(result.err.split())
