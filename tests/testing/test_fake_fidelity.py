"""FakeOmeda as Omeda's production users call it (issue 18): one test per item, HTTP and client."""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

import pytest

from omeda_async import (
    CustomerAndOrder,
    CustomerMergedError,
    NotFoundError,
    Outcome,
    PayloadValidationError,
    PollPolicy,
    StatusCode,
)
from omeda_async.testing import SCENARIOS, FakeOmeda

if TYPE_CHECKING:
    from tests.testing.conftest import ManualClock, Raw

STORE = "/storecustomerandorder/*"
ORDER = "/orderqueue/*"
FAST = 20_000.0
PRODUCT = {"OmedaProductId": 14, "RequestedVersion": "D", "Receive": 1, "Term": 12}

# --- 1. RunProcessor with a customer submission ------------------------------------


async def test_run_processor_in_a_customer_body_processes_it_at_once(raw: Raw) -> None:
    """ "RunProcessor": 1 answers CustomerId, EncryptedCustomerId and TransactionId, and the
    record shows its final code on the first lookup."""
    answer = await raw.post(STORE, {"FirstName": "Jane", "RunProcessor": 1})
    assert answer.status == 200, answer.text
    (info,) = answer.json()["ResponseInfo"]
    assert set(info) == {"TransactionId", "Url", "CustomerId", "EncryptedCustomerId"}
    tx = raw.fake.transactions[info["TransactionId"]]
    assert info["CustomerId"] == tx.customer_id
    assert re.fullmatch(r"[0-9A-Z]{15}", info["EncryptedCustomerId"])
    lookup = (await raw.lookup(info["TransactionId"])).json()
    assert lookup["Status"] == 100
    assert lookup["OmedaCustomerId"] == info["CustomerId"]


async def test_without_run_processor_the_answer_has_no_customer(raw: Raw) -> None:
    """The page's own answer: TransactionId and Url only, and the record is still queued."""
    answer = await raw.post(STORE, {"FirstName": "Jane", "RunProcessor": 0})
    (info,) = answer.json()["ResponseInfo"]
    assert list(info) == ["TransactionId", "Url"]
    assert (await raw.lookup(info["TransactionId"])).json()["Status"] == 7


async def test_a_run_processor_record_that_fails_answers_no_customer(raw: Raw) -> None:
    """A path that never identifies a customer ends at once, without CustomerId."""
    raw.fake.script_next("failed_validation")
    (info,) = (await raw.post(STORE, {"FirstName": "J", "RunProcessor": 1})).json()["ResponseInfo"]
    assert list(info) == ["TransactionId", "Url"]
    assert (await raw.lookup(info["TransactionId"])).json()["Status"] == 9


async def test_history_finds_a_customer_by_its_encrypted_id(raw: Raw) -> None:
    """Order Issue History takes "the encrypted customer id" the answer gave as well."""
    body = {"FirstName": "Jane", "RunProcessor": 1, "Products": [PRODUCT]}
    (info,) = (await raw.post(STORE, body)).json()["ResponseInfo"]
    by_id = (await raw.get(f"/customer/{info['CustomerId']}/orderissuehistory/*")).json()
    encrypted = info["EncryptedCustomerId"]
    by_encrypted = (await raw.get(f"/customer/{encrypted}/orderissuehistory/*")).json()
    assert by_id["OrderHistory"] == by_encrypted["OrderHistory"]
    assert [p["ProductId"] for p in by_encrypted["OrderHistory"]] == [14]


@pytest.mark.omeda_fake(omatch_inputs={"omatch-input"})
async def test_run_processor_in_a_body_is_refused_for_an_omatch_input(raw: Raw) -> None:
    """As Run Processor itself, an input whose flow includes Omatch cannot run it: 400."""
    answer = await raw.post(
        STORE, {"FirstName": "J", "RunProcessor": 1}, headers=raw.headers(input_id="omatch-input")
    )
    assert answer.status == 400
    assert "Omatch" in answer.errors()[0]
    assert raw.fake.transactions == {}


async def test_the_client_reads_the_customer_of_a_run_processor_submission() -> None:
    """CustomerAndOrder.run_processor reaches the fake; the receipt carries both customer ids."""
    async with FakeOmeda(seed=3) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(
            CustomerAndOrder(first_name="Jane", run_processor=1)
        )
        tx = fake.transactions[receipt.transaction_id]
        assert receipt.customer_id == tx.customer_id is not None
        assert receipt.encrypted_customer_id is not None
        transaction = await client.get_transaction(receipt.transaction_id)
        assert transaction.status == StatusCode.MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER
        plain = await client.store_customer_and_order({"FirstName": "June"})
        assert plain.customer_id is None
        assert plain.encrypted_customer_id is None


# --- 2. merged customers on 404 or 400 -----------------------------------------------


@pytest.mark.parametrize("status", [400, 404])
@pytest.mark.parametrize("path", [STORE, ORDER])
async def test_a_merged_customer_can_be_answered_with_404_or_400(
    raw: Raw, status: int, path: str
) -> None:
    """merged_status chooses the status; the body carries MergedIntoCustomerId either way."""
    raw.fake.merged_customers = {22: 99999}
    raw.fake.merged_status = status
    answer = await raw.post(path, {"OmedaCustomerId": 22, "Products": [{"OmedaProductId": 1}]})
    assert answer.status == status
    (error,) = answer.json()["Errors"]
    assert error["MergedIntoCustomerId"] == 99999
    assert raw.fake.transactions == {}
    assert raw.fake.orders == {}


@pytest.mark.parametrize("status", [0, 200, 409, "404"])
def test_merged_status_is_400_or_404(status: object) -> None:
    """Other statuses are refused: the two are what Omeda's users meet."""
    with pytest.raises(ValueError, match="merged_status"):
        FakeOmeda(merged_status=status)  # type: ignore[arg-type]


async def test_the_client_reads_a_merged_customer_from_a_404() -> None:
    """With merged_status=404 the client still raises CustomerMergedError with the new id."""
    async with (
        FakeOmeda(merged_customers={22: 99999}, merged_status=404) as fake,
        fake.client() as client,
    ):
        with pytest.raises(CustomerMergedError) as caught:
            await client.store_customer_and_order({"OmedaCustomerId": 22, "FirstName": "J"})
    assert caught.value.merged_into_customer_id == 99999
    assert caught.value.status == 404
    assert isinstance(caught.value, NotFoundError)


# --- 4. order issue history dates ---------------------------------------------------


async def test_history_dates_are_in_the_pages_formats_and_never_in_the_future(
    raw: Raw, clock: ManualClock
) -> None:
    """Ten fake days on: dates lie in the past, as long ago as on the fake clock, in the
    page's three formats, and stay the same from one lookup to the next."""
    body = {"FirstName": "J", "Products": [{**PRODUCT, "StartIssueDate": "2030-01-01"}]}
    transaction_id = await raw.submit(body)
    customer_id = raw.fake.transactions[transaction_id].customer_id
    clock.advance(SCENARIOS["new_customer"].total_seconds + 3600)  # processed an hour ago
    clock.advance(10 * 86400)  # ... and ten more days go by on the fake clock
    path = f"/customer/{customer_id}/orderissuehistory/*"
    before = datetime.datetime.now()
    (record,) = (await raw.get(path)).json()["OrderHistory"][0]["Orders"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["ChangedDate"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d", record["OrderDate"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", record["VerificationDate"])
    assert record["StartIssueDate"] == "2030-01-01 00:00:00"
    changed = datetime.datetime.strptime(record["ChangedDate"], "%Y-%m-%d %H:%M:%S")
    ago = before - changed
    assert datetime.timedelta(days=10, minutes=59) <= ago <= datetime.timedelta(days=10, hours=2)
    (again,) = (await raw.get(path)).json()["OrderHistory"][0]["Orders"]
    assert again == record


async def test_an_order_date_given_in_the_body_is_kept() -> None:
    """OrderDate is the submission's own when it has one (in the page's .S form)."""
    async with FakeOmeda(seed=1) as fake, fake.client() as client:
        body = {"FirstName": "J", "OrderDate": "2024-05-06 07:08", "Products": [PRODUCT]}
        receipt = await client.store_customer_and_order({**body, "RunProcessor": 1})
        assert receipt.customer_id is not None
        history = await client.get_order_issue_history(receipt.customer_id)
    (product,) = history.products
    (order,) = product.orders
    assert order.order_date == datetime.datetime(2024, 5, 6, 7, 8)
    assert order.raw["OrderDate"] == "2024-05-06 07:08:00.0"


async def test_history_dates_on_a_fast_clock_read_back_through_the_client() -> None:
    """On a clock 20,000x faster, the client reads every date and none is in the future
    (on that clock the old dates landed hours ahead)."""
    async with FakeOmeda(time_scale=FAST, seed=2) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order({"FirstName": "J", "Products": [PRODUCT]})
        result = await client.wait_for_transaction(
            receipt.transaction_id, policy=PollPolicy(initial_delay=5.0, max_interval=60.0)
        )
        assert result.outcome is Outcome.SUCCEEDED
        await fake.clock.sleep(3600.0)  # a fake hour later
        customer_id = fake.transactions[receipt.transaction_id].customer_id
        assert customer_id is not None
        history = await client.get_order_issue_history(customer_id)
    (order,) = history.products[0].orders
    now = datetime.datetime.now()
    for date in (order.changed_date, order.order_date, order.verification_date):
        assert date is not None
        assert date <= now


# --- 5. content types, PhoneContactType, paths --------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
@pytest.mark.parametrize(
    ("method", "path"), [("POST", STORE), ("POST", ORDER), ("GET", "/transaction/1/*")]
)
async def test_a_content_type_other_than_json_is_refused(
    raw: Raw, content_type: str, method: str, path: str
) -> None:
    """JSON is the only supported content type: anything else is a 400, nothing queued."""
    headers = {**raw.headers(), "content-type": content_type}
    body = {"OmedaCustomerId": 5, "FirstName": "J", "Products": [{"OmedaProductId": 1}]}
    answer = await raw.request(method, path, body, headers=headers)
    assert answer.status == 400
    assert "content type" in answer.errors()[0]
    assert raw.fake.transactions == {}
    assert raw.fake.orders == {}


async def test_json_with_a_charset_is_accepted(raw: Raw) -> None:
    """Parameters of the media type do not matter: application/json; charset=utf-8 is JSON."""
    headers = {**raw.headers(), "content-type": "application/json; charset=utf-8"}
    answer = await raw.post(STORE, {"FirstName": "J"}, headers=headers)
    assert answer.status == 200, answer.text


@pytest.mark.parametrize(("path", "status"), [(STORE, 400), (ORDER, 200)])
async def test_a_missing_content_type_defaults_to_json_where_the_page_says_so(
    raw: Raw, path: str, status: int
) -> None:
    """Add Order defaults to JSON; Save Customer and Order requires the header."""
    headers = {k: v for k, v in raw.headers().items() if k != "content-type"}
    body = b'{"OmedaCustomerId": 5, "Products": [{"OmedaProductId": 1}]}'
    async with raw.session.post(
        raw.base + path, data=body, headers=headers, skip_auto_headers=["Content-Type"]
    ) as response:
        text = await response.text()
    assert response.status == status, text
    assert status == 200 or "content-type header is required" in text


async def test_a_lookup_without_a_content_type_is_answered(raw: Raw) -> None:
    """Transaction Lookup: "If omitted, the default content type is application/json"."""
    transaction_id = await raw.submit()
    headers = {k: v for k, v in raw.headers().items() if k != "content-type"}
    assert (await raw.lookup(transaction_id)).status == 200
    answer = await raw.get(f"/transaction/{transaction_id}/*", headers=headers)
    assert answer.status == 200, answer.text


async def test_an_undocumented_phone_contact_type_is_refused_at_post_time(raw: Raw) -> None:
    """The page's "The submission contained an invalid PhoneContactType {n}" is a 400."""
    body = {"FirstName": "J", "Phones": [{"Number": "847-555-0127", "PhoneContactType": 999}]}
    answer = await raw.post(STORE, body)
    assert answer.status == 400
    assert "The submission contained an invalid PhoneContactType 999" in answer.errors()
    assert raw.fake.transactions == {}


async def test_the_client_refuses_the_phone_contact_type_before_sending() -> None:
    """The client's validator knows the same rule, so nothing reaches the fake."""
    async with FakeOmeda() as fake, fake.client() as client:
        with pytest.raises(PayloadValidationError, match="PhoneContactType 999"):
            await client.store_customer_and_order(
                {"FirstName": "J", "Phones": [{"Number": "1", "PhoneContactType": 999}]}
            )
    assert fake.requests == []


@pytest.mark.parametrize("path", ["/transaction/1", "/storecustomerandorder", "/transaction/1/"])
async def test_a_path_without_the_trailing_star_is_404(raw: Raw, path: str) -> None:
    """Omeda's own URIs end with /*; the fake routes only those."""
    method = "GET" if path.startswith("/transaction") else "POST"
    answer = await raw.request(method, path, {"FirstName": "J"})
    assert answer.status == 404
    assert raw.fake.transactions == {}
