"""The connection pool of one store: opening it, checking the schema, running statements.

Every statement goes through :class:`Database`, which maps the driver's
failures once (``_errors.map_error``) and never lets a DSN's password reach a
message. Opening creates the schema when it is not there, and refuses what is
not ours: another application's tables, a newer schema, the job of another
brand (:class:`IncompatibleStoreError`, nothing changed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

import asyncpg

from omeda_async._errors import IncompatibleStoreError, StoreError
from omeda_async._sqlite_store import _record as read_record
from omeda_async._store import StoredRecord

from ._batch import Refill
from ._dsn import Dsn
from ._errors import map_error
from ._sql import APP_NAME, SCHEMA_VERSION, SEQ_BLOCK, Statements

__all__ = ["Database", "Numbers", "record_of"]

_LOCK_NAME: Final = "omeda_async schema "
_ATTEMPTS: Final = 3


def record_of(row: Sequence[Any], where: str) -> StoredRecord:
    """A row (``RECORD_COLUMNS``: the journal's columns, as SQLite's) as a ``StoredRecord``.

    One reader for both journals: a row this version cannot read is an
    ``IncompatibleStoreError`` naming the database and the key.
    """
    return read_record(tuple(row), where)


class Numbers:
    """First-seen numbers, handed out in call order from blocks reserved in the database."""

    __slots__ = ("_db", "_end", "_next", "_reserving")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._next = 0
        self._end = 0
        self._reserving = Refill(self._reserve)

    async def take(self) -> int:
        """The next number; does not suspend while the block lasts (so call order is kept)."""
        while self._next >= self._end:
            await self._reserving.wait()
        number = self._next
        self._next += 1
        return number

    async def _reserve(self) -> None:
        db = self._db
        start = await db.fetchval(
            f"SELECT nextval('{db.sql.schema}.seqs')", doing="number new records"
        )
        self._next, self._end = int(start), int(start) + SEQ_BLOCK


class Database:
    """One pool on one DSN, with the statements of one schema."""

    __slots__ = ("_pool", "dsn", "numbers", "sql", "statements")

    def __init__(self, dsn: Dsn, sql: Statements) -> None:
        self.dsn = dsn
        self.sql = sql
        self._pool: asyncpg.Pool | None = None
        self.numbers = Numbers(self)
        self.statements = 0
        """Statements run so far (the benchmarks count the database's cost with it)."""

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(
        self, *, job: str, brand: str | None, pool_size: int, connect_timeout: float
    ) -> str | None:
        """Connect, create or check the schema and the job; the job's brand."""
        try:
            pool = await asyncpg.create_pool(
                self.dsn.text,
                min_size=1,
                max_size=pool_size,
                timeout=connect_timeout,
                command_timeout=max(connect_timeout, 30.0),
                server_settings={"application_name": "omeda_async"},
                # The store keeps no session state (no LISTEN, no SET, transaction-scoped
                # locks only): asyncpg's reset query on every release would double the
                # round trips of every statement.
                reset=_keep_session,
            )
        except Exception as exc:
            raise map_error(exc, self.dsn, "open the journal", connecting=True) from None
        try:
            async with pool.acquire() as conn, conn.transaction():
                job_brand = await self._prepare(conn, job, brand)
        except BaseException as exc:
            await _terminate(pool)
            if isinstance(exc, Exception):
                raise map_error(exc, self.dsn, "open the journal") from None
            raise
        self._pool = pool
        return job_brand

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10.0)
            except Exception:
                pool.terminate()

    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"the PostgresStore on {self.dsn.where} is not open")
        return self._pool

    async def _run(self, method: str, sql: str, args: tuple[Any, ...], doing: str) -> Any:
        """One statement (its own transaction) on a pooled connection, mapped errors.

        A statement the server rolled back to break a deadlock (or a serialization
        failure) changed nothing, so it is run again, a few times: two workers'
        batches can meet on a row neither expected the other to hold (a lease that
        ran out under one of them).
        """
        pool = self.pool()
        for attempt in range(_ATTEMPTS):
            self.statements += 1
            try:
                return await getattr(pool, method)(sql, *args)
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                if attempt + 1 == _ATTEMPTS:
                    raise map_error(exc, self.dsn, doing) from None
            except Exception as exc:
                raise map_error(exc, self.dsn, doing) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def fetch(self, sql: str, *args: Any, doing: str) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run("fetch", sql, args, doing)
        return rows

    async def fetchrow(self, sql: str, *args: Any, doing: str) -> asyncpg.Record | None:
        return await self._run("fetchrow", sql, args, doing)

    async def fetchval(self, sql: str, *args: Any, doing: str) -> Any:
        return await self._run("fetchval", sql, args, doing)

    async def execute(self, sql: str, *args: Any, doing: str) -> str:
        status: str = await self._run("execute", sql, args, doing)
        return status

    # -- the schema --------------------------------------------------------------------

    async def _prepare(self, conn: asyncpg.Connection, job: str, brand: str | None) -> str | None:
        """Inside a transaction: create the schema or check it is ours; then the job."""
        schema = self.sql.schema
        where = self.dsn.where
        # Workers starting together: one creates the schema, the others wait and check.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK_NAME + schema)
        tables = {
            row[0]
            for row in await conn.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                schema,
            )
        }
        if not tables:
            for statement in self.sql.create:
                await conn.execute(statement)
            await conn.executemany(
                f"INSERT INTO {schema}.meta (key, value) VALUES ($1, $2)",
                [("app", APP_NAME), ("schema_version", str(SCHEMA_VERSION))],
            )
            await conn.execute(
                f"INSERT INTO {schema}.meta (key, value) VALUES ('created_at', now()::text)"
            )
        else:
            await self._check(conn, tables)
        row = await conn.fetchrow(f"SELECT brand FROM {schema}.jobs WHERE job = $1 FOR UPDATE", job)
        if row is None:
            await conn.execute(
                f"INSERT INTO {schema}.jobs (job, brand) VALUES ($1, $2)", job, brand
            )
            return brand
        stored: str | None = row[0]
        if brand is not None and stored is not None and stored.casefold() != brand.casefold():
            raise IncompatibleStoreError(
                f"{where}: job {job!r} belongs to brand {stored!r}, not {brand!r}; use a job "
                "per brand (nothing was changed)",
                path=where,
            )
        if brand is not None and stored is None:
            # A job started without a brand (a tracker's) is claimed by the first one.
            await conn.execute(f"UPDATE {schema}.jobs SET brand = $2 WHERE job = $1", job, brand)
            return brand
        return stored

    async def _check(self, conn: asyncpg.Connection, tables: set[str]) -> None:
        schema = self.sql.schema
        where = self.dsn.where
        meta: dict[str, str] = {}
        if "meta" in tables:
            try:
                meta = {
                    str(key): str(value)
                    for key, value in await conn.fetch(f"SELECT key, value FROM {schema}.meta")
                }
            except asyncpg.PostgresError:
                meta = {}
        if meta.get("app") != APP_NAME:
            listed = ", ".join(sorted(tables)[:5])
            raise IncompatibleStoreError(
                f"{where}: schema {schema!r} holds another application's tables ({listed}), "
                "not an omeda_async journal; it was left untouched (choose another schema=)",
                path=where,
            )
        try:
            version = int(meta.get("schema_version", ""))
        except ValueError:
            version = 0
        if version > SCHEMA_VERSION:
            raise IncompatibleStoreError(
                f"{where}: schema {schema!r} was written by a newer omeda_async (journal "
                f"schema {version}; this version reads schema {SCHEMA_VERSION}): upgrade "
                "omeda_async; it was left untouched",
                path=where,
            )
        if version < 1:
            raise IncompatibleStoreError(
                f"{where}: schema {schema!r} has omeda_async's marker but no schema version; "
                "it looks damaged and was left untouched",
                path=where,
            )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    return None


async def _terminate(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=5.0)
    except Exception:
        pool.terminate()


def refused(where: str, key: str, held: bool) -> StoreError:
    """Why a fenced write changed nothing (see ``LeaseLostError``)."""
    from ._errors import LeaseLostError

    if held:
        message = (
            f"{where}: record {key!r} was taken over by another worker after this worker's "
            "lease ran out; this late write was refused (nothing changed)"
        )
    else:
        message = (
            f"{where}: record {key!r} is held by another worker now; this write was refused "
            "(nothing changed)"
        )
    return LeaseLostError(message, path=where, key=key)
