"""The shared journal's schema and every statement the store runs, in one place.

Schema 1, in a PostgreSQL schema of its own (``omeda_async`` by default)::

    meta(key, value)                  app = "omeda_async", schema_version, created_at
    jobs(job, brand, created_at)      a job belongs to one brand (the first one named)
    fences                            a sequence: every new lease takes the next number
    seqs                              a sequence handing out blocks of first-seen numbers
    records(job, key, seq, state, service, transaction_id, status, outcome,
            errors, history, updated_at,              what every TrackingStore keeps
            payload,                                  queue mode: the record to send
            lease_owner, lease_until, fence,          who holds the row, until when
            next_due, started, unchanged, seen,       the tracking schedule
            written_at)
    rate_budgets(brand, tat)          the fleet's GCRA: one theoretical arrival time a brand
    notes(scope, name, value)         small notes a poller keeps (what it learned)
    enqueue(job, key, payload, kind)  a function: put a record in a job's queue (an outbox
                                      INSERT in the caller's own transaction)

``seq`` orders records as they were first seen: each store takes numbers from
a block of ``seqs`` it reserved, in the order its calls were made (so one
process's records keep their input order however its writes race on the
pool's connections), and blocks of different workers interleave by time.

A row's ``state`` is a ``RecordState`` value, or ``queued``: put in the queue,
not begun (its POST has not started; the journal proper starts at ``begin``).

**Leases.** ``lease_owner``/``lease_until`` say who holds a row and until
when, compared with the database's ``now()``, never a worker's clock;
``fence`` is the number of the last lease taken on it. A write of someone who
holds a lease must carry its fence (:data:`MAY_WRITE`): once another worker
took the row over, the number moved on and the stale write changes nothing.
Someone holding nothing may write a row only while nobody holds it, and such
a write takes the number on (it is a takeover: a former holder's late write
is refused from then on).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["APP_NAME", "SCHEMA_VERSION", "Statements", "check_schema_name"]

APP_NAME: Final = "omeda_async"
SCHEMA_VERSION: Final = 1
"""The schema this version writes and reads (``meta.schema_version``)."""

SEQ_BLOCK: Final = 1024
"""How many first-seen numbers a store reserves at once."""

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")

STATES: Final = ("queued", "pending", "accepted", "unknown", "rejected", "finished")

# The columns a StoredRecord is read from, in _record()'s order.
RECORD_COLUMNS: Final = (
    "key, state, service, transaction_id, status, outcome, errors, history::text, updated_at"
)

MAY_WRITE: Final = (
    "CASE WHEN $4::bigint IS NULL THEN r.lease_owner IS NULL OR r.lease_until < now() "
    "ELSE r.fence = $4 END"
)
"""Who may write a row (``$4`` is the fence the writer holds, or NULL): see the docstring."""


def check_schema_name(schema: object) -> str:
    """``schema`` if it is a plain lower-case identifier (it is written into SQL)."""
    if not isinstance(schema, str) or not _IDENTIFIER.fullmatch(schema):
        raise ValueError(
            "schema must be a PostgreSQL identifier of lower-case letters, digits and '_' "
            f"(at most 63), not {schema!r}"
        )
    return schema


class Statements:
    """Every statement, with the schema's name written in once."""

    __slots__ = (
        "accept_many",
        "begin_many",
        "channel",
        "claim_due",
        "claim_queued",
        "counts",
        "create",
        "finish",
        "finish_tracked",
        "get",
        "notify_queue",
        "page",
        "reap",
        "record_status",
        "release_all",
        "renew",
        "reschedule_tracked",
        "schema",
        "settle",
        "unfinished",
    )

    def __init__(self, schema: str) -> None:
        s = check_schema_name(schema)
        self.schema = s
        self.channel = f"{s}_finished"
        """The LISTEN/NOTIFY channel of finished records (payload: md5 of job, US, key)."""
        queue_channel = f"{s}_queued"
        notify_final = f"pg_notify('{self.channel}', md5(up.job || chr(31) || up.key))"
        self.notify_queue = f"SELECT pg_notify('{queue_channel}', $1)"
        self.create = _create(s, queue_channel)
        self.get = (
            f"SELECT {RECORD_COLUMNS} FROM {s}.records "
            "WHERE job = $1 AND key = $2 AND state <> 'queued'"
        )
        # begin: one conditional upsert decides, for many records at once (group commit,
        # ``_batch``): the record as it stood (prev) and, when won, the fence of the new
        # lease. Arrays of keys, services, fences held (NULL: none) and first-seen
        # numbers; $6 owner, $7 lease seconds, $8 the states begin may take a record from.
        held = "(SELECT i.held FROM input AS i WHERE i.key = excluded.key)"
        self.begin_many = f"""
WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[])
        AS u(key, service, held, seq)
), prev AS (
    SELECT r.key, r.state, r.service, r.transaction_id, r.status, r.outcome, r.errors,
           r.history::text AS history, r.updated_at,
           (r.lease_owner IS NOT NULL AND r.lease_until >= now()
            AND r.fence IS DISTINCT FROM i.held) AS held
      FROM {s}.records AS r JOIN input AS i ON r.key = i.key WHERE r.job = $1
), won AS (
    INSERT INTO {s}.records AS r (job, key, seq, state, service, lease_owner, lease_until, fence)
    SELECT $1, i.key, i.seq, 'pending', i.service, $6, now() + $7 * interval '1 second',
           nextval('{s}.fences')
      FROM input AS i ORDER BY i.key  -- rows locked in one order by every worker
    ON CONFLICT (job, key) DO UPDATE
       SET state = 'pending', service = excluded.service, lease_owner = excluded.lease_owner,
           lease_until = excluded.lease_until,
           fence = CASE WHEN r.fence = {held} THEN r.fence ELSE excluded.fence END,
           written_at = now()
     WHERE (r.state = 'queued' OR r.state = ANY($8::text[]))
       AND CASE WHEN {held} IS NULL THEN r.lease_owner IS NULL OR r.lease_until < now()
                ELSE r.fence = {held} END
    RETURNING r.key, r.fence
)
SELECT i.key, won.fence, p.state, p.service, p.transaction_id, p.status, p.outcome, p.errors,
       p.history, p.updated_at, p.held
  FROM input AS i LEFT JOIN won ON won.key = i.key LEFT JOIN prev AS p ON p.key = i.key"""
        # accept, for many: arrays of keys, TransactionIds, fences held, services (NULL:
        # keep) and numbers. Accepted rows are nobody's: the tracker that looks one up
        # takes it.
        self.accept_many = f"""
WITH input AS (
    SELECT * FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[])
        AS u(key, tid, held, service, seq)
), up AS (
    INSERT INTO {s}.records AS r (job, key, seq, state, transaction_id, service, started, next_due)
    SELECT $1, i.key, i.seq, 'accepted', i.tid, i.service, extract(epoch FROM now()), now()
      FROM input AS i ORDER BY i.key
    ON CONFLICT (job, key) DO UPDATE
       SET state = 'accepted', transaction_id = excluded.transaction_id,
           service = coalesce(excluded.service, r.service), payload = NULL,
           lease_owner = NULL, lease_until = NULL, started = extract(epoch FROM now()),
           next_due = now(), unchanged = 0, seen = NULL, written_at = now(),
           fence = CASE WHEN {held} IS NULL THEN nextval('{s}.fences') ELSE r.fence END
     WHERE CASE WHEN {held} IS NULL THEN r.lease_owner IS NULL OR r.lease_until < now()
                ELSE r.fence = {held} END
    RETURNING r.key
)
SELECT i.key, up.key IS NOT NULL AS done FROM input AS i LEFT JOIN up ON up.key = i.key"""
        # reject / mark_unknown: $1 job, $2 key, $3 state, $4 fence held, $5 errors
        # (JSON), $6 seq.
        self.settle = f"""
WITH up AS (
    INSERT INTO {s}.records AS r (job, key, seq, state, errors) VALUES ($1, $2, $6, $3, $5)
    ON CONFLICT (job, key) DO UPDATE
       SET state = $3, errors = $5, lease_owner = NULL, lease_until = NULL, written_at = now(),
           fence = CASE WHEN $4::bigint IS NULL THEN nextval('{s}.fences') ELSE r.fence END
     WHERE {MAY_WRITE}
    RETURNING r.job, r.key
)
SELECT {notify_final} FROM up"""
        # $1 job, $2 key, $3 status, $4 fence held, $5 one history entry (JSON), $6 at,
        # $7 owner, $8 lease seconds, $9 seq. A status of an accepted row takes (or keeps) its
        # lease: this process follows it now, and a tracker fleet leaves it alone.
        self.record_status = f"""
INSERT INTO {s}.records AS r (job, key, seq, state, status, history, updated_at)
VALUES ($1, $2, $9, 'pending', $3, $5::jsonb, $6)
ON CONFLICT (job, key) DO UPDATE
   SET status = $3, history = r.history || $5::jsonb, updated_at = $6,
       unchanged = 0, seen = extract(epoch FROM now()), written_at = now(),
       lease_owner = CASE WHEN r.state = 'accepted' THEN $7 ELSE r.lease_owner END,
       lease_until = CASE WHEN r.state = 'accepted' THEN now() + $8 * interval '1 second'
                     ELSE r.lease_until END,
       fence = CASE WHEN $4::bigint IS NULL THEN nextval('{s}.fences') ELSE r.fence END
 WHERE {MAY_WRITE}
RETURNING r.fence, r.lease_owner = $7 AS held"""
        # $1 job, $2 key, $3 outcome, $4 fence held, $5 status, $6 errors, $7 history or
        # NULL, $8 seq.
        self.finish = f"""
WITH up AS (
    INSERT INTO {s}.records AS r (job, key, seq, state, outcome, status, errors, history)
    VALUES ($1, $2, $8, 'finished', $3, $5, $6, coalesce($7::jsonb, '[]'::jsonb))
    ON CONFLICT (job, key) DO UPDATE
       SET state = 'finished', outcome = $3, status = $5, errors = $6,
           history = coalesce($7::jsonb, r.history), lease_owner = NULL, lease_until = NULL,
           next_due = NULL, written_at = now(),
           fence = CASE WHEN $4::bigint IS NULL THEN nextval('{s}.fences') ELSE r.fence END
     WHERE {MAY_WRITE}
    RETURNING r.job, r.key
)
SELECT {notify_final} FROM up"""
        # The fleet tracker's writes, fenced by the claim ($8 / $9): one per lookup.
        # $1 job, $2 key, $3 outcome, $4 status, $5 errors, $6 history entry or NULL,
        # $7 the database's time of the answer.
        self.finish_tracked = f"""
WITH up AS (
    UPDATE {s}.records AS r
       SET state = 'finished', outcome = $3, status = $4, errors = $5,
           history = CASE WHEN $6::jsonb IS NULL THEN r.history ELSE r.history || $6::jsonb END,
           updated_at = CASE WHEN $6::jsonb IS NULL THEN r.updated_at ELSE $7 END,
           seen = $7, lease_owner = NULL, lease_until = NULL, next_due = NULL,
           written_at = now()
     WHERE r.job = $1 AND r.key = $2 AND r.fence = $8 AND r.state = 'accepted'
    RETURNING r.job, r.key
)
SELECT {notify_final} FROM up"""
        # $3 status, $4 history entry or NULL, $5 its time or NULL, $6 next lookup (epoch),
        # $7 unchanged, $8 seen.
        self.reschedule_tracked = f"""
UPDATE {s}.records AS r
   SET status = $3,
       history = CASE WHEN $4::jsonb IS NULL THEN r.history ELSE r.history || $4::jsonb END,
       updated_at = coalesce($5, r.updated_at), next_due = to_timestamp($6), unchanged = $7,
       seen = $8, lease_owner = NULL, lease_until = NULL, written_at = now()
 WHERE r.job = $1 AND r.key = $2 AND r.fence = $9 AND r.state = 'accepted'
RETURNING 1"""
        # Every accepted, unfinished record nobody else holds, taken by $2 (owner).
        self.unfinished = f"""
WITH c AS (
    SELECT job, key FROM {s}.records
     WHERE job = $1 AND state = 'accepted'
       AND (lease_owner IS NULL OR lease_until < now() OR lease_owner = $2)
     ORDER BY seq FOR UPDATE SKIP LOCKED
)
UPDATE {s}.records AS r
   SET lease_owner = $2, lease_until = now() + $3 * interval '1 second',
       fence = CASE WHEN r.lease_owner = $2 THEN r.fence ELSE nextval('{s}.fences') END
  FROM c WHERE r.job = c.job AND r.key = c.key
RETURNING r.seq, r.fence, {", ".join("r." + c.strip() for c in RECORD_COLUMNS.split(","))}"""
        # One statement renews every lease of an owner (how many it still holds).
        # Every statement that writes several rows locks them in key order first
        # (the batches insert in key order too): two statements of the fleet, or
        # of one worker's pool (a renewal and its tracker's reschedule), never
        # hold one row each while waiting for the other's.
        self.renew = f"""
WITH mine AS (
    SELECT key FROM {s}.records WHERE lease_owner = $1 AND job = $3 ORDER BY key FOR UPDATE
), up AS (
    UPDATE {s}.records AS r SET lease_until = now() + $2 * interval '1 second'
      FROM mine WHERE r.job = $3 AND r.key = mine.key RETURNING 1
) SELECT count(*) FROM up"""
        self.release_all = f"""
WITH mine AS (
    SELECT key FROM {s}.records WHERE lease_owner = $1 AND job = $2 ORDER BY key FOR UPDATE
)
UPDATE {s}.records AS r SET lease_owner = NULL, lease_until = NULL
  FROM mine WHERE r.job = $2 AND r.key = mine.key"""
        # Queue mode: up to $3 queued records of service $4 nobody holds, taken by $2.
        self.claim_queued = f"""
WITH c AS (
    SELECT job, key FROM {s}.records
     WHERE job = $1 AND state = 'queued' AND service = $4
       AND (lease_owner IS NULL OR lease_until < now())
     ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED
)
UPDATE {s}.records AS r
   SET lease_owner = $2, lease_until = now() + $5 * interval '1 second',
       fence = nextval('{s}.fences')
  FROM c WHERE r.job = c.job AND r.key = c.key
RETURNING r.seq, r.key, r.fence, r.payload::text"""
        # Tracking: up to $3 accepted records due now that nobody holds, taken by $2.
        self.claim_due = f"""
WITH c AS (
    SELECT job, key FROM {s}.records
     WHERE job = $1 AND state = 'accepted' AND service IS DISTINCT FROM 'orderqueue'
       AND next_due <= now() AND (lease_owner IS NULL OR lease_until < now())
     ORDER BY next_due LIMIT $3 FOR UPDATE SKIP LOCKED
)
UPDATE {s}.records AS r
   SET lease_owner = $2, lease_until = now() + $4 * interval '1 second',
       fence = nextval('{s}.fences')
  FROM c WHERE r.job = c.job AND r.key = c.key
RETURNING r.key, r.fence, r.transaction_id, r.status, r.unchanged, r.started, r.seen,
          r.history::text, extract(epoch FROM now())::float8 AS now"""
        # A record begun by a worker that is gone (no holder, or its lease ran out)
        # may have been sent: it becomes unknown, never sent again on its own.
        self.reap = f"""
WITH stale AS (
    SELECT job, key FROM {s}.records
     WHERE job = $1 AND state = 'pending' AND (lease_owner IS NULL OR lease_until < now())
     ORDER BY key FOR UPDATE SKIP LOCKED
), up AS (
    UPDATE {s}.records AS r
       SET state = 'unknown', errors = $2, lease_owner = NULL, lease_until = NULL,
           fence = nextval('{s}.fences'), written_at = now()
      FROM stale WHERE r.job = stale.job AND r.key = stale.key
    RETURNING r.job, r.key
) SELECT {notify_final} FROM up"""
        self.counts = f"""
SELECT state, (lease_owner IS NOT NULL AND lease_until >= now()) AS held, count(*)
  FROM {s}.records WHERE job = $1 GROUP BY 1, 2"""
        self.page = (
            f"SELECT seq, {RECORD_COLUMNS} FROM {s}.records "
            "WHERE job = $1 AND seq > $2 AND state <> 'queued' "
            "AND ($3::text IS NULL OR state = $3) ORDER BY seq LIMIT $4"
        )


def _create(s: str, queue_channel: str) -> tuple[str, ...]:
    checks = ", ".join(f"'{state}'" for state in STATES)
    return (
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL)",
        f"""CREATE TABLE {s}.jobs (
            job text PRIMARY KEY,
            brand text,
            created_at timestamptz NOT NULL DEFAULT now()
        )""",
        f"CREATE SEQUENCE {s}.fences",
        f"CREATE SEQUENCE {s}.seqs INCREMENT BY {SEQ_BLOCK}",
        f"""CREATE TABLE {s}.records (
            job text NOT NULL,
            key text NOT NULL,
            seq bigint NOT NULL,
            state text NOT NULL CHECK (state IN ({checks})),
            service text,
            transaction_id bigint,
            status integer,
            outcome text,
            errors text NOT NULL DEFAULT '[]',
            history jsonb NOT NULL DEFAULT '[]',
            updated_at double precision NOT NULL DEFAULT 0,
            payload jsonb,
            lease_owner text,
            lease_until timestamptz,
            fence bigint NOT NULL DEFAULT 0,
            next_due timestamptz,
            started double precision,
            unchanged integer NOT NULL DEFAULT 0,
            seen double precision,
            written_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, key)
        )""",
        f"CREATE INDEX records_by_seq ON {s}.records (job, seq)",
        f"CREATE INDEX records_queued ON {s}.records (job, service, seq) WHERE state = 'queued'",
        f"CREATE INDEX records_due ON {s}.records (job, next_due) WHERE state = 'accepted'",
        f"CREATE INDEX records_pending ON {s}.records (job) WHERE state = 'pending'",
        f"CREATE INDEX records_leases ON {s}.records (lease_owner) WHERE lease_owner IS NOT NULL",
        f"CREATE TABLE {s}.rate_budgets (brand text PRIMARY KEY, tat double precision NOT NULL)",
        f"""CREATE TABLE {s}.notes (
            scope text NOT NULL, name text NOT NULL, value text NOT NULL,
            PRIMARY KEY (scope, name)
        )""",
        # The outbox: a web backend queues a record in the same transaction as its
        # own data. A key already in the job is left as it is (false).
        f"""CREATE FUNCTION {s}.enqueue(
                job text, key text, payload jsonb, kind text DEFAULT 'customer'
            ) RETURNS boolean LANGUAGE plpgsql AS $fn$
        DECLARE
            added integer;
        BEGIN
            IF kind NOT IN ('customer', 'order') THEN
                RAISE EXCEPTION 'kind must be customer or order, not %', kind;
            END IF;
            INSERT INTO {s}.records (job, key, seq, state, service, payload)
            VALUES (enqueue.job, enqueue.key, nextval('{s}.seqs'), 'queued',
                    CASE kind WHEN 'order' THEN 'orderqueue' ELSE 'storecustomerandorder' END,
                    enqueue.payload)
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS added = ROW_COUNT;
            IF added > 0 THEN
                PERFORM pg_notify('{queue_channel}', enqueue.job);
            END IF;
            RETURN added > 0;
        END
        $fn$""",
    )
