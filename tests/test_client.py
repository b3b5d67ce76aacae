"""OmedaClient over aioresponses: paths, headers, errors, retries, lifecycle, secrets."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import CallbackResult
from yarl import URL

from omeda_async import (
    AuthenticationError,
    BadRequestError,
    CustomerMergedError,
    MalformedResponseError,
    MethodNotAllowedError,
    NotFoundError,
    OmedaClient,
    Order,
    OrderIssueHistory,
    OrderReceipt,
    Outcome,
    PayloadValidationError,
    PendingDeactivationError,
    PollPolicy,
    ProcessorResult,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    StatusCode,
    SubmissionOutcomeUnknown,
    SubmissionReceipt,
    TransactionPoller,
    TransportError,
)
from omeda_async.models import from_dict
from tests.support import MockedHttp, VirtualClock, reply

APP_ID = "app-SECRET-1234"
INPUT_ID = "input-SECRET-5678"
STAGING = "https://ows.omedastaging.com/webservices/rest/brand/ABC"
PRODUCTION = "https://ows.omeda.com/webservices/rest/brand/ABC"
STORE = f"{STAGING}/storecustomerandorder/*"
ORDERS = f"{STAGING}/orderqueue/*"
RUN = f"{STAGING}/runprocessor/*"
PAYLOAD: dict[str, Any] = {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]}
ORDER: dict[str, Any] = {"OmedaCustomerId": 5, "Products": [{"OmedaProductId": 7}]}
RECEIPT = {"ResponseInfo": [{"TransactionId": 8907512, "Url": f"{STAGING}/transaction/8907512/*"}]}
ORDER_RECEIPT = {"ResponseInfo": [{"OrderId": 12349, "Url": f"{STAGING}/order/12349/*"}]}


def tx(transaction_id: int = 7) -> str:
    return f"{STAGING}/transaction/{transaction_id}/*"


# --- test doubles -------------------------------------------------------------------


ClientFactory = Callable[..., OmedaClient]


@pytest.fixture
async def make_client(clock: VirtualClock) -> AsyncIterator[ClientFactory]:
    made: list[OmedaClient] = []

    def make(**overrides: Any) -> OmedaClient:
        options: dict[str, Any] = {
            "brand": "ABC",
            "app_id": APP_ID,
            "input_id": INPUT_ID,
            "clock": clock,
            "retry": RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0),
        }
        options.update(overrides)
        client = OmedaClient(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> OmedaClient:
    return make_client()


def connector_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("ows.omedastaging.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def errors(*messages: str, **extra: Any) -> dict[str, Any]:
    return {"SubmissionId": "sub-1", "Errors": [{"Error": m} for m in messages], **extra}


# --- services: paths, methods, headers, bodies --------------------------------------


async def test_store_customer_and_order(http: MockedHttp, client: OmedaClient) -> None:
    """POST storecustomerandorder with app id, input id, JSON body; returns the receipt."""
    http.post(STORE, payload=RECEIPT)
    receipt = await client.store_customer_and_order(PAYLOAD)
    assert receipt == SubmissionReceipt(
        transaction_id=8907512, url=f"{STAGING}/transaction/8907512/*"
    )
    (call,) = http.calls("POST", STORE)
    assert call.kwargs["headers"]["x-omeda-appid"] == APP_ID
    assert call.kwargs["headers"]["x-omeda-inputid"] == INPUT_ID
    assert call.kwargs["headers"]["content-type"] == "application/json"
    assert json.loads(call.kwargs["data"]) == PAYLOAD


async def test_store_per_call_input_id_overrides(http: MockedHttp, client: OmedaClient) -> None:
    """A call's input_id replaces the client's for that request only."""
    http.post(STORE, payload=RECEIPT, repeat=True)
    await client.store_customer_and_order(PAYLOAD, input_id="other-input")
    await client.store_customer_and_order(PAYLOAD)
    first, second = http.calls("POST", STORE)
    assert first.kwargs["headers"]["x-omeda-inputid"] == "other-input"
    assert second.kwargs["headers"]["x-omeda-inputid"] == INPUT_ID


async def test_store_without_any_input_id_is_refused_before_sending(
    http: MockedHttp, make_client: ClientFactory
) -> None:
    """storecustomerandorder needs an input id: a clear ValueError, nothing sent."""
    client = make_client(input_id=None)
    with pytest.raises(ValueError, match=r"input_id.*OMEDA_INPUT_ID"):
        await client.store_customer_and_order(PAYLOAD)
    assert http.total() == 0


async def test_invalid_payload_is_refused_before_sending(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A payload breaking a documented rule raises PayloadValidationError; nothing sent."""
    with pytest.raises(PayloadValidationError):
        await client.store_customer_and_order({"FirstName": "Jane", "Emials": []})
    assert http.total() == 0


@pytest.mark.parametrize("bad", ["", "has space", "line\nbreak", 5])
async def test_per_call_input_id_is_validated(
    http: MockedHttp, client: OmedaClient, bad: Any
) -> None:
    """A per-call input id is checked like the constructor's (no header smuggling)."""
    with pytest.raises((ValueError, TypeError)) as caught:
        await client.store_customer_and_order(PAYLOAD, input_id=bad)
    assert "input_id" in str(caught.value)
    assert http.total() == 0


async def test_add_order_without_input_id_sends_no_header(
    http: MockedHttp, make_client: ClientFactory
) -> None:
    """orderqueue's input id is optional: no x-omeda-inputid when none is set."""
    http.post(ORDERS, payload=ORDER_RECEIPT)
    client = make_client(input_id=None)
    receipt = await client.add_order(ORDER)
    assert receipt == OrderReceipt(order_id=12349, url=f"{STAGING}/order/12349/*")
    (call,) = http.calls("POST", ORDERS)
    assert "x-omeda-inputid" not in call.kwargs["headers"]
    assert call.kwargs["headers"]["x-omeda-appid"] == APP_ID
    assert json.loads(call.kwargs["data"]) == ORDER


async def test_add_order_input_ids(http: MockedHttp, client: OmedaClient) -> None:
    """orderqueue sends the client's input id, or the call's override."""
    http.post(ORDERS, payload=ORDER_RECEIPT, repeat=True)
    await client.add_order(ORDER)
    await client.add_order(ORDER, input_id="per-call")
    first, second = http.calls("POST", ORDERS)
    assert first.kwargs["headers"]["x-omeda-inputid"] == INPUT_ID
    assert second.kwargs["headers"]["x-omeda-inputid"] == "per-call"


async def test_get_transaction_path_and_repeated_errors(
    http: MockedHttp, client: OmedaClient
) -> None:
    """GET transaction/{id}/*; both "Error" values of one object reach .errors."""
    http.get(
        tx(42355632),
        body='{"TransactionId":42355632,"Status":2,"ClientCustomerId":1293401,'
        '"Errors":[{"Error":"invalid email","Error":"vulgarity"}]}',
    )
    transaction = await client.get_transaction(42355632)
    assert transaction.status is StatusCode.CUSTOMER_HAS_EXCESSIVE_ERRORS
    assert transaction.errors == ("invalid email", "vulgarity")
    (call,) = http.calls("GET", tx(42355632))
    assert call.kwargs["headers"]["x-omeda-appid"] == APP_ID
    assert "x-omeda-inputid" not in call.kwargs["headers"]


async def test_production_environment_uses_production_host(
    http: MockedHttp, make_client: ClientFactory
) -> None:
    """environment="production" talks to ows.omeda.com."""
    http.get(f"{PRODUCTION}/transaction/1/*", payload={"TransactionId": 1, "Status": 0})
    client = make_client(environment="production")
    assert client.base_url == "https://ows.omeda.com"
    assert (await client.get_transaction(1)).transaction_id == 1


async def test_base_url_overrides_environment(http: MockedHttp, make_client: ClientFactory) -> None:
    """base_url (a proxy, the fake server) replaces the environment's host, path kept."""
    url = "https://proxy.example/omeda/webservices/rest/brand/ABC/transaction/1/*"
    http.get(url, payload={"TransactionId": 1, "Status": 0})
    client = make_client(environment="production", base_url="https://proxy.example/omeda/")
    await client.get_transaction(1)
    assert len(http.calls("GET", url)) == 1


async def test_order_issue_history_paths(http: MockedHttp, client: OmedaClient) -> None:
    """The customer path, and the product path when product_id is given."""
    body = {"Customer": "c", "SubmissionId": "s", "OrderHistory": [{"ProductId": 6, "Orders": []}]}
    http.get(f"{STAGING}/customer/12345/orderissuehistory/*", payload=body)
    http.get(f"{STAGING}/customer/12345/orderissuehistory/product/6/*", payload=body)
    everything = await client.get_order_issue_history(12345)
    one = await client.get_order_issue_history(12345, product_id=6)
    assert everything.products[0].product_id == 6 == one.products[0].product_id


async def test_encrypted_customer_id_is_url_quoted(http: MockedHttp, client: OmedaClient) -> None:
    """An encrypted customer id (a string) is quoted into one path segment."""
    http.get(
        f"{STAGING}/customer/Ab%2FC%2B%3D/orderissuehistory/*",
        payload={"OrderHistory": []},
    )
    history = await client.get_order_issue_history("Ab/C+=")
    assert history.is_empty


@pytest.mark.parametrize(
    "message", ["No purchases found for customer 12345.", "No Purchases found for customer 12345."]
)
async def test_no_purchases_is_an_empty_history(
    http: MockedHttp, client: OmedaClient, message: str
) -> None:
    """Omeda's "No purchases found" 404 (any case) is an empty history with its SubmissionId."""
    http.get(f"{STAGING}/customer/12345/orderissuehistory/*", status=404, payload=errors(message))
    history = await client.get_order_issue_history(12345)
    assert history == OrderIssueHistory(submission_id="sub-1")
    assert history.is_empty


async def test_other_404_on_history_is_not_found(http: MockedHttp, client: OmedaClient) -> None:
    """Any other 404 (a bad URL, an unknown customer) is NotFoundError."""
    http.get(
        f"{STAGING}/customer/12345/orderissuehistory/*",
        status=404,
        payload=errors("Customer 12345 not found."),
    )
    with pytest.raises(NotFoundError):
        await client.get_order_issue_history(12345)


# --- error branches through the client ----------------------------------------------


async def test_400_plain(http: MockedHttp, client: OmedaClient) -> None:
    """A 400 is BadRequestError with every message and the SubmissionId."""
    http.post(
        STORE,
        status=400,
        payload=errors("The ShippingAddressId 112 does not belong to the Customer submitted"),
    )
    with pytest.raises(BadRequestError) as caught:
        await client.store_customer_and_order(PAYLOAD)
    assert type(caught.value) is BadRequestError
    assert caught.value.errors == (
        "The ShippingAddressId 112 does not belong to the Customer submitted",
    )
    assert caught.value.submission_id == "sub-1"


async def test_400_merged_customer(http: MockedHttp, client: OmedaClient) -> None:
    """The page's merged-customer answer is CustomerMergedError(22 -> 99999)."""
    http.post(
        ORDERS,
        status=400,
        payload={
            "SubmissionId": "2da476ca-9ae6-4b4a-a77c-4aafbd275028",
            "Errors": [
                {
                    "MergedIntoCustomerId": 99999,
                    "Error": "Customer id 22 is valid but not active. Please use 99999.",
                }
            ],
        },
    )
    with pytest.raises(CustomerMergedError) as caught:
        await client.add_order(ORDER)
    assert (caught.value.customer_id, caught.value.merged_into_customer_id) == (22, 99999)


MERGED_ANSWER = {
    "SubmissionId": "2da476ca-9ae6-4b4a-a77c-4aafbd275028",
    "Errors": [
        {
            "MergedIntoCustomerId": 99999,
            "Error": "Customer id 22 is valid but not active. Please use 99999.",
        }
    ],
}


async def test_404_merged_customer_keeps_its_ids_and_stays_not_found(
    http: MockedHttp, client: OmedaClient
) -> None:
    """Omeda's own clients meet MergedIntoCustomerId on a 404: both ids survive."""
    http.post(STORE, status=404, payload=MERGED_ANSWER)
    http.post(ORDERS, status=404, payload=MERGED_ANSWER)
    with pytest.raises(CustomerMergedError) as caught:
        await client.store_customer_and_order({**PAYLOAD, "OmedaCustomerId": 22})
    assert (caught.value.customer_id, caught.value.merged_into_customer_id) == (22, 99999)
    assert caught.value.status == 404
    # Still what a 404 was before: code that caught NotFoundError keeps catching it.
    with pytest.raises(NotFoundError) as also:
        await client.add_order(ORDER)
    assert isinstance(also.value, CustomerMergedError)
    assert also.value.merged_into_customer_id == 99999
    assert len(http.calls("POST", STORE)) == len(http.calls("POST", ORDERS)) == 1


async def test_run_processor_submission_reads_the_customer_ids(
    http: MockedHttp, client: OmedaClient
) -> None:
    """RunProcessor 1 is sent; CustomerId and EncryptedCustomerId come back on the receipt."""
    http.post(
        STORE,
        payload={
            "ResponseInfo": [
                {
                    "TransactionId": 8907512,
                    "CustomerId": 1234567,
                    "EncryptedCustomerId": "2477E5015323A3D",
                    "Url": f"{STAGING}/transaction/8907512/*",
                }
            ]
        },
    )
    receipt = await client.store_customer_and_order({**PAYLOAD, "RunProcessor": 1})
    assert (receipt.transaction_id, receipt.customer_id, receipt.encrypted_customer_id) == (
        8907512,
        1234567,
        "2477E5015323A3D",
    )
    (call,) = http.calls("POST", STORE)
    assert json.loads(call.kwargs["data"])["RunProcessor"] == 1


async def test_receipt_without_customer_ids_has_none(http: MockedHttp, client: OmedaClient) -> None:
    """Without RunProcessor the receipt's customer fields are None."""
    http.post(STORE, payload=RECEIPT)
    receipt = await client.store_customer_and_order(PAYLOAD)
    assert (receipt.customer_id, receipt.encrypted_customer_id) == (None, None)


@pytest.mark.parametrize("transaction_id", [0, -5, "0", 2**63, str(2**64), "9" * 5000])
async def test_receipt_without_a_usable_transaction_id_is_an_unknown_outcome(
    http: MockedHttp, client: OmedaClient, transaction_id: Any
) -> None:
    """TransactionId 0, negative or past 64 bits: no receipt; the POST may be queued."""
    http.post(STORE, payload={"ResponseInfo": [{"TransactionId": transaction_id}]})
    http.post(ORDERS, payload={"ResponseInfo": [{"OrderId": transaction_id}]})
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await client.store_customer_and_order(PAYLOAD)
    assert isinstance(caught.value.__cause__, MalformedResponseError)
    assert "positive 64-bit" in str(caught.value) or "integer" in str(caught.value)
    with pytest.raises(SubmissionOutcomeUnknown):
        await client.add_order(ORDER)
    assert len(http.calls("POST", STORE)) == 1  # never resent


async def test_history_reads_every_date_format_of_page_003(
    http: MockedHttp, client: OmedaClient
) -> None:
    """yyyy-MM-dd, yyyy-MM-dd HH:mm:ss and yyyy-MM-dd HH:mm:ss.S, mixed as in page 003."""
    order = {
        "VerificationDate": "2012-09-24",
        "StartIssueDate": "2014-08-02 00:00:00",
        "OrderDate": "2020-09-24 11:17:00.0",
        "ChangedDate": "2023-07-17 11:21:55.123",
        "GiftSentDate": "2020-09-24T11:17:05",
    }
    http.get(
        f"{STAGING}/customer/5/orderissuehistory/*",
        payload={
            "Customer": f"{STAGING}/customer/5/*",
            "OrderHistory": [
                {
                    "ProductId": 6,
                    "Orders": [order],
                    "Issues": [{"IssueDate": "2014-09-02 00:00:00.0"}],
                }
            ],
        },
    )
    history = await client.get_order_issue_history(5)
    (product,) = history.products
    (record,) = product.orders
    assert record.verification_date == dt.datetime(2012, 9, 24)
    assert record.start_issue_date == dt.datetime(2014, 8, 2)
    assert record.order_date == dt.datetime(2020, 9, 24, 11, 17)
    assert record.changed_date == dt.datetime(2023, 7, 17, 11, 21, 55, 123000)
    assert record.gift_sent_date == dt.datetime(2020, 9, 24, 11, 17, 5)
    assert product.issues[0].issue_date == dt.datetime(2014, 9, 2)


async def test_error_body_read_whatever_its_content_type(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A JSON error labelled text/plain still yields its messages and merged id."""
    http.post(
        STORE,
        status=400,
        body=json.dumps({"Errors": [{"MergedIntoCustomerId": 9, "Error": "Customer id 3 ..."}]}),
        content_type="text/plain",
    )
    with pytest.raises(CustomerMergedError) as caught:
        await client.store_customer_and_order(PAYLOAD)
    assert (caught.value.customer_id, caught.value.merged_into_customer_id) == (3, 9)


async def test_400_pending_deactivation(http: MockedHttp, client: OmedaClient) -> None:
    """ "pending deactivation. Please try again later." is PendingDeactivationError."""
    http.post(
        STORE,
        status=400,
        payload=errors("OmedaCustomerId 5 is pending deactivation. Please try again later."),
    )
    with pytest.raises(PendingDeactivationError):
        await client.store_customer_and_order(PAYLOAD)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(403, AuthenticationError), (404, NotFoundError), (405, MethodNotAllowedError)],
)
async def test_403_404_405_on_lookup(
    http: MockedHttp, client: OmedaClient, status: int, kind: type[Exception]
) -> None:
    """Each maps to its class, asked once (never retried)."""
    http.get(tx(), status=status, payload=errors("nope"), repeat=True)
    with pytest.raises(kind):
        await client.get_transaction(7)
    assert len(http.calls("GET", tx())) == 1


async def test_404_lookup_keeps_message_and_submission_id(
    http: MockedHttp, client: OmedaClient
) -> None:
    """The page's unsuccessful lookup: NotFoundError with its message and SubmissionId."""
    http.get(
        tx(55973543453),
        status=404,
        payload={
            "Errors": [{"Error": "No status found for transaction 55973543453."}],
            "SubmissionId": "40078f34-7f99-416b-9635-1d63242ef3fd",
        },
    )
    with pytest.raises(NotFoundError) as caught:
        await client.get_transaction(55973543453)
    assert caught.value.errors == ("No status found for transaction 55973543453.",)
    assert caught.value.submission_id == "40078f34-7f99-416b-9635-1d63242ef3fd"


async def test_429_retry_after_seconds(
    http: MockedHttp, client: OmedaClient, clock: VirtualClock
) -> None:
    """A 429 with Retry-After: 20 waits 20 clock seconds (over max_delay), then succeeds."""
    http.get(tx(), status=429, payload={}, headers={"Retry-After": "20"})
    http.get(tx(), payload={"TransactionId": 7, "Status": 0})
    assert (await client.get_transaction(7)).status is StatusCode.LOADED_INTO_STAGING
    assert clock.sleeps == [20.0]


async def test_429_retry_after_http_date(
    http: MockedHttp, client: OmedaClient, clock: VirtualClock
) -> None:
    """A 429 with an HTTP-date Retry-After waits until that date."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    http.get(
        tx(),
        status=429,
        payload={},
        headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )
    http.get(tx(), payload={"TransactionId": 7, "Status": 0})
    await client.get_transaction(7)
    (slept,) = clock.sleeps
    assert 50.0 <= slept <= 60.0


async def test_429_exhausted_raises_rate_limited(http: MockedHttp, client: OmedaClient) -> None:
    """When every attempt is rate limited, RateLimitedError (with retry_after) is raised."""
    http.get(tx(), status=429, payload={}, headers={"Retry-After": "2"}, repeat=True)
    with pytest.raises(RateLimitedError) as caught:
        await client.get_transaction(7)
    assert caught.value.retry_after == 2.0
    assert len(http.calls("GET", tx())) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_get_5xx_retried_then_succeeds(
    http: MockedHttp, client: OmedaClient, status: int
) -> None:
    """A lookup answered 5xx is asked again and the good answer returned."""
    http.get(tx(), status=status, payload={})
    http.get(tx(), payload={"TransactionId": 7, "Status": 100})
    assert (await client.get_transaction(7)).status.is_terminal
    assert len(http.calls("GET", tx())) == 2


async def test_get_transaction_retry_none_is_one_attempt(
    http: MockedHttp, client: OmedaClient
) -> None:
    """retry=RetryPolicy.none() (the poller's choice) means exactly one request."""
    http.get(tx(), status=503, payload={}, headers={"Retry-After": "5"}, repeat=True)
    with pytest.raises(ServerError) as caught:
        await client.get_transaction(7, retry=RetryPolicy.none())
    assert caught.value.retry_after == 5.0
    assert len(http.calls("GET", tx())) == 1


async def test_post_503_retried(http: MockedHttp, client: OmedaClient) -> None:
    """A submission turned away with 503 is sent again and its receipt returned."""
    http.post(STORE, status=503, payload={})
    http.post(STORE, payload=RECEIPT)
    assert (await client.store_customer_and_order(PAYLOAD)).transaction_id == 8907512
    assert len(http.calls("POST", STORE)) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_post_5xx_not_retried_outcome_unknown(
    http: MockedHttp, client: OmedaClient, status: int
) -> None:
    """A submission answered 500/502/504 is SubmissionOutcomeUnknown carrying the payload."""
    http.post(STORE, status=status, payload=errors("boom"), repeat=True)
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await client.store_customer_and_order(PAYLOAD)
    assert caught.value.payload is PAYLOAD
    assert caught.value.service == "storecustomerandorder"
    assert len(http.calls("POST", STORE)) == 1


async def test_post_after_server_disconnect_outcome_unknown(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A dropped connection after an Add Order was sent: outcome unknown, not resent."""
    http.post(ORDERS, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await client.add_order(ORDER)
    assert caught.value.payload is ORDER
    assert caught.value.service == "orderqueue"
    assert len(http.calls("POST", ORDERS)) == 1


async def test_post_connect_refused_retried(http: MockedHttp, client: OmedaClient) -> None:
    """A refused connection never queued anything: the submission is sent again."""
    http.post(STORE, exception=connector_error())
    http.post(STORE, payload=RECEIPT)
    assert (await client.store_customer_and_order(PAYLOAD)).transaction_id == 8907512
    assert len(http.calls("POST", STORE)) == 2


async def test_get_transport_error_exhausted(http: MockedHttp, client: OmedaClient) -> None:
    """A lookup whose every attempt drops raises TransportError(sent=True)."""
    http.get(tx(), exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(TransportError) as caught:
        await client.get_transaction(7)
    assert caught.value.sent is True
    assert len(http.calls("GET", tx())) == 3


async def test_html_body(http: MockedHttp, client: OmedaClient) -> None:
    """A 200 HTML page on a lookup is MalformedResponseError naming status and type."""
    http.get(tx(), body="<html>hi</html>", content_type="text/html", repeat=True)
    with pytest.raises(MalformedResponseError) as caught:
        await client.get_transaction(7)
    assert caught.value.status == 200
    assert caught.value.content_type == "text/html"


async def test_truncated_json(http: MockedHttp, client: OmedaClient) -> None:
    """Truncated JSON on a lookup is MalformedResponseError."""
    http.get(tx(), body='{"TransactionId": 7, "Sta', repeat=True)
    with pytest.raises(MalformedResponseError):
        await client.get_transaction(7)


async def test_wrong_shape_on_lookup(http: MockedHttp, client: OmedaClient) -> None:
    """Valid JSON without a Status is MalformedResponseError naming the key."""
    http.get(tx(), payload={"TransactionId": 7}, repeat=True)
    with pytest.raises(MalformedResponseError, match="Status"):
        await client.get_transaction(7)


async def test_wrong_shape_on_submission_is_outcome_unknown(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A 200 to a submission without a TransactionId may hide a queued record."""
    http.post(STORE, payload={"ResponseInfo": [{"Url": "u"}]})
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await client.store_customer_and_order(PAYLOAD)
    assert isinstance(caught.value.__cause__, MalformedResponseError)
    assert "TransactionId" in str(caught.value)


async def test_oversize_answer(http: MockedHttp, make_client: ClientFactory) -> None:
    """An answer over max_response_size is refused."""
    http.get(
        tx(), body=json.dumps({"TransactionId": 7, "Status": 0, "Pad": "x" * 200}), repeat=True
    )
    client = make_client(max_response_size=100)
    with pytest.raises(MalformedResponseError, match="larger than 100 bytes"):
        await client.get_transaction(7)


# --- rate limit ---------------------------------------------------------------------


async def test_rate_limit_is_shared_by_every_service(
    http: MockedHttp, make_client: ClientFactory, clock: VirtualClock
) -> None:
    """One bucket for lookups, submissions and histories: 5 calls at 2/s take 2 s."""
    http.get(tx(), payload={"TransactionId": 7, "Status": 0}, repeat=True)
    http.post(STORE, payload=RECEIPT, repeat=True)
    http.post(ORDERS, payload=ORDER_RECEIPT)
    http.get(f"{STAGING}/customer/1/orderissuehistory/*", payload={"OrderHistory": []})
    client = make_client(rate_limit=2)
    start = clock.now()
    await asyncio.gather(
        client.get_transaction(7),
        client.store_customer_and_order(PAYLOAD),
        client.add_order(ORDER),
        client.get_order_issue_history(1),
        client.get_transaction(7),
    )
    assert clock.now() - start == pytest.approx(2.0)
    assert sorted(clock.sleeps) == pytest.approx([0.5, 1.0, 1.5, 2.0])


async def test_no_rate_limit_by_default(
    http: MockedHttp, client: OmedaClient, clock: VirtualClock
) -> None:
    """rate_limit=None: requests never wait."""
    http.get(tx(), payload={"TransactionId": 7, "Status": 0}, repeat=True)
    for _ in range(5):
        await client.get_transaction(7)
    assert clock.sleeps == []


# --- run processor ------------------------------------------------------------------


def processor_server(
    *,
    unknown: frozenset[int] = frozenset(),
    processed: frozenset[int] = frozenset(),
    omatch: frozenset[int] = frozenset(),
    name_ids: bool = True,
) -> tuple[Callable[..., CallbackResult], list[list[int]]]:
    """An all-or-nothing Run Processor: any bad id fails the whole batch."""
    batches: list[list[int]] = []

    def callback(url: URL, **kwargs: Any) -> CallbackResult:
        ids = json.loads(kwargs["data"])["Process"][0]["TransactionId"]
        batches.append(ids)
        bad = [i for i in ids if i in unknown]
        if bad:
            text = f"No status found for transaction {bad[0]}." if name_ids else "Not found."
            return reply(404, errors(text))
        done = [i for i in ids if i in processed]
        if done:
            return reply(403, errors(f"Transaction {done[0]} has already been processed."))
        if any(i in omatch for i in ids):
            return reply(400, errors("The input's flow includes Omatch."))
        return reply(
            200,
            {
                "BatchStatus": [
                    {
                        "TransactionId": i,
                        "OmedaCustomerId": 1000 + i,
                        "TransactionStatusId": 100,
                        "Success": "true",
                    }
                    for i in ids
                ],
                "SubmissionId": "s",
            },
        )

    return callback, batches


async def test_run_processor_one_batch(http: MockedHttp, client: OmedaClient) -> None:
    """A clean batch is one POST with the documented body; one result per id, in order."""
    callback, batches = processor_server()
    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor([3, 1, 2])
    assert batches == [[3, 1, 2]]
    assert [r.transaction_id for r in results] == [3, 1, 2]
    assert all(r.succeeded and r.status is StatusCode(100) for r in results)
    assert results[0].omeda_customer_id == 1003
    (call,) = http.calls("POST", RUN)
    assert json.loads(call.kwargs["data"]) == {"Process": [{"TransactionId": [3, 1, 2]}]}
    assert call.kwargs["headers"]["x-omeda-appid"] == APP_ID


async def test_run_processor_unknown_id_named_in_message(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A 404 naming one id: that id fails, the rest are processed in one more batch."""
    callback, batches = processor_server(unknown=frozenset({3}))
    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor([1, 2, 3, 4])
    assert [r.succeeded for r in results] == [True, True, False, True]
    assert results[2].message == "No status found for transaction 3."
    assert batches == [[1, 2, 3, 4], [1, 2, 4]]


async def test_run_processor_bisects_when_message_names_nobody(
    http: MockedHttp, client: OmedaClient
) -> None:
    """Without an id in the message the batch is split until the bad id stands alone."""
    callback, batches = processor_server(unknown=frozenset({6}), name_ids=False)
    http.post(RUN, callback=callback, repeat=True)
    ids = list(range(1, 9))
    results = await client.run_processor(ids)
    assert [r.transaction_id for r in results] == ids
    assert [r.succeeded for r in results] == [i != 6 for i in ids]
    assert [6] in batches
    assert len(batches) <= 2 * 3 + 1  # about 2 log2(n) extra requests, not n


async def test_run_processor_already_processed_counts_as_done(
    http: MockedHttp, client: OmedaClient
) -> None:
    """403 "already processed" is success with already_processed=True."""
    callback, batches = processor_server(processed=frozenset({2}))
    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor([1, 2])
    assert results[1] == ProcessorResult(
        transaction_id=2,
        succeeded=True,
        message="Transaction 2 has already been processed.",
        already_processed=True,
    )
    assert results[0].succeeded
    assert not results[0].already_processed
    assert batches == [[1, 2], [1]]


async def test_run_processor_many_named_failures_in_one_answer(
    http: MockedHttp, client: OmedaClient
) -> None:
    """An answer naming several processed ids settles them all; one rerun for the rest."""
    batches: list[list[int]] = []

    def callback(url: URL, **kwargs: Any) -> CallbackResult:
        ids = json.loads(kwargs["data"])["Process"][0]["TransactionId"]
        batches.append(ids)
        done = [i for i in ids if i % 2 == 0]
        if done:
            messages = [f"Transaction {i} has already been processed." for i in done]
            return reply(403, errors(*messages))
        return reply(200, [{"TransactionId": i, "Success": "true"} for i in ids])

    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor(range(1, 9))
    assert [r.already_processed for r in results] == [i % 2 == 0 for i in range(1, 9)]
    assert all(r.succeeded for r in results)
    assert results[1].message == "Transaction 2 has already been processed."
    assert batches == [list(range(1, 9)), [1, 3, 5, 7]]


async def test_run_processor_long_chain_of_named_failures(
    http: MockedHttp, client: OmedaClient
) -> None:
    """Hundreds of ids blamed one answer at a time: one rerun each, in a loop."""
    callback, batches = processor_server(unknown=frozenset(range(1, 301)))
    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor(range(1, 302))
    assert [r.succeeded for r in results] == [False] * 300 + [True]
    assert len(batches) == 301


async def test_run_processor_403_without_already_processed_is_auth_error(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A 403 that does not say "already processed" is bad credentials."""
    http.post(RUN, status=403, payload=errors("Invalid credentials."))
    with pytest.raises(AuthenticationError):
        await client.run_processor([1, 2])


async def test_run_processor_omatch_input_fails_each_id(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A 400 (input flow with Omatch) fails only the ids it concerns."""
    callback, _ = processor_server(omatch=frozenset({1}))
    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor([1, 2])
    assert not results[0].succeeded
    assert results[0].message is not None
    assert "Omatch" in results[0].message
    assert results[1].succeeded


async def test_run_processor_success_false_in_batch_is_isolated(
    http: MockedHttp, client: OmedaClient
) -> None:
    """A batch answering Success "false" for one id is split; that id alone fails."""

    def callback(url: URL, **kwargs: Any) -> CallbackResult:
        ids = json.loads(kwargs["data"])["Process"][0]["TransactionId"]
        return reply(
            200, [{"TransactionId": i, "Success": "false" if i == 2 else "true"} for i in ids]
        )

    http.post(RUN, callback=callback, repeat=True)
    results = await client.run_processor([1, 2, 3])
    assert [r.succeeded for r in results] == [True, False, True]


async def test_run_processor_duplicates_and_empty(http: MockedHttp, client: OmedaClient) -> None:
    """Duplicate ids are sent once but answered per position; no ids, no request."""
    callback, batches = processor_server()
    http.post(RUN, callback=callback, repeat=True)
    assert await client.run_processor([]) == []
    results = await client.run_processor([5, 5])
    assert batches == [[5]]
    assert [r.transaction_id for r in results] == [5, 5]


async def test_run_processor_retried_like_a_get(http: MockedHttp, client: OmedaClient) -> None:
    """Processing twice is harmless, so a 500 is retried."""
    callback, _batches = processor_server()
    http.post(RUN, status=500, payload={})
    http.post(RUN, callback=callback)
    results = await client.run_processor([1])
    assert results[0].succeeded


# --- lifecycle ----------------------------------------------------------------------


async def test_injected_session_is_not_closed(http: MockedHttp, clock: VirtualClock) -> None:
    """An injected aiohttp session is used and left open."""
    http.get(tx(), payload={"TransactionId": 7, "Status": 0})
    async with aiohttp.ClientSession() as session:
        async with OmedaClient(brand="ABC", app_id=APP_ID, session=session, clock=clock) as client:
            await client.get_transaction(7)
        assert client.closed
        assert not session.closed


async def test_close_is_idempotent(make_client: ClientFactory) -> None:
    """close() twice, or after the context manager, is harmless."""
    client = make_client()
    async with client:
        pass
    await client.close()
    await client.close()
    assert client.closed


CALLS: list[Callable[[OmedaClient], Any]] = [
    lambda c: c.store_customer_and_order(PAYLOAD),
    lambda c: c.add_order(ORDER),
    lambda c: c.get_transaction(1),
    lambda c: c.get_order_issue_history(1),
    lambda c: c.run_processor([1]),
    lambda c: c.wait_for_transaction(1),
    lambda c: c.__aenter__(),
]


@pytest.mark.parametrize("call", CALLS)
async def test_use_after_close_is_a_runtime_error(
    http: MockedHttp, make_client: ClientFactory, call: Callable[[OmedaClient], Any]
) -> None:
    """Every service, and re-entering, raises RuntimeError("... is closed") after close."""
    client = make_client()
    await client.close()
    with pytest.raises(RuntimeError, match="is closed"):
        await call(client)
    assert http.total() == 0


async def test_poller_after_close_is_a_runtime_error(make_client: ClientFactory) -> None:
    """poller() on a closed client raises at once."""
    client = make_client()
    await client.close()
    with pytest.raises(RuntimeError, match="is closed"):
        client.poller()


# --- tracking entry points ----------------------------------------------------------


async def test_poller_is_bound_to_the_client(client: OmedaClient) -> None:
    """poller() hands this client and the options to a TransactionPoller."""
    poller = client.poller(policy=PollPolicy(initial_delay=1.0), max_in_flight=3)
    assert isinstance(poller, TransactionPoller)
    await poller.close()


async def test_wait_for_transaction_until_terminal(http: MockedHttp, client: OmedaClient) -> None:
    """wait_for_transaction polls until a terminal status and reports its outcome."""
    http.get(tx(), payload={"TransactionId": 7, "Status": 29})
    http.get(tx(), payload={"TransactionId": 7, "Status": 100, "OmedaCustomerId": 9})
    result = await client.wait_for_transaction(7, policy=PollPolicy(initial_delay=1.0))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.status is StatusCode(100)
    assert len(http.calls("GET", tx())) == 2


async def test_wait_for_transaction_timeout_replaces_deadline(
    http: MockedHttp, client: OmedaClient, clock: VirtualClock
) -> None:
    """timeout= becomes the policy's deadline: a stuck record ends TIMED_OUT on time."""
    http.get(tx(), payload={"TransactionId": 7, "Status": 29}, repeat=True)
    policy = PollPolicy(initial_delay=1.0, jitter=False, deadline=7200.0)
    result = await client.wait_for_transaction(7, timeout=10.0, policy=policy)
    assert result.outcome is Outcome.TIMED_OUT
    assert clock.now() <= 10.0 + 1e-6
    assert 1 < len(http.calls("GET", tx())) < 10


async def test_submit_many_delegates_to_the_bulk_pipeline(
    http: MockedHttp, client: OmedaClient
) -> None:
    """submit_many runs the bulk pipeline with this client: one receipt per payload."""
    http.post(STORE, payload=RECEIPT, repeat=True)
    outcomes = [
        outcome
        async for outcome in client.submit_many(
            [PAYLOAD, {**PAYLOAD, "LastName": "Doe"}], kind="customer"
        )
    ]
    assert len(outcomes) == 2
    assert all(outcome.receipt == SubmissionReceipt.from_response(RECEIPT) for outcome in outcomes)


async def test_submit_many_sends_the_bytes_a_direct_call_sends(
    http: MockedHttp, client: OmedaClient
) -> None:
    """The body submit_many builds once per record is byte for byte a direct call's body."""
    http.post(STORE, payload=RECEIPT, repeat=True)
    http.post(ORDERS, payload=ORDER_RECEIPT, repeat=True)
    await client.store_customer_and_order(PAYLOAD)
    await client.add_order(ORDER)
    outcomes = [o async for o in client.submit_many([PAYLOAD, from_dict(Order, ORDER)])]
    assert all(o.error is None for o in outcomes)
    for url in (STORE, ORDERS):
        direct, bulk = http.calls("POST", url)
        assert isinstance(direct.kwargs["data"], bytes)
        assert bulk.kwargs["data"] == direct.kwargs["data"]
        assert dict(bulk.kwargs["headers"]) == dict(direct.kwargs["headers"])


# --- configuration, environment, secrets --------------------------------------------


def test_missing_app_id_names_argument_and_env_var() -> None:
    """No app id anywhere: ValueError naming app_id and OMEDA_APP_ID."""
    with pytest.raises(ValueError, match=r"app_id.*OMEDA_APP_ID"):
        OmedaClient(brand="ABC")


async def test_credentials_fall_back_to_environment(
    http: MockedHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OMEDA_APP_ID and OMEDA_INPUT_ID fill in missing credentials."""
    monkeypatch.setenv("OMEDA_APP_ID", "env-app")
    monkeypatch.setenv("OMEDA_INPUT_ID", "env-input")
    http.post(STORE, payload=RECEIPT)
    async with OmedaClient(brand="ABC", clock=VirtualClock()) as client:
        await client.store_customer_and_order(PAYLOAD)
    (call,) = http.calls("POST", STORE)
    assert call.kwargs["headers"]["x-omeda-appid"] == "env-app"
    assert call.kwargs["headers"]["x-omeda-inputid"] == "env-input"


async def test_from_env_reads_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env reads brand, environment, base URL and credentials; overrides win."""
    monkeypatch.setenv("OMEDA_APP_ID", "env-app")
    monkeypatch.setenv("OMEDA_BRAND", "XYZ")
    monkeypatch.setenv("OMEDA_ENVIRONMENT", "Production")
    client = OmedaClient.from_env()
    assert (client.brand, client.environment, client.base_url) == (
        "XYZ",
        "production",
        "https://ows.omeda.com",
    )
    monkeypatch.setenv("OMEDA_BASE_URL", "http://127.0.0.1:8080")
    other = OmedaClient.from_env(brand="OVR", timeout=3.0)
    assert (other.brand, other.base_url, other.timeout) == ("OVR", "http://127.0.0.1:8080", 3.0)
    await client.close()
    await other.close()


def test_from_env_without_brand(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env with no brand anywhere names brand and OMEDA_BRAND."""
    monkeypatch.setenv("OMEDA_APP_ID", "env-app")
    with pytest.raises(ValueError, match=r"brand.*OMEDA_BRAND"):
        OmedaClient.from_env()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"brand": ""}, ValueError, "brand"),
        ({"brand": "A B"}, ValueError, "brand"),
        ({"brand": "a/b"}, ValueError, "brand"),
        ({"brand": 5}, TypeError, "brand"),
        ({"app_id": ""}, ValueError, "app_id"),
        ({"app_id": "a\r\nx-evil: 1"}, ValueError, "app_id"),
        ({"input_id": "with space"}, ValueError, "input_id"),
        ({"environment": "prod"}, ValueError, "environment"),
        ({"base_url": "http://ows.omeda.com"}, ValueError, "allow_insecure"),
        ({"base_url": "ftp://127.0.0.1"}, ValueError, "base_url"),
        ({"base_url": "https://x.example/?q=1"}, ValueError, "base_url"),
        ({"base_url": "https://user:pw@x.example/"}, ValueError, "base_url"),
        ({"base_url": "not a url"}, ValueError, "base_url"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": "30"}, TypeError, "timeout"),
        ({"rate_limit": -1}, ValueError, "rate_limit"),
        ({"max_response_size": 0}, ValueError, "max_response_size"),
        ({"retry": 3}, TypeError, "retry"),
        ({"session": object()}, TypeError, "session"),
    ],
)
def test_bad_configuration_fails_fast(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    """Wrong configuration raises at construction with a message naming the option."""
    full = {"brand": "ABC", "app_id": APP_ID, **options}
    with pytest.raises(error, match=match) as caught:
        OmedaClient(**full)
    assert APP_ID not in str(caught.value)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080", "http://127.3.4.5", "http://localhost:1", "http://[::1]:9"],
)
async def test_plain_http_allowed_for_loopback(base_url: str) -> None:
    """Plain http is fine where the app id cannot leave the host."""
    client = OmedaClient(brand="ABC", app_id=APP_ID, base_url=base_url)
    assert client.base_url.startswith("http://")
    await client.close()


async def test_allow_insecure_permits_plain_http_elsewhere() -> None:
    """allow_insecure=True is the explicit escape hatch."""
    client = OmedaClient(
        brand="ABC", app_id=APP_ID, base_url="http://omeda.internal", allow_insecure=True
    )
    assert client.base_url == "http://omeda.internal"
    await client.close()


@pytest.mark.parametrize(
    ("value", "error"), [(True, TypeError), (0, ValueError), (-3, ValueError), ("5", TypeError),
                         (5.0, TypeError), (None, TypeError)],
)  # fmt: skip
async def test_bad_ids_fail_before_any_request(
    http: MockedHttp, client: OmedaClient, value: Any, error: type[Exception]
) -> None:
    """Transaction, customer and product ids must be positive ints (bool refused)."""
    with pytest.raises(error, match="transaction_id"):
        await client.get_transaction(value)
    if value is not None:  # product_id=None means "every product"
        with pytest.raises(error, match="product_id"):
            await client.get_order_issue_history(1, product_id=value)
    with pytest.raises(error, match="transaction_id"):
        await client.run_processor([1, value])
    if not isinstance(value, str):
        with pytest.raises(error, match="customer_id"):
            await client.get_order_issue_history(value)
    assert http.total() == 0


async def test_repr_never_shows_credentials(client: OmedaClient) -> None:
    """repr shows app_id='***' and input_id='***', never the values."""
    text = repr(client) + str(client)
    assert "app_id='***'" in text
    assert "input_id='***'" in text
    assert APP_ID not in text
    assert INPUT_ID not in text


async def test_errors_and_logs_never_show_credentials(
    http: MockedHttp, client: OmedaClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Exceptions (str, repr, chain) and log lines never carry the app id or input id."""
    echo = errors(f"Bad app id {APP_ID} for input {INPUT_ID}")
    http.get(tx(), status=403, payload=echo)
    http.post(STORE, status=500, payload=echo)
    http.post(ORDERS, exception=connector_error(), repeat=True)
    caught: list[BaseException] = []
    with caplog.at_level(logging.DEBUG, logger="omeda_async"):
        for call in (
            client.get_transaction(7),
            client.store_customer_and_order(PAYLOAD),
            client.add_order(ORDER),
        ):
            with pytest.raises(
                (AuthenticationError, SubmissionOutcomeUnknown, TransportError)
            ) as c:
                await call
            caught.append(c.value)
    texts = [r.getMessage() for r in caplog.records]
    for error in caught:
        chain: BaseException | None = error
        while chain is not None:
            texts += [str(chain), repr(chain), *map(str, getattr(chain, "errors", ()))]
            chain = chain.__cause__
    assert texts
    for text in texts:
        assert APP_ID not in text, text
        assert INPUT_ID not in text, text
    assert any(re.search(r"\*\*\*", t) for t in texts)
