"""PostgresStore beyond the store contract: the schema, the connection, leases and fencing.

Leases are compared with the database's ``now()``, so these tests move a
lease's expiry by SQL instead of waiting for it: nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import random
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from omeda_async import IncompatibleStoreError, Outcome, RecordState, StatusCode, StoreError
from omeda_async.postgres import LeaseLostError, PostgresStore
from tests.postgres.support import admin
from tests.support import eventually

SCO = "storecustomerandorder"
# Registered with the secrets guard (tests/conftest.py): it must never be shown.
DSN_PASSWORD_SECRET = "pg-Secret-7f3a9c2e"

MakeStore = Callable[..., PostgresStore]


async def expire(dsn: str, schema: str, key: str) -> None:
    """Run a record's lease out, as time would (the database's clock decides)."""
    async with admin(dsn) as conn:
        await conn.execute(
            f"UPDATE {schema}.records SET lease_until = now() - interval '1 second' WHERE key = $1",
            key,
        )


async def row(dsn: str, schema: str, key: str) -> dict[str, Any]:
    async with admin(dsn) as conn:
        found = await conn.fetchrow(f"SELECT * FROM {schema}.records WHERE key = $1", key)
    assert found is not None, key
    return dict(found)


def with_password(
    dsn: str, password: str, *, user: str | None = None, port: int | None = None
) -> str:
    url = urllib.parse.urlsplit(dsn)
    netloc = f"{user or url.username}:{password}@{url.hostname}:{port or url.port}"
    return urllib.parse.urlunsplit(url._replace(netloc=netloc))


# -------------------------------------------------------------------- the schema


async def test_open_creates_the_schema_and_a_second_store_finds_it(make_store: MakeStore) -> None:
    """The first store creates the schema; another store on it checks it and shares the records."""
    async with make_store() as first, make_store() as second:
        assert await first.begin("k", service=SCO)
        assert (await second.get("k")) == (await first.get("k"))


async def test_repr_and_errors_never_show_the_password(dsn: str, schema: str) -> None:
    """The DSN's password is a secret: not in the repr, not in the error of a failed open."""
    store = PostgresStore(
        with_password(dsn, DSN_PASSWORD_SECRET, user="no_such_role_x"), job="j", schema=schema
    )
    assert DSN_PASSWORD_SECRET not in repr(store)
    with pytest.raises(StoreError) as raised:
        await store.open()
    assert "no_such_role_x" in str(raised.value)
    assert "credentials" in str(raised.value)
    await store.close()


async def test_a_dsn_that_cannot_connect_is_a_clear_store_error(dsn: str, schema: str) -> None:
    """A port nobody listens on: StoreError naming where, saying what to check."""
    store = PostgresStore(
        with_password(dsn, DSN_PASSWORD_SECRET, port=1), job="j", schema=schema, connect_timeout=5
    )
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at postgresql://.*:1/"):
        await store.open()
    await store.close()


async def test_wrong_password_is_refused_clearly(dsn: str, schema: str) -> None:
    """A role that needs a password, given a wrong one (or trust auth lets it in: then it works)."""
    async with admin(dsn) as conn:
        await conn.execute("DROP ROLE IF EXISTS omeda_nologin")
        await conn.execute("CREATE ROLE omeda_nologin NOLOGIN PASSWORD 'right-one-123'")
    try:
        store = PostgresStore(
            with_password(dsn, DSN_PASSWORD_SECRET, user="omeda_nologin"), job="j", schema=schema
        )
        with pytest.raises(StoreError, match="refused the credentials of user 'omeda_nologin'"):
            await store.open()
        await store.close()
    finally:
        async with admin(dsn) as conn:
            await conn.execute("DROP ROLE IF EXISTS omeda_nologin")


def test_a_dsn_that_is_not_a_uri_is_refused_without_quoting_it() -> None:
    """A malformed DSN is a ValueError that never echoes it."""
    with pytest.raises(ValueError, match="not shown") as raised:
        PostgresStore(f"host=db password={DSN_PASSWORD_SECRET}", job="j")
    assert DSN_PASSWORD_SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("tables", "refusal"),
    [
        # Someone else's tables.
        (["CREATE TABLE {s}.accounts (id int)"], "another application's tables"),
        # A meta table naming another application.
        (
            [
                "CREATE TABLE {s}.meta (key text, value text)",
                "INSERT INTO {s}.meta VALUES ('app', 'billing')",
            ],
            "not an omeda_async journal",
        ),
    ],
)
async def test_another_applications_schema_is_refused_and_untouched(
    dsn: str, schema: str, make_store: MakeStore, tables: list[str], refusal: str
) -> None:
    """A schema that is not ours is refused, and nothing is created in it."""
    query = "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1"
    async with admin(dsn) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
        for statement in tables:
            await conn.execute(statement.format(s=schema))
        before = await conn.fetch(query, schema)
    with pytest.raises(IncompatibleStoreError, match=refusal):
        await make_store().open()
    async with admin(dsn) as conn:
        assert await conn.fetch(query, schema) == before


async def test_a_newer_schema_is_refused(dsn: str, schema: str, make_store: MakeStore) -> None:
    """A journal written by a newer omeda_async: upgrade, nothing changed."""
    async with make_store() as store:
        await store.begin("k", service=SCO)
    async with admin(dsn) as conn:
        await conn.execute(f"UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(IncompatibleStoreError, match="newer omeda_async"):
        await make_store().open()


async def test_a_job_belongs_to_one_brand(make_store: MakeStore) -> None:
    """A job named for brand A is refused for brand B; one started without a brand is claimed."""
    async with make_store(job="a", brand="ABC"):
        pass
    with pytest.raises(IncompatibleStoreError, match="belongs to brand 'ABC', not 'XYZ'"):
        await make_store(job="a", brand="XYZ").open()
    async with make_store(job="b"):
        pass
    async with make_store(job="b", brand="XYZ") as claimed:
        assert claimed.brand == "XYZ"
    async with make_store(job="b") as later:
        assert later.brand == "XYZ"


async def test_many_stores_opening_a_new_schema_at_once_agree(make_store: MakeStore) -> None:
    """Workers starting together: one creates the schema, the rest find it whole."""
    stores = [make_store() for _ in range(6)]
    try:
        assert all(await asyncio.gather(*(store.open() for store in stores)))
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_use_after_close_is_an_error(make_store: MakeStore) -> None:
    """A closed store refuses work instead of reconnecting behind its owner's back."""
    store = make_store()
    await store.open()
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get("k")
    assert await store.open()  # but may be opened again
    await store.close()


# -------------------------------------------------------- begin, leases, fences


async def test_begin_is_won_by_one_store_only(make_store: MakeStore) -> None:
    """Two hosts begin the same key at once: exactly one wins; the other hears it is held."""
    async with make_store() as a, make_store() as b:
        results = await asyncio.gather(*(s.begin("k", service=SCO) for s in (a, b) * 5))
    assert sum(result.won for result in results) == 1
    assert all(result.held_elsewhere for result in results if not result.won)


async def test_a_key_begun_by_one_job_is_held_for_another_job_of_the_store(
    make_store: MakeStore,
) -> None:
    """Two jobs sharing one store object: the second is told the key is held elsewhere."""
    async with make_store() as store:
        assert await store.begin("k", service=SCO)
        again = await store.begin("k", service=SCO)
    assert not again.won
    assert again.held_elsewhere


async def test_a_crashed_senders_record_is_stale_after_its_lease(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """Its POST may have left: after the lease, nobody holds it and nobody may send it."""
    async with make_store() as crashed, make_store() as other:
        assert await crashed.begin("k", service=SCO)
        held = await other.begin("k", service=SCO)
        assert held.held_elsewhere
        await expire(dsn, schema, "k")
        stale = await other.begin("k", service=SCO)
        assert not stale.won
        assert not stale.held_elsewhere
        assert stale.record is not None
        assert stale.record.state is RecordState.PENDING
        # The other worker journals it unknown; the crashed one's late answer is refused.
        await other.mark_unknown("k", "its worker stopped")
        with pytest.raises(LeaseLostError, match="taken over") as refused:
            await crashed.accept("k", 4711)
        assert refused.value.transaction_id == 4711
        record = await other.get("k")
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    assert record.transaction_id is None


async def test_a_stale_owner_is_refused_even_after_the_new_owner_released_the_record(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """The fence, not the owner column, decides: a takeover that ended still refuses it."""
    async with make_store() as stale, make_store() as other:
        assert await stale.begin("k", service=SCO, resend=[RecordState.PENDING])
        await expire(dsn, schema, "k")
        assert await other.begin("k", service=SCO, resend=[RecordState.PENDING])
        await other.accept("k", 5)
        assert (await row(dsn, schema, "k"))["lease_owner"] is None
        for late in (
            stale.accept("k", 6),
            stale.reject("k", ["late"]),
            stale.finish("k", outcome=Outcome.FAILED, status=None),
        ):
            with pytest.raises(LeaseLostError):
                await late
        record = await other.get("k")
    assert record is not None
    assert (record.state, record.transaction_id) == (RecordState.ACCEPTED, 5)


async def test_a_stalled_owner_whose_lease_nobody_took_may_go_on(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """A lease that ran out with nobody taking over costs nothing: the fence still matches."""
    async with make_store() as store:
        assert await store.begin("k", service=SCO)
        await expire(dsn, schema, "k")
        await store.accept("k", 9)
        record = await store.get("k")
    assert record is not None
    assert record.transaction_id == 9


async def test_renew_extends_every_lease_in_one_statement(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """renew() pushes every lease of the store out, on the database's clock."""
    async with make_store(lease=600) as store:
        for key in ("a", "b", "c"):
            assert await store.begin(key, service=SCO)
        async with admin(dsn) as conn:
            await conn.execute(
                f"UPDATE {schema}.records SET lease_until = now() + interval '1 second'"
            )
        assert await store.renew() == 3
        async with admin(dsn) as conn:
            least = await conn.fetchval(f"SELECT min(lease_until - now()) FROM {schema}.records")
    assert least.total_seconds() > 500


async def test_close_releases_leases_so_others_need_not_wait(
    make_store: MakeStore,
) -> None:
    """A worker that stops lets go at once: its sending record is stale (unknown), not held."""
    async with make_store() as stopping:
        assert await stopping.begin("k", service=SCO)
    async with make_store() as other:
        found = await other.begin("k", service=SCO)
    assert not found.won
    assert not found.held_elsewhere
    assert found.record is not None
    assert found.record.state is RecordState.PENDING


async def test_release_unsent_hands_a_record_back_as_it_was(make_store: MakeStore) -> None:
    """Claimed, never sent: release(sent=False) restores it (a rejected record stays rejected)."""
    async with make_store() as store:
        await store.begin("k", service=SCO)
        await store.reject("k", ["Email invalid"])
        assert await store.begin("k", service=SCO)
        await store.release("k", sent=False)
        record = await store.get("k")
        assert record is not None
        assert (record.state, record.errors) == (RecordState.REJECTED, ("Email invalid",))
        assert await store.begin("new", service=SCO)
        await store.release("new", sent=False)
        assert await store.get("new") is None


async def test_a_status_of_an_accepted_record_makes_this_store_its_tracker(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """record_status takes the lease: another process's writes are refused while it is live."""
    async with make_store() as tracker, make_store() as other:
        await tracker.accept("k", 1)
        await tracker.record_status("k", StatusCode(0), 1.0)
        assert (await row(dsn, schema, "k"))["lease_owner"] == tracker.owner
        with pytest.raises(LeaseLostError, match="held by another worker"):
            await other.record_status("k", StatusCode(30), 2.0)
        assert [r.key for r in await other.unfinished()] == []
        await expire(dsn, schema, "k")
        assert [r.key for r in await other.unfinished()] == ["k"]
        with pytest.raises(LeaseLostError):
            await tracker.finish("k", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
        await other.finish("k", outcome=Outcome.SUCCEEDED, status=StatusCode(100))


async def test_a_connection_killed_mid_write_is_a_clear_error_then_the_store_reconnects(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """The server drops the connection while a write waits: a clear error; the next write works."""
    async with make_store(pool_size=1) as store, admin(dsn) as conn:
        assert await store.begin("a", service=SCO)
        async with conn.transaction():
            await conn.execute(f"SELECT 1 FROM {schema}.records WHERE key = 'a' FOR UPDATE")
            writing = asyncio.ensure_future(store.accept("a", 1))
            # Until the write is blocked on our lock (asked of the server, not guessed).
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) > 0 FROM pg_stat_activity "
                    "WHERE application_name = 'omeda_async' AND wait_event_type = 'Lock'"
                )
            )
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'omeda_async' AND wait_event_type = 'Lock'"
            )
            with pytest.raises(StoreError, match=r"lost the connection.*may or may not"):
                await writing
        await store.accept("a", 1)  # the pool connects again
        record = await store.get("a")
    assert record is not None
    assert record.transaction_id == 1


# ------------------------------------------------------------------ the queue


async def test_enqueue_keys_like_submit_many_and_skips_what_the_job_has(
    make_store: MakeStore,
) -> None:
    """Valid rows are queued once; invalid ones are listed with their violations."""
    from omeda_async.bulk import record_key

    rows: list[Any] = [
        {"FirstName": "A", "Emails": [{"EmailAddress": "a@example.com"}]},
        {"FirstName": "B", "Emails": [{"EmailAddress": "not an email"}]},
        {"FirstName": "C", "Emails": [{"EmailAddress": "c@example.com"}]},
    ]
    async with make_store() as store:
        done = await store.enqueue(rows)
        again = await store.enqueue(rows[:1])
        counts = await store.counts()
        # Queued is not begun: the journal proper has nothing yet.
        assert await store.get(record_key(rows[0], SCO)) is None
    assert (done.added, done.present, [i for i, _ in done.invalid]) == (2, 0, [1])
    assert (again.added, again.present) == (0, 1)
    assert counts.queued == 2


async def test_the_outbox_queues_only_what_the_callers_transaction_commits(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """SELECT <schema>.enqueue(...) inside the caller's transaction: a rollback queues nothing."""
    async with make_store(job="signups") as store:
        async with admin(dsn) as conn:
            tx = conn.transaction()
            await tx.start()
            assert await conn.fetchval(
                f"SELECT {schema}.enqueue('signups', 'user-1', $1::jsonb)",
                '{"FirstName": "A", "Emails": [{"EmailAddress": "a@example.com"}]}',
            )
            await tx.rollback()
            async with conn.transaction():
                await conn.fetchval(
                    f"SELECT {schema}.enqueue('signups', 'user-2', $1::jsonb)", '{"FirstName": "B"}'
                )
            assert not await conn.fetchval(
                f"SELECT {schema}.enqueue('signups', 'user-2', '{{}}'::jsonb)"
            )
        counts = await store.counts()
    assert counts.queued == 1


# ----------------------------------------------------------- wait_finished


async def test_wait_finished_wakes_when_another_process_finishes_the_record(
    make_store: MakeStore,
) -> None:
    """A web replica waits; a tracker elsewhere finishes the record; LISTEN/NOTIFY wakes it."""
    async with make_store() as replica, make_store() as tracker:
        await replica.accept("signup-1", 77)
        waiting = asyncio.ensure_future(replica.wait_finished("signup-1"))
        await asyncio.sleep(0)  # a turn for the waiter to start listening (not a timing guess)
        assert not waiting.done()
        await tracker.finish("signup-1", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
        async with asyncio.timeout(10):
            record = await waiting
        assert (record.state, record.outcome) == (RecordState.FINISHED, Outcome.SUCCEEDED)
        # Already final: answered at once.
        async with asyncio.timeout(10):
            assert (await replica.wait_finished("signup-1")).transaction_id == 77


# ------------------------------------------------------------------ notes


async def test_notes_are_kept_per_brand(make_store: MakeStore) -> None:
    """What a poller learned is kept for the brand: another job of the brand reads it."""
    async with make_store(job="a", brand="ABC") as store:
        assert await store.read_note("rhythm") is None
        await store.write_note("rhythm", "1")
        await store.write_note("rhythm", "2")
    async with make_store(job="b", brand="ABC") as other:
        assert await other.read_note("rhythm") == "2"


# ------------------------------------------------------------ group commit


async def test_concurrent_begins_and_accepts_share_statements(make_store: MakeStore) -> None:
    """100 records begun and accepted at once cost a handful of statements, each answered."""
    keys = [f"k{i}" for i in range(100)]
    async with make_store() as store:
        before = store.database.statements
        begun = await asyncio.gather(*(store.begin(k, service=SCO) for k in keys))
        await asyncio.gather(*(store.accept(k, i) for i, k in enumerate(keys, start=1)))
        spent = store.database.statements - before
        unfinished = await store.unfinished()
    assert all(b.won for b in begun)
    assert [r.transaction_id for r in unfinished] == list(range(1, 101))
    assert spent <= 12  # group commit: not 200


async def test_a_begin_whose_caller_was_cancelled_is_still_handed_back(
    make_store: MakeStore,
) -> None:
    """A job stopped while its begin is decided: release() waits for the answer, then hands back."""
    async with make_store() as store:
        beginning = asyncio.ensure_future(store.begin("k", service=SCO))
        await asyncio.sleep(0)  # one turn: the call is in a batch (not a timing guess)
        beginning.cancel()
        await store.release("k", sent=False)
        assert await store.get("k") is None
        assert (await store.begin("k", service=SCO)).won


async def test_a_begin_that_meets_another_in_flight_hears_it_is_held(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """A begin whose statement began before another worker's begin committed: held elsewhere.

    Its snapshot shows no record (or one free to take), yet its upsert finds the
    other worker's fresh row and takes nothing: the key is in flight elsewhere,
    not "not won for no reason".
    """
    async with make_store() as store, admin(dsn) as other:
        async with other.transaction():
            # Another worker's begin, not committed yet: the row is locked by it.
            await other.execute(
                f"INSERT INTO {schema}.records (job, key, seq, state, service, lease_owner, "
                "lease_until, fence) VALUES ('job', 'k', 1, 'pending', $1, 'other', "
                f"now() + interval '30 seconds', nextval('{schema}.fences'))",
                SCO,
            )
            begin = asyncio.create_task(store.begin("k", service=SCO))

            async def waits_on_the_lock() -> bool:
                async with admin(dsn) as watcher:
                    waiting = await watcher.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    )
                return bool(waiting)

            await eventually(waits_on_the_lock)
        result = await begin
    assert not result.won
    assert result.held_elsewhere


# ------------------------------------------------------------------ lock order


async def test_a_renewal_and_a_reschedule_never_deadlock(
    dsn: str, schema: str, make_store: MakeStore
) -> None:
    """Statements that write many rows lock them in key order, so one worker's lease
    renewal and its tracker's reschedules (two pooled connections, the same rows) never
    deadlock. They run bare on two connections with a 10 ms deadlock_timeout, the
    reschedules in small shuffled batches (an index lookup per key, in the batch's
    order): any lock order but one would deadlock within these rounds."""
    from omeda_async.postgres._tracker import _RESCHEDULE

    rng = random.Random(7)
    rows = 200
    async with make_store() as store:
        for i in range(rows):
            await store.begin(f"k{i:04d}", service=SCO)
            await store.accept(f"k{i:04d}", 10_000 + i)
        keys = [r.key for r in await store.unfinished()]  # all leased to this store now
        assert len(keys) == rows
        fence = {key: store.holds.fences[key] for key in keys}
        renew, reschedule = store.database.sql.renew, _RESCHEDULE.format(s=schema)
        async with admin(dsn) as one, admin(dsn) as other:
            for conn in (one, other):
                await conn.execute("SET deadlock_timeout = '10ms'")

            async def renewals() -> None:
                for _ in range(20):
                    await one.execute(renew, store.owner, 60.0, store.job)

            async def reschedules() -> None:
                for _ in range(20):
                    batch = rng.sample(keys, 8)
                    await other.execute(
                        reschedule, store.job, batch, [1e9] * 8, [fence[k] for k in batch]
                    )

            for _ in range(10):
                await asyncio.gather(renewals(), reschedules())
                # The reschedules let leases go; the store takes them all again.
                await one.execute(
                    f"UPDATE {schema}.records SET lease_owner = $1 WHERE job = $2",
                    store.owner,
                    store.job,
                )
