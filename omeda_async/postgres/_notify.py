"""LISTEN/NOTIFY: a web replica waits for an outcome another process recorded.

Every write that ends a record (finish, reject, mark_unknown, a reaped
unknown) notifies ``<schema>_finished`` in the same statement, with the md5
of ``job || chr(31) || key`` (a fixed-size payload, whatever the key). One
listening connection per store serves all of its waiters; each waiter listens
first and reads the record second, so an outcome written in between is never
missed, and it reads again on every wake-up (a notification only says "look").
If the listening connection is lost, every waiter wakes, reads again, and the
connection is made anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from ._errors import map_error

if TYPE_CHECKING:
    from omeda_async._store import StoredRecord

    from ._database import Database

__all__ = ["Notifier", "finished_tag"]

logger = logging.getLogger("omeda_async.postgres")


def finished_tag(job: str, key: str) -> str:
    """The payload a finished record's notification carries (as the SQL computes it)."""
    return hashlib.md5(f"{job}\x1f{key}".encode(), usedforsecurity=False).hexdigest()


class Notifier:
    """One LISTEN connection and the waiters it wakes."""

    __slots__ = ("_closed", "_conn", "_connecting", "_db", "_waiters")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: asyncpg.Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._closed = False

    async def _ensure(self) -> None:
        if self._closed:
            raise RuntimeError(f"the PostgresStore on {self._db.dsn.where} is closed")
        if self._conn is not None and not self._conn.is_closed():
            return
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._conn is not None and not self._conn.is_closed():
                return
            db = self._db
            try:
                conn = await asyncpg.connect(db.dsn.text, timeout=10.0)
                await conn.add_listener(db.sql.channel, self._on_notify)
            except Exception as exc:
                raise map_error(
                    exc, db.dsn, "listen for finished records", connecting=True
                ) from None
            conn.add_termination_listener(self._on_lost)
            self._conn = conn

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        for event in self._waiters.get(payload, ()):
            event.set()

    def _on_lost(self, _conn: Any) -> None:
        self._conn = None
        logger.warning("lost the LISTEN connection to %s; making it anew", self._db.dsn.where)
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def wait(
        self,
        job: str,
        key: str,
        final: Callable[[], Awaitable[StoredRecord | None]],
    ) -> StoredRecord:
        """Read ``final()`` until it gives a record: at once, then after each notification."""
        tag = finished_tag(job, key)
        event = asyncio.Event()
        self._waiters.setdefault(tag, set()).add(event)
        try:
            while True:
                await self._ensure()  # listening before reading: nothing slips between
                event.clear()
                record = await final()
                if record is not None:
                    return record
                await event.wait()
        finally:
            waiting = self._waiters.get(tag)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[tag]

    def reopen(self) -> None:
        """Allow listening again (the store was opened again)."""
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._on_lost)
            try:
                await asyncio.wait_for(conn.close(), timeout=5.0)
            except Exception:
                conn.terminate()
        for events in self._waiters.values():
            for event in events:
                event.set()
