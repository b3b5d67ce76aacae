"""The TrackingStore contract, run against both MemoryStore and SqliteStore.

What the poller and submit_many rely on, whichever store they are given: the
state each write leaves a record in, which fields a write keeps or replaces,
the first-seen order of ``unfinished()``, and the atomic ``begin`` (one caller
wins a key; the others are told it is held elsewhere; ``release`` hands it back
or leaves it stale). A differential test drives both stores with random
operation sequences and requires identical answers and records.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omeda_async import (
    Begun,
    MemoryStore,
    Outcome,
    RecordState,
    SqliteStore,
    StatusCode,
    StoredRecord,
    StoreError,
    TrackingStore,
)
from omeda_async._store import transaction_key
from tests.postgres.support import drop_schema, new_schema, postgres_dsn

SCO = "storecustomerandorder"
ORDERS = "orderqueue"


def _memory(_tmp: Path) -> TrackingStore:
    return MemoryStore()


def _sqlite(tmp: Path) -> TrackingStore:
    return SqliteStore(tmp / "journal.db")


STORES: dict[str, Callable[[Path], TrackingStore]] = {"memory": _memory, "sqlite": _sqlite}


@pytest.fixture(params=[*sorted(STORES), "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TrackingStore]:
    """Each store kind (PostgresStore on a schema of its own), opened, closed after the test."""
    if request.param == "postgres":
        async with _postgres_store() as made:
            yield made
        return
    made = STORES[request.param](tmp_path)
    await made.open()
    yield made
    await made.close()


@contextlib.asynccontextmanager
async def _postgres_store() -> AsyncIterator[TrackingStore]:
    """A PostgresStore on a fresh schema of the test server (skips without one)."""
    dsn = postgres_dsn()
    from omeda_async.postgres import PostgresStore

    schema = new_schema()
    made = PostgresStore(dsn, job="contract", schema=schema)
    try:
        await made.open()
        yield made
    finally:
        await made.close()
        await drop_schema(dsn, schema)


async def _get(store: TrackingStore, key: str) -> StoredRecord:
    record = await store.get(key)
    assert record is not None, key
    return record


async def test_is_a_tracking_store(store: TrackingStore) -> None:
    """Both stores satisfy the runtime-checkable TrackingStore protocol."""
    assert isinstance(store, TrackingStore)


async def test_get_of_an_unknown_key_is_none(store: TrackingStore) -> None:
    """A key never written reads as None, not as an empty record."""
    assert await store.get("never-written") is None


async def test_begin_records_pending_with_its_service(store: TrackingStore) -> None:
    """begin leaves a PENDING record naming the service and nothing else."""
    await store.begin("k", service=SCO)
    assert await _get(store, "k") == StoredRecord(key="k", state=RecordState.PENDING, service=SCO)


async def test_accept_after_begin_keeps_the_service(store: TrackingStore) -> None:
    """accept without a service keeps begin's service and sets the TransactionId."""
    await store.begin("k", service=SCO)
    await store.accept("k", 4711)
    record = await _get(store, "k")
    assert (record.state, record.transaction_id, record.service) == (
        RecordState.ACCEPTED,
        4711,
        SCO,
    )


async def test_accept_with_a_service_replaces_it(store: TrackingStore) -> None:
    """accept(service=...) overrides the service begin recorded."""
    await store.begin("k", service=SCO)
    await store.accept("k", 5, service=ORDERS)
    assert (await _get(store, "k")).service == ORDERS


async def test_accept_without_begin_creates_the_record(store: TrackingStore) -> None:
    """The poller accepts ids it is handed: no begin is needed first."""
    key = transaction_key(99)
    await store.accept(key, 99)
    assert await _get(store, key) == StoredRecord(
        key=key, state=RecordState.ACCEPTED, transaction_id=99
    )


async def test_reject_keeps_every_reason_in_order(store: TrackingStore) -> None:
    """reject stores REJECTED with the reasons as given, repeats included."""
    reasons = ["EmailAddress is not valid", "Postal Code is required", "EmailAddress is not valid"]
    await store.begin("bad", service=SCO)
    await store.reject("bad", reasons)
    record = await _get(store, "bad")
    assert (record.state, record.errors, record.service) == (
        RecordState.REJECTED,
        tuple(reasons),
        SCO,
    )


async def test_mark_unknown_records_the_reason(store: TrackingStore) -> None:
    """mark_unknown stores UNKNOWN with its one reason, to reconcile before any resend."""
    await store.begin("maybe", service=SCO)
    await store.mark_unknown("maybe", "connection reset after the body was sent")
    record = await _get(store, "maybe")
    assert (record.state, record.errors) == (
        RecordState.UNKNOWN,
        ("connection reset after the body was sent",),
    )


async def test_record_status_appends_history_and_keeps_the_state(store: TrackingStore) -> None:
    """Each status change is appended; the latest is current; the state stays ACCEPTED."""
    await store.accept("k", 1)
    await store.record_status("k", StatusCode(0), 10.25)
    await store.record_status("k", StatusCode(30), 12.5)
    record = await _get(store, "k")
    assert record.state is RecordState.ACCEPTED
    assert record.status is StatusCode.DUPECHECK_NEW_CUSTOMER
    assert record.history == ((10.25, StatusCode(0)), (12.5, StatusCode(30)))
    assert record.updated_at == 12.5
    assert [r.key for r in await store.unfinished()] == ["k"]


async def test_record_status_of_a_new_key_creates_a_pending_record(store: TrackingStore) -> None:
    """A status for a key never seen creates it (PENDING) rather than failing."""
    await store.record_status("fresh", StatusCode(7), 3.0)
    assert await _get(store, "fresh") == StoredRecord(
        key="fresh",
        state=RecordState.PENDING,
        status=StatusCode(7),
        history=((3.0, StatusCode(7)),),
        updated_at=3.0,
    )


async def test_finish_records_the_outcome(store: TrackingStore) -> None:
    """finish stores FINISHED with outcome, status, errors and a replacing history."""
    await store.accept("k", 1, service=SCO)
    await store.record_status("k", StatusCode(0), 1.0)
    history = ((1.0, StatusCode(0)), (2.0, StatusCode(9)))
    await store.finish(
        "k",
        outcome=Outcome.FAILED,
        status=StatusCode(9),
        history=history,
        errors=["Failed Validation Rules", "Email invalid"],
    )
    assert await _get(store, "k") == StoredRecord(
        key="k",
        state=RecordState.FINISHED,
        service=SCO,
        transaction_id=1,
        status=StatusCode(9),
        outcome=Outcome.FAILED,
        errors=("Failed Validation Rules", "Email invalid"),
        history=history,
        updated_at=1.0,
    )
    assert await store.unfinished() == []


async def test_finish_without_history_keeps_the_recorded_one(store: TrackingStore) -> None:
    """An empty history argument leaves the statuses recorded along the way."""
    await store.accept("k", 1)
    await store.record_status("k", StatusCode(0), 1.0)
    await store.record_status("k", StatusCode(100), 2.0)
    await store.finish("k", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
    record = await _get(store, "k")
    assert record.history == ((1.0, StatusCode(0)), (2.0, StatusCode(100)))
    assert record.outcome is Outcome.SUCCEEDED


async def test_finish_without_a_status(store: TrackingStore) -> None:
    """A tracking that never saw a status (NOT_FOUND) finishes with status None."""
    await store.accept("k", 1)
    await store.record_status("k", StatusCode(0), 1.0)
    await store.finish("k", outcome=Outcome.NOT_FOUND, status=None)
    record = await _get(store, "k")
    assert (record.state, record.outcome, record.status) == (
        RecordState.FINISHED,
        Outcome.NOT_FOUND,
        None,
    )


async def test_unfinished_is_accepted_only_in_first_seen_order(store: TrackingStore) -> None:
    """unfinished() lists ACCEPTED records only, in the order keys were first written."""
    for key in ("a", "b", "c", "d", "e", "f"):
        await store.begin(key, service=SCO)
    # Answers arrive out of order; resume follows the first-seen (input) order.
    await store.accept("c", 3)
    await store.accept("a", 1)
    await store.accept("f", 6)
    await store.accept("e", 5)
    await store.reject("b", ["refused"])
    await store.mark_unknown("d", "reset")
    await store.finish("e", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
    unfinished = await store.unfinished()
    assert [(r.key, r.transaction_id) for r in unfinished] == [("a", 1), ("c", 3), ("f", 6)]
    assert all(r.state is RecordState.ACCEPTED for r in unfinished)


async def test_resend_after_unknown_goes_back_to_pending_in_place(store: TrackingStore) -> None:
    """begin on an UNKNOWN record (resend_unknown) makes it PENDING, keeping its position."""
    await store.accept("first", 1)
    await store.begin("maybe", service=SCO)
    await store.mark_unknown("maybe", "reset")
    await store.accept("last", 3)
    await store.begin("maybe", service=SCO)
    assert (await _get(store, "maybe")).state is RecordState.PENDING
    await store.accept("maybe", 2)
    assert [r.key for r in await store.unfinished()] == ["first", "maybe", "last"]


async def test_undocumented_status_codes_round_trip(store: TrackingStore) -> None:
    """A status Omeda adds later keeps its number through the store."""
    await store.accept("k", 1)
    await store.record_status("k", StatusCode(42), 1.0)
    await store.finish("k", outcome=Outcome.TIMED_OUT, status=StatusCode(42))
    record = await _get(store, "k")
    assert record.status == 42
    assert record.status is not None
    assert record.status.name == "UNKNOWN_42"
    assert record.history == ((1.0, StatusCode(42)),)


async def test_text_and_numbers_round_trip_exactly(store: TrackingStore) -> None:
    """Keys, reasons and times come back exactly: unicode, quotes, big ids, fine floats."""
    key = 'row:Zoë "O\'Brien"\n\t✓'
    reasons = ['Ungültige E-Mail: "x@y"', "", "line\nbreak", "\ud800 lone surrogate"]
    big = 2**53 + 1
    at = 1 / 3
    await store.accept(key, big)
    await store.record_status(key, StatusCode(0), at)
    await store.finish(key, outcome=Outcome.FAILED, status=StatusCode(0), errors=reasons)
    record = await _get(store, key)
    assert record.key == key
    assert record.transaction_id == big
    assert record.errors == tuple(reasons)
    assert record.history == ((at, StatusCode(0)),)
    assert record.updated_at == at


async def test_open_and_close_are_idempotent(store: TrackingStore) -> None:
    """open() twice is harmless and close() twice is harmless."""
    await store.open()
    await store.accept("k", 1)
    assert (await _get(store, "k")).transaction_id == 1
    await store.close()
    await store.close()


async def test_concurrent_writes_all_land(store: TrackingStore) -> None:
    """Hundreds of concurrent writes to distinct keys are all recorded."""
    keys = [f"k{i}" for i in range(300)]
    await asyncio.gather(*(store.begin(k, service=SCO) for k in keys))
    await asyncio.gather(*(store.accept(k, i) for i, k in enumerate(keys, start=1)))
    unfinished = await store.unfinished()
    assert sorted(r.transaction_id or 0 for r in unfinished) == list(range(1, 301))
    assert [r.key for r in unfinished] == keys


# --------------------------------------------------------------- atomic begin

ALL = frozenset(RecordState)


async def test_begin_of_a_new_key_wins_and_holds_it(store: TrackingStore) -> None:
    """The first begin wins (PENDING, held); a second one is told the key is held
    elsewhere and writes nothing (issue 15, item 2)."""
    first = await store.begin("k", service=SCO)
    assert first == Begun(won=True, record=None)
    assert first
    second = await store.begin("k", service=ORDERS, resend=ALL)
    assert second == Begun(won=False, record=None, held_elsewhere=True)
    assert not second
    assert await _get(store, "k") == StoredRecord(key="k", state=RecordState.PENDING, service=SCO)


async def test_exactly_one_of_many_concurrent_begins_wins(store: TrackingStore) -> None:
    """Of 20 callers beginning one key at once, exactly one may send it."""
    results = await asyncio.gather(*(store.begin("k", service=SCO, resend=ALL) for _ in range(20)))
    assert sum(begun.won for begun in results) == 1
    assert all(begun.held_elsewhere for begun in results if not begun.won)


async def test_begin_never_takes_a_queued_record(store: TrackingStore) -> None:
    """ACCEPTED and FINISHED records are not begun again (the record is returned as it is)."""
    await store.accept("a", 7, service=SCO)
    await store.accept("f", 8, service=SCO)
    await store.finish("f", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
    for key in ("a", "f"):
        before = await _get(store, key)
        begun = await store.begin(key, service=SCO)
        assert begun == Begun(won=False, record=before)
        assert await _get(store, key) == before


async def test_begin_takes_only_the_states_it_is_told(store: TrackingStore) -> None:
    """REJECTED and UNKNOWN are taken by default; an explicit resend narrows that."""
    await store.reject("r", ["refused"])
    await store.mark_unknown("u", "reset")
    only_rejected = frozenset({RecordState.REJECTED})
    refused = await store.begin("u", service=SCO, resend=only_rejected)
    assert (refused.won, refused.held_elsewhere) == (False, False)
    assert refused.record is not None
    assert refused.record.state is RecordState.UNKNOWN
    assert (await store.begin("r", service=SCO, resend=only_rejected)).won
    assert (await store.begin("u", service=SCO)).won  # the default takes UNKNOWN


async def test_settling_a_record_lets_the_key_go(store: TrackingStore) -> None:
    """accept, reject, mark_unknown and finish end the hold: the key can be begun again
    (when its state allows)."""
    for settle in ("reject", "mark_unknown"):
        key = f"k-{settle}"
        assert (await store.begin(key, service=SCO)).won
        if settle == "reject":
            await store.reject(key, ["no"])
        else:
            await store.mark_unknown(key, "reset")
        assert (await store.begin(key, service=SCO)).won
    assert (await store.begin("q", service=SCO)).won
    await store.accept("q", 5)
    queued = await store.begin("q", service=SCO, resend=ALL - {RecordState.ACCEPTED})
    assert (queued.won, queued.held_elsewhere) == (False, False)


async def test_release_unsent_hands_the_record_back_as_it_was(store: TrackingStore) -> None:
    """release(sent=False): the POST never started, so nothing happened: a new key is gone
    again, a rejected one is rejected again, and the key is free."""
    assert (await store.begin("new", service=SCO)).won
    await store.release("new", sent=False)
    assert await store.get("new") is None
    await store.reject("r", ["EmailAddress is not valid"])
    rejected = await _get(store, "r")
    assert (await store.begin("r", service=SCO)).won
    await store.release("r", sent=False)
    assert await _get(store, "r") == rejected
    assert (await store.begin("r", service=SCO)).won


async def test_release_sent_leaves_a_stale_pending_record(store: TrackingStore) -> None:
    """release(sent=True): the POST may have left: the record stays PENDING, no longer
    held; a later begin takes it only when told to resend PENDING (a re-run reports it
    unknown)."""
    assert (await store.begin("k", service=SCO)).won
    await store.release("k", sent=True)
    stale = await store.begin("k", service=SCO)
    assert stale == Begun(
        won=False, record=StoredRecord(key="k", state=RecordState.PENDING, service=SCO)
    )
    assert (await store.begin("k", service=SCO, resend={RecordState.PENDING})).won


async def test_release_of_a_key_not_held_changes_nothing(store: TrackingStore) -> None:
    """Releasing a key nobody began (or already settled) is harmless."""
    await store.release("never", sent=False)
    await store.accept("a", 1)
    await store.release("a", sent=False)
    assert await store.get("never") is None
    assert (await _get(store, "a")).state is RecordState.ACCEPTED


@pytest.mark.parametrize("bad", [0, -1, 2**63, 2**70, True])
async def test_a_transaction_id_that_is_no_64_bit_positive_integer_is_refused(
    store: TrackingStore, bad: int
) -> None:
    """accept refuses it with StoreError (never a raw OverflowError) and writes nothing."""
    assert (await store.begin("k", service=SCO)).won
    with pytest.raises(StoreError, match="positive 64-bit"):
        await store.accept("k", bad)
    assert (await _get(store, "k")).state is RecordState.PENDING
    await store.accept("k", 2**63 - 1)
    assert (await _get(store, "k")).transaction_id == 2**63 - 1


# ------------------------------------------------------------- differential test

_KEYS = st.sampled_from(["a", "b", "c", "transaction:7"])
_CODES = st.sampled_from([0, 7, 9, 30, 42, 100, 110]).map(StatusCode)
_TEXT = st.text(max_size=12)
_TIMES = st.floats(min_value=0, max_value=1e9, allow_nan=False)
_RESEND = st.frozensets(st.sampled_from(list(RecordState)))
_OPERATIONS = st.one_of(
    st.tuples(st.just("begin"), _KEYS, st.sampled_from([SCO, ORDERS]), st.none() | _RESEND),
    st.tuples(st.just("release"), _KEYS, st.booleans()),
    st.tuples(
        st.just("accept"),
        _KEYS,
        st.integers(min_value=1, max_value=2**62),
        st.none() | st.sampled_from([SCO, ORDERS]),
    ),
    st.tuples(st.just("reject"), _KEYS, st.lists(_TEXT, max_size=3)),
    st.tuples(st.just("mark_unknown"), _KEYS, _TEXT),
    st.tuples(st.just("record_status"), _KEYS, _CODES, _TIMES),
    st.tuples(
        st.just("finish"),
        _KEYS,
        st.sampled_from(list(Outcome)),
        st.none() | _CODES,
        st.lists(st.tuples(_TIMES, _CODES), max_size=3),
        st.lists(_TEXT, max_size=2),
    ),
)


async def _apply(store: TrackingStore, operation: tuple[object, ...]) -> object:
    """Run one operation; what it answered (begin's Begun), for comparing stores."""
    name, key, *args = operation
    assert isinstance(key, str)
    if name == "begin":
        service, resend = args
        if resend is None:
            return await store.begin(key, service=str(service))
        return await store.begin(key, service=str(service), resend=resend)  # type: ignore[arg-type]
    if name == "release":
        await store.release(key, sent=bool(args[0]))
    elif name == "accept":
        tid, service = args
        assert isinstance(tid, int)
        await store.accept(key, tid, service=service if isinstance(service, str) else None)
    elif name == "reject":
        await store.reject(key, args[0])  # type: ignore[arg-type]
    elif name == "mark_unknown":
        await store.mark_unknown(key, str(args[0]))
    elif name == "record_status":
        await store.record_status(key, args[0], args[1])  # type: ignore[arg-type]
    else:
        outcome, status, history, errors = args
        await store.finish(
            key,
            outcome=outcome,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            history=history,  # type: ignore[arg-type]
            errors=errors,  # type: ignore[arg-type]
        )
    return None


async def _snapshot(store: TrackingStore) -> tuple[list[StoredRecord | None], list[StoredRecord]]:
    return [await store.get(k) for k in ("a", "b", "c", "transaction:7")], await store.unfinished()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(_OPERATIONS, max_size=16))
def test_sqlite_store_behaves_exactly_like_memory_store(
    operations: list[tuple[object, ...]],
) -> None:
    """Any sequence of begins (won or not), releases and writes gives SqliteStore the same
    answers and records (also after reopening) as MemoryStore."""

    async def scenario(path: Path) -> None:
        memory = MemoryStore()
        sqlite = SqliteStore(path)
        async with sqlite:
            for operation in operations:
                assert await _apply(sqlite, operation) == await _apply(memory, operation)
            assert await _snapshot(sqlite) == await _snapshot(memory)
        async with SqliteStore(path) as reopened:
            assert await _snapshot(reopened) == await _snapshot(memory)

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp) / "journal.db"))


@pytest.fixture(scope="module")
def postgres_journal() -> Iterator[tuple[str, str]]:
    """The test server and a schema this module's differential test shares (a job per example)."""
    dsn = postgres_dsn()
    schema = new_schema()
    yield dsn, schema
    asyncio.run(drop_schema(dsn, schema))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(_OPERATIONS, max_size=16))
def test_postgres_store_behaves_exactly_like_memory_store(
    postgres_journal: tuple[str, str], operations: list[tuple[object, ...]]
) -> None:
    """Any sequence of begins (won or not), releases and writes gives PostgresStore the same
    answers and records (also in another store on the job) as MemoryStore."""
    from omeda_async.postgres import PostgresStore

    dsn, schema = postgres_journal
    job = f"example-{uuid.uuid4().hex}"

    async def scenario() -> None:
        memory = MemoryStore()
        async with PostgresStore(dsn, job=job, schema=schema) as postgres:
            for operation in operations:
                assert await _apply(postgres, operation) == await _apply(memory, operation)
            assert await _snapshot(postgres) == await _snapshot(memory)
        async with PostgresStore(dsn, job=job, schema=schema) as another:
            assert await _snapshot(another) == await _snapshot(memory)

    asyncio.run(scenario())
