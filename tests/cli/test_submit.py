"""`submit`: JSON lines in, one result per line out, a journal that makes re-runs safe."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from omeda_async import RecordState, SqliteStore
from omeda_async.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

from .conftest import Cli, finish, valid_payloads, write_payloads


async def test_a_malformed_line_is_a_rejected_row_not_a_crash(cli: Cli, tmp_path: Path) -> None:
    """Broken JSON and a non-object are rejected with their line numbers; the rest are queued."""
    good = valid_payloads(3)
    path = write_payloads(
        tmp_path / "in.jsonl", [good[0], '{"FirstName": "Jane",', "", good[1], "[1, 2]", good[2]]
    )
    result = await cli.run("submit", str(path))
    assert result.code == EXIT_FAILED
    lines = result.lines()
    assert len(lines) == 5
    by_line = {line["line"]: line for line in lines}
    assert "line 2 is not valid JSON" in by_line[2]["errors"][0]
    assert "line 5 is a list" in by_line[5]["errors"][0]
    assert {by_line[n]["state"] for n in (1, 4, 6)} == {"accepted"}
    assert {by_line[n]["transaction_id"] for n in (1, 4, 6)} == set(cli.fake.transactions)
    assert "malformed" in result.err


async def test_an_invalid_payload_is_rejected_with_its_violations(cli: Cli, tmp_path: Path) -> None:
    """A payload breaking a documented rule is rejected before sending, with the rule's path."""
    (good,) = valid_payloads(1)
    bad = {**good, "Emails": [{"EmailAddress": "jsmith@"}]}
    result = await cli.run("submit", str(write_payloads(tmp_path / "in.jsonl", [bad])))
    assert result.code == EXIT_FAILED
    (line,) = result.lines()
    assert line["state"] == "rejected"
    assert line["error_type"] == "PayloadValidationError"
    assert line["errors"] == ["Emails[0].EmailAddress: EmailAddress is not valid jsmith@"]
    assert cli.fake.transactions == {}


async def test_track_writes_each_records_outcome(cli: Cli, tmp_path: Path) -> None:
    """With --track each line's result carries the final status; --out gets the lines."""
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(4))
    out = tmp_path / "results.jsonl"
    result = await cli.run(
        "submit", str(path), "--track", "--poll-interval", "0.05", "--out", str(out)
    )
    assert result.code == EXIT_OK
    assert result.out == ""
    lines = [json.loads(text) for text in out.read_text().splitlines()]
    assert sorted(line["line"] for line in lines) == [1, 2, 3, 4]
    for line in lines:
        assert line["state"] == "finished"
        assert line["outcome"] == "succeeded"
        assert line["status"] == 100
        assert (
            cli.fake.transactions[line["transaction_id"]].customer_id == line["omeda_customer_id"]
        )


async def test_rerun_with_the_journal_sends_nothing_again(cli: Cli, tmp_path: Path) -> None:
    """Re-running a finished job with the same --journal skips every row: FakeOmeda's
    transaction count does not change."""
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(5))
    journal = tmp_path / "job.db"
    first = await cli.run("submit", str(path), "--journal", str(journal))
    assert first.code == EXIT_OK
    queued = dict(cli.fake.transactions)
    assert len(queued) == 5
    second = await cli.run("submit", str(path), "--journal", str(journal))
    assert second.code == EXIT_OK
    assert cli.fake.transactions == queued
    lines = second.lines()
    assert all(line["skipped"] for line in lines)
    assert {line["transaction_id"] for line in lines} == set(queued)


async def test_a_journal_of_another_brand_is_refused(cli: Cli, tmp_path: Path) -> None:
    """--journal naming another brand's journal exits 2 before anything is sent."""
    journal = tmp_path / "other.db"
    async with SqliteStore(journal, brand="OTHERBRAND"):
        pass
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(1))
    result = await cli.run("submit", str(path), "--journal", str(journal))
    assert result.code == EXIT_USAGE
    assert "OTHERBRAND" in result.err
    assert cli.fake.requests == []


async def test_submit_reads_stdin(cli: Cli, tmp_path: Path) -> None:
    """`submit -` reads the payloads from a pipe on stdin."""
    text = "".join(json.dumps(payload) + "\n" for payload in valid_payloads(3))
    process = await cli.spawn("submit", "-", stdin=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(text.encode()), 60)
    assert process.returncode == EXIT_OK, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [line["line"] for line in sorted(lines, key=lambda x: x["line"])] == [1, 2, 3]
    assert len(cli.fake.transactions) == 3


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_stop_then_resume_loses_nothing_and_duplicates_nothing(
    cli: Cli, tmp_path: Path, stop: signal.Signals
) -> None:
    """SIGINT (Ctrl-C) or SIGTERM (a service manager) mid-submit exits 130 with the summary
    so far and a consistent journal; the same command again sends exactly the rest: every
    row queued once, no duplicate."""
    total = 120
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(total))
    journal = tmp_path / "job.db"
    argv = ("submit", str(path), "--journal", str(journal), "--concurrency", "2")
    process = await cli.spawn(*argv, "--rate", "30")

    async def queued(count: int) -> None:
        # FakeOmeda has no "queued" event to wait on; wait_for bounds this check.
        while len(cli.fake.transactions) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(queued(10), 30)
    process.send_signal(stop)
    first = await finish(process)
    assert first.code == EXIT_INTERRUPTED, first.err
    assert ("on SIGTERM" in first.err) == (stop is signal.SIGTERM)
    assert "stopped cleanly" in first.err
    assert "Submission" in first.err  # the summary so far
    queued_first = len(cli.fake.transactions)
    assert queued_first < total
    # Every queued record was reported (and journaled): none is pending or unknown.
    reported = {line["transaction_id"] for line in first.lines() if line["state"] == "accepted"}
    assert reported == set(cli.fake.transactions)
    async with SqliteStore(journal, brand=cli.fake.brand) as store:
        counts = await store.summary_counts()
    assert counts[RecordState.ACCEPTED] == queued_first
    assert counts[RecordState.PENDING] == counts[RecordState.UNKNOWN] == 0

    second = await finish(await cli.spawn(*argv))
    assert second.code == EXIT_OK, second.err
    assert len(cli.fake.transactions) == total
    assert cli.fake.duplicates() == []
    skipped = [line for line in second.lines() if line["skipped"]]
    assert len(skipped) == queued_first


async def test_follow_merges_resends_to_the_merged_into_customer(cli: Cli, tmp_path: Path) -> None:
    """A merged customer is rejected with Omeda's reason; with --follow-merges it is resent
    once with the customer it was merged into."""
    cli.fake.merged_customers[111] = 222
    (good,) = valid_payloads(1)
    path = write_payloads(tmp_path / "in.jsonl", [{**good, "OmedaCustomerId": 111}])
    refused = await cli.run("submit", str(path))
    assert refused.code == EXIT_FAILED
    (line,) = refused.lines()
    assert line["error_type"] == "CustomerMergedError"
    assert line["errors"] == ["Customer id 111 is valid but not active. Please use 222."]
    followed = await cli.run("submit", str(path), "--follow-merges")
    assert followed.code == EXIT_OK
    (line,) = followed.lines()
    assert line["merged_into"] == 222
    assert cli.fake.transactions[line["transaction_id"]].body["OmedaCustomerId"] == 222


async def test_an_unknown_outcome_is_listed_and_not_resent(cli: Cli, tmp_path: Path) -> None:
    """A POST whose answer was lost is reported unknown (exit 1) and listed; re-running with the
    journal does not send it again unless --resend-unknown."""
    cli.fake.faults.script("drop")  # the fake queues it, then drops the connection
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(1))
    journal = tmp_path / "job.db"
    first = await cli.run("submit", str(path), "--journal", str(journal))
    assert first.code == EXIT_FAILED
    (line,) = first.lines()
    assert line["state"] == "unknown"
    assert line["error_type"] == "SubmissionOutcomeUnknown"
    assert "--resend-unknown" in first.err
    assert len(cli.fake.transactions) == 1
    again = await cli.run("submit", str(path), "--journal", str(journal))
    assert again.code == EXIT_FAILED
    assert again.lines()[0]["state"] == "unknown"
    assert len(cli.fake.transactions) == 1


async def test_ctrl_c_while_tracking_leaves_the_records_resumable(cli: Cli, tmp_path: Path) -> None:
    """submit --track follows records with the job's own tracking; the first Ctrl-C stops
    following them: each is written as accepted (cancelled) and stays unfinished in the
    journal for `track --resume`; nothing is sent again."""
    total = 5
    cli.fake.script_next(*([[(7, 1e6), 100]] * total))  # pending for ~8 real minutes
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(total))
    journal = tmp_path / "job.db"
    process = await cli.spawn(
        "submit", str(path), "--track", "--journal", str(journal), "--poll-interval", "0.05"
    )

    async def followed() -> None:
        # Every record queued, and the job's poller looking (records waiting in the queue
        # wait on one representative: not every one has been looked up yet).
        while len(cli.fake.transactions) < total or not cli.fake.lookups:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(followed(), 30)
    process.send_signal(signal.SIGINT)
    result = await finish(process)
    assert result.code == EXIT_INTERRUPTED, result.err
    lines = result.lines()
    assert len(lines) == total
    assert {line["state"] for line in lines} == {"accepted"}
    assert {line["outcome"] for line in lines} == {"cancelled"}
    assert {line["transaction_id"] for line in lines} == set(cli.fake.transactions)
    async with SqliteStore(journal, brand=cli.fake.brand) as store:
        unfinished = await store.unfinished()
    assert {record.transaction_id for record in unfinished} == set(cli.fake.transactions)
    assert len(cli.fake.transactions) == total
