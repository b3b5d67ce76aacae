"""SqliteStore beyond the shared contract: durability, file format, refusals, failures.

The contract both stores honour is in test_store_contract.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from omeda_async import (
    OmedaError,
    Outcome,
    RecordState,
    SqliteStore,
    StatusCode,
    StoredRecord,
)
from omeda_async._sqlite_store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    IncompatibleStoreError,
    StoreError,
    StoreWriteError,
)

SCO = "storecustomerandorder"


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """A path for a journal that does not exist yet."""
    return tmp_path / "journal.db"


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)


def _remove(path: Path) -> None:
    path.unlink()


def _side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def _foreign_db(path: Path, *, wal: bool = False, application_id: int = 0) -> bytes:
    """Another application's SQLite database; returns its bytes."""
    conn = sqlite3.connect(path, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    if application_id:
        conn.execute(f"PRAGMA application_id = {application_id}")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (9.5), (12.0)")
    conn.close()
    return path.read_bytes()


# ---------------------------------------------------------------- durability


async def test_records_survive_close_and_reopen(journal: Path) -> None:
    """Everything written is there, field for field and in order, after reopening."""
    async with SqliteStore(journal) as store:
        await store.begin("a", service=SCO)
        await store.accept("a", 11)
        await store.record_status("a", StatusCode(0), 1.5)
        await store.accept("b", 12, service="orderqueue")
        await store.reject("c", ["bad email"])
        await store.mark_unknown("d", "reset")
        before = [await store.get(k) for k in "abcd"]
    async with SqliteStore(journal) as store:
        assert [await store.get(k) for k in "abcd"] == before
        assert [r.key for r in await store.unfinished()] == ["a", "b"]


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from omeda_async import SqliteStore

    async def main() -> None:
        async with SqliteStore(sys.argv[1]) as store:
            queue = asyncio.Queue()
            for i in range(1, 200_000):
                queue.put_nowait(i)

            async def worker() -> None:
                while True:
                    i = queue.get_nowait()
                    await store.accept(f"k{i}", i)
                    # Reported only after accept returned: it must be durable now.
                    print(f"k{i}", flush=True)

            await asyncio.gather(*(worker() for _ in range(32)))

    asyncio.run(main())
    """
)


async def test_accepted_ids_survive_sigkill(journal: Path, tmp_path: Path) -> None:
    """Every id reported after accept() returned is in the journal after a SIGKILL."""
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(journal), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    reported: list[str] = []
    try:
        while len(reported) < 500:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "the child ended early"
            reported.append(line.decode().strip())
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    async with SqliteStore(journal) as store:
        for key in reported:
            record = await store.get(key)
            assert record is not None, key
            assert (record.state, record.transaction_id) == (RecordState.ACCEPTED, int(key[1:]))


async def test_concurrent_writes_share_commits(journal: Path) -> None:
    """Group commit: 256 concurrent accepts take far fewer than 256 transactions."""
    async with SqliteStore(journal) as store:
        before = store._commit_count()
        await asyncio.gather(*(store.accept(f"k{i}", i) for i in range(1, 257)))
        commits = store._commit_count() - before
        assert 1 <= commits < 64
        assert len(await store.unfinished()) == 256


async def test_file_format_wal_full_sync_schema_and_marker(journal: Path) -> None:
    """WAL mode, synchronous=FULL, user_version, application_id and the app marker."""
    async with SqliteStore(journal, brand="ABC") as store:
        synchronous = await store._call(
            lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0], write=False
        )
        assert synchronous == 2  # FULL
        await store.accept("k", 1)
    header = _read(journal)[:100]
    assert header[18:20] == b"\x02\x02"  # WAL read and write versions
    conn = sqlite3.connect(journal)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        meta = dict(conn.execute("SELECT key, value FROM omeda_async_meta").fetchall())
    finally:
        conn.close()
    assert meta["app"] == "omeda_async"
    assert meta["schema"] == "1"
    assert meta["brand"] == "ABC"


# ------------------------------------------------------------------ refusals


async def test_refuses_a_file_that_is_not_sqlite(journal: Path) -> None:
    """A text file is refused with a clear message and left byte for byte untouched."""
    content = b"key,state\n" * 50
    _write(journal, content)
    with pytest.raises(IncompatibleStoreError, match="not a SQLite database"):
        await SqliteStore(journal).open()
    assert _read(journal) == content
    assert _side_files(journal) == []


async def test_refuses_a_short_file(journal: Path) -> None:
    """A file shorter than a SQLite header is refused, untouched."""
    _write(journal, b"SQLite")
    with pytest.raises(IncompatibleStoreError, match="not a SQLite database"):
        await SqliteStore(journal).open()
    assert _read(journal) == b"SQLite"


async def test_refuses_another_applications_database(journal: Path) -> None:
    """Another app's SQLite database is refused untouched, naming what it found."""
    content = _foreign_db(journal)
    with pytest.raises(IncompatibleStoreError, match=r"without omeda_async's marker.*invoices"):
        await SqliteStore(journal).open()
    assert _read(journal) == content
    assert _side_files(journal) == []


async def test_refuses_another_applications_wal_database(journal: Path) -> None:
    """A WAL-mode foreign database is refused with its data and bytes intact."""
    content = _foreign_db(journal, wal=True)
    with pytest.raises(IncompatibleStoreError, match="not an omeda_async journal"):
        await SqliteStore(journal).open()
    assert _read(journal) == content
    conn = sqlite3.connect(journal)
    try:
        assert conn.execute("SELECT total FROM invoices").fetchall() == [(9.5,), (12.0,)]
    finally:
        conn.close()


async def test_refuses_a_database_with_another_application_id(journal: Path) -> None:
    """A database stamped with another application_id is refused from its header alone."""
    content = _foreign_db(journal, application_id=0x12345678)
    with pytest.raises(IncompatibleStoreError, match="0x12345678"):
        await SqliteStore(journal).open()
    assert _read(journal) == content
    assert _side_files(journal) == []


async def test_refuses_a_newer_schema(journal: Path) -> None:
    """A journal of a newer schema is refused, saying so, and left untouched."""
    async with SqliteStore(journal) as store:
        await store.accept("k", 1)
    conn = sqlite3.connect(journal, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    content = _read(journal)
    with pytest.raises(IncompatibleStoreError, match="newer omeda_async"):
        await SqliteStore(journal).open()
    assert _read(journal) == content


async def test_an_existing_empty_file_is_refused_and_left_alone(journal: Path) -> None:
    """A zero-byte file may be a journal a crash or a copy emptied: taking it for a new
    journal would send every record again. Only a path that does not exist yet becomes
    a new journal (issue 15, item 3)."""
    _write(journal, b"")
    with pytest.raises(IncompatibleStoreError, match="empty file") as caught:
        await SqliteStore(journal).open()
    assert str(journal) in str(caught.value)
    assert _read(journal) == b""
    _remove(journal)
    async with SqliteStore(journal) as store:
        await store.accept("k", 1)
        assert (await store.get("k")) is not None


async def test_refuses_a_directory(tmp_path: Path) -> None:
    """A directory given as the journal path is refused."""
    with pytest.raises(IncompatibleStoreError, match="directory"):
        await SqliteStore(tmp_path).open()


async def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    """A journal in a directory that does not exist fails naming the directory."""
    missing = tmp_path / "nope" / "journal.db"
    with pytest.raises(StoreError, match="does not exist"):
        await SqliteStore(missing).open()
    assert not missing.parent.exists()


def test_refuses_non_file_paths() -> None:
    """':memory:' and URIs are refused: the journal exists to be durable."""
    for path in (":memory:", "", "file:x.db?mode=memory"):
        with pytest.raises(ValueError, match="file path"):
            SqliteStore(path)


async def test_refuses_the_journal_of_another_brand(journal: Path) -> None:
    """A journal written for brand ABC is refused for brand XYZ and left untouched."""
    async with SqliteStore(journal, brand="ABC") as store:
        await store.accept("k", 1)
    content = _read(journal)
    with pytest.raises(IncompatibleStoreError, match="brand 'ABC', not 'XYZ'"):
        await SqliteStore(journal, brand="XYZ").open()
    assert _read(journal) == content


async def test_brand_is_case_insensitive_optional_and_claimed(journal: Path) -> None:
    """Same brand in other case opens; no brand opens any; a brandless journal is claimed."""
    async with SqliteStore(journal) as store:
        await store.accept("k", 1)
    async with SqliteStore(journal, brand="ABC"):
        pass
    async with SqliteStore(journal, brand="abc"):
        pass
    async with SqliteStore(journal) as store:
        assert (await store.get("k")) is not None
    with pytest.raises(IncompatibleStoreError, match="brand"):
        await SqliteStore(journal, brand="OTHER").open()


# ------------------------------------------------------------------ failures


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root (immutable flag), else skip."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("root, and no chattr to make a file read-only")
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip("root, and this filesystem has no immutable flag")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


async def test_a_read_only_journal_is_refused_at_open(journal: Path) -> None:
    """A read-only journal stops the job before it starts (StoreWriteError), untouched."""
    async with SqliteStore(journal) as store:
        await store.accept("k", 1)
    content = _read(journal)
    with _read_only(journal):
        store = SqliteStore(journal)
        with pytest.raises(StoreWriteError, match="read-only"):
            await store.open()
        with pytest.raises(StoreWriteError):
            await store.accept("k2", 2)  # lazily opening fails the same way
        await store.close()
    assert _read(journal) == content


async def test_a_full_disk_fails_the_write_and_keeps_what_was_recorded(journal: Path) -> None:
    """SQLITE_FULL is a StoreWriteError; the failed write is absent, earlier ones stay."""
    async with SqliteStore(journal) as store:
        await store.accept("kept", 1)
        pages = await store._call(
            lambda conn: conn.execute("PRAGMA page_count").fetchone()[0], write=False
        )
        # The database may not grow past its current size: the next big write fails.
        await store._call(
            lambda conn: conn.execute(f"PRAGMA max_page_count = {pages}").fetchone(), write=False
        )
        with pytest.raises(StoreWriteError, match="full") as caught:
            await store.reject("lost", ["x" * 20_000])
        assert isinstance(caught.value, OmedaError)
        assert caught.value.sqlite_error == "SQLITE_FULL"
        assert await store.get("lost") is None
        assert (await store.get("kept")) is not None
        # A read (or a write that fits) sharing the failing write's batch still succeeds.
        results = await asyncio.gather(
            store.reject("lost", ["x" * 20_000]), store.get("kept"), return_exceptions=True
        )
        assert isinstance(results[0], StoreWriteError)
        assert isinstance(results[1], StoredRecord)
        # Space comes back: the store is still usable.
        await store._call(
            lambda conn: conn.execute("PRAGMA max_page_count = 1000000").fetchone(), write=False
        )
        await store.reject("lost", ["x" * 20_000])
        assert (await store.get("lost")) is not None


async def test_a_journal_in_use_is_refused(journal: Path) -> None:
    """A second store on a journal held by a running job fails with StoreError, not a copy."""
    async with SqliteStore(journal) as first:
        await first.accept("k", 1)
        with pytest.raises(StoreError, match="in use"):
            await SqliteStore(journal, lock_timeout=0.05).open()
        await first.accept("k2", 2)  # the running job is undisturbed
        assert len(await first.unfinished()) == 2


async def test_one_bad_operation_fails_alone(journal: Path) -> None:
    """An operation that cannot be stored fails its caller only; its batch still commits."""

    def overflowing(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO omeda_async_meta (key, value) VALUES ('x', ?)", (2**70,))

    async with SqliteStore(journal) as store:
        results = await asyncio.gather(
            store.accept("a", 1),
            store._call(overflowing, write=True),
            store.accept("b", 2),
            return_exceptions=True,
        )
        assert results[0] is None
        assert results[2] is None
        assert isinstance(results[1], OverflowError)
        assert [r.key for r in await store.unfinished()] == ["a", "b"]


@pytest.mark.parametrize("bad", [2**63, 2**70, 0, -5])
async def test_a_transaction_id_sqlite_cannot_hold_is_a_store_error(
    journal: Path, bad: int
) -> None:
    """A TransactionId that is not a positive 64-bit integer (a hostile answer) is refused
    with StoreError, never a raw OverflowError, and nothing is written (issue 15, item 8)."""
    async with SqliteStore(journal) as store:
        await store.begin("k", service=SCO)
        with pytest.raises(StoreError, match="not a positive 64-bit integer") as caught:
            await store.accept("k", bad)
        assert not isinstance(caught.value, OverflowError)
        record = await store.get("k")
        assert record is not None
        assert (record.state, record.transaction_id) == (RecordState.PENDING, None)
        await store.accept("k", 2**63 - 1)  # the largest one fits


async def test_a_cancelled_write_leaves_the_store_working(journal: Path) -> None:
    """Cancelling a caller mid-write neither breaks the store nor loses later writes."""
    async with SqliteStore(journal) as store:
        task = asyncio.create_task(store.accept("cancelled", 1))
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.accept("after", 2)
        assert (await store.get("after")) is not None


async def test_use_after_close_raises_and_open_reopens(journal: Path) -> None:
    """After close() every call raises RuntimeError; open() makes the store usable again."""
    store = SqliteStore(journal)
    await store.accept("k", 1)  # opens lazily
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get("k")
    await store.open()
    try:
        assert (await store.get("k")) is not None
    finally:
        await store.close()


async def test_close_waits_for_queued_writes(journal: Path) -> None:
    """Writes asked for before close() are committed by the time close() returns."""
    store = SqliteStore(journal)
    await store.open()
    writes = [asyncio.create_task(store.accept(f"k{i}", i)) for i in range(1, 51)]
    await asyncio.sleep(0)
    await store.close()
    await asyncio.gather(*writes)
    async with SqliteStore(journal) as reopened:
        assert len(await reopened.unfinished()) == 50


async def test_an_unclosed_store_warns(journal: Path) -> None:
    """Dropping an open store without close() emits a ResourceWarning."""
    store = SqliteStore(journal)
    await store.open()
    holder = [store]
    del store
    with pytest.warns(ResourceWarning, match="unclosed SqliteStore"):
        holder.clear()


# ----------------------------------------------------------------- reporting


async def test_records_pages_through_in_order_and_filters(journal: Path) -> None:
    """records() yields every record in first-written order across pages, or one state."""
    async with SqliteStore(journal) as store:
        keys = [f"k{i:04d}" for i in range(1203)]
        await asyncio.gather(*(store.begin(k, service=SCO) for k in keys))
        await asyncio.gather(*(store.accept(k, i + 1) for i, k in enumerate(keys) if i % 3 == 0))
        assert [r.key async for r in store.records()] == keys
        accepted = [r.key async for r in store.records(state=RecordState.ACCEPTED)]
        assert accepted == keys[::3]


async def test_summary_counts_every_state(journal: Path) -> None:
    """summary_counts() counts records per state, zeros included."""
    async with SqliteStore(journal) as store:
        await store.begin("p", service=SCO)
        await store.accept("a1", 1)
        await store.accept("a2", 2)
        await store.reject("r", ["no"])
        await store.accept("f", 3)
        await store.finish("f", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
        assert await store.summary_counts() == {
            RecordState.PENDING: 1,
            RecordState.ACCEPTED: 2,
            RecordState.UNKNOWN: 0,
            RecordState.REJECTED: 1,
            RecordState.FINISHED: 1,
        }


def test_repr_names_the_file_and_state(journal: Path) -> None:
    """repr shows the path, brand and whether it is open."""
    assert repr(SqliteStore(journal, brand="ABC")) == (
        f"SqliteStore({str(journal)!r}, brand='ABC', not open)"
    )


# ---------------------------------------------------------- opening and reading


async def test_two_stores_creating_one_journal_at_once_make_one_journal(tmp_path: Path) -> None:
    """Two SqliteStores opening the same new file at once: one wins, the other is told the
    journal is in use; a whole journal is left, never an empty file (issue 15, item 9)."""
    for attempt in range(12):
        path = tmp_path / f"race-{attempt}.db"
        first = SqliteStore(path, lock_timeout=0.2)
        second = SqliteStore(path, lock_timeout=0.2)
        results = await asyncio.gather(first.open(), second.open(), return_exceptions=True)
        opened = [
            store for store, result in zip((first, second), results, strict=True) if result is True
        ]
        failures = [result for result in results if isinstance(result, BaseException)]
        assert len(opened) == 1, results
        [failure] = failures
        assert isinstance(failure, StoreError)
        assert "in use" in str(failure)
        await opened[0].accept("k", 1)
        await opened[0].close()
        assert _read(path)[:16] == b"SQLite format 3\x00"
        async with SqliteStore(path) as again:
            assert (await again.get("k")) is not None
    # No temporary journal is left beside them.
    assert not [name for name in _side_files(tmp_path / "race-0.db") if name.endswith(".new")]


async def test_a_row_in_an_unknown_state_is_refused_naming_it(journal: Path) -> None:
    """A journal row whose state this version does not know is IncompatibleStoreError naming
    the file and the row, and the file is left untouched (issue 15, item 10)."""
    async with SqliteStore(journal) as store:
        await store.accept("good", 1)
        await store.accept("odd", 2)
    conn = sqlite3.connect(journal)
    conn.execute("UPDATE omeda_async_records SET state = 'half-sent' WHERE key = 'odd'")
    conn.commit()
    conn.close()
    before = _read(journal)
    with pytest.raises(IncompatibleStoreError) as caught:
        await SqliteStore(journal).open()
    message = str(caught.value)
    assert str(journal) in message
    assert "'odd'" in message
    assert "'half-sent'" in message
    assert not isinstance(caught.value.__cause__, ValueError)
    assert _read(journal) == before


async def test_a_row_that_cannot_be_read_is_refused_naming_it(journal: Path) -> None:
    """Any other unreadable column (errors that are not JSON) is the same clear error when
    the row is read, never a raw ValueError."""
    async with SqliteStore(journal) as store:
        await store.reject("broken", ["no"])
        conn_errors = "not json"
        await store._call(
            lambda conn: conn.execute(
                "UPDATE omeda_async_records SET errors = ? WHERE key = 'broken'", (conn_errors,)
            ),
            write=True,
        )
        with pytest.raises(IncompatibleStoreError, match="'broken'") as caught:
            await store.get("broken")
        assert str(journal) in str(caught.value)
        with pytest.raises(IncompatibleStoreError):
            await store.begin("broken", service=SCO)
        assert (await store.begin("fine", service=SCO)).won


async def test_a_begin_cancelled_before_its_answer_is_handed_back(journal: Path) -> None:
    """A job stopped while its begin is being written releases the key unsent: the record
    is as it was, not left pending (which a re-run would report unknown)."""
    async with SqliteStore(journal) as store:
        await store.reject("r", ["refused"])
        rejected = await store.get("r")
        for key in ("new", "r"):
            task = asyncio.create_task(store.begin(key, service=SCO))
            await asyncio.sleep(0)  # the write is queued for the journal's thread
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await store.release(key, sent=False)
        assert await store.get("new") is None
        assert await store.get("r") == rejected
        assert (await store.begin("new", service=SCO)).won


async def test_the_caller_who_opens_a_store_closes_it(journal: Path) -> None:
    """open() tells whether this call opened the store: only the first does."""
    store = SqliteStore(journal)
    assert await store.open() is True
    assert await store.open() is False
    await store.close()
    assert await store.open() is True  # reopened
    await store.close()
