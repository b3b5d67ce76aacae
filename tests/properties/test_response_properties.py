"""Answer properties: whatever Omeda (or a proxy) sends back, callers see only OmedaError.

Two layers: the ``from_response`` readers on any JSON value, and the whole path
through a real local server (aiohttp reading, size cap, JSON decoding, error
mapping, the readers) for arbitrary bytes, status codes and content types.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omeda_async import (
    MalformedResponseError,
    OmedaClient,
    OmedaError,
    RetryPolicy,
    SubmissionOutcomeUnknown,
)
from omeda_async.models import (
    IssueRecord,
    OrderIssueHistory,
    OrderReceipt,
    OrderRecord,
    ProcessorResult,
    ProductOrderHistory,
    SubmissionReceipt,
    Transaction,
)

TEXT = st.text(max_size=10)
KEYS = st.sampled_from(
    ["ResponseInfo", "TransactionId", "Status", "Url", "OrderId", "CustomerId", "Errors", "Error",
     "SubmissionId", "OmedaCustomerId", "Products", "Orders", "Issues", "BatchStatus",
     "TransactionStatusId", "Success", "MergedIntoCustomerId", "OmedaProductId", "IssueDate"]
)  # fmt: skip
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS | TEXT, inner, max_size=4),
    max_leaves=20,
)
READERS = (
    SubmissionReceipt.from_response,
    OrderReceipt.from_response,
    Transaction.from_response,
    IssueRecord.from_response,
    OrderRecord.from_response,
    ProductOrderHistory.from_response,
    OrderIssueHistory.from_response,
    ProcessorResult.from_response,
    ProcessorResult.from_batch,
)


@settings(max_examples=300, deadline=None)
@given(JSON, st.integers(100, 599))
def test_readers_raise_only_omeda_errors(data: Any, status: int) -> None:
    """Every response reader returns its model or raises MalformedResponseError, for any JSON."""
    for read in READERS:
        try:
            read(data, status=status)
        except MalformedResponseError as exc:
            failure = exc  # anything else escapes and fails the test
        else:
            continue
        # Only ever "this answer is malformed", with the status it came with.
        assert type(failure) is MalformedResponseError
        assert failure.status == status
        assert str(failure).startswith("malformed ")
        assert f"(HTTP {status}): " in str(failure)


@attrs.define
class _Script:
    """What the local server answers next."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None


BODIES = (
    st.binary(max_size=200)
    | JSON.map(lambda value: json.dumps(value).encode())
    | JSON.map(lambda value: json.dumps(value).encode()[:-1])
)
CONTENT_TYPES = st.none() | st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/html", "text/plain",
     "application/problem+json", "application/octet-stream", "text/json"]
)  # fmt: skip
# No 1xx: an informational status is not a final answer a server may send here.
STATUSES = st.integers(200, 599)


def test_whole_answer_path_raises_only_omeda_errors() -> None:
    """Real HTTP answers of any status, type and bytes: every service gives OmedaError only."""
    script = _Script()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        await request.read()
        body = b"" if script.status in (204, 304) else script.body
        headers = {} if script.content_type is None else {"Content-Type": script.content_type}
        return web.Response(status=script.status, body=body, headers=headers)

    with asyncio.Runner() as runner:

        async def start() -> tuple[web.ServerRunner, OmedaClient]:
            server = web.ServerRunner(web.Server(handler), handle_signals=False)
            await server.setup()
            site = web.TCPSite(server, "127.0.0.1", 0)
            await site.start()
            port = server.addresses[0][1]
            client = OmedaClient(
                brand="PROPS",
                app_id="prop-app-id-0001",
                input_id="prop-input-0001",
                base_url=f"http://127.0.0.1:{port}",
                retry=RetryPolicy.none(),
                timeout=5.0,
                max_response_size=150,
            )
            return server, client

        server, client = runner.run(start())

        unknown: list[SubmissionOutcomeUnknown] = []

        async def every_service() -> None:
            calls = (
                lambda: client.get_transaction(12345, retry=RetryPolicy.none()),
                lambda: client.store_customer_and_order({"FirstName": "Ann"}),
                lambda: client.add_order(
                    {"OmedaCustomerId": 5, "Products": [{"OmedaProductId": 7}]}
                ),
                lambda: client.get_order_issue_history(5),
                lambda: client.run_processor([1, 2]),
            )
            for call in calls:
                try:
                    await call()
                except SubmissionOutcomeUnknown as exc:
                    unknown.append(exc)
                except OmedaError:
                    pass  # the property: nothing but OmedaError escapes

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(STATUSES, BODIES, CONTENT_TYPES)
        def check(status: int, body: bytes, content_type: str | None) -> None:
            script.status, script.body, script.content_type = status, body, content_type
            runner.run(every_service())

        try:
            check()
            # A POST whose outcome is unknown carries the payload to reconcile.
            assert all(exc.payload is not None for exc in unknown)
        finally:
            runner.run(client.close())
            runner.run(server.cleanup())
