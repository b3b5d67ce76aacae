"""Type-checked, never run: payloads, the poller, bulk jobs and FakeOmeda as users write them.

``mypy --strict tests/typing`` checks these against DESIGN.md's contract; pytest
never collects this file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import attrs

from omeda_async import (
    Address,
    AddressContactType,
    BillingInformation,
    BulkOptions,
    BulkSubmission,
    BulkSummary,
    CustomerAndOrder,
    CustomerDemographic,
    Email,
    OmedaClient,
    OptFilter,
    Order,
    OrderProduct,
    Outcome,
    PayloadValidationError,
    PollPolicy,
    Product,
    SqliteStore,
    StatusCode,
    StatusEvent,
    StoreError,
    SubmissionOutcome,
    Tracking,
    TrackingResult,
    Violation,
    validate,
)
from omeda_async.bulk import Submitter, submit_many
from omeda_async.testing import FakeOmeda


def build() -> list[Violation]:
    payload = CustomerAndOrder(
        first_name="Jane",
        signup_date=dt.date(2026, 11, 22),
        addresses=[Address(address_contact_type=AddressContactType.BUSINESS, city="Chicago")],
        emails=[Email(email_address="jane@example.com")],
        customer_demographics=[
            CustomerDemographic(omeda_demographic_id=3, omeda_demographic_value=[37])
        ],
        products=[Product(omeda_product_id=14, term=12, amount=Decimal("65.00"))],
        billing_information=BillingInformation(billing_street="1 Main", billing_city="X"),
    )
    wire: dict[str, Any] = payload.to_dict()
    again: CustomerAndOrder = CustomerAndOrder.from_dict(wire)
    order = Order(
        transaction_id=1,
        products=[OrderProduct(omeda_product_id=5, filter=[OptFilter(email_address="a@b.co")])],
    )
    violations: list[Violation] = validate(again) + validate(order) + validate(wire)
    for violation in violations:
        path: str = violation.path
        message: str = violation.message
        del path, message
    return violations


async def follow(client: OmedaClient, ids: list[int]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    async with client.poller(policy=PollPolicy(deadline=600.0), max_in_flight=16) as poller:
        trackings: list[Tracking] = [poller.track(i, key=str(i)) for i in ids]
        resumed: list[Tracking] = await poller.resume()
        last: StatusCode | None = trackings[0].status() if trackings else None
        del last, resumed
        events: AsyncIterator[StatusEvent] = poller.events()
        async for event in events:
            previous: StatusCode | None = event.previous
            del previous
            break
        async for result in poller.results():
            outcomes[result.transaction_id] = result.outcome
        await poller.join()
    one: TrackingResult = await client.wait_for_transaction(ids[0], timeout=60.0)
    outcomes[one.transaction_id] = one.outcome
    return outcomes


def rows() -> Iterator[dict[str, Any]]:
    yield {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]}


async def bulk(client: OmedaClient) -> BulkSummary:
    try:
        async with SqliteStore("job.sqlite", brand="ABC") as store:
            job: BulkSubmission = client.submit_many(
                rows(), concurrency=64, track=True, store=store, follow_merges=True
            )
            async for outcome in job:
                done: SubmissionOutcome = outcome
                if isinstance(done.error, PayloadValidationError):
                    print(done.index, done.error.violations)
            return job.summary
    except StoreError as exc:
        raise SystemExit(str(exc)) from exc


async def bulk_with_options(client: OmedaClient) -> int:
    options = BulkOptions(concurrency=32, ordered=True, poll_policy=PollPolicy.bulk())
    tracked = attrs.evolve(options, track=True)
    sender: Submitter = client  # a job sends through this protocol only
    count = 0
    async for outcome in submit_many(sender, rows(), tracked, resend_unknown=True):
        count += outcome.skipped
    async for outcome in client.submit_many(rows(), options, kind="customer"):
        count += outcome.in_flight_elsewhere
    return count


async def offline() -> int:
    async with FakeOmeda(time_scale=1000, scenario="new_customer", seed=1) as fake:
        async with fake.client() as client:
            receipt = await client.store_customer_and_order({"FirstName": "J"})
            result = await client.wait_for_transaction(receipt.transaction_id)
            assert result.outcome is Outcome.SUCCEEDED
        return len(fake.transactions)
