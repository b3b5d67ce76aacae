"""submit_many on FakeOmeda: every row accounted for, nothing queued twice, nothing lost.

Rows carry a unique FirstName (``P<index>``), so each transaction the fake
queued can be traced back to its row: the tests check per row that an
accepted record was queued exactly once (under the TransactionId reported), a
rejected one never, and an unknown one at most once.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from omeda_async import (
    AuthenticationError,
    BadRequestError,
    CustomerAndOrder,
    CustomerMergedError,
    MemoryStore,
    OmedaClient,
    Order,
    OrderProduct,
    Outcome,
    PayloadValidationError,
    PendingDeactivationError,
    PollPolicy,
    RecordState,
    ScaledClock,
    SqliteStore,
    StatusCode,
    StoreWriteError,
    SubmissionOutcomeUnknown,
    SubmissionReceipt,
)
from omeda_async.bulk import BulkSummary, SubmissionOutcome, record_key, submit_many
from omeda_async.models import from_dict
from omeda_async.models._wire import customer_and_order_body, order_body
from omeda_async.testing import FakeOmeda, Faults, Mix
from tests.models.page_examples import ADD_ORDER_EXAMPLE, SAVE_CUSTOMER_AND_ORDER_EXAMPLE, fresh
from tests.support import (
    CHILD_JOB,
    QUICK_PATH,
    accepted_at_least,
    check_accounted,
    collect,
    customer,
    drain,
    eventually,
    posts,
    queued_by_row,
    reversed_keys,
    rows_from,
)

FAST = PollPolicy(initial_delay=1.0, multiplier=1.5, max_interval=2.0, deadline=600.0)
CUSTOMERS = "storecustomerandorder"
SIGNUP: dict[str, Any] = {
    "FirstName": "P1",
    "LastName": "Doe",
    "Emails": [{"EmailContactType": 300, "EmailAddress": "p1@example.com"}],
    "Addresses": [
        {
            "AddressContactType": 100,
            "Street": "1 Main Street",
            "City": "Northbrook",
            "RegionCode": "IL",
            "PostalCode": "60062",
            "CountryCode": "USA",
        }
    ],
    "Products": [{"OmedaProductId": 14, "Receive": 1}],
}


# ------------------------------------------------------------- the faulty job


async def test_faulty_job_accounts_for_every_row_and_queues_none_twice(tmp_path: Path) -> None:
    """Invalid rows, merges, 429/503/500 and drops: each row accepted once, rejected or unknown."""
    faults = Faults(
        rates={"rate_limit": 0.12, "unavailable": 0.12, "server_error": 0.06, "drop": 0.06},
        services=["storecustomerandorder"],
        retry_after=0.5,
        seed=11,
    )
    merged = {9000 + i: 7000 + i for i in range(8)}
    rows: list[Any] = [customer(i) for i in range(160)]
    for i, old in zip(range(0, 160, 20), merged, strict=True):
        rows[i] = customer(i, OmedaCustomerId=old)
    invalid = {
        3: "not an object",
        13: [1, 2],
        23: customer(23, Bogus=1),
        33: customer(33, Gender=5),
    }
    for i, row in invalid.items():
        rows[i] = row
    journal = tmp_path / "journal.db"
    async with (
        FakeOmeda(time_scale=100, seed=5, faults=faults, merged_customers=merged) as fake,
        fake.client() as client,
        SqliteStore(journal, brand=fake.brand) as store,
    ):
        job = client.submit_many(rows, concurrency=12, store=store, follow_merges=True)
        outcomes = await collect(job)
        check_accounted(outcomes, len(rows), job.summary)
        assert fake.faults.injected  # the faults really happened
        queued = queued_by_row(fake)
        by_index = {o.index: o for o in outcomes}
        for index, outcome in by_index.items():
            stored = await store.get(outcome.key) if outcome.key else None
            if index in invalid:
                assert outcome.state is RecordState.REJECTED
                assert isinstance(outcome.error, PayloadValidationError)
                assert outcome.attempts == 1
                assert index not in queued
            elif outcome.state is RecordState.ACCEPTED:
                assert isinstance(outcome.receipt, SubmissionReceipt)
                assert queued[index] == [outcome.receipt.transaction_id]
                assert stored is not None
                assert stored.transaction_id == outcome.receipt.transaction_id
            elif outcome.state is RecordState.UNKNOWN:
                assert isinstance(outcome.error, SubmissionOutcomeUnknown)
                assert outcome.error.payload is not None
                assert len(queued.get(index, [])) <= 1
                assert stored is not None
                assert stored.state is RecordState.UNKNOWN
            else:
                assert outcome.state is RecordState.REJECTED
                assert index not in queued
        assert fake.duplicates() == []
        # The merged customers were resent once, with the id they were merged into.
        followed = [o for o in outcomes if o.merged_into is not None]
        assert followed
        for outcome in followed:
            assert outcome.attempts >= 2
            if outcome.state is RecordState.ACCEPTED:
                tx = fake.transactions[outcome.receipt.transaction_id]  # type: ignore[union-attr]
                assert tx.body["OmedaCustomerId"] == outcome.merged_into
        unknown_keys = {o.key for o in outcomes if o.state is RecordState.UNKNOWN}
        assert set(job.summary.unknown_keys) == unknown_keys
        assert unknown_keys  # the rates above make some

        # Same job, same journal, faults gone: nothing is queued again.
        fake.faults.clear()
        before = dict(fake.transactions)
        rerun = client.submit_many(rows, concurrency=12, store=store, follow_merges=True)
        again = {o.index: o for o in await collect(rerun)}
        check_accounted(list(again.values()), len(rows), rerun.summary)
        for index, outcome in by_index.items():
            second = again[index]
            if outcome.state is RecordState.ACCEPTED:
                assert second.skipped
                assert second.state is RecordState.ACCEPTED
                assert second.attempts == 0
            elif outcome.state is RecordState.UNKNOWN:
                assert second.state is RecordState.UNKNOWN
                assert second.attempts == 0
                assert "resend_unknown" in str(second.error)
            elif index not in invalid:
                assert second.state is RecordState.ACCEPTED  # rejected rows are resent
        newly = set(fake.transactions) - set(before)
        assert {again[i].transaction_id for i in queued_by_row(fake)} >= newly
        assert fake.duplicates() == []


async def test_resend_unknown_is_the_only_way_to_a_duplicate(tmp_path: Path) -> None:
    """A dropped answer leaves the row unknown; only resend_unknown=True sends it again."""
    async with (
        FakeOmeda(time_scale=100) as fake,
        fake.client() as client,
        SqliteStore(tmp_path / "j.db") as store,
    ):
        fake.faults.configure(services=["storecustomerandorder"])
        fake.faults.script(None, "drop")
        rows = [customer(0), customer(1), customer(2)]
        first = await collect(client.submit_many(rows, concurrency=1, store=store))
        states = {o.index: o.state for o in first}
        assert states == {0: RecordState.ACCEPTED, 1: RecordState.UNKNOWN, 2: RecordState.ACCEPTED}
        assert len(fake.transactions) == 3  # the drop happened after the record was queued
        second = await collect(client.submit_many(rows, store=store))
        assert [o.state for o in sorted(second, key=lambda o: o.index)] == [
            RecordState.ACCEPTED,
            RecordState.UNKNOWN,
            RecordState.ACCEPTED,
        ]
        assert len(fake.transactions) == 3
        third = await collect(client.submit_many(rows, store=store, resend_unknown=True))
        resent = next(o for o in third if o.index == 1)
        assert resent.state is RecordState.ACCEPTED
        assert resent.attempts == 1
        [duplicate] = fake.duplicates()
        assert duplicate.body["FirstName"] == "P1"


# ------------------------------------------------------- crash and resume


async def test_sigkill_mid_job_then_rerun_loses_nothing_and_queues_nothing_twice(
    tmp_path: Path,
) -> None:
    """A job SIGKILLed with 8 POSTs in flight reruns: in-flight ones unknown, all else once."""
    total = 240
    rows_path = tmp_path / "rows.jsonl"
    rows_path.write_text("".join(json.dumps(customer(i)) + "\n" for i in range(total)))
    script = tmp_path / "child.py"
    script.write_text(CHILD_JOB)
    journal = tmp_path / "journal.db"
    faults = Faults(services=["storecustomerandorder"], slow_seconds=120)
    # 100 answers, then 8 that hang (queued, answer held): the child stalls with 8 in flight.
    faults.script(*([None] * 100), *(["slow"] * 8))
    async with FakeOmeda(time_scale=100, scenario=QUICK_PATH, faults=faults) as fake:
        env = {
            **os.environ,
            "OMEDA_BRAND": fake.brand,
            "OMEDA_BASE_URL": fake.url,
            "OMEDA_APP_ID": fake.app_id,
            "OMEDA_INPUT_ID": fake.input_id,
        }
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(journal),
            str(rows_path),
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        reported: dict[int, str] = {}
        try:
            while len(reported) < 100:
                line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
                assert line, "the child ended early"
                number, state = line.decode().split()
                reported[int(number)] = state
            await eventually(lambda: fake.in_flight >= 8)  # the 8 held answers
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
        assert set(reported.values()) == {"accepted"}
        fake.faults.clear()
        async with fake.client() as client, SqliteStore(journal) as store:
            job = client.submit_many(
                rows_from(rows_path), concurrency=8, store=store, track=True, poll_policy=FAST
            )
            outcomes = {o.index: o for o in await collect(job)}
            check_accounted(list(outcomes.values()), total, job.summary)
            queued = queued_by_row(fake)
            assert fake.duplicates() == []
            # Nothing lost: every row was queued exactly once, the in-flight ones included.
            assert all(len(queued.get(i, [])) == 1 for i in range(total))
            unknown = {i for i, o in outcomes.items() if o.state is RecordState.UNKNOWN}
            assert len(unknown) == 8
            assert not unknown & set(reported)
            for index in reported:  # accepted before the crash: re-tracked, not resent
                outcome = outcomes[index]
                assert outcome.skipped
                assert outcome.attempts == 0
                assert outcome.result is not None
                assert outcome.result.outcome is Outcome.SUCCEEDED
                assert outcome.result.transaction_id == queued[index][0]
            for index, outcome in outcomes.items():
                if index not in reported and index not in unknown:
                    assert outcome.attempts == 1
                    assert outcome.state is RecordState.FINISHED
            assert job.summary.skipped == 100
            assert job.summary.accepted == total - 108
            assert job.summary.outcomes == {Outcome.SUCCEEDED: total - 8}
            assert await store.unfinished() == []


async def test_rerun_with_tracking_resumes_accepted_records(tmp_path: Path) -> None:
    """Accepted-but-unfinished records are re-tracked (not resent) by a tracking re-run."""
    async with (
        FakeOmeda(time_scale=100, scenario=QUICK_PATH) as fake,
        fake.client() as client,
        SqliteStore(tmp_path / "j.db") as store,
    ):
        rows = [customer(i) for i in range(20)]
        first = await collect(client.submit_many(rows, store=store))
        assert {o.state for o in first} == {RecordState.ACCEPTED}
        assert len(await store.unfinished()) == 20
        job = client.submit_many(rows, store=store, track=True, poll_policy=FAST)
        second = await collect(job)
        assert len(fake.transactions) == 20
        assert all(o.skipped and o.state is RecordState.FINISHED for o in second)
        assert {o.outcome for o in second} == {Outcome.SUCCEEDED}
        assert await store.unfinished() == []
        third = await collect(client.submit_many(rows, store=store, track=True))
        assert all(o.skipped and o.outcome is Outcome.SUCCEEDED for o in third)
        assert len(fake.transactions) == 20


# --------------------------------------------------------------- features


async def test_tracking_results_ride_on_outcomes_and_the_store(tmp_path: Path) -> None:
    """track=True: each outcome carries its TrackingResult; the store records it finished."""
    async with (
        FakeOmeda(time_scale=100, scenario=QUICK_PATH) as fake,
        fake.client() as client,
        SqliteStore(tmp_path / "j.db") as store,
    ):
        job = client.submit_many(
            [customer(i) for i in range(30)], store=store, track=True, poll_policy=FAST
        )
        outcomes = await collect(job)
        for outcome in outcomes:
            assert outcome.result is not None
            assert outcome.result.status is StatusCode(100)
            assert outcome.transaction_id == outcome.result.transaction_id
            stored = await store.get(outcome.key)  # type: ignore[arg-type]
            assert stored is not None
            assert (stored.state, stored.outcome) == (RecordState.FINISHED, Outcome.SUCCEEDED)
        assert job.summary.outcomes == {Outcome.SUCCEEDED: 30}


async def test_merges_are_followed_only_when_asked() -> None:
    """CustomerMergedError: resent once with MergedIntoCustomerId, or rejected by default."""
    async with FakeOmeda(time_scale=100, merged_customers={111: 222}) as fake, fake.client() as c:
        row = customer(0, OmedaCustomerId=111)
        [plain] = await collect(c.submit_many([row]))
        assert plain.state is RecordState.REJECTED
        assert isinstance(plain.error, CustomerMergedError)
        assert plain.merged_into is None
        [followed] = await collect(c.submit_many([row], follow_merges=True))
        assert followed.state is RecordState.ACCEPTED
        assert (followed.merged_into, followed.attempts) == (222, 2)
        tx = fake.transactions[followed.transaction_id]  # type: ignore[index]
        assert tx.body["OmedaCustomerId"] == 222
        # Resent with a new body, still under the key of the row as it was read.
        assert followed.key == record_key(row, CUSTOMERS)
        assert row["OmedaCustomerId"] == 111  # the caller's row is not changed
        # Followed once only: a customer merged into a merged customer is refused.
        fake.merged_customers[222] = 333
        [chain] = await collect(
            c.submit_many([customer(1, OmedaCustomerId=111)], follow_merges=True)
        )
        assert chain.state is RecordState.REJECTED
        assert isinstance(chain.error, CustomerMergedError)
        assert (chain.merged_into, chain.attempts) == (222, 2)


async def test_an_accepted_outcome_is_the_same_with_or_without_a_journal() -> None:
    """A plain job reports an accepted record as a journaled job does, field for field."""
    async with FakeOmeda(time_scale=100, merged_customers={111: 222}) as fake, fake.client() as c:
        rows = [customer(0), customer(1, OmedaCustomerId=111)]
        plain = await collect(c.submit_many(rows, follow_merges=True))
        journaled = await collect(c.submit_many(rows, follow_merges=True, store=MemoryStore()))
    assert [o.state for o in plain] == [RecordState.ACCEPTED] * 2
    for outcome, other in zip(plain, journaled, strict=True):
        assert isinstance(outcome.receipt, SubmissionReceipt)
        assert outcome.receipt != other.receipt  # each run queued the record
        assert attrs.evolve(outcome, receipt=None) == attrs.evolve(other, receipt=None)
    assert plain[1] == SubmissionOutcome(
        index=1,
        key=record_key(rows[1], CUSTOMERS),
        receipt=plain[1].receipt,
        state=RecordState.ACCEPTED,
        service=CUSTOMERS,
        merged_into=222,
        attempts=2,
    )


class _ReleasingClock:
    """The fake's clock; waiting ``delay`` seconds also ends the pending deactivation."""

    def __init__(self, inner: ScaledClock | Any, fake: FakeOmeda, delay: float) -> None:
        self._inner = inner
        self._fake = fake
        self._delay = delay
        self.waits = 0

    def now(self) -> float:
        return float(self._inner.now())

    async def sleep(self, seconds: float) -> None:
        if seconds == self._delay:
            self.waits += 1
            self._fake.pending_deactivation.clear()
        await self._inner.sleep(seconds)


async def test_pending_deactivation_is_retried_later_and_bounded() -> None:
    """PendingDeactivationError: retried after the delay, at most pending_retries times."""
    async with FakeOmeda(time_scale=1000, pending_deactivation={333}) as fake, fake.client() as c:
        job = c.submit_many(
            [customer(0, OmedaCustomerId=333), customer(1)],
            pending_retries=2,
            pending_retry_delay=5.0,
        )
        outcomes = {o.index: o for o in await collect(job)}
        assert outcomes[0].state is RecordState.REJECTED
        assert isinstance(outcomes[0].error, PendingDeactivationError)
        assert outcomes[0].attempts == 3
        assert outcomes[1].state is RecordState.ACCEPTED
        assert job.summary.pending_retries == 2
        assert posts(fake) == 4

    async with FakeOmeda(time_scale=1000, pending_deactivation={333}) as fake:
        clock = _ReleasingClock(fake.clock, fake, 7.0)
        async with fake.client(clock=clock) as c:
            [outcome] = await collect(
                c.submit_many([customer(0, OmedaCustomerId=333)], pending_retry_delay=7.0)
            )
        assert outcome.state is RecordState.ACCEPTED
        assert (outcome.attempts, clock.waits) == (2, 1)


async def test_invalid_rows_are_rejected_without_a_request() -> None:
    """Rows that are not objects, have unknown keys or wrong types never reach Omeda."""
    bad: list[Any] = [None, "text", [1], {"FirstName": 5}, customer(0, Nickname="x")]
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        outcomes = await collect(c.submit_many([*bad, customer(9)], ordered=True))
        # Without a body, each is keyed by its canonical JSON.
        assert [o.key for o in outcomes[:-1]] == [record_key(row, CUSTOMERS) for row in bad]
        for outcome in outcomes[:-1]:
            assert outcome.state is RecordState.REJECTED
            assert isinstance(outcome.error, PayloadValidationError)
            assert outcome.error.violations
        assert "Nickname" in str(outcomes[4].error)
        assert outcomes[-1].state is RecordState.ACCEPTED
        assert posts(fake) == 1


async def test_unknown_outcome_is_recorded_and_reported() -> None:
    """A 500 after sending is an unknown outcome carrying the payload, never retried."""
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        fake.faults.configure(services=["storecustomerandorder"])
        fake.faults.script("server_error")
        store = MemoryStore()
        [outcome] = await collect(c.submit_many([customer(0)], store=store))
        assert outcome.state is RecordState.UNKNOWN
        assert isinstance(outcome.error, SubmissionOutcomeUnknown)
        assert outcome.error.payload == customer(0)
        assert posts(fake) == 1
        stored = await store.get(outcome.key)  # type: ignore[arg-type]
        assert stored is not None
        assert stored.state is RecordState.UNKNOWN


async def test_reading_is_lazy_with_backpressure() -> None:
    """Rows are pulled only as the pipeline has room, not all at once."""
    pulled = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield customer(i)

    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        async with c.submit_many(rows(), concurrency=4) as job:
            first = await anext(job)
            assert first.state is RecordState.ACCEPTED
            for _ in range(20):
                await asyncio.sleep(0)  # let the pipeline run ahead as far as it may
            assert pulled <= 2 * 4 + 1
        assert len(fake.transactions) < 20


async def test_async_iterables_and_orders_in_input_order() -> None:
    """An async iterable works; ordered=True yields in input order despite uneven timing."""

    async def rows() -> AsyncIterator[dict[str, Any]]:
        for i in range(40):
            await asyncio.sleep(0)
            yield customer(i)

    # Each record takes between 2 and 40 fake seconds: they finish out of input order.
    scenario = Mix({"new_customer": 1.0, "existing_customer": 1.0}, spread=(2.0, 40.0))
    async with FakeOmeda(time_scale=100, scenario=scenario, seed=3) as fake, fake.client() as c:
        job = c.submit_many(rows(), concurrency=8, ordered=True, track=True, poll_policy=FAST)
        outcomes = await collect(job)
        assert [o.index for o in outcomes] == list(range(40))
        finish_order = sorted(outcomes, key=lambda o: o.result.elapsed)  # type: ignore[union-attr]
        assert [o.index for o in finish_order] != list(range(40))
        assert job.summary.outcomes == {Outcome.SUCCEEDED: 40}


def test_default_key_is_a_hash_of_the_exact_body_sent() -> None:
    """SHA-256 of service and body: the same for reordered keys and for the model."""
    key = record_key(SIGNUP, CUSTOMERS)
    body = customer_and_order_body(SIGNUP)
    assert key == hashlib.sha256(b"storecustomerandorder\n" + body).hexdigest()
    assert record_key(reversed_keys(SIGNUP), CUSTOMERS) == key
    assert record_key(from_dict(CustomerAndOrder, SIGNUP), CUSTOMERS) == key
    assert record_key({**SIGNUP, "LastName": "Roe"}, CUSTOMERS) != key
    # One body for both services, yet two keys: the service is part of the key.
    both = {"OmedaCustomerId": 5, "Products": [{"OmedaProductId": 7}]}
    assert customer_and_order_body(both) == order_body(both)
    assert (
        record_key(both, "orderqueue")
        == hashlib.sha256(b"orderqueue\n" + order_body(both)).hexdigest()
    )
    assert record_key(both, "orderqueue") != record_key(both, CUSTOMERS)


def test_default_keys_of_the_page_examples_never_change() -> None:
    """The default key is part of every journal: if a change to the body (field order,
    number or date formats) moves it, a journal written before the change no longer
    recognizes its records and a re-run would queue them again. Changing these values
    is a breaking change: it needs a journal migration or a release note."""
    assert record_key(fresh(SAVE_CUSTOMER_AND_ORDER_EXAMPLE), CUSTOMERS) == (
        "d83648a4980a825190028453d58ed2851ea5b1aa43cc20cea6769cdf2b9704ed"
    )
    assert record_key(fresh(ADD_ORDER_EXAMPLE), "orderqueue") == (
        "98e71cc38f57fcee32e80c097565d34c963bbb8ab7b2718a15dad42db73b55cd"
    )


def test_a_payload_that_breaks_a_rule_is_keyed_by_its_canonical_json() -> None:
    """No body to hash: the key is SHA-256 of service and sorted JSON, key order ignored."""

    def canonical(payload: Any) -> bytes:
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    broken = {"FirstName": "P1", "Emails": [{"EmailAddress": "p1@", "EmailContactType": 300}]}
    key = record_key(broken, CUSTOMERS)
    assert key == hashlib.sha256(b"storecustomerandorder\n" + canonical(broken)).hexdigest()
    assert record_key(reversed_keys(broken), CUSTOMERS) == key
    # A customer is no valid Add Order: as one, it has no body either.
    as_order = hashlib.sha256(b"orderqueue\n" + canonical(SIGNUP)).hexdigest()
    assert record_key(SIGNUP, "orderqueue") == as_order


async def test_a_record_in_any_form_has_one_key_in_a_job_and_across_runs() -> None:
    """A dict, the dict with keys reordered, its model: one key, one POST, then skipped."""
    model = from_dict(CustomerAndOrder, SIGNUP)
    store = MemoryStore()
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        job = c.submit_many([SIGNUP, reversed_keys(SIGNUP), model], store=store, ordered=True)
        first, reordered, as_model = await collect(job)
        assert first.state is RecordState.ACCEPTED
        assert first.key == record_key(SIGNUP, CUSTOMERS)
        assert reordered.key == as_model.key == first.key
        assert (reordered.duplicate_of, as_model.duplicate_of) == (0, 0)
        [again] = await collect(c.submit_many([model], store=store))
        assert again.skipped
        assert again.transaction_id == first.transaction_id
        assert len(fake.transactions) == 1


async def test_custom_key_failures_are_row_outcomes() -> None:
    """A failing key function rejects only its row."""
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        rows: list[Any] = [customer(0), "no key here", customer(2)]
        job = c.submit_many(rows, key=lambda row: f"row-{row['FirstName']}", ordered=True)
        outcomes = await collect(job)
        assert [o.key for o in outcomes] == ["row-P0", None, "row-P2"]
        assert outcomes[1].state is RecordState.REJECTED
        assert isinstance(outcomes[1].error, PayloadValidationError)
        assert job.summary.failed_keys == ("#1",)
        assert len(fake.transactions) == 2


async def test_identical_rows_in_flight_are_sent_once() -> None:
    """A row identical to one still in flight is skipped as its duplicate."""
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        job = c.submit_many([customer(0), customer(0), customer(1)], concurrency=4, ordered=True)
        outcomes = await collect(job)
        assert outcomes[1].skipped
        assert outcomes[1].duplicate_of == 0
        assert fake.duplicates() == []
        assert job.summary.skipped == 1


async def test_orders_wait_for_the_record_whose_transaction_they_name() -> None:
    """transaction_of: an Add Order is sent after its customer was accepted, with its id."""
    products = [{"OmedaProductId": 101588}]

    def rows() -> Iterator[Any]:
        for i in range(5):
            yield customer(i, ClientCustomerId=f"c{i}")
            yield Order(client_order_id=f"c{i}", products=products)  # type: ignore[arg-type]
        yield Order(client_order_id="c9", products=products)  # type: ignore[arg-type]

    def key(row: Any) -> str:
        if isinstance(row, Order):
            return f"order-{row.client_order_id}"
        return f"customer-{row['ClientCustomerId']}"

    def transaction_of(order: Any) -> str:
        return f"customer-{order.client_order_id}"

    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        job = c.submit_many(rows(), key=key, transaction_of=transaction_of, concurrency=6)
        outcomes = {o.key: o for o in await collect(job)}
        for i in range(5):
            order = outcomes[f"order-c{i}"]
            assert order.service == "orderqueue"
            assert order.state is RecordState.ACCEPTED
            tid = outcomes[f"customer-c{i}"].transaction_id
            order_id = order.receipt.order_id  # type: ignore[union-attr]
            assert fake.orders[order_id].transaction_id == tid
        orphan = outcomes["order-c9"]
        assert orphan.state is RecordState.REJECTED
        assert "customer-c9" in str(orphan.error)
        assert len(fake.orders) == 5


async def test_an_order_sent_with_its_customers_transaction_id_keeps_its_key() -> None:
    """transaction_of with default keys: the body gets the TransactionId, the key does not."""
    signup = customer(0)
    order = Order(omeda_customer_id=5, products=[OrderProduct(omeda_product_id=7)])

    def transaction_of(_: Any) -> str:
        return record_key(signup, CUSTOMERS)

    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        job = c.submit_many([signup, order], transaction_of=transaction_of)
        outcomes = {o.service: o for o in await collect(job)}
        sent = outcomes["orderqueue"]
        assert sent.state is RecordState.ACCEPTED
        assert sent.key == record_key(order, "orderqueue")
        tid = outcomes[CUSTOMERS].transaction_id
        assert fake.orders[sent.receipt.order_id].transaction_id == tid  # type: ignore[union-attr]


async def test_run_processor_processes_accepted_ids_in_batches() -> None:
    """run_processor=True: accepted TransactionIds go through Run Processor in batches."""
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        job = c.submit_many(
            [customer(i) for i in range(25)], run_processor=True, processor_batch=10
        )
        outcomes = await collect(job)
        assert all(o.processor is not None and o.processor.succeeded for o in outcomes)
        assert all(tx.processed_at is not None for tx in fake.transactions.values())
        assert 3 <= posts(fake, "runprocessor") <= 6
        assert job.summary.processed == 25


async def test_wrong_credentials_stop_the_job() -> None:
    """A 403 on a POST stops the job: reported, recorded, and raised."""
    async with FakeOmeda(time_scale=100) as fake, fake.client(app_id="wrong") as c:
        job = c.submit_many((customer(i) for i in range(1000)), concurrency=2)
        seen: list[SubmissionOutcome] = []
        with pytest.raises(AuthenticationError):
            await drain(job, seen)
        assert seen
        assert all(isinstance(o.error, AuthenticationError) for o in seen)
        assert job.summary.total < 20
        assert not fake.transactions


class _FailingStore(MemoryStore):
    """A store whose disk fills up at the ``fail_at``-th accept."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.accepts = 0
        self.fail_at = fail_at

    async def accept(self, key: str, transaction_id: int, *, service: str | None = None) -> None:
        self.accepts += 1
        if self.accepts >= self.fail_at:
            raise StoreWriteError("journal j.db: the disk is full", path="j.db")
        await super().accept(key, transaction_id, service=service)


async def test_a_failing_store_stops_the_job_with_what_was_done_recorded() -> None:
    """A journal that cannot record stops the job; every reported acceptance is stored."""
    store = _FailingStore(fail_at=6)
    async with FakeOmeda(time_scale=100) as fake, fake.client() as c:
        job = c.submit_many([customer(i) for i in range(50)], concurrency=1, store=store)
        seen: list[SubmissionOutcome] = []
        with pytest.raises(StoreWriteError):
            await drain(job, seen)
        assert len(seen) == 5
        for outcome in seen:
            stored = await store.get(outcome.key)  # type: ignore[arg-type]
            assert stored is not None
            assert stored.state is RecordState.ACCEPTED
        assert len(fake.transactions) == 6  # the sixth was queued; its record stays pending
        states = [
            await store.get(record_key(customer(i), "storecustomerandorder")) for i in range(7)
        ]
        assert [s.state if s else None for s in states] == [
            *([RecordState.ACCEPTED] * 5),
            RecordState.PENDING,
            None,
        ]


async def test_a_full_journal_stops_the_job_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    """SqliteStore out of space: the job stops; after space returns a re-run completes it."""
    rows = [customer(i) for i in range(400)]
    async with (
        FakeOmeda(time_scale=100) as fake,
        fake.client() as c,
        SqliteStore(tmp_path / "j.db") as store,
    ):
        await store.begin("warm-up", service="storecustomerandorder")
        pages = await store._call(
            lambda conn: conn.execute("PRAGMA page_count").fetchone()[0], write=False
        )
        await store._call(
            lambda conn: conn.execute(f"PRAGMA max_page_count = {pages + 3}").fetchone(),
            write=False,
        )
        job = c.submit_many(rows, concurrency=8, store=store)
        seen: list[SubmissionOutcome] = []
        with pytest.raises(StoreWriteError, match="full"):
            await drain(job, seen)
        assert 0 < len(seen) < len(rows)
        for outcome in seen:  # everything reported was recorded
            assert outcome.state is RecordState.ACCEPTED
            stored = await store.get(outcome.key)  # type: ignore[arg-type]
            assert stored is not None
            assert stored.state is RecordState.ACCEPTED
        await store._call(
            lambda conn: conn.execute("PRAGMA max_page_count = 1000000").fetchone(),
            write=False,
        )
        rerun = c.submit_many(rows, concurrency=8, store=store)
        outcomes = await collect(rerun)
        check_accounted(outcomes, len(rows), rerun.summary)
        queued = queued_by_row(fake)
        assert fake.duplicates() == []
        for outcome in outcomes:
            if outcome.state is RecordState.UNKNOWN:  # in flight when the journal filled up
                assert len(queued.get(outcome.index, [])) <= 1
            else:
                assert outcome.state is RecordState.ACCEPTED
                assert queued[outcome.index] == [outcome.transaction_id]
        assert rerun.summary.unknown <= 8


async def test_aclose_stops_a_running_job() -> None:
    """Leaving early stops the job: no task of it outlives it; tracked records stay resumable."""
    store = MemoryStore()
    async with (
        FakeOmeda(time_scale=100, scenario=[(7, 3600.0), 100]) as fake,
        fake.client() as c,
    ):
        rows = (customer(i) for i in range(10_000))
        job = c.submit_many(rows, concurrency=4, track=True, store=store, max_tracked=50)
        async with job:
            # 50 followed: reading waits for a tracking slot.
            await eventually(lambda: accepted_at_least(store, 50))
        assert job.summary.finished
        leftovers = [
            task
            for task in asyncio.all_tasks()
            if "BulkSubmission" in getattr(task.get_coro(), "__qualname__", "")
        ]
        assert leftovers == []
        # 50 followed, plus at most one accepted per worker waiting for a tracking slot.
        assert 50 <= len(fake.transactions) <= 50 + 4
        unfinished = await store.unfinished()
        assert len(unfinished) >= 50
        assert {r.transaction_id for r in unfinished} <= set(fake.transactions)


def test_summary_reads_well() -> None:
    """str(summary) gives the counts, the outcomes and the first keys to look at."""
    summary = BulkSummary(
        total=10,
        accepted=6,
        skipped=1,
        rejected=2,
        unknown=1,
        outcomes={Outcome.SUCCEEDED: 5, Outcome.FAILED: 1},
        elapsed=2.0,
        finished=True,
        unknown_keys=("k7",),
        failed_keys=tuple(f"f{i}" for i in range(7)),
    )
    text = str(summary)
    assert text.startswith("10 records in 2.0s (5.0/s): 6 accepted, 2 rejected, 1 unknown")
    assert "tracking: 5 succeeded, 1 failed" in text
    assert "unknown: k7" in text
    assert "failed: f0, f1, f2, f3, f4 (+2 more)" in text


def test_client_method_offers_every_option() -> None:
    """client.submit_many takes exactly the options of the pipeline, with the same defaults."""
    method = inspect.signature(OmedaClient.submit_many).parameters
    function = inspect.signature(submit_many).parameters
    assert [(p.name, p.default, p.kind) for p in list(method.values())[1:]] == [
        (p.name, p.default, p.kind) for p in list(function.values())[1:]
    ]


def test_arguments_are_checked() -> None:
    """Bad configuration fails at the call, before any request."""
    client = OmedaClient(brand="ABC", app_id="a", input_id="i")
    with pytest.raises(ValueError, match="concurrency"):
        submit_many(client, [], concurrency=0)
    with pytest.raises(ValueError, match="kind"):
        submit_many(client, [], kind="invoice")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable"):
        submit_many(client, 5)  # type: ignore[arg-type]


async def test_a_wrong_input_id_stops_the_job_at_once() -> None:
    """Omeda's "x-omeda-inputid is not valid" refuses every row alike: the job stops at the
    first refusal (as on a wrong app id) instead of POSTing every row to be refused."""
    async with FakeOmeda(time_scale=100) as fake, fake.client(input_id="not-our-input") as c:
        job = c.submit_many((customer(i) for i in range(1000)), concurrency=2)
        seen: list[SubmissionOutcome] = []
        with pytest.raises(BadRequestError, match="x-omeda-inputid"):
            await drain(job, seen)
        assert seen
        assert all(o.state is RecordState.REJECTED for o in seen)
        assert job.summary.total < 20
        assert posts(fake) <= 2 + 1  # the first refusal, and what was in flight with it
        assert not fake.transactions


class _Answering:
    """A Submitter over a real client whose POSTs raise ``error`` after reaching the fake."""

    def __init__(self, client: OmedaClient, error: BaseException) -> None:
        self._client = client
        self._error = error
        self.clock = client.clock
        self.poller = client.poller
        self.run_processor = client.run_processor
        self.check_submission = client.check_submission

    async def post_submission(
        self, service: str, payload: Any, body: bytes | None, *, input_id: str | None
    ) -> Any:
        await self._client.post_submission(service, payload, body, input_id=input_id)
        raise self._error  # the answer was lost in a way the client does not document


async def test_an_exception_after_the_post_left_is_never_a_rejection(tmp_path: Path) -> None:
    """An undocumented failure after the request may have left (a RecursionError reading a
    deep answer): the job stops, the record stays pending, and a re-run reports it unknown
    instead of queueing it again (it was queued)."""
    async with (
        FakeOmeda(time_scale=100) as fake,
        fake.client() as client,
        SqliteStore(tmp_path / "j.db") as store,
    ):
        hostile = _Answering(client, RecursionError("maximum recursion depth exceeded"))
        job = submit_many(hostile, [customer(0)], store=store)
        with pytest.raises(RecursionError):
            await collect(job)
        key = record_key(customer(0), CUSTOMERS)
        stored = await store.get(key)
        assert stored is not None
        assert stored.state is RecordState.PENDING  # not REJECTED: it may have been queued
        assert len(fake.transactions) == 1
        [again] = await collect(client.submit_many([customer(0)], store=store))
        assert again.state is RecordState.UNKNOWN
        assert again.attempts == 0
        assert len(fake.transactions) == 1
        assert fake.duplicates() == []


# ---------------------------------------------------------- shared and owned stores


@pytest.mark.parametrize("opened_by_caller", [True, False], ids=["opened", "inline"])
async def test_two_jobs_sharing_one_store_queue_each_row_once(
    tmp_path: Path, opened_by_caller: bool
) -> None:
    """One SqliteStore handed to two concurrent jobs of one process: each row is queued
    once; the other job reports it skipped (in flight elsewhere, or already accepted)
    (issue 15, item 2)."""
    rows = [customer(i) for i in range(100)]
    async with FakeOmeda(time_scale=100) as fake, fake.client() as client:
        store = SqliteStore(tmp_path / "shared.db")
        if opened_by_caller:
            await store.open()
        first, second = (client.submit_many(rows, concurrency=8, store=store) for _ in range(2))
        one, two = await asyncio.gather(collect(first), collect(second))
        assert len(fake.transactions) == 100
        assert fake.duplicates() == []
        assert all(len(ids) == 1 for ids in queued_by_row(fake).values())
        by_row: dict[int, list[SubmissionOutcome]] = {}
        for outcome in [*one, *two]:
            by_row.setdefault(outcome.index, []).append(outcome)
        for index, pair in by_row.items():
            sent = [o for o in pair if not o.skipped]
            assert len(sent) == 1, index
            assert sent[0].state is RecordState.ACCEPTED
            [other] = [o for o in pair if o.skipped]
            assert other.in_flight_elsewhere or other.state is RecordState.ACCEPTED
        assert first.summary.posts + second.summary.posts == 100
        if opened_by_caller:
            assert (await store.get(one[0].key)) is not None  # still the caller's, open  # type: ignore[arg-type]
            await store.close()


async def test_a_store_the_job_opened_is_closed_when_it_ends(tmp_path: Path) -> None:
    """submit_many(..., store=SqliteStore(path)) does not keep the journal's lock after the
    job; a store the caller opened stays open (issue 15, item 6)."""
    journal = tmp_path / "j.db"
    async with FakeOmeda(time_scale=100, scenario=QUICK_PATH) as fake, fake.client() as client:
        outcomes = await collect(client.submit_many([customer(0)], store=SqliteStore(journal)))
        assert outcomes[0].state is RecordState.ACCEPTED
        async with SqliteStore(journal, lock_timeout=0) as again:  # the lock was let go
            stored = await again.get(outcomes[0].key)  # type: ignore[arg-type]
            assert stored is not None
            assert stored.state is RecordState.ACCEPTED
            await collect(
                client.submit_many([customer(1)], store=again, track=True, poll_policy=FAST)
            )
            assert (await again.get(record_key(customer(1), CUSTOMERS))) is not None  # still open


async def test_an_unknown_key_nested_deep_is_reported_as_that_field() -> None:
    """A payload whose unknown key sits ~1,000 levels deep is rejected for the unknown field,
    as validate says, not as a record that cannot be keyed (issue 15, item 11)."""
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(1_000):
        level["Nested"] = {}
        level = level["Nested"]
    row = customer(0, Bogus=deep)
    async with FakeOmeda(time_scale=100) as fake, fake.client() as client:
        [outcome] = await collect(client.submit_many([row]))
    assert outcome.state is RecordState.REJECTED
    assert isinstance(outcome.error, PayloadValidationError)
    assert [v.path for v in outcome.error.violations] == ["Bogus"]
    assert "Unknown field 'Bogus'" in str(outcome.error)
    assert "cannot key" not in str(outcome.error)
    assert not fake.requests
