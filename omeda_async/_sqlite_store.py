"""``SqliteStore``: the durable ``TrackingStore``, a journal in one SQLite file.

What it promises (DESIGN.md, "Nothing lost"):

- **Durable before reported.** Every write (``begin``, ``accept``, ...) is
  committed with ``synchronous=FULL`` in WAL mode before its coroutine returns,
  so an accepted TransactionId survives a crash (SIGKILL, power loss) from the
  moment ``accept`` returns. ``begin`` is durable too: a record found *pending*
  after a crash may have been sent, which is how a re-run knows to report it
  as unknown instead of queueing it twice.
- **Group commit.** One thread owns the connection and drains every write that
  arrived while the previous commit was syncing into the next transaction, so
  64 concurrent ``accept`` calls cost one fsync, not 64.
- **Off the event loop.** stdlib ``sqlite3`` on that thread; the loop only
  waits on futures.
- **One journal, one process, one brand.** The connection holds SQLite's
  exclusive lock for its whole life (a second process gets :class:`StoreError`,
  not a second copy of the same submissions); ``SqliteStore(path, brand="ABC")``
  refuses a journal written for another brand. Jobs of one process share it
  through one ``SqliteStore``, whose ``begin`` is atomic: a key begun by one job
  is held (in this object) until that job settles or releases it, and another
  job is told it is held elsewhere.
- **A new journal appears whole.** It is built in a temporary file beside the
  path and linked into place, so a path holds a complete journal or nothing:
  two stores creating the same journal at once get one journal (and one of
  them the lock), and a crash never leaves an empty file. An existing empty
  file is refused: only a path that does not exist yet becomes a new journal.
- **Never touches what is not its own.** A file that is not SQLite (an empty
  one included), another application's database, a journal of a newer schema
  or one with a row it cannot read (an invalid state) is refused with
  :class:`IncompatibleStoreError` naming the file (and the row) and left as it
  was. A TransactionId that is not a positive 64-bit integer is refused with
  :class:`StoreError` before anything is written.

Failures are :class:`StoreError` (an ``OmedaError``): ``IncompatibleStoreError``
at ``open``; ``StoreWriteError`` for a read-only file, a full disk or an I/O
error (nothing of the failed transaction is recorded, everything committed
before it stays). Using a store after ``close()`` raises ``RuntimeError``;
``open()`` may be called again to reopen it.

Schema 1 (``PRAGMA user_version = 1``, ``PRAGMA application_id = 'OMDA'``)::

    omeda_async_meta(key, value)      app = "omeda_async", schema, brand, created_at, opened_at
    omeda_async_records(seq, key, state, service, transaction_id, status, outcome,
                        errors (JSON list), history (JSON [[at, code], ...]),
                        updated_at (poller clock), written_at (unix time))

``seq`` is the order a key was first written, the order ``unfinished()`` and
``records()`` follow (as ``MemoryStore`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import queue
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar
from urllib.parse import quote

from ._errors import IncompatibleStoreError, StoreError, StoreWriteError
from ._status import Outcome, StatusCode
from ._store import (
    DEFAULT_RESEND,
    Begun,
    RecordState,
    StoreContext,
    StoredRecord,
    check_transaction_id,
)

__all__ = [
    "SCHEMA_VERSION",
    "IncompatibleStoreError",
    "SqliteStore",
    "StoreError",
    "StoreWriteError",
]

SCHEMA_VERSION: Final = 1
"""The journal schema this version writes and reads (``PRAGMA user_version``)."""

APP_NAME: Final = "omeda_async"
APPLICATION_ID: Final = int.from_bytes(b"OMDA", "big")
"""``PRAGMA application_id`` of a journal: the bytes ``OMDA`` at offset 68 of the file."""

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_MAX_BATCH: Final = 1000
_PAGE: Final = 500

_T = TypeVar("_T")


# --------------------------------------------------------------------------- SQL

_RECORDS = "omeda_async_records"
_COLUMNS = "key, state, service, transaction_id, status, outcome, errors, history, updated_at"

_SCHEMA = (
    "CREATE TABLE omeda_async_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    f"""CREATE TABLE {_RECORDS} (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        service TEXT,
        transaction_id INTEGER,
        status INTEGER,
        outcome TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        history TEXT NOT NULL DEFAULT '[]',
        updated_at REAL NOT NULL DEFAULT 0,
        written_at REAL NOT NULL
    )""",
    f"CREATE INDEX omeda_async_records_by_state ON {_RECORDS} (state, seq)",
)


def _upsert_sql(insert: Sequence[str], update: Sequence[str]) -> str:
    """An INSERT of ``key, written_at, *insert`` that updates ``update`` on a known key.

    An upsert keeps the row (and its ``seq``), so a key stays where it was first seen.
    """
    columns = ("key", "written_at", *insert)
    values = ", ".join("?" for _ in columns)
    sets = ", ".join(f"{name} = excluded.{name}" for name in ("written_at", *update))
    return (
        f"INSERT INTO {_RECORDS} ({', '.join(columns)}) VALUES ({values}) "
        f"ON CONFLICT (key) DO UPDATE SET {sets}"
    )


_SQL_BEGIN = _upsert_sql(("state", "service"), ("state", "service"))
_SQL_ACCEPT = _upsert_sql(("state", "transaction_id"), ("state", "transaction_id"))
_SQL_ACCEPT_SERVICE = _upsert_sql(
    ("state", "transaction_id", "service"), ("state", "transaction_id", "service")
)
_SQL_ERRORS = _upsert_sql(("state", "errors"), ("state", "errors"))
# record_status leaves the state alone, except that a new key starts pending.
_SQL_STATUS = _upsert_sql(
    ("state", "status", "history", "updated_at"), ("status", "history", "updated_at")
)
_FINISH = ("state", "outcome", "status", "errors")
_SQL_FINISH = _upsert_sql(_FINISH, _FINISH)
_SQL_FINISH_HISTORY = _upsert_sql((*_FINISH, "history"), (*_FINISH, "history"))

# SQLite's primary result codes that mean "the environment failed", not "this
# one operation was wrong": they fail the whole transaction they happened in.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_FULL = 5, 6, 8, 13
_ENVIRONMENTAL = frozenset({3, 5, 6, 7, 8, 10, 11, 13, 14, 15, 26})  # PERM BUSY ... NOTADB


def _record(row: tuple[Any, ...], path: str) -> StoredRecord:
    """A row as a ``StoredRecord``; a row this version cannot read is ``IncompatibleStoreError``."""
    key, state, service, transaction_id, status, outcome, errors, history, updated_at = row
    try:
        return StoredRecord(
            key=key,
            state=RecordState(state),
            service=service,
            transaction_id=transaction_id,
            status=None if status is None else StatusCode(status),
            outcome=None if outcome is None else Outcome(outcome),
            errors=tuple(json.loads(errors)),
            history=tuple((float(at), StatusCode(code)) for at, code in json.loads(history)),
            updated_at=float(updated_at),
        )
    except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
        raise _unreadable_row(path, key, exc) from exc


def _unreadable_row(path: str, key: object, exc: BaseException) -> IncompatibleStoreError:
    return IncompatibleStoreError(
        f"{path}: the journal row of key {key!r} cannot be read ({exc}); it was written by "
        "something else or damaged, and the journal was left untouched",
        path=path,
    )


def _restore(key: str, before: StoredRecord | None) -> Callable[[sqlite3.Connection], None]:
    """A job that puts a begun, never-sent record back as it was (or removes a new one)."""

    def run(conn: sqlite3.Connection) -> None:
        pending = RecordState.PENDING.value
        if before is None:
            conn.execute(f"DELETE FROM {_RECORDS} WHERE key = ? AND state = ?", (key, pending))
            return
        conn.execute(
            f"UPDATE {_RECORDS} SET state = ?, service = ?, transaction_id = ?, status = ?, "
            "outcome = ?, errors = ?, history = ?, updated_at = ?, written_at = ? "
            "WHERE key = ? AND state = ?",
            (
                before.state.value,
                before.service,
                before.transaction_id,
                None if before.status is None else int(before.status),
                None if before.outcome is None else before.outcome.value,
                _errors_json(before.errors),
                _history_json(before.history),
                before.updated_at,
                time.time(),
                key,
                pending,
            ),
        )

    return run


def _statement(sql: str, params: Sequence[Any]) -> Callable[[sqlite3.Connection], None]:
    """A job that runs one write statement."""

    def run(conn: sqlite3.Connection) -> None:
        conn.execute(sql, params)

    return run


def _page(
    conn: sqlite3.Connection, *, after: int, state: RecordState | None, path: str
) -> list[tuple[int, StoredRecord]]:
    """Up to ``_PAGE`` records after ``seq`` ``after``, in first-written order."""
    where = "seq > ?"
    params: list[int | str] = [after]
    if state is not None:
        where = "seq > ? AND state = ?"
        params.append(RecordState(state).value)
    rows = conn.execute(
        f"SELECT seq, {_COLUMNS} FROM {_RECORDS} WHERE {where} ORDER BY seq LIMIT {_PAGE}",
        params,
    )
    return [(row[0], _record(row[1:], path)) for row in rows]


def _history_json(history: Sequence[tuple[float, StatusCode]]) -> str:
    return json.dumps([[at, int(code)] for at, code in history])


def _errors_json(errors: Sequence[str]) -> str:
    # ASCII escapes keep even a lone surrogate (valid in JSON, not in UTF-8) intact.
    return json.dumps(list(errors))


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _is_environmental(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.Error):
        return False
    code = _primary_code(exc)
    return isinstance(exc, sqlite3.OperationalError) if code is None else code in _ENVIRONMENTAL


def _write_error(exc: sqlite3.Error, path: str, doing: str) -> StoreError:
    """Map an environmental SQLite failure to the project's error, naming the journal."""
    code = _primary_code(exc)
    name = getattr(exc, "sqlite_errorname", None)
    if code == _SQLITE_READONLY:
        return StoreWriteError(
            f"journal {path} is read-only: could not {doing}", path=path, sqlite_error=name
        )
    if code == _SQLITE_FULL:
        return StoreWriteError(
            f"journal {path}: the disk (or the database's size limit) is full: could not "
            f"{doing}; what was recorded before is kept",
            path=path,
            sqlite_error=name,
        )
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(
            f"journal {path} is in use by another process or store (locked)",
            path=path,
            sqlite_error=name,
        )
    return StoreWriteError(
        f"journal {path}: could not {doing}: {exc}", path=path, sqlite_error=name
    )


# ----------------------------------------------------------------- opening a file


def _check_header(path: str) -> bool:
    """Refuse, from its first 100 bytes and without SQLite touching it, a foreign file.

    True when there is a journal at ``path``, False when nothing is there yet.

    The header of a WAL database may lag its WAL, but only behind: a journal's
    marker, once checkpointed, stays. The authoritative check runs in SQLite.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return False
    except IsADirectoryError as exc:
        raise IncompatibleStoreError(f"{path} is a directory, not a journal", path=path) from exc
    except OSError as exc:
        raise StoreError(f"cannot read journal {path}: {exc.strerror}", path=path) from exc
    if not header:
        # SQLite would take it for a new database; it may be a journal a crash or a
        # copy emptied, whose records a new journal would send again.
        raise IncompatibleStoreError(
            f"{path} is an empty file, not a journal: only a path that does not exist "
            "yet becomes a new journal (delete the empty file if nothing was recorded "
            "in it); it was left untouched",
            path=path,
        )
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise IncompatibleStoreError(
            f"{path} is not a SQLite database, so not an omeda_async journal; "
            "it was left untouched",
            path=path,
        )
    user_version = int.from_bytes(header[60:64], "big", signed=True)
    application_id = int.from_bytes(header[68:72], "big", signed=True)
    if application_id not in (0, APPLICATION_ID):
        raise IncompatibleStoreError(
            f"{path} is another application's SQLite database "
            f"(application_id {application_id:#010x}), not an omeda_async journal; "
            "it was left untouched",
            path=path,
        )
    if application_id == APPLICATION_ID and user_version > SCHEMA_VERSION:
        raise _newer(path, user_version)
    return True


def _newer(path: str, version: int) -> IncompatibleStoreError:
    return IncompatibleStoreError(
        f"{path} was written by a newer omeda_async (journal schema {version}; this "
        f"version reads schema {SCHEMA_VERSION}): upgrade omeda_async; "
        "the journal was left untouched",
        path=path,
    )


def _check_writable(path: str) -> None:
    """Refuse a journal the process cannot write (permissions, immutable, read-only mount)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise StoreError(
                f"cannot create journal {path}: directory {directory} does not exist",
                path=path,
            ) from None
        return
    except OSError as exc:
        raise StoreWriteError(
            f"journal {path} is read-only ({exc.strerror}): a job cannot record what it "
            "sends; nothing was changed",
            path=path,
        ) from exc
    os.close(fd)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _prepare(conn: sqlite3.Connection, path: str, brand: str | None) -> None:
    """Inside a write transaction: create a new journal or check an existing one.

    Raises IncompatibleStoreError before anything is written when the
    database is not this project's (the caller rolls back).
    """
    tables = {
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    now = _now_iso()
    if not tables and user_version == 0 and application_id == 0:
        for statement in _SCHEMA:
            conn.execute(statement)
        meta = {"app": APP_NAME, "schema": str(SCHEMA_VERSION), "created_at": now}
        if brand is not None:
            meta["brand"] = brand
        conn.executemany("INSERT INTO omeda_async_meta (key, value) VALUES (?, ?)", meta.items())
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    else:
        meta = {}
        if "omeda_async_meta" in tables:
            meta = dict(conn.execute("SELECT key, value FROM omeda_async_meta").fetchall())
        if meta.get("app") != APP_NAME or application_id not in (0, APPLICATION_ID):
            listed = ", ".join(sorted(tables)[:5]) or "none"
            raise IncompatibleStoreError(
                f"{path} is a SQLite database without omeda_async's marker (tables: {listed}); "
                "it is not an omeda_async journal and was left untouched",
                path=path,
            )
        if user_version > SCHEMA_VERSION:
            raise _newer(path, user_version)
        if user_version < 1:
            raise IncompatibleStoreError(
                f"{path} has omeda_async's marker but no schema version; it looks damaged "
                "and was left untouched",
                path=path,
            )
        stored_brand = meta.get("brand")
        if brand is not None and stored_brand is not None:
            if stored_brand.casefold() != brand.casefold():
                raise IncompatibleStoreError(
                    f"{path} is the journal of brand {stored_brand!r}, not {brand!r}; "
                    "use one journal per brand (it was left untouched)",
                    path=path,
                )
        elif brand is not None:
            # A journal started without a brand (a poller's) is claimed by the first one.
            conn.execute("INSERT INTO omeda_async_meta (key, value) VALUES ('brand', ?)", (brand,))
        _check_states(conn, path)
    # Also the first write of this connection: it takes and keeps the exclusive
    # lock, and it finds a read-only file before any record depends on it.
    conn.execute(
        "INSERT INTO omeda_async_meta (key, value) VALUES ('opened_at', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (now,),
    )


_STATES: Final = tuple(state.value for state in RecordState)


def _check_states(conn: sqlite3.Connection, path: str) -> None:
    """Refuse, before anything is written, a journal with a row in a state this version lacks."""
    marks = ", ".join("?" for _ in _STATES)
    row = conn.execute(
        f"SELECT seq, key, state FROM {_RECORDS} WHERE state NOT IN ({marks}) LIMIT 1", _STATES
    ).fetchone()
    if row is not None:
        seq, key, state = row
        raise IncompatibleStoreError(
            f"{path}: journal row {seq} (key {key!r}) has the state {state!r}, which is not "
            f"one of {', '.join(_STATES)}; the journal was left untouched",
            path=path,
        )


def _create(path: str, brand: str | None) -> None:
    """Make a new journal at ``path`` whole, or leave whatever got there first.

    It is built in a temporary file beside ``path`` and hard-linked into place:
    the link fails if the path exists, so two stores creating the same journal
    at once make one journal, and a crash leaves no empty file behind.
    """
    directory = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".new", dir=directory
    )
    os.close(descriptor)
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            _prepare(conn, path, brand)
            conn.execute("COMMIT")
            # Born in WAL mode (it persists in the header): two stores racing to open
            # it then meet only the exclusive lock, which one of them gets. In the
            # rollback-journal mode a reader's shared lock could stall both.
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another store made it first: that one is opened
        except OSError:
            # No hard links on this file system: a rename, which only a store that
            # found no journal a moment ago gets to do.
            if os.path.exists(path):
                return
            os.rename(temporary, path)
        with contextlib.suppress(OSError):  # the new name survives a power loss
            directory_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(directory_fd)
            finally:
                os.close(directory_fd)
    except sqlite3.Error as exc:
        raise _write_error(exc, path, "create the journal") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _connect(path: str, brand: str | None, lock_timeout: float) -> sqlite3.Connection:
    """Open, check and prepare the journal; every failure is a StoreError."""
    exists = _check_header(path)
    _check_writable(path)
    if not exists:
        try:
            _create(path, brand)
        except OSError as exc:
            raise StoreError(f"cannot create journal {path}: {exc.strerror}", path=path) from exc
        _check_header(path)  # what another store made, if it got there first
    try:
        # mode=rw: SQLite never makes a file here; only _create does, whole.
        conn = sqlite3.connect(
            f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=lock_timeout
        )
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot open journal {path}: {exc}",
            path=path,
            sqlite_error=getattr(exc, "sqlite_errorname", None),
        ) from exc
    try:
        # Exclusive for the connection's life: a second job on the same journal
        # would send the same records again. It also lets WAL work without -shm.
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN IMMEDIATE")
        try:
            _prepare(conn, path, brand)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"journal {path} cannot use WAL mode (got {mode!r})", path=path)
        # FULL: in WAL mode, NORMAL may lose the last commits on power loss, and
        # an accepted TransactionId must not be lost once reported.
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.Error as exc:
        conn.close()
        if isinstance(exc, sqlite3.DatabaseError) and _primary_code(exc) == 26:  # NOTADB
            raise IncompatibleStoreError(
                f"{path} is not a SQLite database, so not an omeda_async journal; "
                "it was left untouched",
                path=path,
            ) from exc
        raise _write_error(exc, path, "open the journal") from exc
    except BaseException:
        conn.close()
        raise
    return conn


# ----------------------------------------------------------- the writer thread


class _OpenJournals:
    """The journals stores of this process hold open (one store per journal).

    SQLite's exclusive lock keeps other processes out; two stores of one
    process opening one journal at the same moment could instead each take a
    shared lock the other's commit waits for, and both fail after
    ``lock_timeout``. Claimed here first, one of them wins at once and the
    other is told the journal is in use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[str] = set()

    def claim(self, path: str) -> None:
        with self._lock:
            if path in self._paths:
                raise StoreError(
                    f"journal {path} is in use by another store in this process "
                    "(share that store between jobs instead)",
                    path=path,
                )
            self._paths.add(path)

    def free(self, path: str) -> None:
        with self._lock:
            self._paths.discard(path)


_OPEN_HERE: Final = _OpenJournals()


class _Job(Generic[_T]):
    """One operation for the writer thread and the future its caller awaits."""

    __slots__ = ("fn", "future", "write")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], _T],
        future: asyncio.Future[_T] | None,
        *,
        write: bool,
    ) -> None:
        self.fn = fn
        self.future = future
        self.write = write


def _settle_in_loop(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # the caller was cancelled; the operation ran anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _settle(
    future: asyncio.Future[Any] | None, result: Any = None, exc: BaseException | None = None
) -> None:
    """Resolve ``future`` on its own event loop, from the writer thread."""
    if future is None:
        return
    try:
        future.get_loop().call_soon_threadsafe(_settle_in_loop, future, result, exc)
    except RuntimeError:
        # The loop is closed: nobody is left to tell.
        return


class _OperationFailed(Exception):
    """One job of a batch failed on its own (not the database): only it fails."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(index)
        self.index = index
        self.error = error


class _Worker:
    """A thread owning one connection; runs jobs in batches, one commit per batch."""

    def __init__(self, path: str, brand: str | None, lock_timeout: float) -> None:
        self._path = path
        self._brand = brand
        self._lock_timeout = lock_timeout
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._dead = False
        self._stop_job: _Job[None] | None = None
        self._opened: asyncio.Future[None] | None = None
        self.commits = 0
        self._thread = threading.Thread(
            target=self._run, name="omeda_async-sqlite-store", daemon=True
        )

    @property
    def alive(self) -> bool:
        return not self._dead

    def start(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        self._opened = loop.create_future()
        self._thread.start()
        return self._opened

    def submit(self, fn: Callable[[sqlite3.Connection], _T], *, write: bool) -> asyncio.Future[_T]:
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._dead:
                raise RuntimeError(f"the journal {self._path} is closed")
            self._queue.put(_Job(fn, future, write=write))
        return future

    async def stop(self) -> None:
        """Run every job queued so far, close the connection, end the thread."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._dead:
                return
            self._stop_job = _Job(lambda _conn: None, future, write=False)
            self._queue.put(None)
        try:
            await asyncio.shield(future)
        finally:
            if future.done():
                self._thread.join()

    def abandon(self) -> None:
        """Stop without waiting (the store was garbage-collected unclosed)."""
        with self._lock:
            if not self._dead:
                self._queue.put(None)

    def _die(self, error: BaseException) -> None:
        with self._lock:
            self._dead = True
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                _settle(job.future, exc=error)

    def _run(self) -> None:
        try:
            _OPEN_HERE.claim(self._path)
        except StoreError as exc:
            self._die(exc)
            _settle(self._opened, exc=exc)
            return
        try:
            conn = _connect(self._path, self._brand, self._lock_timeout)
        except BaseException as exc:  # delivered to open(); the thread ends
            _OPEN_HERE.free(self._path)
            self._die(exc)
            _settle(self._opened, exc=exc)
            return
        _settle(self._opened)
        closed_error: BaseException | None = None
        try:
            while True:
                batch: list[_Job[Any]] = []
                job = self._queue.get()
                stopping = job is None
                if job is not None:
                    batch.append(job)
                while not stopping and len(batch) < _MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stopping = True
                    else:
                        batch.append(job)
                if batch:
                    self._apply(conn, batch)
                if stopping:
                    break
        finally:
            try:
                conn.close()
            except sqlite3.Error as exc:
                closed_error = _write_error(exc, self._path, "close the journal")
            _OPEN_HERE.free(self._path)
            self._die(RuntimeError(f"the journal {self._path} is closed"))
            if self._stop_job is not None:
                _settle(self._stop_job.future, exc=closed_error)

    def _apply(self, conn: sqlite3.Connection, batch: list[_Job[Any]]) -> None:
        """Run ``batch`` in one transaction; tell every caller only after the commit."""
        while batch:
            try:
                results = self._transact(conn, batch)
            except _OperationFailed as failed:
                _settle(batch[failed.index].future, exc=failed.error)
                batch = batch[: failed.index] + batch[failed.index + 1 :]
                continue
            except sqlite3.Error as exc:
                if len(batch) > 1:
                    # The database failed (full disk, I/O): run each job alone, so a
                    # read or a small write that can still succeed is not failed with
                    # the rest. Only the failure path pays for this.
                    for job in batch:
                        self._apply(conn, [job])
                    return
                doing = "record this write" if batch[0].write else "read the journal"
                _settle(batch[0].future, exc=_write_error(exc, self._path, doing))
                return
            for job, result in zip(batch, results, strict=True):
                _settle(job.future, result)
            return

    def _transact(self, conn: sqlite3.Connection, batch: list[_Job[Any]]) -> list[Any]:
        writes = any(job.write for job in batch)
        results: list[Any] = []
        conn.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
        try:
            for index, job in enumerate(batch):
                try:
                    results.append(job.fn(conn))
                except Exception as exc:
                    if _is_environmental(exc):
                        raise
                    raise _OperationFailed(index, exc) from exc
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                # An error may already have rolled the transaction back.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        if writes:
            self.commits += 1
        return results


# ------------------------------------------------------------------- the store


_NOTE = "note:"
"""Prefix of the meta keys that hold ``KeepsNotes`` notes."""


class SqliteStore(StoreContext):
    """A ``TrackingStore`` in a SQLite file: the durable journal of bulk jobs and pollers.

    ``SqliteStore(path, *, brand=None, lock_timeout=5.0)``. Every write is
    durable when its coroutine returns (WAL, ``synchronous=FULL``, group
    commit); reads see every write that returned. ``brand`` ties a journal to
    one brand; ``lock_timeout`` is how long ``open`` waits for a journal
    another process holds before raising :class:`StoreError`.

    Opens on first use, or explicitly with ``await store.open()`` or
    ``async with``. See the module docstring for the file format and errors.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        brand: str | None = None,
        lock_timeout: float = 5.0,
    ) -> None:
        raw = os.fspath(path)
        if raw in ("", ":memory:") or raw.startswith("file:"):
            raise ValueError(
                f"SqliteStore needs a file path, not {raw!r} (use MemoryStore for no file)"
            )
        if not lock_timeout >= 0:
            raise ValueError(f"lock_timeout must be >= 0, not {lock_timeout!r}")
        self._path = os.path.abspath(raw)
        self._brand = brand
        self._lock_timeout = float(lock_timeout)
        self._worker: _Worker | None = None
        self._opening: asyncio.Future[None] | None = None
        self._closed = False
        # Keys begun and not settled: the begin's answer (won, the record before),
        # kept to tell other jobs the key is held and to hand it back on release.
        self._held: dict[str, asyncio.Future[tuple[bool, StoredRecord | None]]] = {}

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        elif self._opening is not None and self._opening.done():
            state = "open"
        else:
            state = "not open"
        brand = f", brand={self._brand!r}" if self._brand is not None else ""
        return f"SqliteStore({self._path!r}{brand}, {state})"

    def __del__(self) -> None:
        worker = getattr(self, "_worker", None)
        if worker is not None and worker.alive:
            worker.abandon()
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=1, source=self)

    @property
    def path(self) -> str:
        """The journal file (absolute)."""
        return self._path

    @property
    def brand(self) -> str | None:
        """The brand this store was opened for (``None``: any)."""
        return self._brand

    async def open(self) -> bool:
        """Open the journal: create it, or check it is this project's, schema and brand.

        Idempotent; also reopens a closed store. True when this call opened it
        (whoever opens a store closes it), False when it was open (or opening)
        already. Raises IncompatibleStoreError (left untouched), StoreWriteError
        (read-only) or StoreError (locked by another process, cannot be created).
        """
        opened = False
        if self._worker is None:
            self._closed = False
            worker = _Worker(self._path, self._brand, self._lock_timeout)
            self._worker = worker
            self._opening = worker.start(asyncio.get_running_loop())
            opened = True
        opening = self._opening
        assert opening is not None
        try:
            await asyncio.shield(opening)
        finally:
            failed = opening.done() and not opening.cancelled() and opening.exception()
            if failed and self._opening is opening:
                self._worker = None
                self._opening = None
        return opened

    async def close(self) -> None:
        """Finish every write already asked for, then close the file. Idempotent."""
        self._closed = True
        self._held.clear()
        worker, self._worker, self._opening = self._worker, None, None
        if worker is not None:
            await worker.stop()

    async def _call(self, fn: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        # Queued without an await when open: calls reach the thread in the order made.
        worker = self._worker
        if self._closed or worker is None or self._opening is None or not self._opening.done():
            worker = await self._ready()
        return await worker.submit(fn, write=write)

    async def _ready(self) -> _Worker:
        """The writer thread, once the journal is open."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self._opening is None or not self._opening.done():
            await self.open()
        worker = self._worker
        if worker is None:
            raise RuntimeError(f"{self!r} is closed")
        return worker

    def _commit_count(self) -> int:
        """Write transactions committed since open (tests pin group commit with it)."""
        return self._worker.commits if self._worker is not None else 0

    # -- the TrackingStore protocol ------------------------------------------------

    async def get(self, key: str) -> StoredRecord | None:
        """The record stored under ``key``, if any."""

        def run(conn: sqlite3.Connection) -> StoredRecord | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM {_RECORDS} WHERE key = ?", (key,)
            ).fetchone()
            return None if row is None else _record(row, path)

        path = self._path
        return await self._call(run, write=False)

    async def begin(
        self, key: str, *, service: str, resend: Collection[RecordState] = DEFAULT_RESEND
    ) -> Begun:
        """Atomically take ``key`` to submit it to ``service`` now (``TrackingStore.begin``).

        The record is read and, when won, written PENDING in one transaction of
        the writer thread (durable when this returns); holds are kept in this
        object, which every job of the process shares.
        """
        if key in self._held:
            # No read: a caller stopping must not wait here (see release()).
            return Begun(won=False, held_elsewhere=True)
        worker = await self._ready()
        if key in self._held:  # begun by another caller while the journal opened
            return Begun(won=False, held_elsewhere=True)
        states = frozenset(RecordState(state).value for state in resend)
        params = (key, time.time(), RecordState.PENDING.value, service)
        path = self._path

        def run(conn: sqlite3.Connection) -> tuple[bool, StoredRecord | None]:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM {_RECORDS} WHERE key = ?", (key,)
            ).fetchone()
            before = None if row is None else _record(row, path)
            if before is not None and before.state.value not in states:
                return False, before
            conn.execute(_SQL_BEGIN, params)
            return True, before

        answer = worker.submit(run, write=True)
        self._held[key] = answer
        try:
            # Shielded: a caller cancelled now leaves the hold to its release(),
            # which learns from ``answer`` whether the write happened.
            won, before = await asyncio.shield(answer)
        except asyncio.CancelledError:
            raise
        except BaseException:
            if self._held.get(key) is answer:
                del self._held[key]
            raise
        if not won and self._held.get(key) is answer:
            del self._held[key]
        return Begun(won=won, record=before)

    async def release(self, key: str, *, sent: bool) -> None:
        """Stop holding ``key`` without settling it (``TrackingStore.release``)."""
        answer = self._held.pop(key, None)
        if answer is None:
            return
        try:
            won, before = await asyncio.shield(answer)
        except Exception:  # the begin itself failed: nothing to hand back
            return
        if not won or sent:
            return  # sent: stays PENDING, stale, for a re-run to report unknown
        await self._call(_restore(key, before), write=True)

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        """Record that ``key`` was queued as ``transaction_id``: durable when this returns."""
        check_transaction_id(transaction_id, path=self._path)
        self._held.pop(key, None)
        state = RecordState.ACCEPTED.value
        params: tuple[Any, ...]
        if service is None:
            sql, params = _SQL_ACCEPT, (key, time.time(), state, transaction_id)
        else:
            sql, params = _SQL_ACCEPT_SERVICE, (key, time.time(), state, transaction_id, service)
        await self._call(_statement(sql, params), write=True)

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        """Record that ``key`` was refused, with the reasons."""
        self._held.pop(key, None)
        params = (key, time.time(), RecordState.REJECTED.value, _errors_json(errors))
        await self._call(_statement(_SQL_ERRORS, params), write=True)

    async def mark_unknown(self, key: str, reason: str) -> None:
        """Record that ``key``'s POST may or may not have been queued."""
        self._held.pop(key, None)
        params = (key, time.time(), RecordState.UNKNOWN.value, _errors_json([reason]))
        await self._call(_statement(_SQL_ERRORS, params), write=True)

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        """Append ``(at, status)`` to the history; ``status`` becomes the current one."""
        code = int(status)

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute(f"SELECT history FROM {_RECORDS} WHERE key = ?", (key,)).fetchone()
            history = json.loads(row[0]) if row is not None else []
            history.append([at, code])
            params = (key, time.time(), RecordState.PENDING.value, code, json.dumps(history), at)
            conn.execute(_SQL_STATUS, params)

        await self._call(run, write=True)

    async def finish(
        self,
        key: str,
        *,
        outcome: Outcome,
        status: StatusCode | None,
        history: Sequence[tuple[float, StatusCode]] = (),
        errors: Sequence[str] = (),
    ) -> None:
        """Record the final outcome; a non-empty ``history`` replaces the recorded one."""
        self._held.pop(key, None)
        params: tuple[Any, ...] = (
            key,
            time.time(),
            RecordState.FINISHED.value,
            Outcome(outcome).value,
            None if status is None else int(status),
            _errors_json(errors),
        )
        sql = _SQL_FINISH
        if history:
            sql, params = _SQL_FINISH_HISTORY, (*params, _history_json(history))
        await self._call(_statement(sql, params), write=True)

    async def unfinished(self) -> list[StoredRecord]:
        """Every record accepted but not finished, in the order keys were first written."""

        def run(conn: sqlite3.Connection) -> list[StoredRecord]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM {_RECORDS} WHERE state = ? ORDER BY seq",
                (RecordState.ACCEPTED.value,),
            )
            return [_record(row, path) for row in rows]

        path = self._path
        return await self._call(run, write=False)

    # -- KeepsNotes: small notes beside the records (what the poller learned) ------------

    async def read_note(self, name: str) -> str | None:
        """The note kept under ``name``, or None."""

        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT value FROM omeda_async_meta WHERE key = ?", (_NOTE + name,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._call(run, write=False)

    async def write_note(self, name: str, text: str) -> None:
        """Keep ``text`` under ``name`` (in the meta table: no schema change), durably."""
        sql = (
            "INSERT INTO omeda_async_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        await self._call(_statement(sql, (_NOTE + name, text)), write=True)

    # -- reporting -------------------------------------------------------------------

    async def records(self, *, state: RecordState | None = None) -> AsyncIterator[StoredRecord]:
        """Every record (or those in ``state``) in first-written order, read in pages."""
        after = 0
        while True:
            page = await self._call(
                functools.partial(_page, after=after, state=state, path=self._path), write=False
            )
            for _seq, record in page:
                yield record
            if len(page) < _PAGE:
                return
            after = page[-1][0]

    async def summary_counts(self) -> dict[RecordState, int]:
        """How many records are in each state (every state present, zeros included)."""

        def run(conn: sqlite3.Connection) -> dict[RecordState, int]:
            counts = dict.fromkeys(RecordState, 0)
            for state, count in conn.execute(
                f"SELECT state, COUNT(*) FROM {_RECORDS} GROUP BY state"
            ):
                counts[RecordState(state)] = int(count)
            return counts

        return await self._call(run, write=False)
