"""The TrackingStore contract, run against both MemoryStore and SqliteStore.

What the poller and submit_many rely on, whichever store they are given: the
state each write leaves a record in, which fields a write keeps or replaces,
and the first-seen order of ``unfinished()``. A differential test drives both
stores with random operation sequences and requires identical records.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omeda_async import (
    MemoryStore,
    Outcome,
    RecordState,
    SqliteStore,
    StatusCode,
    StoredRecord,
    TrackingStore,
)
from omeda_async._store import transaction_key

SCO = "storecustomerandorder"
ORDERS = "orderqueue"


def _memory(_tmp: Path) -> TrackingStore:
    return MemoryStore()


def _sqlite(tmp: Path) -> TrackingStore:
    return SqliteStore(tmp / "journal.db")


STORES: dict[str, Callable[[Path], TrackingStore]] = {"memory": _memory, "sqlite": _sqlite}


@pytest.fixture(params=sorted(STORES))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TrackingStore]:
    """Each store kind, opened, closed after the test."""
    made = STORES[request.param](tmp_path)
    await made.open()
    yield made
    await made.close()


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
    await asyncio.gather(*(store.accept(k, i) for i, k in enumerate(keys)))
    unfinished = await store.unfinished()
    assert sorted(r.transaction_id or 0 for r in unfinished) == list(range(300))
    assert [r.key for r in unfinished] == keys


# ------------------------------------------------------------- differential test

_KEYS = st.sampled_from(["a", "b", "c", "transaction:7"])
_CODES = st.sampled_from([0, 7, 9, 30, 42, 100, 110]).map(StatusCode)
_TEXT = st.text(max_size=12)
_TIMES = st.floats(min_value=0, max_value=1e9, allow_nan=False)
_OPERATIONS = st.one_of(
    st.tuples(st.just("begin"), _KEYS, st.sampled_from([SCO, ORDERS])),
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


async def _apply(store: TrackingStore, operation: tuple[object, ...]) -> None:
    name, key, *args = operation
    assert isinstance(key, str)
    if name == "begin":
        await store.begin(key, service=str(args[0]))
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


async def _snapshot(store: TrackingStore) -> tuple[list[StoredRecord | None], list[StoredRecord]]:
    return [await store.get(k) for k in ("a", "b", "c", "transaction:7")], await store.unfinished()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(_OPERATIONS, max_size=14))
def test_sqlite_store_behaves_exactly_like_memory_store(
    operations: list[tuple[object, ...]],
) -> None:
    """Any sequence of writes leaves SqliteStore (also after reopening) equal to MemoryStore."""

    async def scenario(path: Path) -> None:
        memory = MemoryStore()
        sqlite = SqliteStore(path)
        async with sqlite:
            for operation in operations:
                await _apply(memory, operation)
                await _apply(sqlite, operation)
            assert await _snapshot(sqlite) == await _snapshot(memory)
        async with SqliteStore(path) as reopened:
            assert await _snapshot(reopened) == await _snapshot(memory)

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp) / "journal.db"))
