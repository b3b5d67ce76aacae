"""Queue mode: records put in a job (``enqueue``) and claimed by workers, in small blocks.

A queued row holds the record's request body (``payload``, jsonb) until it
is accepted. A worker *claims* a few queued rows at a time (``FOR UPDATE SKIP
LOCKED``: two workers never claim the same row) with a lease; a claimed row
is not begun, so a worker that dies before sending it hands it back simply
by not renewing its lease. ``begin`` turns it pending when its POST starts.

Three ways in, one row: ``PostgresStore.enqueue(payloads)``, ``omeda-async
enqueue``, and ``SELECT omeda_async.enqueue(job, key, payload)`` in the
caller's own transaction (an outbox: the record is queued if and only if the
caller's data is committed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import attrs

from omeda_async._errors import OmedaError, PayloadValidationError, Violation
from omeda_async.bulk._keys import key_of, request_body
from omeda_async.bulk._options import SERVICE_OF_KIND

if TYPE_CHECKING:
    from ._database import Database

__all__ = ["Claimed", "Enqueued", "claim_queued", "enqueue_rows"]

_BATCH: Final = 1000


@attrs.frozen
class Enqueued:
    """What ``PostgresStore.enqueue`` did: rows added, rows already in the job, rows refused."""

    added: int = 0
    present: int = 0
    """Keys the job already had (queued, sent or done): left as they were."""
    invalid: tuple[tuple[int, OmedaError], ...] = ()
    """``(index, error)`` of each payload that breaks a rule (nothing queued for it)."""


@attrs.frozen
class Claimed:
    """A queued record a worker claimed: its key, the lease's fence, the body to send."""

    seq: int
    key: str
    fence: int
    payload: str | None


async def enqueue_rows(
    db: Database,
    job: str,
    payloads: Iterable[Any],
    *,
    kind: str,
    key: Callable[[Any], str] | None,
) -> Enqueued:
    """Check, key and insert ``payloads`` in batches; see ``PostgresStore.enqueue``."""
    if kind not in SERVICE_OF_KIND:
        raise ValueError(f"kind must be 'customer' or 'order', not {kind!r}")
    service = SERVICE_OF_KIND[kind]
    added = present = 0
    invalid: list[tuple[int, OmedaError]] = []
    keys: list[str] = []
    bodies: list[str] = []
    numbers: list[int] = []

    async def flush() -> None:
        nonlocal added, present
        if not keys:
            return
        inserted = await db.fetchval(
            _INSERT.format(s=db.sql.schema),
            job,
            service,
            keys,
            bodies,
            numbers,
            doing="queue records",
        )
        added += int(inserted)
        present += len(keys) - int(inserted)
        if inserted:
            await db.execute(db.sql.notify_queue, job, doing="wake the workers")
        keys.clear()
        bodies.clear()
        numbers.clear()

    for index, payload in enumerate(payloads):
        body = request_body(payload, service)
        if not isinstance(body, bytes):
            invalid.append((index, body))
            continue
        try:
            record_key = key_of(payload, service, body) if key is None else key(payload)
            if not isinstance(record_key, str) or not record_key or "\x00" in record_key:
                raise TypeError("a record key must be a non-empty string without NUL")
        except Exception as exc:  # the caller's key function, on a malformed row
            invalid.append((index, _unkeyed(exc)))
            continue
        keys.append(record_key)
        bodies.append(body.decode())
        numbers.append(await db.numbers.take())
        if len(keys) >= _BATCH:
            await flush()
    await flush()
    return Enqueued(added=added, present=present, invalid=tuple(invalid))


def _unkeyed(exc: Exception) -> PayloadValidationError:
    return PayloadValidationError(
        [Violation("", f"cannot key this record ({type(exc).__name__}); nothing was queued", "key")]
    )


_INSERT: Final = """
WITH added AS (
    INSERT INTO {s}.records (job, key, seq, state, service, payload)
    SELECT $1, k, n, 'queued', $2, p::jsonb
      FROM unnest($3::text[], $4::text[], $5::bigint[]) AS t(k, p, n)
    ON CONFLICT DO NOTHING
    RETURNING 1
) SELECT count(*) FROM added"""


async def claim_queued(
    db: Database, job: str, owner: str, *, service: str, limit: int, lease: float
) -> list[Claimed]:
    """Claim up to ``limit`` queued records of ``service`` nobody holds, oldest first."""
    rows = await db.fetch(
        db.sql.claim_queued, job, owner, limit, service, lease, doing="claim queued records"
    )
    claimed = [Claimed(row[0], row[1], row[2], row[3]) for row in rows]
    claimed.sort(key=lambda c: c.seq)
    return claimed


def payload_of(claimed: Claimed) -> dict[str, Any] | None:
    """The wire dict a queued row holds, or None when it is not a JSON object."""
    if claimed.payload is None:
        return None
    try:
        value = json.loads(claimed.payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
