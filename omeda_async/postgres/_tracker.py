"""The fleet's tracker: every accepted transaction of a job followed by whichever worker is free.

The database is the scheduler. Each accepted record keeps its schedule in its
row (``next_due``, ``status``, ``unchanged``, ``started``, ``seen``: the state
the poller's pure schedule, ``_schedule``, decides from), so any worker can
take the next lookup of any transaction and continue where the last one left
it. A tracker::

    claim up to N due rows nobody holds (FOR UPDATE SKIP LOCKED, a lease each)
    -> look each up (Transaction Lookup, the client's rate limit)
    -> decide with _schedule (the same rules as TransactionPoller)
    -> one fenced write: the new status and next lookup time, lease released
       (or the outcome: finished, with a notification for wait_finished)

A worker that dies holds only the rows it was looking up: they are due again
once their lease runs out (within lease + claim interval), so a takeover costs
at most one early lookup each. Its late writes are refused by the fence.
Times are the database's (epoch seconds, read with each claim), never a
worker's clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from omeda_async._errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    StoreError,
    TransportError,
)
from omeda_async._policies import PollPolicy, RetryPolicy
from omeda_async._status import Outcome, StatusCode

from ._schedule_state import (
    Decision,
    Schedule,
    after_answer,
    after_failed_lookup,
    first_lookup,
)

if TYPE_CHECKING:
    from omeda_async.models._responses import Transaction

    from ._store import PostgresStore

__all__ = ["FleetTracker", "Followed", "LookupSource", "wait_for"]

logger = logging.getLogger("omeda_async.postgres")

_NO_RETRY: Final = RetryPolicy.none()


class LookupSource:
    """What the tracker needs from a client: ``get_transaction`` (``OmedaClient`` has it)."""

    async def get_transaction(self, transaction_id: int, *, retry: RetryPolicy) -> Transaction:
        raise NotImplementedError


@attrs.frozen
class Followed:
    """One transaction's tracking ended here: its record key, id, outcome and last status."""

    key: str
    transaction_id: int
    outcome: Outcome
    status: StatusCode | None
    errors: tuple[str, ...] = ()


@attrs.define
class _Row:
    """A claimed row: the schedule state it carries, and the database's clock at the claim."""

    key: str
    fence: int
    transaction_id: int
    status: StatusCode | None
    unchanged: int
    started: float
    seen: float | None
    db_now: float
    claimed_at: float  # time.monotonic() when the claim answered

    def now(self) -> float:
        """The database's clock now, as far as this worker can tell."""
        return self.db_now + (time.monotonic() - self.claimed_at)


class FleetTracker:
    """Follows the accepted transactions of ``store``'s job, with any number of peers.

    ``policy`` is the poller's ``PollPolicy`` (held records are looked up every
    ``hold_interval``: in a fleet a held record stays followed, never parked);
    at most ``max_in_flight`` lookups run at once; with nothing due, the
    tracker looks for due rows every ``claim_interval`` seconds.
    ``on_result`` hears of each tracking that ended (here).
    """

    def __init__(
        self,
        client: Any,
        store: PostgresStore,
        *,
        policy: PollPolicy | None = None,
        max_in_flight: int = 32,
        claim_interval: float = 1.0,
        on_result: Callable[[Followed], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._policy = attrs.evolve(policy or PollPolicy(), stop_on_hold=False)
        self._max_in_flight = max_in_flight
        self._claim_interval = claim_interval
        self._on_result = on_result
        self._rng = rng or random.Random()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()
        self.lookups = 0
        self.finished = 0
        self.refused = 0
        """Writes refused by the fence (this worker had stalled past its lease)."""
        self.claims = 0
        self.writes = 0

    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        """Follow due transactions until ``stop`` is set (or, with ``drain``, none is left).

        Lookups in flight when it stops finish and are written; the rows are
        then nobody's. An ``AuthenticationError`` (every lookup would fail)
        ends it with that error.
        """
        try:
            while not stop.is_set():
                room = self._max_in_flight - len(self._in_flight)
                claimed = await self._claim(room) if room > 0 else 0
                if claimed and claimed == room:
                    await self._wait_for_room(stop)
                    continue
                if drain and not claimed and not self._in_flight and await self._drained():
                    return
                await wait_for(stop, self._freed if self._in_flight else None, self._claim_interval)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            self._raise_failed()

    async def _drained(self) -> bool:
        counts = await self._store.counts()
        return counts.open == 0

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        self._raise_failed()
        if len(self._in_flight) >= self._max_in_flight:
            await wait_for(stop, self._freed, None)

    def _raise_failed(self) -> None:
        error = getattr(self, "_failure", None)
        if error is not None:
            raise error

    async def _claim(self, limit: int) -> int:
        store = self._store
        db = await store._ready()
        rows = await db.fetch(
            db.sql.claim_due,
            store.job,
            store.owner,
            limit,
            store.lease,
            doing="claim due transactions",
        )
        self.claims += 1
        if not rows:
            return 0
        answered = time.monotonic()
        later: list[_Row] = []
        for row in rows:
            claimed = _Row(
                key=row["key"],
                fence=row["fence"],
                transaction_id=row["transaction_id"],
                status=None if row["status"] is None else StatusCode(row["status"]),
                unchanged=row["unchanged"],
                started=row["started"] if row["started"] is not None else row["now"],
                seen=row["seen"],
                db_now=row["now"],
                claimed_at=answered,
            )
            if claimed.seen is None and claimed.status is None:
                # Never looked up: its first lookup is initial_delay after acceptance,
                # jittered by its key (the same draw whoever claims it).
                u = zlib.crc32(claimed.key.encode()) / 2**32
                first = first_lookup(self._policy, claimed.started, u)
                if first > claimed.db_now:
                    later.append(attrs.evolve(claimed, seen=first))
                    continue
            self._spawn(claimed)
        if later:
            await self._reschedule(later)
        return len(rows)

    async def _reschedule(self, rows: list[_Row]) -> None:
        """Put rows back for later in one statement (``seen`` carries the due time)."""
        store = self._store
        db = await store._ready()
        await db.execute(
            _RESCHEDULE.format(s=db.sql.schema),
            store.job,
            [row.key for row in rows],
            [row.seen for row in rows],
            [row.fence for row in rows],
            doing="schedule first lookups",
        )
        self.writes += 1

    def _spawn(self, row: _Row) -> None:
        task = asyncio.get_running_loop().create_task(self._follow(row))
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._freed.set()
        if not task.cancelled() and task.exception() is not None:
            self._failure: BaseException = task.exception()  # type: ignore[assignment]

    async def _follow(self, row: _Row) -> None:
        """One lookup of one claimed row, and the one write that records it."""
        policy = self._policy
        state = Schedule(row.started, row.status, row.unchanged, row.seen)
        self.lookups += 1
        errors: tuple[str, ...] = ()
        try:
            transaction = await self._client.get_transaction(row.transaction_id, retry=_NO_RETRY)
        except AuthenticationError:
            await self._release(row)
            raise
        except (ApiError, MalformedResponseError, TransportError) as exc:
            decision = after_failed_lookup(policy, state, exc, now=row.now(), u=self._rng.random())
        else:
            errors = transaction.errors
            decision = after_answer(
                policy, state, transaction.status, now=row.now(), u=self._rng.random()
            )
        await self._write(row, decision, errors)

    async def _write(self, row: _Row, decision: Decision, errors: tuple[str, ...]) -> None:
        store = self._store
        db = await store._ready()
        state = decision.state
        status = state.status
        now = state.seen if state.seen is not None else row.now()
        entry = (
            json.dumps([[now, int(status)]]) if decision.changed and status is not None else None
        )
        code = None if status is None else int(status)
        try:
            if decision.outcome is not None:
                done = await db.fetchrow(
                    db.sql.finish_tracked,
                    store.job,
                    row.key,
                    decision.outcome.value,
                    code,
                    json.dumps(list(errors)),
                    entry,
                    now,
                    row.fence,
                    doing="record an outcome",
                )
            else:
                assert decision.due is not None
                done = await db.fetchrow(
                    db.sql.reschedule_tracked,
                    store.job,
                    row.key,
                    code,
                    entry,
                    now if decision.changed else None,
                    decision.due,
                    state.unchanged,
                    now,
                    row.fence,
                    doing="record a lookup",
                )
        finally:
            self.writes += 1
        if done is None:
            # Stalled past the lease: another worker has the row now. This lookup
            # is dropped; the fence kept it from overwriting the newer schedule.
            self.refused += 1
            logger.warning(
                "%s: transaction %d was taken over by another worker; a late write was refused",
                store,
                row.transaction_id,
            )
            return
        if decision.outcome is not None:
            self.finished += 1
            if self._on_result is not None:
                self._on_result(
                    Followed(row.key, row.transaction_id, decision.outcome, status, tuple(errors))
                )

    async def _release(self, row: _Row) -> None:
        store = self._store
        db = await store._ready()
        try:
            await db.execute(
                f"UPDATE {db.sql.schema}.records SET lease_owner = NULL, lease_until = NULL "
                "WHERE job = $1 AND key = $2 AND fence = $3",
                store.job,
                row.key,
                row.fence,
                doing="release a transaction",
            )
        except StoreError as exc:
            logger.warning("%s", exc)


async def wait_for(stop: asyncio.Event, freed: asyncio.Event | None, seconds: float | None) -> None:
    """Until ``stop``, ``freed`` (then cleared) or ``seconds`` pass, whichever comes first."""
    waits = [asyncio.ensure_future(stop.wait())]
    if freed is not None:
        waits.append(asyncio.ensure_future(freed.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        if freed is not None:
            freed.clear()


_RESCHEDULE: Final = """
WITH held AS (
    SELECT r.key, u.due
      FROM {s}.records AS r
      JOIN unnest($2::text[], $3::float8[], $4::bigint[]) AS u(key, due, fence) ON r.key = u.key
     WHERE r.job = $1 AND r.fence = u.fence AND r.state = 'accepted'
     ORDER BY r.key FOR UPDATE OF r  -- key order, as every statement locks (see _sql.renew)
)
UPDATE {s}.records AS r
   SET next_due = to_timestamp(held.due), lease_owner = NULL, lease_until = NULL
  FROM held WHERE r.job = $1 AND r.key = held.key"""
