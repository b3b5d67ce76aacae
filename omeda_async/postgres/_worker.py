"""A worker of the fleet: submit what a job's queue holds, follow what it accepted.

``Worker.run`` is what ``omeda-async worker`` runs, on any number of hosts at
once for one job:

- **submit** (queue mode): claim a few queued records at a time and send them
  through ``submit_many`` with the ``PostgresStore`` as its journal, so every
  rule of a bulk job holds (never sent twice, unknown when it may have left,
  merges, pending deactivation) and ``begin`` turns a claimed record pending
  only when its POST starts. A record begun by a worker that is gone is
  *reaped*: journaled unknown (it may have left), never sent again on its own.
- **track**: a :class:`FleetTracker` follows every accepted transaction of the
  job, whoever submitted it (this worker, another one, a web replica that
  ``accept``-ed it).

A stop (``stop`` set: SIGTERM, Ctrl-C) is clean: no record is claimed after
it, records already read are sent and journaled, lookups in flight are
written, and every lease is released, so the rest of the fleet takes over at
once instead of after the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import attrs

from omeda_async._policies import PollPolicy
from omeda_async._status import Outcome
from omeda_async._store import RecordState
from omeda_async.bulk import BulkOptions, SubmissionOutcome
from omeda_async.bulk._job import first_error
from omeda_async.bulk._options import SERVICE_OF_KIND, Kind

from ._queue import Claimed, claim_queued, payload_of
from ._store import PostgresStore
from ._tracker import FleetTracker, Followed, wait_for

__all__ = ["Worker", "WorkerSummary"]

logger = logging.getLogger("omeda_async.postgres")

_REAPED: Final = (
    "the worker sending it stopped (its lease ran out) before Omeda's answer was recorded: "
    "it may or may not be queued"
)


class _Queued(dict[str, Any]):
    """A queued record's wire dict, carrying the key it was queued under."""

    __slots__ = ("key",)

    def __init__(self, payload: dict[str, Any], key: str) -> None:
        super().__init__(payload)
        self.key = key


def _key_of(payload: Any) -> str:
    key: str = payload.key
    return key


@attrs.define
class WorkerSummary:
    """What one worker did (its own share; the job's totals are ``PostgresStore.counts``)."""

    submitted: Counter[RecordState] = attrs.field(factory=Counter)
    """Records this worker submitted (or settled), by the state they ended in."""
    skipped: int = 0
    """Records it read but did not send (held elsewhere, already done)."""
    reaped: int = 0
    """Records of workers that were gone, journaled unknown by this one."""
    tracked: Counter[Outcome] = attrs.field(factory=Counter)
    """Trackings that ended here, by outcome."""
    lookups: int = 0
    refused: int = 0
    """Late writes of this worker refused by the fence (it stalled past a lease)."""
    statements: int = 0
    """Statements this worker ran on the database."""
    elapsed: float = 0.0

    @property
    def failed(self) -> int:
        """Records that did not end well: rejected or unknown, or tracked to another outcome."""
        bad = self.submitted[RecordState.REJECTED] + self.submitted[RecordState.UNKNOWN]
        return bad + sum(n for o, n in self.tracked.items() if o is not Outcome.SUCCEEDED)


class Worker:
    """Submits a job's queued records and follows its accepted transactions (see the module).

    ``client`` sends (give it ``store.rate_limit(rate)`` to share the brand's
    budget with the fleet); ``submit``/``track`` choose the halves;
    ``concurrency`` bounds POSTs in flight and ``max_in_flight`` lookups;
    ``claim_interval`` is how often an idle worker looks for work. ``on_outcome``
    and ``on_result`` hear of each record submitted and each tracking ended.
    """

    def __init__(
        self,
        client: Any,
        store: PostgresStore,
        *,
        submit: bool = True,
        track: bool = True,
        policy: PollPolicy | None = None,
        concurrency: int = 16,
        max_in_flight: int = 32,
        claim_interval: float = 1.0,
        resend_unknown: bool = False,
        follow_merges: bool = False,
        on_outcome: Callable[[SubmissionOutcome], None] | None = None,
        on_result: Callable[[Followed], None] | None = None,
    ) -> None:
        if not (submit or track):
            raise ValueError("a worker submits, tracks, or both")
        self._client = client
        self._store = store
        self._submit = submit
        self._options = BulkOptions(
            concurrency=concurrency,
            store=store,
            key=_key_of,
            resend_unknown=resend_unknown,
            follow_merges=follow_merges,
        )
        self._claim_interval = claim_interval
        self._on_outcome = on_outcome
        self.summary = WorkerSummary()
        self.tracker: FleetTracker | None = None
        if track:
            self.tracker = FleetTracker(
                client,
                store,
                policy=policy,
                max_in_flight=max_in_flight,
                claim_interval=claim_interval,
                on_result=self._tracked(on_result),
            )

    def _tracked(self, on_result: Callable[[Followed], None] | None) -> Callable[[Followed], None]:
        def heard(followed: Followed) -> None:
            self.summary.tracked[followed.outcome] += 1
            if on_result is not None:
                on_result(followed)

        return heard

    async def run(self, stop: asyncio.Event | None = None, *, drain: bool = False) -> WorkerSummary:
        """Work until ``stop`` is set (or, with ``drain``, until the job has nothing left).

        Raises what stopped it (a ``StoreError``: the database is gone, or this
        worker's leases were taken over; an ``AuthenticationError``), after
        releasing its leases.
        """
        stop = stop or asyncio.Event()
        store = self._store
        started = time.monotonic()
        opened = await store.open()
        try:
            async with asyncio.TaskGroup() as group:
                halves: list[asyncio.Task[None]] = []
                if self._submit:
                    kinds: tuple[Kind, ...] = ("customer", "order")
                    for kind in kinds:
                        halves.append(group.create_task(self._submit_kind(kind, stop, drain)))
                if self.tracker is not None:
                    tracker = self.tracker
                    if drain and halves:
                        # Draining: the tracker ends once nothing is open, submissions included.
                        group.create_task(tracker.run(stop, drain=True))
                    else:
                        group.create_task(tracker.run(stop, drain=drain))
        except BaseExceptionGroup as failed:
            raise first_error(failed) from None
        finally:
            self.summary.elapsed = time.monotonic() - started
            if self.tracker is not None:
                self.summary.lookups = self.tracker.lookups
                self.summary.refused += self.tracker.refused
            self.summary.statements = store.database.statements
            with contextlib.suppress(Exception):
                await store.release_all()
            if opened:
                await store.close()
        return self.summary

    # -- submitting --------------------------------------------------------------------

    async def _submit_kind(self, kind: Kind, stop: asyncio.Event, drain: bool) -> None:
        options = attrs.evolve(self._options, kind=kind)
        job = self._client.submit_many(self._queued(kind, stop, drain), options)
        async for outcome in job:
            if outcome.skipped:
                self.summary.skipped += 1
            else:
                self.summary.submitted[outcome.state] += 1
            if self._on_outcome is not None:
                self._on_outcome(outcome)

    async def _queued(self, kind: Kind, stop: asyncio.Event, drain: bool) -> AsyncIterator[Any]:
        """The job's queued records of ``kind``, claimed a few at a time as the job reads them."""
        store = self._store
        service = SERVICE_OF_KIND[kind]
        limit = self._options.concurrency
        db = await store._ready()
        claimed: list[Claimed] = []
        try:
            while not stop.is_set():
                claimed = await claim_queued(
                    db, store.job, store.owner, service=service, limit=limit, lease=store.lease
                )
                if not claimed:
                    await self.reap()
                    if drain and not await self._left(service):
                        return
                    await wait_for(stop, None, self._claim_interval)
                    continue
                fences = store.holds.fences
                while claimed and not stop.is_set():
                    row = claimed.pop(0)
                    fences[row.key] = row.fence
                    payload = payload_of(row)
                    if payload is None:
                        await store.reject(row.key, ["the queued payload is not a JSON object"])
                        self.summary.submitted[RecordState.REJECTED] += 1
                        continue
                    yield _Queued(payload, row.key)
        finally:
            # Claimed, never handed to the job: back to the queue now, not after the lease.
            if claimed:
                await self._hand_back(claimed)

    async def _hand_back(self, claimed: list[Claimed]) -> None:
        store = self._store
        db = store.database
        if not db.is_open:
            return  # closed already: close() released every lease
        for row in claimed:
            store.holds.fences.pop(row.key, None)
        await db.execute(
            _HAND_BACK.format(s=db.sql.schema),
            store.job,
            [row.key for row in claimed],
            [row.fence for row in claimed],
            doing="hand claimed records back",
        )

    async def _left(self, service: str) -> bool:
        store = self._store
        db = await store._ready()
        return bool(
            await db.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {db.sql.schema}.records "
                "WHERE job = $1 AND service = $2 AND state IN ('queued', 'pending'))",
                store.job,
                service,
                doing="look for queued records",
            )
        )

    async def reap(self) -> int:
        """Journal unknown every record begun by a worker that is gone; how many."""
        store = self._store
        db = await store._ready()
        rows = await db.fetch(
            db.sql.reap, store.job, json.dumps([_REAPED]), doing="reap stale records"
        )
        if rows:
            logger.warning(
                "%s: %d records begun by a worker that is gone are now unknown", store, len(rows)
            )
        self.summary.reaped += len(rows)
        return len(rows)


_HAND_BACK: Final = """
WITH claimed AS (
    SELECT r.key
      FROM {s}.records AS r
      JOIN unnest($2::text[], $3::bigint[]) AS u(key, fence) ON r.key = u.key
     WHERE r.job = $1 AND r.fence = u.fence AND r.state = 'queued'
     ORDER BY r.key FOR UPDATE OF r  -- key order, as every statement locks (see _sql.renew)
)
UPDATE {s}.records AS r SET lease_owner = NULL, lease_until = NULL
  FROM claimed WHERE r.job = $1 AND r.key = claimed.key"""
