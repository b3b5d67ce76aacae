"""Response models: page examples read, codes tolerated, bad shapes named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from omeda_async import (
    IssueRecord,
    MalformedResponseError,
    MarketingClass,
    OrderIssueHistory,
    OrderReceipt,
    OrderRecord,
    PaymentStatus,
    ProcessorResult,
    ProductOrderHistory,
    StatusCode,
    SubmissionReceipt,
    Transaction,
)
from omeda_async._json import loads
from omeda_async.models._responses import parse_omeda_datetime

# --- the pages' own examples --------------------------------------------------------

PAGE_000_SUCCESS = {
    "ResponseInfo": [
        {
            "TransactionId": 8907512,
            "Url": "https://ows.omedastaging.com/webservices/rest/brand/ABC/transaction/8907512/*",
        }
    ]
}

PAGE_002_SUCCESS = {
    "ResponseInfo": [
        {
            "OrderId": 12349,
            "Url": "https://ows.omedastaging.com/webservices/rest/brand/FOO/order/12349/*",
        }
    ]
}

PAGE_002_SUCCESS_RUN_PROCESSOR = {
    "ResponseInfo": [
        {
            "OrderId": 12349,
            "Url": "https://ows.omedastaging.com/webservices/rest/brand/FOO/order/12349/*",
            "CustomerId": 3349,
            "CustomerUrl": "https://psows.omeda.com/webservices/rest/brand/FOO/customer/3349/*",
        }
    ]
}

PAGE_004_SUCCESS = (
    '{ "TransactionId":42355632, "Status":2, "ClientCustomerId":1293401, '
    '"Errors":[ { "Error":"invalid email", "Error":"vulgarity" } ] }'
)

PAGE_003_SUCCESS: dict[str, Any] = {
    "Customer": "http://omeda.com/webservices/rest/brand/CGM/customer/12345/*",
    "SubmissionId": "a34dc966-34fe-4061-bf04-a93999d83ecb",
    "OrderHistory": [
        {
            "Orders": [
                {
                    "VerificationDate": "2012-09-24",
                    "RequestedVersion": "P",
                    "StartIssueDate": "2014-08-02 00:00:00",
                    "ExpectedExpirationDate": "2019-08-02 00:00:00",
                    "Amount": "20.00",
                    "SourceId": 10,
                    "ActualVersionCode": "P",
                    "StartIssueDescription": "ABC Issue",
                    "RequestedVersionCode": "P",
                    "Quantity": 1,
                    "MarketingClassDescription": "Active Qualified",
                    "StartIssueName": "ABCissue",
                    "Term": 3,
                    "ShippingAddressId": 50061,
                    "OrderDate": "2020-09-24 11:17:00.0",
                    "MarketingClassId": "1",
                    "Receive": 1,
                    "AutoRenewalCode": 0,
                    "ChangedDate": "2023-07-17 11:21:55",
                    "PaymentStatus": 3,
                }
            ],
            "Issues": [
                {
                    "IssueDescription": "ABC Issue",
                    "IssueName": f"ABCissue{n}",
                    "IssueDate": f"2014-{7 + n:02d}-02 00:00:00",
                }
                for n in range(1, 5)
            ],
            "ProductId": 6,
        }
    ],
}


def test_submission_receipt_from_page_000_example() -> None:
    """storecustomerandorder's documented answer gives the TransactionId and Url."""
    receipt = SubmissionReceipt.from_response(PAGE_000_SUCCESS)
    assert receipt.transaction_id == 8907512
    assert receipt.url.endswith("/transaction/8907512/*")


def test_submission_receipt_accepts_digit_string_and_missing_url() -> None:
    """A TransactionId sent as text is read; a missing Url is "" (the id is what matters)."""
    receipt = SubmissionReceipt.from_response({"ResponseInfo": [{"TransactionId": "77"}]})
    assert receipt == SubmissionReceipt(transaction_id=77, url="")


def test_order_receipt_from_both_page_002_examples() -> None:
    """orderqueue's answers, with and without RunProcessor's customer fields."""
    plain = OrderReceipt.from_response(PAGE_002_SUCCESS)
    assert (plain.order_id, plain.customer_id, plain.customer_url) == (12349, None, None)
    full = OrderReceipt.from_response(PAGE_002_SUCCESS_RUN_PROCESSOR)
    assert full.customer_id == 3349
    assert full.customer_url is not None
    assert full.customer_url.endswith("/customer/3349/*")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"ResponseInfo": [{"TransactionId": 5, "Url": "u"}]}',
            SubmissionReceipt(transaction_id=5, url="u"),
        ),
        # Anything but the plain shape is read the tolerant way, to the same effect.
        (
            '{"ResponseInfo": [{"TransactionId": 5, "TransactionId": 6}]}',
            SubmissionReceipt(transaction_id=6),
        ),
        (
            '{"ResponseInfo": [{"TransactionId": 5}], "ResponseInfo": [{"TransactionId": 7}]}',
            SubmissionReceipt(transaction_id=7),
        ),
        (
            '{"ResponseInfo": [{"TransactionId": "5", "Url": null}]}',
            SubmissionReceipt(transaction_id=5),
        ),
        (
            '{"ResponseInfo": [{"TransactionId": 5, "Url": 12}]}',
            SubmissionReceipt(transaction_id=5, url="12"),
        ),
        ('{"ResponseInfo": {"TransactionId": 5}}', SubmissionReceipt(transaction_id=5)),
        ('{"TransactionId": 5}', SubmissionReceipt(transaction_id=5)),
    ],
)
def test_submission_receipt_shapes(text: str, expected: SubmissionReceipt) -> None:
    """The usual answer and its tolerated variants: repeats read as their last value."""
    assert SubmissionReceipt.from_response(loads(text)) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"ResponseInfo": [{"TransactionId": True}]},
        {"ResponseInfo": [{"TransactionId": 5.5}]},
        {"ResponseInfo": [{"TransactionId": None, "Url": "u"}]},
        {"ResponseInfo": [{"TransactionId": 5, "Url": ["u"]}]},
    ],
)
def test_submission_receipt_refuses_what_is_no_id_or_url(data: Any) -> None:
    """A boolean, a fraction or null is no TransactionId, an array no Url, in any shape."""
    with pytest.raises(MalformedResponseError):
        SubmissionReceipt.from_response(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"ResponseInfo": [{"TransactionId": 5, "CustomerId": 9, "EncryptedCustomerId": "E9"}]}',
        '{"ResponseInfo": [{"TransactionId": "5", "CustomerId": "9",'
        ' "EncryptedCustomerId": "E9"}]}',
        '{"ResponseInfo": {"TransactionId": 5, "CustomerId": 9, "EncryptedCustomerId": "E9"}}',
        '{"ResponseInfo": [{"TransactionId": 5, "CustomerId": 9, "EncryptedCustomerId": "E9"},'
        ' {"TransactionId": 6}]}',
    ],
)
def test_submission_receipt_reads_run_processor_customer_ids(text: str) -> None:
    """CustomerId and EncryptedCustomerId of ResponseInfo[0], in every tolerated shape."""
    assert SubmissionReceipt.from_response(loads(text)) == SubmissionReceipt(
        transaction_id=5, customer_id=9, encrypted_customer_id="E9"
    )


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"ResponseInfo": [{"TransactionId": 0}]}, "TransactionId"),
        ({"ResponseInfo": [{"TransactionId": -1}]}, "TransactionId"),
        ({"ResponseInfo": [{"TransactionId": "-7"}]}, "TransactionId"),
        ({"ResponseInfo": [{"TransactionId": 2**63}]}, "TransactionId"),
        ({"ResponseInfo": [{"TransactionId": "9" * 5000}]}, "TransactionId"),
        ({"ResponseInfo": [{"TransactionId": 5, "CustomerId": 0}]}, "CustomerId"),
        ({"ResponseInfo": [{"TransactionId": 5, "CustomerId": 2**64}]}, "CustomerId"),
        (
            {"ResponseInfo": [{"TransactionId": 5, "EncryptedCustomerId": []}]},
            "EncryptedCustomerId",
        ),
    ],
)
def test_submission_receipt_refuses_ids_that_name_nothing(data: Any, named: str) -> None:
    """An id that is not a positive 64-bit integer makes the receipt malformed, naming it."""
    with pytest.raises(MalformedResponseError, match=named):
        SubmissionReceipt.from_response(data)


def test_largest_64_bit_transaction_id_is_a_receipt() -> None:
    """2**63 - 1 is the last id a journal can hold: still read."""
    data = {"ResponseInfo": [{"TransactionId": 2**63 - 1}]}
    assert SubmissionReceipt.from_response(data).transaction_id == 2**63 - 1


@pytest.mark.parametrize("order_id", [0, -3, 2**63])
def test_order_receipt_refuses_ids_that_name_nothing(order_id: int) -> None:
    """The same rule for Add Order's OrderId."""
    with pytest.raises(MalformedResponseError, match="OrderId"):
        OrderReceipt.from_response({"ResponseInfo": [{"OrderId": order_id}]})


def test_order_receipt_tolerated_variants_match_the_plain_answer() -> None:
    """Digit strings, repeated keys and a bare object read as the plain answer does."""
    plain = OrderReceipt.from_response(
        {"ResponseInfo": [{"OrderId": 9, "Url": "u", "CustomerId": 3, "CustomerUrl": "c"}]}
    )
    assert plain == OrderReceipt(order_id=9, url="u", customer_id=3, customer_url="c")
    text = '{"ResponseInfo": {"OrderId": "9", "Url": "u", "CustomerId": 2, "CustomerId": "3",'
    assert OrderReceipt.from_response(loads(text + ' "CustomerUrl": "c"}}')) == plain
    with pytest.raises(MalformedResponseError, match="CustomerId"):
        OrderReceipt.from_response({"ResponseInfo": [{"OrderId": 9, "CustomerId": False}]})


def test_transaction_from_page_004_example_keeps_both_errors() -> None:
    """The page's example: both repeated Error messages, ClientCustomerId as text."""
    transaction = Transaction.from_response(loads(PAGE_004_SUCCESS))
    assert transaction.transaction_id == 42355632
    assert transaction.status is StatusCode.CUSTOMER_HAS_EXCESSIVE_ERRORS
    assert transaction.errors == ("invalid email", "vulgarity")
    assert transaction.client_customer_id == "1293401"
    assert transaction.omeda_customer_id is None
    assert transaction.submission_id is None


def test_transaction_in_response_info_form_with_string_status() -> None:
    """The "ResponseInfo Elements" form and a digit-string Status are read too."""
    data = {
        "ResponseInfo": [
            {"TransactionId": "5", "Status": "100", "OmedaCustomerId": "42"},
        ],
        "SubmissionId": "abc",
    }
    transaction = Transaction.from_response(data)
    assert transaction.status is StatusCode.MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER
    assert transaction.omeda_customer_id == 42
    assert transaction.submission_id == "abc"


def test_transaction_unknown_status_keeps_its_number() -> None:
    """A status Omeda adds later is a pseudo-member, not a crash."""
    transaction = Transaction.from_response({"TransactionId": 1, "Status": 42})
    assert int(transaction.status) == 42
    assert not transaction.status.is_documented


def test_transaction_ignores_extra_keys() -> None:
    """Keys Omeda adds later are ignored (tolerant reader)."""
    transaction = Transaction.from_response({"TransactionId": 1, "Status": 0, "NewThing": [1]})
    assert transaction.status is StatusCode.LOADED_INTO_STAGING


def test_order_issue_history_from_page_003_example() -> None:
    """The page's success example: every field typed, nothing lost."""
    history = OrderIssueHistory.from_response(PAGE_003_SUCCESS)
    assert history.customer_url == PAGE_003_SUCCESS["Customer"]
    assert history.submission_id == "a34dc966-34fe-4061-bf04-a93999d83ecb"
    assert not history.is_empty
    (product,) = history.products
    assert product.product_id == 6
    (order,) = product.orders
    assert order.verification_date == dt.datetime(2012, 9, 24)
    assert order.start_issue_date == dt.datetime(2014, 8, 2)
    assert order.order_date == dt.datetime(2020, 9, 24, 11, 17)
    assert order.changed_date == dt.datetime(2023, 7, 17, 11, 21, 55)
    assert order.amount == Decimal("20.00")
    assert str(order.amount) == "20.00"
    assert order.marketing_class_id is MarketingClass.ACTIVE
    assert order.marketing_class_id.is_active
    assert order.payment_status is PaymentStatus.CREDIT
    assert order.receive is True
    assert (order.term, order.quantity, order.source_id) == (3, 1, 10)
    assert order.shipping_address_id == 50061
    assert order.auto_renewal_code == 0
    assert order.sku is None  # "Always Returned" per the table, absent from the example
    assert order.raw == PAGE_003_SUCCESS["OrderHistory"][0]["Orders"][0]
    assert [issue.issue_name for issue in product.issues] == [f"ABCissue{n}" for n in range(1, 5)]
    assert product.issues[0] == IssueRecord(
        issue_description="ABC Issue", issue_name="ABCissue1", issue_date=dt.datetime(2014, 8, 2)
    )


def test_order_record_reads_every_documented_field() -> None:
    """Every Orders element of page 003 lands on its snake_case attribute."""
    data = {
        "StartIssueDate": "2010-03-08 21:23:34",
        "ExpectedExpirationDate": "2011-03-08 21:23:34",
        "StartIssueName": "Mar10",
        "StartIssueDescription": "March 2010",
        "ShippingAddressId": 1,
        "EmailAddressId": 2,
        "RequestedVersion": "D",
        "RequestedVersionCode": "D",
        "ActualVersionCode": "B",
        "Quantity": 4,
        "SKU": "SKU-1",
        "Receive": 0,
        "MarketingClassId": 23,
        "MarketingClassDescription": "Credit Suspends",
        "BillingAddressId": 3,
        "ChangedDate": "2010-03-08 21:23:34",
        "PaymentStatus": 8,
        "Amount": 65.5,
        "Term": 12,
        "OrderDate": "2010-03-08 21:23:34",
        "AutoRenewalCode": 5,
        "NumberOfInstallments": 2,
        "InstallmentCode": 1,
        "DonorId": 99,
        "GiftMessage": "Enjoy",
        "GiftSentDate": "2010-03-09",
        "VerificationDate": "2010-03-10 00:00:00",
        "SourceId": 23,
        "PremiumCode": 7,
        "PremiumCodeDescription": "Tote bag",
        "Unexpected": "kept in raw",
    }
    order = OrderRecord.from_response(data)
    assert order.start_issue_date == dt.datetime(2010, 3, 8, 21, 23, 34)
    assert order.expected_expiration_date == dt.datetime(2011, 3, 8, 21, 23, 34)
    assert (order.start_issue_name, order.start_issue_description) == ("Mar10", "March 2010")
    assert (order.shipping_address_id, order.email_address_id, order.billing_address_id) == (
        1,
        2,
        3,
    )
    assert (order.requested_version, order.requested_version_code) == ("D", "D")
    assert order.actual_version_code == "B"
    assert (order.quantity, order.sku, order.receive) == (4, "SKU-1", False)
    assert order.marketing_class_id is MarketingClass.CREDIT_SUSPENDS
    assert not order.marketing_class_id.is_active
    assert order.marketing_class_description == "Credit Suspends"
    assert order.payment_status is PaymentStatus.FREE_TERM
    assert order.amount == Decimal("65.5")
    assert (order.term, order.auto_renewal_code) == (12, 5)
    assert (order.number_of_installments, order.installment_code, order.donor_id) == (2, 1, 99)
    assert order.gift_message == "Enjoy"
    assert order.gift_sent_date == dt.datetime(2010, 3, 9)
    assert order.verification_date == dt.datetime(2010, 3, 10)
    assert (order.source_id, order.premium_code) == (23, 7)
    assert order.premium_code_description == "Tote bag"
    assert order.raw["Unexpected"] == "kept in raw"


def test_order_record_raw_is_read_only() -> None:
    """raw cannot be changed behind the frozen record's back."""
    order = OrderRecord.from_response({"Quantity": 1})
    with pytest.raises(TypeError):
        order.raw["Quantity"] = 2  # type: ignore[index]


def test_product_history_without_orders_or_issues() -> None:
    """Orders and Issues may be absent: empty tuples."""
    product = ProductOrderHistory.from_response({"ProductId": "6"})
    assert product == ProductOrderHistory(product_id=6)


# --- dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-09-24", dt.datetime(2012, 9, 24)),
        ("2010-03-08 21:23:34", dt.datetime(2010, 3, 8, 21, 23, 34)),
        ("2020-09-24 11:17:00.0", dt.datetime(2020, 9, 24, 11, 17)),
        ("2020-09-24 11:17:00.123456789", dt.datetime(2020, 9, 24, 11, 17, 0, 123456)),
        ("2020-09-24 11:17", dt.datetime(2020, 9, 24, 11, 17)),
        ("2020-09-24T11:17:05", dt.datetime(2020, 9, 24, 11, 17, 5)),
        (" 2020-09-24 ", dt.datetime(2020, 9, 24)),
        ("2020-02-30", None),
        ("0000-00-00 00:00:00", None),
        ("24/09/2020", None),
        ("", None),
    ],
)
def test_dates_are_read_leniently(text: str, expected: dt.datetime | None) -> None:
    """Omeda's three date shapes parse; anything unreadable is None, never a crash."""
    assert parse_omeda_datetime(text) == expected


def test_unreadable_date_keeps_text_in_raw() -> None:
    """An unreadable date is None on the attribute and intact in raw."""
    order = OrderRecord.from_response({"OrderDate": "soon"})
    assert order.order_date is None
    assert order.raw["OrderDate"] == "soon"


# --- codes --------------------------------------------------------------------------


def test_payment_status_codes_match_page_003() -> None:
    """The seven documented payment statuses, by number."""
    assert {int(code) for code in PaymentStatus} == {1, 2, 3, 5, 6, 7, 8}
    assert PaymentStatus(2) is PaymentStatus.PAID_WITH_ORDER
    assert PaymentStatus(2).is_documented


def test_marketing_classes_match_page_003() -> None:
    """The thirteen documented marketing classes; only 1 and 2 are active."""
    assert {int(code) for code in MarketingClass} == {
        1, 2, 3, 8, 9, 10, 20, 21, 22, 23, 24, 25, 50,
    }  # fmt: skip
    assert {int(code) for code in MarketingClass if code.is_active} == {1, 2}


@pytest.mark.parametrize("enum_type", [PaymentStatus, MarketingClass])
def test_unknown_codes_keep_their_number(enum_type: type[PaymentStatus | MarketingClass]) -> None:
    """An undocumented number is a pseudo-member that keeps it; text is refused."""
    code = enum_type(4 if enum_type is PaymentStatus else 77)
    assert int(code) in (4, 77)
    assert code.name.startswith("UNKNOWN_")
    assert not code.is_documented
    with pytest.raises(ValueError, match="not a valid"):
        enum_type("4")  # type: ignore[arg-type]


def test_unknown_marketing_class_is_not_active() -> None:
    """A class Omeda adds later is not counted active."""
    order = OrderRecord.from_response({"MarketingClassId": "77", "PaymentStatus": "4"})
    assert order.marketing_class_id is not None
    assert int(order.marketing_class_id) == 77
    assert not order.marketing_class_id.is_active
    assert order.payment_status is not None
    assert int(order.payment_status) == 4


# --- run processor ------------------------------------------------------------------


def test_processor_results_from_batch_status() -> None:
    """BatchStatus items: Success as "true"/"false" strings or booleans."""
    results = ProcessorResult.from_batch(
        {
            "BatchStatus": [
                {
                    "TransactionId": 1,
                    "OmedaCustomerId": 10,
                    "TransactionStatusId": 100,
                    "Success": "true",
                },
                {"TransactionId": "2", "Success": False},
                {"TransactionId": 3, "Success": "False"},
                {"TransactionId": 4, "Success": True, "TransactionStatusId": "101"},
            ],
            "SubmissionId": "s",
        }
    )
    assert [r.succeeded for r in results] == [True, False, False, True]
    assert results[0].omeda_customer_id == 10
    assert results[0].status is StatusCode.MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER
    assert results[3].status is StatusCode.MOVED_TO_ERD_COMPLETE_EXISTING_CUSTOMER
    assert not any(r.already_processed for r in results)


def test_processor_results_from_bare_list() -> None:
    """A bare list of BatchStatus items is accepted."""
    (result,) = ProcessorResult.from_batch([{"TransactionId": 9, "Success": "true"}])
    assert result == ProcessorResult(transaction_id=9, succeeded=True)


# --- malformed answers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "data", "named"),
    [
        (SubmissionReceipt.from_response, {"ResponseInfo": [{"Url": "u"}]}, "TransactionId"),
        (SubmissionReceipt.from_response, {"ResponseInfo": []}, "ResponseInfo"),
        (SubmissionReceipt.from_response, {"ResponseInfo": "x"}, "ResponseInfo"),
        (
            SubmissionReceipt.from_response,
            {"ResponseInfo": [{"TransactionId": "x"}]},
            "TransactionId",
        ),
        (SubmissionReceipt.from_response, ["not", "an", "object"], "JSON object"),
        (SubmissionReceipt.from_response, None, "JSON object"),
        (OrderReceipt.from_response, {"ResponseInfo": [{"Url": "u"}]}, "OrderId"),
        (Transaction.from_response, {"TransactionId": 1}, "Status"),
        (Transaction.from_response, {"Status": 1}, "TransactionId"),
        (Transaction.from_response, {"TransactionId": 1, "Status": "abc"}, "Status"),
        (Transaction.from_response, {"TransactionId": 1, "Status": True}, "Status"),
        (Transaction.from_response, {"TransactionId": 1.5, "Status": 1}, "TransactionId"),
        (Transaction.from_response, {"TransactionId": "--5", "Status": 1}, "TransactionId"),
        (OrderIssueHistory.from_response, {"Customer": "c"}, "OrderHistory"),
        (OrderIssueHistory.from_response, {"OrderHistory": 5}, "OrderHistory"),
        (OrderIssueHistory.from_response, {"OrderHistory": [{}]}, "OrderHistory[0].ProductId"),
        (
            OrderIssueHistory.from_response,
            {"OrderHistory": [{"ProductId": 1, "Orders": "x"}]},
            "OrderHistory[0].Orders",
        ),
        (
            OrderIssueHistory.from_response,
            {"OrderHistory": [{"ProductId": 1, "Orders": [{"Amount": "abc"}]}]},
            "OrderHistory[0].Orders[0].Amount",
        ),
        (
            OrderIssueHistory.from_response,
            {"OrderHistory": [{"ProductId": 1, "Orders": [{"Amount": "NaN"}]}]},
            "OrderHistory[0].Orders[0].Amount",
        ),
        (
            OrderIssueHistory.from_response,
            {"OrderHistory": [{"ProductId": 1, "Orders": [{"Receive": 7}]}]},
            "Receive",
        ),
        (
            OrderIssueHistory.from_response,
            {"OrderHistory": [{"ProductId": 1, "Orders": [5]}]},
            "OrderHistory[0].Orders[0]",
        ),
        (ProcessorResult.from_batch, {"SubmissionId": "s"}, "BatchStatus"),
        (ProcessorResult.from_batch, [{"Success": "true"}], "TransactionId"),
    ],
)
def test_wrong_shapes_raise_malformed_naming_the_path(reader: Any, data: Any, named: str) -> None:
    """A missing required key or a wrong shape is MalformedResponseError naming the path."""
    with pytest.raises(MalformedResponseError) as caught:
        reader(data, status=200)
    assert named in str(caught.value)
    assert caught.value.status == 200
    assert caught.value.content_type == "application/json"


def test_malformed_carries_the_given_status() -> None:
    """The HTTP status handed in is the one on the error."""
    with pytest.raises(MalformedResponseError) as caught:
        Transaction.from_response({}, status=203)
    assert caught.value.status == 203
    assert "HTTP 203" in str(caught.value)


def test_models_are_frozen_and_comparable() -> None:
    """Answers are immutable values."""
    receipt = SubmissionReceipt(transaction_id=1, url="u")
    assert receipt == SubmissionReceipt(transaction_id=1, url="u")
    with pytest.raises(AttributeError):
        receipt.transaction_id = 2  # type: ignore[misc]
    assert OrderIssueHistory().is_empty
