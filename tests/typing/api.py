"""Type-checked, never run: the public client API as a user writes it.

``mypy --strict tests/typing/api.py`` checks that the names, signatures and
return types of DESIGN.md's Client contract hold. pytest never collects this
file (it is not named ``test_*.py``), and nothing here talks to a network.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import aiohttp

from omeda_async import (
    ApiError,
    CustomerAndOrder,
    CustomerMergedError,
    MalformedResponseError,
    MarketingClass,
    OmedaClient,
    OrderIssueHistory,
    OrderReceipt,
    OrderRecord,
    Outcome,
    PaymentStatus,
    PollPolicy,
    ProcessorResult,
    RateLimitedError,
    RetryPolicy,
    ScaledClock,
    StatusCode,
    SubmissionOutcomeUnknown,
    SubmissionReceipt,
    TrackingCounts,
    TrackingResult,
    Transaction,
    TransactionPoller,
    TransportError,
)


async def configure() -> None:
    client = OmedaClient(
        brand="ABC",
        app_id="app",
        input_id="input",
        environment="production",
        timeout=10.0,
        rate_limit=5.0,
        retry=RetryPolicy(max_attempts=3),
        clock=ScaledClock(100),
        max_response_size=1 << 20,
    )
    await client.close()
    async with (
        aiohttp.ClientSession() as session,
        OmedaClient(brand="ABC", session=session, base_url="http://127.0.0.1:1") as c,
    ):
        brand: str = c.brand
        closed: bool = c.closed
        del brand, closed
    from_env: OmedaClient = OmedaClient.from_env(brand="XYZ", rate_limit=None)
    await from_env.close()


async def submit(client: OmedaClient) -> int:
    try:
        receipt: SubmissionReceipt = await client.store_customer_and_order(
            {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]},
            input_id="other",
        )
    except CustomerMergedError as merged:
        into: int = merged.merged_into_customer_id
        was: int | None = merged.customer_id
        return into + (was or 0)
    except SubmissionOutcomeUnknown as unknown:
        service: str = unknown.service
        return len(service)
    processed: SubmissionReceipt = await client.store_customer_and_order(
        CustomerAndOrder(first_name="Jane", run_processor=1)
    )
    customer_id: int | None = processed.customer_id
    encrypted: str | None = processed.encrypted_customer_id
    del customer_id, encrypted
    order: OrderReceipt = await client.add_order({"TransactionId": receipt.transaction_id})
    customer: int | None = order.customer_id
    return receipt.transaction_id + (customer or 0)


async def look_up(client: OmedaClient) -> None:
    try:
        transaction: Transaction = await client.get_transaction(5, retry=RetryPolicy.none())
    except RateLimitedError as limited:
        wait: float | None = limited.retry_after
        del wait
        return
    except (MalformedResponseError, TransportError, ApiError):
        return
    status: StatusCode = transaction.status
    errors: tuple[str, ...] = transaction.errors
    client_customer_id: str | None = transaction.client_customer_id
    del status, errors, client_customer_id

    history: OrderIssueHistory = await client.get_order_issue_history(12345, product_id=6)
    empty: bool = history.is_empty
    for product in history.products:
        product_id: int = product.product_id
        for order in product.orders:
            record: OrderRecord = order
            amount: Decimal | None = record.amount
            started: dt.datetime | None = record.start_issue_date
            payment: PaymentStatus | None = record.payment_status
            marketing: MarketingClass | None = record.marketing_class_id
            active: bool = marketing.is_active if marketing is not None else False
            del amount, started, payment, active, product_id
    del empty
    await client.get_order_issue_history("encrypted-id")


async def process(client: OmedaClient) -> list[ProcessorResult]:
    results: list[ProcessorResult] = await client.run_processor([1, 2, 3])
    return [r for r in results if r.succeeded or r.already_processed]


async def track(client: OmedaClient) -> Outcome:
    result: TrackingResult = await client.wait_for_transaction(
        5, timeout=60.0, policy=PollPolicy(initial_delay=1.0)
    )
    poller: TransactionPoller = client.poller(policy=PollPolicy.bulk(), max_in_flight=8)
    await poller.close()
    return result.outcome


async def serve(client: OmedaClient) -> int:
    """A poller for an app's lifetime: start, track, read, count, close."""
    poller: TransactionPoller = await client.poller(policy=PollPolicy(learn=False)).start()
    tracking = poller.track(5)
    counts: TrackingCounts = poller.counts()
    async for result in poller.results():
        assert result.transaction_id == tracking.transaction_id
        break
    await poller.close()
    return counts.held + counts.tracking
