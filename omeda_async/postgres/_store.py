"""``PostgresStore``: the journal a fleet of workers shares, in PostgreSQL.

What it promises beyond a ``TrackingStore`` (DESIGN.md, "Beyond one machine"):

- **Atomic begin across hosts.** ``begin`` is one conditional upsert: of every
  job, process and host using the same ``job``, exactly one wins a key. A key
  another worker holds is ``held_elsewhere`` (a job reports it skipped, in
  flight elsewhere).
- **Leases with fencing.** A begun record is *held* by this store (its
  owner) until it is settled; holds are rows with an owner, an expiry (the
  database's ``now()``, never a worker's clock) and a fence number. This
  store renews all of its leases in one statement every third of ``lease``,
  and releases them on ``close()``. A worker that died, or froze past its
  lease, loses them: a record it was sending becomes unknown (it may have
  left; it is never sent again on its own), a record it had only claimed goes
  back to the queue, a transaction it followed is taken over by another
  tracker, and its late writes are refused (:class:`LeaseLostError`).
- **Claimed apart from pending.** A queued record a worker has claimed but not
  begun is safe to hand back; only ``begin`` (the POST may leave now) makes it
  pending. So a crash turns only the POSTs in flight into unknowns.
- **Nothing reported that was not recorded.** Every write is committed when
  its coroutine returns; a lost connection raises ``StoreWriteError`` (the
  write may or may not have landed), never a silent success.

The queue (``enqueue``), the fleet's tracker (:mod:`._tracker`), the rate
budget (:meth:`PostgresStore.rate_limit`) and :meth:`PostgresStore.wait_finished`
build on the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from typing import Any, Final

import attrs

from omeda_async._errors import StoreError
from omeda_async._status import Outcome, StatusCode
from omeda_async._store import (
    DEFAULT_RESEND,
    Begun,
    RecordState,
    StoreContext,
    StoredRecord,
    check_transaction_id,
)

from ._batch import Batcher
from ._budget import FleetRateLimit
from ._database import Database, record_of, refused
from ._dsn import parse_dsn
from ._notify import Notifier
from ._queue import Enqueued, enqueue_rows
from ._sql import Statements

__all__ = ["PostgresStore", "StoreCounts"]

logger = logging.getLogger("omeda_async.postgres")

_QUEUED: Final = "queued"
_PAGE: Final = 500
_FINAL: Final = frozenset({RecordState.FINISHED, RecordState.REJECTED, RecordState.UNKNOWN})


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"a record key must be a string, not {type(key).__name__}")
    if "\x00" in key:
        raise ValueError("a record key for PostgreSQL cannot hold a NUL character")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a record key for PostgreSQL must be valid Unicode text") from None
    return key


def _check_job(job: object) -> str:
    if not isinstance(job, str) or not job.strip() or "\x00" in job:
        raise ValueError(f"job must be a non-empty name, not {job!r}")
    return job


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _first(item: tuple[Any, ...]) -> str:
    key: str = item[0]
    return key


def _history_json(history: Sequence[tuple[float, StatusCode]]) -> str:
    return json.dumps([[float(at), int(code)] for at, code in history])


@attrs.frozen
class StoreCounts:
    """How many records of a job are where (``PostgresStore.counts``)."""

    queued: int = 0
    """In the queue, not claimed by a worker."""
    claimed: int = 0
    """In the queue, claimed by a live worker (not begun: safe to hand back)."""
    pending: int = 0
    """Being sent now (held by a live worker)."""
    stale: int = 0
    """Begun by a worker that is gone: unknown once a worker reaps it."""
    accepted: int = 0
    """Queued by Omeda, tracking not finished."""
    tracking: int = 0
    """Accepted and held by a live tracker right now (included in ``accepted``)."""
    unknown: int = 0
    rejected: int = 0
    finished: int = 0

    @property
    def open(self) -> int:
        """Records with work left (queued, claimed, pending, stale, accepted)."""
        return self.queued + self.claimed + self.pending + self.stale + self.accepted


class _Holds:
    """What this store holds: a fence per leased key; the keys begun and not settled."""

    __slots__ = ("beginning", "fences", "sending")

    def __init__(self) -> None:
        self.fences: dict[str, int] = {}
        # Key -> the record before begin (None: absent; "queued": a claimed queue row).
        self.sending: dict[str, StoredRecord | str | None] = {}
        # Keys whose begin is being decided now, and its answer.
        self.beginning: dict[str, asyncio.Future[Begun]] = {}

    def drop(self, key: str) -> None:
        self.fences.pop(key, None)
        self.sending.pop(key, None)


class PostgresStore(StoreContext):
    """A ``TrackingStore`` in PostgreSQL, shared by every process and host that names ``job``.

    ``PostgresStore(dsn, *, job, brand=None, schema="omeda_async", lease=30.0,
    pool_size=4, connect_timeout=10.0)``. ``dsn`` is a ``postgresql://`` URI
    (its password is never shown; libpq's ``PGPASSWORD`` and ``~/.pgpass``
    work too). ``job`` names the records' namespace: every store with the
    same ``job`` shares them. ``brand`` ties the job to one brand (refused for
    another). ``lease`` is how long a claim outlives a worker that stopped
    renewing it. Opens on first use, or with ``await store.open()`` or
    ``async with``; ``close()`` releases every lease it holds.
    """

    def __init__(
        self,
        dsn: str,
        *,
        job: str,
        brand: str | None = None,
        schema: str = "omeda_async",
        lease: float = 30.0,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        if brand is not None and (not isinstance(brand, str) or not brand):
            raise ValueError(f"brand must be a brand abbreviation, not {brand!r}")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be an integer >= 1, not {pool_size!r}")
        self._db = Database(parse_dsn(dsn), Statements(schema))
        self._job = _check_job(job)
        self._brand = brand
        self._lease = _positive("lease", lease)
        self._options = (pool_size, _positive("connect_timeout", connect_timeout))
        self.owner: str = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        """Who this store is in the leases it takes (host, process, a random tag)."""
        self._holds = _Holds()
        self._begins: dict[frozenset[str], Batcher[Begun]] = {}
        self._accepts: Batcher[bool] = Batcher(self._accept_many, key=_first)
        self._notifier = Notifier(self._db)
        self._opening: asyncio.Future[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        elif self._db.is_open:
            state = "open"
        else:
            state = "not open"
        brand = f", brand={self._brand!r}" if self._brand is not None else ""
        return f"PostgresStore({self._db.dsn.where!r}, job={self._job!r}{brand}, {state})"

    @property
    def job(self) -> str:
        """The job whose records this store reads and writes."""
        return self._job

    @property
    def brand(self) -> str | None:
        """The job's brand (``None``: not tied to one)."""
        return self._brand

    @property
    def lease(self) -> float:
        """Seconds a lease lasts unless renewed."""
        return self._lease

    @property
    def where(self) -> str:
        """The DSN without its password: ``postgresql://user@host:port/database``."""
        return self._db.dsn.where

    @property
    def database(self) -> Database:
        """The pool and statements (for the queue worker, the tracker and the rate budget)."""
        return self._db

    @property
    def holds(self) -> _Holds:
        """The leases this store holds (fences by key)."""
        return self._holds

    async def open(self) -> bool:
        """Connect; create the schema, or check it is omeda_async's and not newer; check the job.

        Idempotent; also reopens a closed store. True when this call opened it
        (whoever opens a store closes it). Raises ``IncompatibleStoreError``
        (another application's schema, a newer one, the job of another brand:
        nothing changed) or ``StoreError`` (cannot connect, wrong credentials).
        """
        opened = False
        if self._opening is None:
            self._closed = False
            self._opening = asyncio.get_running_loop().create_task(self._open())
            opened = True
        opening = self._opening
        try:
            await asyncio.shield(opening)
        except BaseException:
            if opening.done() and self._opening is opening:
                self._opening = None
            raise
        return opened

    async def _open(self) -> None:
        pool_size, connect_timeout = self._options
        self._notifier.reopen()
        brand = await self._db.open(
            job=self._job, brand=self._brand, pool_size=pool_size, connect_timeout=connect_timeout
        )
        if self._brand is None:
            self._brand = brand
        self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def close(self) -> None:
        """Release every lease this store holds, then disconnect. Idempotent.

        A record it was sending stays pending, without a holder: a worker
        reports it unknown. A queue record it had claimed goes back to the
        queue; a transaction it followed is free for any tracker.
        """
        self._closed = True
        opening, self._opening = self._opening, None
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if opening is not None and not opening.done():
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
        if self._db.is_open:
            try:
                await self.release_all()
            except StoreError as exc:
                logger.warning("could not release the leases of %s: %s", self, exc)
            await self._notifier.close()
            await self._db.close()
        self._holds = _Holds()

    async def _ready(self) -> Database:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self._opening is None or not self._opening.done():
            await self.open()
        return self._db

    # -- leases ------------------------------------------------------------------------

    async def renew(self) -> int:
        """Renew every lease of this store in one statement; how many rows it holds."""
        db = await self._ready()
        count = await db.fetchval(
            db.sql.renew, self.owner, self._lease, self._job, doing="renew its leases"
        )
        return int(count)

    async def release_all(self) -> None:
        """Give up every lease of this store (``close`` does it)."""
        db = self._db
        if db.is_open:
            await db.execute(db.sql.release_all, self.owner, self._job, doing="release its leases")
        self._holds = _Holds()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self.renew()
            except StoreError as exc:
                # Leases may run out now: other workers take the records over and
                # this store's late writes are refused, which is what fencing is for.
                logger.warning("%s: %s", self, exc)
            except RuntimeError:
                return

    async def _fenced(self, key: str, sql: str, *args: Any, doing: str) -> Any:
        """Run a write that only the key's holder (or anyone, if nobody holds it) may make."""
        db = await self._ready()
        seq = await db.numbers.take()
        holds = self._holds
        fence = holds.fences.get(key)
        row = await db.fetchrow(sql, self._job, key, args[0], fence, *args[1:], seq, doing=doing)
        if row is None:
            # Its fence stays: every later write of this store on the key carries the
            # stale number and is refused too (the job stops on the first anyway).
            holds.sending.pop(key, None)
            raise refused(self.where, key, fence is not None)
        return row

    # -- the TrackingStore protocol ----------------------------------------------------

    async def get(self, key: str) -> StoredRecord | None:
        """The record stored under ``key`` (a record only queued, not begun, is None)."""
        db = await self._ready()
        row = await db.fetchrow(db.sql.get, self._job, _check_key(key), doing="read a record")
        return None if row is None else record_of(row, self.where)

    async def begin(
        self, key: str, *, service: str, resend: Collection[RecordState] = DEFAULT_RESEND
    ) -> Begun:
        """Atomically take ``key`` to submit it now (``TrackingStore.begin``), fleet-wide.

        One conditional upsert: won when nobody else holds the key and the
        record is absent, queued, or in a state of ``resend``; the record is then
        PENDING, held by this store. ``held_elsewhere`` when a live lease of
        another worker (or another job of this store) holds it.
        """
        holds = self._holds
        if key in holds.sending or key in holds.beginning:
            return Begun(won=False, held_elsewhere=True)
        db = await self._ready()
        if key in holds.sending or key in holds.beginning:  # begun while the store opened
            return Begun(won=False, held_elsewhere=True)
        seq = await db.numbers.take()
        states = frozenset(RecordState(state).value for state in resend)
        batcher = self._begins.get(states)
        if batcher is None:
            batcher = self._begins[states] = Batcher(
                functools.partial(self._begin_many, states=states), key=_first
            )
        fence = holds.fences.get(_check_key(key))
        answer = batcher.submit((key, service, fence, seq))
        holds.beginning[key] = answer
        # Shielded: a caller cancelled now leaves the outcome to the batch, which keeps
        # the store's holds right, and to release(), which waits for it.
        return await asyncio.shield(answer)

    async def _begin_many(
        self, items: Sequence[tuple[str, str, int | None, int]], states: frozenset[str]
    ) -> list[Begun]:
        """One statement for many begins; the holds of those won are this store's."""
        db = self._db
        holds = self._holds
        try:
            rows = await db.fetch(
                db.sql.begin_many,
                self._job,
                [item[0] for item in items],
                [item[1] for item in items],
                [item[2] for item in items],
                [item[3] for item in items],
                self.owner,
                self._lease,
                sorted(states),
                doing="begin records",
            )
        except BaseException:
            for item in items:
                holds.beginning.pop(item[0], None)
            raise
        answers = {row["key"]: row for row in rows}
        begun: list[Begun] = []
        for key, *_ in items:
            row = answers[key]
            holds.beginning.pop(key, None)
            before: StoredRecord | str | None = None
            if row["state"] == _QUEUED:
                before = _QUEUED
            elif row["state"] is not None:
                before = record_of((key, *(row[name] for name in _PREV_COLUMNS)), self.where)
            record = before if isinstance(before, StoredRecord) else None
            if row["fence"] is None:
                held = bool(row["held"])
                if not held and (row["state"] in (None, _QUEUED) or row["state"] in states):
                    # The statement's snapshot showed the key free to take (absent,
                    # queued, or in a state begin may take it from), yet its upsert
                    # took nothing: another worker began it after the snapshot, and
                    # holds it now. In flight elsewhere, never "not won" for no reason.
                    held = True
                begun.append(Begun(won=False, record=record, held_elsewhere=held))
                continue
            holds.fences[key] = row["fence"]
            holds.sending[key] = before
            begun.append(Begun(won=True, record=record))
        return begun

    async def release(self, key: str, *, sent: bool) -> None:
        """Stop holding ``key`` without settling it (``TrackingStore.release``)."""
        holds = self._holds
        beginning = holds.beginning.get(key)
        if beginning is not None:
            # Its begin is being decided (its caller was cancelled): wait for the answer.
            try:
                await asyncio.shield(beginning)
            except Exception:
                return
        if key not in holds.sending:
            return
        before = holds.sending.pop(key)
        fence = holds.fences.pop(key, None)
        db = await self._ready()
        sql = db.sql
        args: tuple[Any, ...]
        if sent:
            # The POST may have left: pending, with no holder (stale, reported unknown).
            statement = (
                f"UPDATE {sql.schema}.records SET lease_owner = NULL, lease_until = NULL "
                "WHERE job = $1 AND key = $2 AND fence = $3"
            )
            args = ()
        elif before is None:
            statement = (
                f"DELETE FROM {sql.schema}.records "
                "WHERE job = $1 AND key = $2 AND fence = $3 AND state = 'pending'"
            )
            args = ()
        elif before == _QUEUED:
            statement = (
                f"UPDATE {sql.schema}.records SET state = 'queued', lease_owner = NULL, "
                "lease_until = NULL WHERE job = $1 AND key = $2 AND fence = $3 "
                "AND state = 'pending'"
            )
            args = ()
        else:
            assert isinstance(before, StoredRecord)
            statement = (
                f"UPDATE {sql.schema}.records SET state = $4, service = $5, transaction_id = $6, "
                "status = $7, outcome = $8, errors = $9, history = $10::jsonb, "
                "updated_at = $11, lease_owner = NULL, lease_until = NULL, written_at = now() "
                "WHERE job = $1 AND key = $2 AND fence = $3 AND state = 'pending'"
            )
            args = (
                before.state.value,
                before.service,
                before.transaction_id,
                None if before.status is None else int(before.status),
                None if before.outcome is None else before.outcome.value,
                json.dumps(list(before.errors)),
                _history_json(before.history),
                before.updated_at,
            )
        await db.execute(statement, self._job, key, fence, *args, doing="hand a record back")

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        """Record that ``key`` was queued as ``transaction_id``: committed when this returns.

        The record is then nobody's: a tracker (this process's poller, or a
        ``worker --track`` anywhere) takes it when it looks it up.
        """
        check_transaction_id(transaction_id, path=self.where)
        db = await self._ready()
        seq = await db.numbers.take()
        holds = self._holds
        fence = holds.fences.get(_check_key(key))
        done = await asyncio.shield(
            self._accepts.submit((key, transaction_id, fence, service, seq))
        )
        if not done:
            from ._errors import LeaseLostError

            holds.sending.pop(key, None)
            error = refused(self.where, key, fence is not None)
            assert isinstance(error, LeaseLostError)
            error.transaction_id = transaction_id
            error.args = (f"{error.args[0]}; Omeda's TransactionId was {transaction_id}",)
            logger.error("%s", error.args[0])
            raise error

    async def _accept_many(
        self, items: Sequence[tuple[str, int, int | None, str | None, int]]
    ) -> list[bool]:
        """One statement for many accepts; those recorded are no longer this store's."""
        db = self._db
        rows = await db.fetch(
            db.sql.accept_many,
            self._job,
            [item[0] for item in items],
            [item[1] for item in items],
            [item[2] for item in items],
            [item[3] for item in items],
            [item[4] for item in items],
            doing="record receipts",
        )
        done = {row["key"]: bool(row["done"]) for row in rows}
        for key, *_ in items:
            if done[key]:
                self._holds.drop(key)
        return [done[item[0]] for item in items]

    async def reject(self, key: str, errors: Sequence[str]) -> None:
        """Record that ``key`` was refused, with the reasons."""
        await self._settle(key, RecordState.REJECTED, errors, doing="record a rejection")

    async def mark_unknown(self, key: str, reason: str) -> None:
        """Record that ``key``'s POST may or may not have been queued."""
        await self._settle(key, RecordState.UNKNOWN, [reason], doing="record an unknown outcome")

    async def _settle(
        self, key: str, state: RecordState, errors: Sequence[str], *, doing: str
    ) -> None:
        db = await self._ready()
        await self._fenced(
            _check_key(key), db.sql.settle, state.value, json.dumps(list(errors)), doing=doing
        )
        self._holds.drop(key)

    async def record_status(self, key: str, status: StatusCode, at: float) -> None:
        """Append ``(at, status)`` to the history; an accepted record is then followed here.

        Its lease is this store's from now on (renewed with the others), so a
        tracker fleet leaves it alone until this store closes or stops renewing.
        """
        db = await self._ready()
        code = int(status)
        row = await self._fenced(
            _check_key(key),
            db.sql.record_status,
            code,
            json.dumps([[float(at), code]]),
            float(at),
            self.owner,
            self._lease,
            doing="record a status",
        )
        if row["held"]:
            self._holds.fences[key] = row["fence"]

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
        db = await self._ready()
        await self._fenced(
            _check_key(key),
            db.sql.finish,
            Outcome(outcome).value,
            None if status is None else int(status),
            json.dumps(list(errors)),
            _history_json(history) if history else None,
            doing="record an outcome",
        )
        self._holds.drop(key)

    async def unfinished(self) -> list[StoredRecord]:
        """Every accepted, unfinished record nobody else follows, now followed by this store.

        In first-seen order. Each is leased to this store (as ``record_status``
        does), so two processes resuming one job share its records instead of
        both looking every one up.
        """
        db = await self._ready()
        rows = await db.fetch(
            db.sql.unfinished,
            self._job,
            self.owner,
            self._lease,
            doing="resume unfinished records",
        )
        rows = sorted(rows, key=lambda row: row[0])
        fences = self._holds.fences
        records = []
        for row in rows:
            record = record_of(row[2:], self.where)
            fences[record.key] = row[1]
            records.append(record)
        return records

    # -- reporting ---------------------------------------------------------------------

    async def records(self, *, state: RecordState | None = None) -> AsyncIterator[StoredRecord]:
        """Every record of the job (or those in ``state``) in first-written order, in pages."""
        db = await self._ready()
        after = 0
        wanted = None if state is None else RecordState(state).value
        while True:
            rows = await db.fetch(
                db.sql.page, self._job, after, wanted, _PAGE, doing="read the records"
            )
            for row in rows:
                yield record_of(row[1:], self.where)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    async def counts(self) -> StoreCounts:
        """How many of the job's records are where, from the database's point of view now."""
        db = await self._ready()
        totals: dict[str, int] = {}
        for state, held, count in await db.fetch(
            db.sql.counts, self._job, doing="count the records"
        ):
            if state == "queued":
                name = "claimed" if held else "queued"
            elif state == "pending":
                name = "pending" if held else "stale"
            else:
                name = state
            totals[name] = totals.get(name, 0) + int(count)
            if state == "accepted" and held:
                totals["tracking"] = totals.get("tracking", 0) + int(count)
        return StoreCounts(**totals)

    async def summary_counts(self) -> dict[RecordState, int]:
        """How many records are in each state (as ``SqliteStore.summary_counts``; queue aside)."""
        counts = await self.counts()
        return {
            RecordState.PENDING: counts.pending + counts.stale,
            RecordState.ACCEPTED: counts.accepted,
            RecordState.UNKNOWN: counts.unknown,
            RecordState.REJECTED: counts.rejected,
            RecordState.FINISHED: counts.finished,
        }

    # -- queue mode --------------------------------------------------------------------

    async def enqueue(
        self,
        payloads: Iterable[Any],
        *,
        kind: str = "customer",
        key: Any = None,
    ) -> Enqueued:
        """Put records in this job's queue for ``omeda-async worker`` (or ``run_worker``).

        Each payload (a model or a wire dict) is checked as ``submit_many``
        checks it; a valid one is stored with its key (``key(payload)``, by
        default the SHA-256 of its request body, as ``submit_many`` keys it). A
        key already in the job is left as it is. Invalid payloads are not
        queued: ``Enqueued.invalid`` lists them with their violations.
        """
        db = await self._ready()
        return await enqueue_rows(db, self._job, payloads, kind=kind, key=key)

    # -- the fleet's rate budget -------------------------------------------------------

    def rate_limit(
        self, rate: float, *, burst: int = 1, brand: str | None = None
    ) -> FleetRateLimit:
        """The brand's rate budget, shared by every worker on this database.

        Give it to the client: ``OmedaClient(brand=..., rate_limit=store.rate_limit(20))``.
        ``brand`` defaults to the store's; one of them is needed (the budget is a brand's).
        """
        chosen = brand if brand is not None else self._brand
        if not chosen:
            raise ValueError(
                "a rate budget belongs to a brand: pass brand=... here or to PostgresStore"
            )
        return FleetRateLimit(self, chosen, rate, burst=burst)

    # -- web replicas ------------------------------------------------------------------

    async def wait_finished(self, key: str) -> StoredRecord:
        """Wait until ``key``'s record ends (finished, rejected or unknown), wherever it ends.

        A web replica submits and ``accept``s; any tracker of the fleet follows
        it; this returns the record once it is final (at once if it is).
        LISTEN/NOTIFY wakes it. Bound the wait with ``asyncio.timeout``.
        """
        await self._ready()
        _check_key(key)

        async def final() -> StoredRecord | None:
            record = await self.get(key)
            return record if record is not None and record.state in _FINAL else None

        return await self._notifier.wait(self._job, key, final)

    # -- KeepsNotes: what a poller learned, kept for the brand -------------------------

    def _scope(self) -> str:
        return f"brand:{self._brand}" if self._brand else f"job:{self._job}"

    async def read_note(self, name: str) -> str | None:
        """The note kept under ``name`` (for this brand, or this job without one), or None."""
        db = await self._ready()
        value = await db.fetchval(
            f"SELECT value FROM {db.sql.schema}.notes WHERE scope = $1 AND name = $2",
            self._scope(),
            name,
            doing="read a note",
        )
        return None if value is None else str(value)

    async def write_note(self, name: str, text: str) -> None:
        """Keep ``text`` under ``name`` (replacing any earlier note)."""
        db = await self._ready()
        await db.execute(
            f"INSERT INTO {db.sql.schema}.notes (scope, name, value) VALUES ($1, $2, $3) "
            "ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value",
            self._scope(),
            name,
            text,
            doing="write a note",
        )


_PREV_COLUMNS: Final = (
    "state",
    "service",
    "transaction_id",
    "status",
    "outcome",
    "errors",
    "history",
    "updated_at",
)
