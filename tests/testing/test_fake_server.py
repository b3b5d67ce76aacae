"""FakeOmeda over plain HTTP: paths, headers, answers, status paths, records."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import pytest

from omeda_async import Order, validate
from omeda_async.testing import SCENARIOS, FakeOmeda, Faults
from tests.models.page_examples import ADD_ORDER_EXAMPLE

if TYPE_CHECKING:
    from tests.testing.conftest import ManualClock, Raw

STORE = "/storecustomerandorder/*"
ORDER = "/orderqueue/*"


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


# --- paths, methods, headers -------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nothing/*",
        "/transaction/5",  # no trailing /*
        "/transaction//*",
        "/customer/5/orders/*",
        "/customer/5/orderissuehistory/product/*",
        "/storecustomerandorder/extra/*",
    ],
)
async def test_unknown_paths_answer_404_with_an_errors_body(raw: Raw, path: str) -> None:
    """A path the pages do not document is a 404 with Omeda's Errors body."""
    answer = await raw.get(path)
    assert answer.status == 404
    assert answer.errors()
    assert _is_uuid(answer.json()["SubmissionId"])


async def test_wrong_brand_is_404(raw: Raw) -> None:
    """Another brand's path is not found."""
    url = f"{raw.fake.url}/webservices/rest/brand/OTHER/transaction/1/*"
    answer = await raw.get(url, absolute=True)
    assert answer.status == 404
    assert answer.errors()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", STORE, "POST"),
        ("PUT", ORDER, "POST"),
        ("GET", "/runprocessor/*", "POST"),
        ("POST", "/transaction/1/*", "GET"),
        ("DELETE", "/customer/1/orderissuehistory/*", "GET"),
    ],
)
async def test_wrong_method_is_405(raw: Raw, method: str, path: str, allowed: str) -> None:
    """A known path with the wrong method is a 405 naming the allowed one."""
    answer = await raw.request(method, path, {})
    assert answer.status == 405
    assert answer.headers["Allow"] == allowed
    assert answer.errors()


@pytest.mark.parametrize("app_id", [None, "wrong-app-id"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", STORE), ("POST", ORDER), ("GET", "/transaction/1/*"), ("POST", "/runprocessor/*")],
)
async def test_missing_or_wrong_app_id_is_403(
    raw: Raw, method: str, path: str, app_id: str | None
) -> None:
    """Every service refuses a request without the right x-omeda-appid, without echoing it."""
    answer = await raw.request(method, path, {"FirstName": "J"}, headers=raw.headers(app_id=app_id))
    assert answer.status == 403
    assert answer.errors()
    assert "wrong-app-id" not in answer.text
    assert raw.fake.transactions == {}


async def test_missing_input_id_is_400_on_store_customer_and_order(raw: Raw) -> None:
    """storecustomerandorder requires x-omeda-inputid; nothing is queued without it."""
    answer = await raw.post(STORE, {"FirstName": "J"}, headers=raw.headers(input_id=None))
    assert answer.status == 400
    assert "x-omeda-inputid" in answer.errors()[0]
    assert raw.fake.transactions == {}


async def test_add_order_without_input_id_uses_the_default_input(raw: Raw) -> None:
    """orderqueue's input id is optional: the app id's default input is used."""
    body = {"OmedaCustomerId": 12, "Products": [{"OmedaProductId": 3}]}
    answer = await raw.post(ORDER, body, headers=raw.headers(input_id=None))
    assert answer.status == 200, answer.text
    (order,) = raw.fake.orders.values()
    assert order.input_id == raw.fake.input_id


async def test_unknown_input_id_is_400(raw: Raw) -> None:
    """An input id the brand does not have is refused, without echoing it."""
    answer = await raw.post(STORE, {"FirstName": "J"}, headers=raw.headers(input_id="nope-123"))
    assert answer.status == 400
    assert "nope-123" not in answer.text


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"{not json", b"", b"\xff\xfe"])
@pytest.mark.parametrize("path", [STORE, ORDER])
async def test_bodies_that_are_not_json_objects_are_400(raw: Raw, body: bytes, path: str) -> None:
    """A POST body must be a JSON object."""
    answer = await raw.post(path, raw_body=body)
    assert answer.status == 400
    assert answer.errors() == ["The request body must be a JSON object."]


# --- storecustomerandorder and Transaction Lookup ----------------------------------


async def test_submission_answers_the_documented_shape(raw: Raw) -> None:
    """ResponseInfo holds exactly TransactionId and its lookup Url."""
    answer = await raw.post(STORE, {"FirstName": "Jane"})
    assert answer.status == 200
    data = answer.json()
    assert list(data) == ["ResponseInfo"]
    (info,) = data["ResponseInfo"]
    assert list(info) == ["TransactionId", "Url"]
    transaction_id = info["TransactionId"]
    assert info["Url"] == (
        f"{raw.fake.url}/webservices/rest/brand/{raw.fake.brand}/transaction/{transaction_id}/*"
    )
    queued = raw.fake.transactions[transaction_id]
    assert queued.body == {"FirstName": "Jane"}
    assert queued.input_id == raw.fake.input_id
    assert queued.path is SCENARIOS["new_customer"]
    assert queued.created_at == raw.fake.clock.now()


async def test_lookup_answers_the_flat_documented_shape(raw: Raw) -> None:
    """A lookup is the page's flat form: TransactionId, Status, ..., SubmissionId."""
    transaction_id = await raw.submit({"FirstName": "J", "ClientCustomerId": 1293401})
    data = (await raw.lookup(transaction_id)).json()
    assert list(data) == ["TransactionId", "Status", "ClientCustomerId", "SubmissionId"]
    assert data["TransactionId"] == transaction_id
    assert data["Status"] == 7
    assert data["ClientCustomerId"] == 1293401
    assert _is_uuid(data["SubmissionId"])


async def test_unknown_transaction_is_404_with_the_documented_message(raw: Raw) -> None:
    """An unknown id answers as the page's unsuccessful example."""
    answer = await raw.lookup(55973543453)
    assert answer.status == 404
    data = answer.json()
    assert data["Errors"] == [{"Error": "No status found for transaction 55973543453."}]
    assert _is_uuid(data["SubmissionId"])


async def test_new_customer_walks_its_path_on_the_clock(raw: Raw, clock: ManualClock) -> None:
    """Lookups follow every step of new_customer; a fresh customer id shows from 30 on."""
    transaction_id = await raw.submit()
    scenario = SCENARIOS["new_customer"]
    seen = []
    for step in scenario.steps:
        data = (await raw.lookup(transaction_id)).json()
        seen.append(data["Status"])
        assert ("OmedaCustomerId" in data) == (int(step.status) in {30, 49, 50, 90, 100}), data
        clock.advance(step.seconds)
    assert seen == [int(s.status) for s in scenario.steps]
    customer_id = raw.fake.transactions[transaction_id].customer_id
    assert (await raw.lookup(transaction_id)).json()["OmedaCustomerId"] == customer_id


@pytest.mark.omeda_fake(scenario="existing_customer")
async def test_existing_customer_keeps_the_posted_customer_id(raw: Raw, clock: ManualClock) -> None:
    """An existing-customer path shows the posted OmedaCustomerId from the start to 101."""
    transaction_id = await raw.submit({"OmedaCustomerId": 1234, "FirstName": "J"})
    assert (await raw.lookup(transaction_id)).json()["OmedaCustomerId"] == 1234
    clock.advance(SCENARIOS["existing_customer"].total_seconds)
    data = (await raw.lookup(transaction_id)).json()
    assert (data["Status"], data["OmedaCustomerId"]) == (101, 1234)


@pytest.mark.omeda_fake(scenario="existing_customer")
async def test_existing_customer_found_by_client_id_is_stable(raw: Raw, clock: ManualClock) -> None:
    """Dupe check finds the same existing customer for the same ClientCustomerId."""
    first = await raw.submit({"ClientCustomerId": "C-9"})
    second = await raw.submit({"ClientCustomerId": "C-9"})
    other = await raw.submit({"ClientCustomerId": "C-10"})
    assert "OmedaCustomerId" not in (await raw.lookup(first)).json()
    clock.advance(SCENARIOS["existing_customer"].total_seconds)
    ids = [(await raw.lookup(t)).json()["OmedaCustomerId"] for t in (first, second, other)]
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_every_named_scenario_ends_on_its_final_code(
    raw: Raw, clock: ManualClock, name: str
) -> None:
    """After its total time each scenario rests on its final code (with its errors)."""
    raw.fake.scenario = name
    transaction_id = await raw.submit()
    scenario = SCENARIOS[name]
    clock.advance(scenario.total_seconds)
    data = (await raw.lookup(transaction_id)).json()
    assert data["Status"] == int(scenario.final.status)
    if scenario.final.errors and not scenario.repeat_error_keys:
        assert [e["Error"] for e in data["Errors"]] == list(scenario.final.errors)
    elif not scenario.final.errors:
        assert "Errors" not in data
    clock.advance(10_000)
    assert (await raw.lookup(transaction_id)).json()["Status"] == int(scenario.final.status)


async def test_repeated_error_keys_are_sent_as_the_page_shows(raw: Raw, clock: ManualClock) -> None:
    """excessive_errors answers ONE Errors object that repeats "Error", like the page."""
    raw.fake.script_next("excessive_errors")
    transaction_id = await raw.submit()
    clock.advance(60)
    answer = await raw.lookup(transaction_id)
    assert '"Errors":[{"Error":"invalid email","Error":"vulgarity"}]' in answer.text
    pairs = json.loads(answer.text, object_pairs_hook=list)
    errors = dict(pairs)["Errors"]
    assert errors == [[("Error", "invalid email"), ("Error", "vulgarity")]]


async def test_script_next_takes_explicit_paths_in_order(raw: Raw, clock: ManualClock) -> None:
    """script_next queues one path per next submission; then the default comes back."""
    raw.fake.script_next([(7, 5), (42, 5), (9, 0, ['bad "quoted" email'])], "held_customer")
    ids = [await raw.submit() for _ in range(3)]
    statuses = [(await raw.lookup(t)).json()["Status"] for t in ids]
    assert statuses == [7, 7, 7]
    clock.advance(7)
    assert (await raw.lookup(ids[0])).json()["Status"] == 42
    clock.advance(1000)
    data = (await raw.lookup(ids[0])).json()
    assert data["Status"] == 9
    assert data["Errors"] == [{"Error": 'bad "quoted" email'}]
    assert (await raw.lookup(ids[1])).json()["Status"] == 1
    assert (await raw.lookup(ids[2])).json()["Status"] == 100


@pytest.mark.omeda_fake(expire_after=600)
async def test_transactions_expire_and_then_answer_404(raw: Raw, clock: ManualClock) -> None:
    """After expire_after fake seconds a transaction answers 404, as Omeda may."""
    transaction_id = await raw.submit()
    clock.advance(599)
    assert (await raw.lookup(transaction_id)).status == 200
    clock.advance(1)
    answer = await raw.lookup(transaction_id)
    assert answer.status == 404
    assert answer.errors() == [f"No status found for transaction {transaction_id}."]


@pytest.mark.omeda_fake(visibility_delay=30)
async def test_new_transactions_are_invisible_for_the_visibility_delay(
    raw: Raw, clock: ManualClock
) -> None:
    """A just-queued transaction answers 404 for its first visibility_delay seconds."""
    transaction_id = await raw.submit()
    assert (await raw.lookup(transaction_id)).status == 404
    clock.advance(29.9)
    assert (await raw.lookup(transaction_id)).status == 404
    clock.advance(0.1)
    assert (await raw.lookup(transaction_id)).status == 200


@pytest.mark.omeda_fake(merged_customers={22: 99999}, pending_deactivation={33})
@pytest.mark.parametrize("path", [STORE, ORDER])
async def test_merged_customer_answers_with_merged_into_id(raw: Raw, path: str) -> None:
    """Posting for a merged customer is a 400 carrying MergedIntoCustomerId, nothing queued."""
    body = {"OmedaCustomerId": 22, "Products": [{"OmedaProductId": 1}]}
    answer = await raw.post(path, body)
    assert answer.status == 400
    data = answer.json()
    assert data["Errors"] == [
        {
            "MergedIntoCustomerId": 99999,
            "Error": "Customer id 22 is valid but not active. Please use 99999.",
        }
    ]
    assert _is_uuid(data["SubmissionId"])
    assert raw.fake.transactions == {}
    assert raw.fake.orders == {}


@pytest.mark.omeda_fake(merged_customers={22: 99999}, pending_deactivation={33})
@pytest.mark.parametrize("path", [STORE, ORDER])
async def test_pending_deactivation_answers_400(raw: Raw, path: str) -> None:
    """Posting for a customer pending deactivation is a 400 with Omeda's message."""
    body = {"OmedaCustomerId": "33", "Products": [{"OmedaProductId": 1}]}
    answer = await raw.post(path, body)
    assert answer.status == 400
    assert answer.errors() == [
        "OmedaCustomerId 33 is pending deactivation. Please try again later."
    ]


# --- Add Order ---------------------------------------------------------------------


async def test_add_order_answers_order_id_and_url(raw: Raw) -> None:
    """Without RunProcessor, ResponseInfo has OrderId and Url only."""
    answer = await raw.post(ORDER, {"OmedaCustomerId": 5, "Products": [{"OmedaProductId": 7}]})
    assert answer.status == 200, answer.text
    (info,) = answer.json()["ResponseInfo"]
    assert list(info) == ["OrderId", "Url"]
    assert info["Url"].endswith(
        f"/webservices/rest/brand/{raw.fake.brand}/order/{info['OrderId']}/*"
    )


async def test_add_order_with_run_processor_answers_the_customer(raw: Raw) -> None:
    """RunProcessor 1 adds CustomerId and CustomerUrl."""
    body = {"OmedaCustomerId": 5, "RunProcessor": 1, "Products": [{"OmedaProductId": 7}]}
    (info,) = (await raw.post(ORDER, body)).json()["ResponseInfo"]
    assert info["CustomerId"] == 5
    assert info["CustomerUrl"] == (
        f"{raw.fake.url}/webservices/rest/brand/{raw.fake.brand}/customer/5/*"
    )


async def test_add_order_attaches_to_a_transaction_and_run_processor_finishes_it(
    raw: Raw,
) -> None:
    """An order naming a TransactionId attaches; RunProcessor jumps the transaction to its end."""
    transaction_id = await raw.submit()
    body = {"TransactionId": transaction_id, "RunProcessor": 1, "Products": [{"OmedaProductId": 7}]}
    (info,) = (await raw.post(ORDER, body)).json()["ResponseInfo"]
    tx = raw.fake.transactions[transaction_id]
    assert tx.order_ids == [info["OrderId"]]
    assert info["CustomerId"] == tx.customer_id
    data = (await raw.lookup(transaction_id)).json()
    assert (data["Status"], data["OmedaCustomerId"]) == (100, tx.customer_id)


async def test_add_order_naming_an_unknown_transaction_is_400(raw: Raw) -> None:
    """An order for a TransactionId the fake never queued is refused."""
    answer = await raw.post(ORDER, {"TransactionId": 123, "Products": [{"OmedaProductId": 7}]})
    assert answer.status == 400
    assert answer.errors() == ["TransactionId 123 is not a valid transaction."]
    assert raw.fake.orders == {}


# --- Run Processor -----------------------------------------------------------------


async def test_run_processor_jumps_transactions_to_their_final_status(raw: Raw) -> None:
    """Run Processor answers BatchStatus and the lookups show the final codes at once."""
    raw.fake.script_next("new_customer", "failed_validation")
    first, second = await raw.submit(), await raw.submit()
    answer = await raw.post("/runprocessor/*", {"Process": [{"TransactionId": [first, second]}]})
    assert answer.status == 200, answer.text
    data = answer.json()
    assert _is_uuid(data["SubmissionId"])
    customer = raw.fake.transactions[first].customer_id
    assert data["BatchStatus"] == [
        {
            "TransactionId": first,
            "OmedaCustomerId": customer,
            "TransactionStatusId": 100,
            "Success": "true",
        },
        {"TransactionId": second, "TransactionStatusId": 9, "Success": "true"},
    ]
    assert (await raw.lookup(first)).json()["Status"] == 100
    assert (await raw.lookup(second)).json()["Status"] == 9


async def test_run_processor_is_all_or_nothing_on_an_unknown_id(raw: Raw) -> None:
    """One unknown id is a 404 and no transaction of the batch is processed."""
    transaction_id = await raw.submit()
    body = {"Process": [{"TransactionId": [transaction_id, 42]}]}
    answer = await raw.post("/runprocessor/*", body)
    assert answer.status == 404
    assert answer.errors() == ["No status found for transaction 42."]
    assert (await raw.lookup(transaction_id)).json()["Status"] == 7


async def test_run_processor_refuses_already_processed_transactions(raw: Raw) -> None:
    """A transaction processed once answers 403 "already been processed" the second time."""
    transaction_id = await raw.submit()
    body = {"Process": [{"TransactionId": [transaction_id]}]}
    assert (await raw.post("/runprocessor/*", body)).status == 200
    answer = await raw.post("/runprocessor/*", body)
    assert answer.status == 403
    assert answer.errors() == [f"Transaction {transaction_id} has already been processed."]


@pytest.mark.omeda_fake(omatch_inputs={"omatch-input"})
async def test_run_processor_refuses_inputs_with_omatch(raw: Raw) -> None:
    """Transactions from an input whose flow includes Omatch cannot be run: 400."""
    answer = await raw.post(STORE, {"FirstName": "J"}, headers=raw.headers(input_id="omatch-input"))
    transaction_id = answer.json()["ResponseInfo"][0]["TransactionId"]
    normal = await raw.submit()
    body = {"Process": [{"TransactionId": [normal, transaction_id]}]}
    answer = await raw.post("/runprocessor/*", body)
    assert answer.status == 400
    assert str(transaction_id) in answer.errors()[0]
    assert (await raw.lookup(normal)).json()["Status"] == 7


@pytest.mark.parametrize(
    "body", [{}, {"Process": []}, {"Process": [{"TransactionId": []}]}, {"Process": [{"X": 1}]}]
)
async def test_run_processor_refuses_malformed_batches(raw: Raw, body: object) -> None:
    """A body that is not {"Process":[{"TransactionId":[...]}]} is a 400."""
    answer = await raw.post("/runprocessor/*", body)
    assert answer.status == 400


# --- Order Issue History -----------------------------------------------------------


async def test_history_is_404_no_purchases_when_there_are_none(raw: Raw) -> None:
    """A customer without orders answers the page's "No purchases found" 404."""
    answer = await raw.get("/customer/12345/orderissuehistory/*")
    assert answer.status == 404
    data = answer.json()
    assert data["Errors"] == [{"Error": "No purchases found for customer 12345."}]
    assert _is_uuid(data["SubmissionId"])


async def test_history_shows_seeded_orders_and_issues(raw: Raw) -> None:
    """add_order_history seeds the page's shape; the product path filters to one product."""
    order = {"RequestedVersion": "P", "Receive": 1, "PaymentStatus": 3, "Term": 3}
    issue = {"IssueName": "ABCissue1", "IssueDate": "2014-08-02 00:00:00"}
    raw.fake.add_order_history(12345, 6, orders=[order], issues=[issue])
    raw.fake.add_order_history(12345, 8, orders=[order])
    data = (await raw.get("/customer/12345/orderissuehistory/*")).json()
    assert list(data) == ["Customer", "SubmissionId", "OrderHistory"]
    assert data["Customer"] == (
        f"{raw.fake.url}/webservices/rest/brand/{raw.fake.brand}/customer/12345/*"
    )
    assert data["OrderHistory"] == [
        {"Orders": [order], "Issues": [issue], "ProductId": 6},
        {"Orders": [order], "Issues": [], "ProductId": 8},
    ]
    one = (await raw.get("/customer/12345/orderissuehistory/product/8/*")).json()
    assert [p["ProductId"] for p in one["OrderHistory"]] == [8]
    assert (await raw.get("/customer/12345/orderissuehistory/product/9/*")).status == 404


async def test_history_is_built_from_completed_transactions(raw: Raw, clock: ManualClock) -> None:
    """A transaction's Products show in its customer's history once it has completed."""
    product = {"OmedaProductId": 14, "RequestedVersion": "D", "Receive": 1, "Term": 12}
    transaction_id = await raw.submit({"FirstName": "J", "Products": [product]})
    customer_id = raw.fake.transactions[transaction_id].customer_id
    path = f"/customer/{customer_id}/orderissuehistory/*"
    assert (await raw.get(path)).status == 404  # still queued
    clock.advance(SCENARIOS["new_customer"].total_seconds)
    data = (await raw.get(path)).json()
    (history,) = data["OrderHistory"]
    assert history["ProductId"] == 14
    (record,) = history["Orders"]
    assert record["RequestedVersion"] == record["RequestedVersionCode"] == "D"
    assert record["Receive"] == 1
    assert record["Term"] == 12
    assert {"SKU", "ChangedDate"} <= set(record)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["ChangedDate"])


# --- records -----------------------------------------------------------------------


async def test_requests_are_recorded_with_secrets_masked(raw: Raw) -> None:
    """Recorded headers mask the app id and input id; card data in bodies is masked."""
    billing = {
        "CreditCardNumber": "4111111111111111",
        "CardSecurityCode": "999",
        "ExpirationDate": "12/30",
        "DoCharge": "False",
    }
    await raw.post(STORE, {"FirstName": "J", "BillingInformation": billing})
    (request,) = raw.fake.requests
    assert (request.method, request.service) == ("POST", "storecustomerandorder")
    assert request.path.endswith("/storecustomerandorder/*")
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-omeda-appid"] == headers["x-omeda-inputid"] == "***"
    recorded = request.body["BillingInformation"]
    assert recorded["CreditCardNumber"] == "************1111"
    assert recorded["CardSecurityCode"] == recorded["ExpirationDate"] == "***"
    text = repr(raw.fake.requests) + repr(raw.fake.transactions) + repr(raw.fake)
    for secret in (raw.fake.app_id, raw.fake.input_id, "4111111111111111", "999"):
        assert secret not in text


async def test_record_bodies_off_keeps_only_method_and_path(clock: ManualClock) -> None:
    """record_bodies=False still records each request, without headers or body."""
    async with FakeOmeda(clock=clock, record_bodies=False) as fake, aiohttp.ClientSession() as s:
        url = f"{fake.url}/webservices/rest/brand/{fake.brand}/transaction/1/*"
        async with s.get(url, headers={"x-omeda-appid": fake.app_id}) as response:
            assert response.status == 404
        (request,) = fake.requests
        assert (request.method, request.service, request.headers, request.body) == (
            "GET",
            "transaction",
            {},
            None,
        )


async def test_lookups_are_counted_and_late_ones_flagged(raw: Raw, clock: ManualClock) -> None:
    """lookups counts per id; lookups_after_terminal only those after a terminal answer."""
    raw.fake.script_next([(7, 10), 100])
    transaction_id = await raw.submit()
    await raw.lookup(transaction_id)
    clock.advance(10)
    await raw.lookup(transaction_id)  # first terminal answer
    await raw.lookup(transaction_id)
    await raw.lookup(transaction_id)
    await raw.lookup(999)
    assert raw.fake.lookups == {transaction_id: 4, 999: 1}
    assert raw.fake.lookups_after_terminal == {transaction_id: 2}


async def test_held_codes_are_not_terminal_for_late_lookups(raw: Raw, clock: ManualClock) -> None:
    """A held transaction is still pending: polling it is not a late lookup."""
    raw.fake.script_next("held_oec")
    transaction_id = await raw.submit()
    clock.advance(10_000)
    for _ in range(3):
        assert (await raw.lookup(transaction_id)).json()["Status"] == 20
    assert raw.fake.lookups_after_terminal == {}


async def test_max_in_flight_counts_concurrent_requests(clock: ManualClock) -> None:
    """max_in_flight is the peak of requests handled at once, overall and per service."""
    faults = Faults(slow_seconds=0.2)
    async with FakeOmeda(clock=clock, faults=faults) as fake, aiohttp.ClientSession() as s:
        fake.faults.script(*["slow"] * 5)
        url = f"{fake.url}/webservices/rest/brand/{fake.brand}/transaction/1/*"

        async def lookup() -> int:
            async with s.get(url, headers={"x-omeda-appid": fake.app_id}) as response:
                return response.status

        assert await asyncio.gather(*(lookup() for _ in range(5))) == [404] * 5
        assert fake.max_in_flight == 5
        assert fake.max_in_flight_by_service == {"transaction": 5}
        assert fake.in_flight == 0


async def test_duplicates_finds_bodies_queued_twice(raw: Raw) -> None:
    """duplicates() groups identical bodies (key order ignored) with the ids they got."""
    one = await raw.submit({"FirstName": "A", "LastName": "B"})
    two = await raw.submit({"LastName": "B", "FirstName": "A"})
    await raw.submit({"FirstName": "C"})
    (duplicate,) = raw.fake.duplicates()
    assert (duplicate.service, duplicate.ids) == ("storecustomerandorder", (one, two))


async def test_reset_records_keeps_transactions(raw: Raw) -> None:
    """reset_records forgets requests and counts but not the queued transactions."""
    raw.fake.faults.script("server_error")
    await raw.lookup(1)
    transaction_id = await raw.submit()
    await raw.lookup(transaction_id)
    raw.fake.reset_records()
    assert raw.fake.requests == []
    assert raw.fake.lookups == {}
    assert raw.fake.max_in_flight == 0
    assert raw.fake.faults.injected == {}
    assert transaction_id in raw.fake.transactions


# --- faults over HTTP --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"), [("rate_limit", 429), ("server_error", 500), ("unavailable", 503)]
)
async def test_faults_before_handling_answer_without_queuing(
    raw: Raw, kind: str, status: int
) -> None:
    """429/500/503 answer with an Errors body and queue nothing; 429/503 carry Retry-After."""
    raw.fake.faults.retry_after = 7
    raw.fake.faults.script(kind)
    answer = await raw.post(STORE, {"FirstName": "J"})
    assert answer.status == status
    assert answer.errors()
    assert ("Retry-After" in answer.headers) == (status != 500)
    if status != 500:
        assert answer.headers["Retry-After"] == "7"
    assert raw.fake.transactions == {}
    assert raw.fake.faults.injected == {kind: 1}


async def test_drop_queues_the_post_and_drops_the_connection(raw: Raw) -> None:
    """A dropped connection happens after the body was read: the transaction IS queued."""
    raw.fake.faults.script("drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw.post(STORE, {"FirstName": "J"})
    assert len(raw.fake.transactions) == 1


async def test_slow_answers_are_held_in_real_time(clock: ManualClock) -> None:
    """A slow answer outlasts a client timeout; the request was still handled."""
    faults = Faults(slow_seconds=30)
    async with FakeOmeda(clock=clock, faults=faults) as fake, aiohttp.ClientSession() as s:
        fake.faults.script("slow")
        url = f"{fake.url}/webservices/rest/brand/{fake.brand}/storecustomerandorder/*"
        headers = {"x-omeda-appid": fake.app_id, "x-omeda-inputid": fake.input_id}
        with pytest.raises(asyncio.TimeoutError):
            async with s.post(
                url,
                json={"FirstName": "J"},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=0.1),
            ):
                pass
        assert len(fake.transactions) == 1
    # close() ended the held answer at once (the test would hang 30 s otherwise).


async def test_malformed_answers_html(raw: Raw) -> None:
    """A malformed answer is a 200 with an HTML page; the POST was handled."""
    raw.fake.faults.script("malformed")
    answer = await raw.post(STORE, {"FirstName": "J"})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<html>")
    assert len(raw.fake.transactions) == 1


async def test_truncated_answers_half_the_json(raw: Raw) -> None:
    """A truncated answer is a 200 JSON body cut in half; the POST was handled."""
    raw.fake.faults.script("truncated")
    answer = await raw.post(STORE, {"FirstName": "J"})
    assert answer.status == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert answer.text.startswith('{"ResponseInfo"')
    assert len(raw.fake.transactions) == 1


async def test_fault_rates_are_reproducible_with_a_seed(clock: ManualClock) -> None:
    """Two fakes with the same seed inject the same faults on the same requests."""
    outcomes = []
    for _ in range(2):
        async with (
            FakeOmeda(clock=clock, seed=11, faults={"server_error": 0.3}) as fake,
            aiohttp.ClientSession() as s,
        ):
            url = f"{fake.url}/webservices/rest/brand/{fake.brand}/transaction/1/*"
            statuses = []
            for _ in range(40):
                async with s.get(url, headers={"x-omeda-appid": fake.app_id}) as response:
                    statuses.append(response.status)
            outcomes.append(statuses)
            assert fake.faults.injected["server_error"] == statuses.count(500)
    assert outcomes[0] == outcomes[1]
    assert 3 < outcomes[0].count(500) < 25


# --- lifecycle and configuration ---------------------------------------------------


async def test_lifecycle_start_close_and_misuse() -> None:
    """url needs a started fake; close is idempotent; a closed fake cannot restart."""
    fake = FakeOmeda()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    await fake.start()
    with pytest.raises(RuntimeError, match="already started"):
        await fake.start()
    assert fake.url == f"http://127.0.0.1:{fake.port}"
    await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError, match="closed"):
        await fake.start()


def test_configuration_is_checked() -> None:
    """Non-loopback hosts, bad brands and bad times are refused up front."""
    with pytest.raises(ValueError, match="loopback"):
        FakeOmeda(host="0.0.0.0")
    with pytest.raises(ValueError, match="brand"):
        FakeOmeda(brand="A/B")
    with pytest.raises(ValueError, match="expire_after"):
        FakeOmeda(expire_after=0)
    with pytest.raises(ValueError, match="unknown scenario"):
        FakeOmeda(scenario="newcustomer")


def test_credentials_are_random_per_instance_and_hidden_from_repr() -> None:
    """Each fake has its own app id and input id; repr shows neither."""
    one, two = FakeOmeda(), FakeOmeda()
    assert one.app_id != two.app_id
    assert one.input_id != two.input_id
    assert one.app_id not in repr(one)
    assert one.input_id not in repr(one)


async def test_seed_reproduces_ids_and_mix_draws(
    clock: ManualClock, raw_for: Callable[[FakeOmeda], Raw]
) -> None:
    """The same seed gives the same transaction ids and the same drawn scenarios."""
    runs = []
    mix = {"new_customer": 1.0, "discarded": 1.0}
    for _ in range(2):
        async with FakeOmeda(clock=clock, seed=5, scenario=mix) as fake:
            raw = raw_for(fake)
            ids = [await raw.submit() for _ in range(10)]
            runs.append([(t, fake.transactions[t].scenario) for t in ids])
    assert runs[0] == runs[1]
    assert {scenario.name for _, scenario in runs[0]} == {"new_customer", "discarded"}


# --- documented rules --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (STORE, {"Emails": [{"EmailContactType": 300}], "Products": [{"Receive": 1}]}),
        (STORE, {"FirstName": "J", "FirstNmae": "typo"}),
        (ORDER, {"Products": [{"OmedaProductId": 1}]}),
        (ORDER, {"OmedaCustomerId": 1, "Products": [{"Quantity": 1}]}),
    ],
)
async def test_bodies_breaking_documented_rules_are_400_with_the_validators_messages(
    raw: Raw, path: str, body: dict[str, object]
) -> None:
    """The fake refuses what the project's validator refuses, with the same messages."""
    schema = Order if path == ORDER else None
    expected = [v.message for v in validate(body, schema=schema)]
    assert expected
    answer = await raw.post(path, body)
    assert answer.status == 400
    assert answer.errors() == expected
    assert _is_uuid(answer.json()["SubmissionId"])
    assert raw.fake.transactions == {}
    assert raw.fake.orders == {}


async def test_the_pages_own_example_is_accepted(raw: Raw) -> None:
    """Add Order's documented example body is queued as it is."""
    body = copy.deepcopy(ADD_ORDER_EXAMPLE)
    answer = await raw.post(ORDER, body)
    assert answer.status == 200, answer.text


def test_the_fake_keeps_mechanism_apart_from_bookkeeping() -> None:
    """The HTTP server and the brand's state each stay a small class (issue 14)."""
    fake = FakeOmeda(seed=1)
    assert len(vars(fake)) <= 20
    assert len(vars(fake._state)) <= 20
