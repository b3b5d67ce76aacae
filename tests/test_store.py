"""MemoryStore: the default TrackingStore keeps records by key in first-seen order."""

from __future__ import annotations

from omeda_async import MemoryStore, Outcome, RecordState, StatusCode, TrackingStore
from omeda_async._store import transaction_key


async def test_memory_store_lifecycle() -> None:
    """begin -> accept -> record_status -> finish moves a record through its states."""
    store = MemoryStore()
    await store.open()
    await store.begin("k1", service="storecustomerandorder")
    assert (await store.get("k1")).state is RecordState.PENDING  # type: ignore[union-attr]
    await store.accept("k1", 42)
    record = await store.get("k1")
    assert record is not None
    assert (record.state, record.transaction_id, record.service) == (
        RecordState.ACCEPTED,
        42,
        "storecustomerandorder",
    )
    await store.record_status("k1", StatusCode(0), 1.0)
    await store.record_status("k1", StatusCode(100), 2.0)
    assert [r.key for r in await store.unfinished()] == ["k1"]
    await store.finish("k1", outcome=Outcome.SUCCEEDED, status=StatusCode(100))
    record = await store.get("k1")
    assert record is not None
    assert record.state is RecordState.FINISHED
    assert record.history == ((1.0, StatusCode(0)), (2.0, StatusCode(100)))
    assert await store.unfinished() == []
    await store.close()


async def test_unfinished_keeps_first_seen_order() -> None:
    """Later updates do not reorder records: resume follows acceptance order."""
    store = MemoryStore()
    for key, txid in (("a", 1), ("b", 2), ("c", 3)):
        await store.accept(key, txid)
    await store.record_status("a", StatusCode(30), 5.0)
    assert [r.key for r in await store.unfinished()] == ["a", "b", "c"]


async def test_reject_and_unknown_are_not_unfinished() -> None:
    """Rejected and unknown records are never resumed as trackings."""
    store = MemoryStore()
    await store.reject("bad", ["EmailAddress is not valid x"])
    await store.mark_unknown("maybe", "connection lost after the body was sent")
    assert await store.unfinished() == []
    bad = await store.get("bad")
    assert bad is not None
    assert bad.errors == ("EmailAddress is not valid x",)
    assert len(store) == 2


def test_memory_store_is_a_tracking_store() -> None:
    """MemoryStore satisfies the TrackingStore protocol."""
    assert isinstance(MemoryStore(), TrackingStore)
    assert transaction_key(7) == "transaction:7"
