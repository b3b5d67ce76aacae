"""Counts that agree: each number means one thing in the progress lines, the live display,
the summary tables and the final line."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from omeda_async import BulkSummary, MemoryStore, Outcome, SqliteStore, StatusCode
from omeda_async._store import RecordState, StoredRecord
from omeda_async.cli._demo import demo_fake, run_demo
from omeda_async.cli._observe import NullStore, ObservedStore
from omeda_async.cli._progress import Board

from .conftest import Cli, valid_payloads, write_payloads


def test_a_record_is_in_one_place_at_a_time() -> None:
    """Tracked transactions move from waiting to a stage, to held, to finished; the poller
    registering a record the job just accepted counts it once; the counts add up."""
    board = Board(tracking=True)
    board.read = 4
    for key in ("a", "b", "c"):
        board.on_accept(key)
    board.on_accept("a")  # the poller's registration of the same record
    board.on_status("b", StatusCode(10))
    board.on_status("c", StatusCode(20))
    assert board.accepted == 3
    assert board.counts() == (
        "read 4, accepted 3, sending 1 | "
        "tracking 3: waiting for first lookup 1, validation 1, held 1 | finished 0"
    )
    board.on_status("c", StatusCode(100))  # terminal: finished next, not a stage
    board.on_finish("c", Outcome.SUCCEEDED)
    board.on_finish("b", Outcome.HELD)
    assert board.counts().endswith("tracking 1: waiting for first lookup 1 | finished 2 (held 1)")
    assert board.tracked == 3


def test_a_resumed_record_shows_where_the_journal_last_saw_it() -> None:
    """A record read back from a journal is tracked at its last known stage, or waits for
    its first lookup when it has none; a second sighting changes nothing."""
    board = Board(tracking=True, submitting=False)
    board.on_known(StoredRecord(key="k1", state=RecordState.ACCEPTED, transaction_id=1))
    seen = StoredRecord(
        key="k2", state=RecordState.ACCEPTED, transaction_id=2, status=StatusCode(29)
    )
    board.on_known(seen)
    board.on_known(seen)
    assert board.counts() == "tracking 2: waiting for first lookup 1, dupe check 1 | finished 0"


def test_the_jobs_counts_are_the_boards() -> None:
    """rejected, unknown and skipped are the job's own counts; once the job ends, accepted is
    too, so the last progress line says what the summary table says."""
    board = Board()
    board.read = 10
    board.malformed = 1
    board.on_accept("a")
    board.summary = lambda: BulkSummary(total=9, accepted=0, rejected=2, unknown=1, skipped=3)
    assert board.records() == {
        "read": 10,
        "accepted": 1,
        "rejected": 2,
        "malformed": 1,
        "unknown": 1,
        "skipped": 3,
        "sending": 2,
    }
    board.settle(BulkSummary(total=9, accepted=3, rejected=2, unknown=1, skipped=3))
    assert board.counts() == ("read 10, accepted 3, rejected 2, malformed 1, unknown 1, skipped 3")


async def test_track_resume_shows_records_waiting_for_their_first_lookup(
    cli: Cli, tmp_path: Path
) -> None:
    """`track --resume` of records never looked up says they wait for their first lookup
    (not `0/?` with every stage at 0) until each is looked up."""
    async with cli.fake.client() as client:
        ids = [
            (await client.store_customer_and_order(payload)).transaction_id
            for payload in valid_payloads(3)
        ]
    journal = tmp_path / "job.db"
    async with SqliteStore(journal, brand=cli.fake.brand) as store:
        for n, tid in enumerate(ids):
            await store.accept(f"row-{n}", tid, service="storecustomerandorder")
    result = await cli.run("track", "--resume", str(journal), "--poll-interval", "0.5")
    assert "tracking 3: waiting for first lookup 3 | finished 0" in result.err
    assert re.search(r"\] tracking 0 \| finished 3\n", result.err)


async def test_demo_progress_and_summary_agree() -> None:
    """The demo's last progress line and its summary give the same counts."""
    out_text, err_text = io.StringIO(), io.StringIO()
    async with demo_fake(seed=5, time_scale=3000) as fake:
        report = await run_demo(
            fake,
            count=60,
            seed=5,
            out=Console(file=out_text, width=100),
            err=Console(file=err_text, width=100),
        )
    last = [line for line in err_text.getvalue().splitlines() if line.startswith("[")][-1]
    accepted = len(report.transactions)
    rejected = report.outcomes["rejected"]
    assert f"read 60/60, accepted {accepted}, rejected {rejected} |" in last
    assert f"tracking 0 | finished {accepted}" in last
    table = out_text.getvalue()
    assert re.search(rf"│ rejected\s+│\s+{rejected} │", table)


def _progress_counts(err: str) -> dict[str, int]:
    last = [line for line in err.splitlines() if line.startswith("[")][-1]
    records = last.split("] ", 1)[1].split(" | ")[0]
    counts = {}
    for part in records.split(", "):
        name, _, number = part.rpartition(" ")
        counts[name] = int(number.split("/")[0])
    return {name: count for name, count in counts.items() if count}


def _table_counts(err: str) -> dict[str, int]:
    table = err.split("Submission\n", 1)[1].split("total", 1)[0]
    return {match[0]: int(match[1]) for match in re.findall(r"│ (\w+)\s+│\s+(\d+) │", table)}


def _json_counts(lines: list[dict[str, object]]) -> dict[str, int]:
    """Each line counted once, by the job's rule: unknown, rejected, skipped, else accepted."""
    counts: dict[str, int] = {}
    for line in lines:
        if line["state"] == "unknown":
            name = "unknown"
        elif line.get("error_type") == "MalformedLine":
            name = "malformed"
        elif line["state"] == "rejected":
            name = "rejected"
        elif line["skipped"]:
            name = "skipped"
        else:
            name = "accepted"
        counts[name] = counts.get(name, 0) + 1
    return counts


async def test_submit_counts_agree_everywhere(cli: Cli, tmp_path: Path) -> None:
    """On a first run and on a re-run with the journal, the last progress line, the summary
    table and the JSON lines give the same counts, and the final line's POSTs are the POSTs
    FakeOmeda received (none for an invalid row)."""
    good = valid_payloads(4)
    invalid = {**good[0], "Emails": [{"EmailAddress": "jsmith@"}]}
    rows = [*good, invalid, '{"FirstName": "Jane",', good[1]]  # a duplicate line last
    path = write_payloads(tmp_path / "in.jsonl", rows)
    journal = str(tmp_path / "job.db")
    for run in ("first", "again"):
        cli.fake.reset_records()
        result = await cli.run("submit", str(path), "--journal", journal)
        json_counts = _json_counts(result.lines())
        progress = _progress_counts(result.err)
        assert progress.pop("read") == len(rows)
        assert progress == json_counts, run
        assert _table_counts(result.err) == json_counts, run
        posts = sum(1 for request in cli.fake.requests if request.method == "POST")
        assert f"{len(rows)} records in " in result.err
        assert re.search(rf"a second\): {posts} POSTs?\n", result.err), result.err
    assert json_counts == {"skipped": 5, "rejected": 1, "malformed": 1}


async def test_the_observed_store_passes_notes_through() -> None:
    """What a poller notes in the journal (its lesson of the brand's queue) reaches the
    journal through the display's observer; without a journal there is nothing to read."""

    class Noted(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.notes: dict[str, str] = {}

        async def read_note(self, name: str) -> str | None:
            return self.notes.get(name)

        async def write_note(self, name: str, text: str) -> None:
            self.notes[name] = text

    inner = Noted()
    observed = ObservedStore(inner, Board())
    await observed.write_note("rhythm", "runs every 900 s")
    assert inner.notes == {"rhythm": "runs every 900 s"}
    assert await observed.read_note("rhythm") == "runs every 900 s"
    assert await ObservedStore(NullStore(), Board()).read_note("rhythm") is None
