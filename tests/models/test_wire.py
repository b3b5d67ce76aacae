"""Request bodies: validated first, then compact JSON in the form Omeda's tables name."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from omeda_async import (
    BillingInformation,
    CustomerAndOrder,
    Email,
    Order,
    OrderProduct,
    PayloadValidationError,
    Product,
)
from omeda_async.models import from_dict
from omeda_async.models._wire import customer_and_order_body, order_body
from tests.models.page_examples import (
    ADD_ORDER_CANONICAL,
    ADD_ORDER_EXAMPLE,
    PAID_BILL_ME_CANONICAL,
    PAID_BILL_ME_EXAMPLE,
    SAVE_CUSTOMER_AND_ORDER_CANONICAL,
    SAVE_CUSTOMER_AND_ORDER_EXAMPLE,
    fresh,
)
from tests.support import reversed_keys


@pytest.mark.parametrize(
    ("example", "canonical"),
    [
        (SAVE_CUSTOMER_AND_ORDER_EXAMPLE, SAVE_CUSTOMER_AND_ORDER_CANONICAL),
        (PAID_BILL_ME_EXAMPLE, PAID_BILL_ME_CANONICAL),
    ],
)
def test_dict_is_sent_in_the_tables_form(
    example: dict[str, Any], canonical: dict[str, Any]
) -> None:
    """A page example dict goes out normalized: digit-string ids as ints, and so on."""
    assert json.loads(customer_and_order_body(fresh(example))) == canonical


def test_model_and_dict_paths_send_identical_bytes() -> None:
    """The model and the dict of the same payload produce the same body."""
    model = from_dict(CustomerAndOrder, fresh(SAVE_CUSTOMER_AND_ORDER_EXAMPLE))
    assert customer_and_order_body(model) == customer_and_order_body(
        fresh(SAVE_CUSTOMER_AND_ORDER_EXAMPLE)
    )


def test_dict_is_sent_in_the_models_field_order_whatever_its_key_order() -> None:
    """Keys in any order give the same bytes: the bulk job keys records by a hash of them."""
    model = from_dict(CustomerAndOrder, fresh(SAVE_CUSTOMER_AND_ORDER_EXAMPLE))
    shuffled = reversed_keys(fresh(SAVE_CUSTOMER_AND_ORDER_EXAMPLE))
    assert list(shuffled) != list(SAVE_CUSTOMER_AND_ORDER_EXAMPLE)
    assert customer_and_order_body(shuffled) == customer_and_order_body(model)


def test_do_charge_opens_billing_information_as_the_converter_writes_it() -> None:
    """The defaulted DoCharge comes first in a model's body and in a dict's, in any key order."""
    model = CustomerAndOrder(
        billing_information=BillingInformation(
            billing_street="1 Main St", billing_city="Oslo", billing_country_code="NOR"
        )
    )
    expected = (
        b'{"BillingInformation":{"DoCharge":"False","BillingStreet":"1 Main St",'
        b'"BillingCity":"Oslo","BillingCountryCode":"NOR"}}'
    )
    assert customer_and_order_body(model) == expected
    assert customer_and_order_body(reversed_keys(json.loads(expected))) == expected


def test_order_body_for_the_add_order_example() -> None:
    """order_body sends page 002's example as its table names it."""
    assert json.loads(order_body(fresh(ADD_ORDER_EXAMPLE))) == ADD_ORDER_CANONICAL
    model = from_dict(Order, fresh(ADD_ORDER_EXAMPLE))
    assert order_body(model) == order_body(fresh(ADD_ORDER_EXAMPLE))


def test_body_is_compact_utf8_json_without_nulls() -> None:
    """No spaces after separators, no null for absent fields, UTF-8 text as is."""
    body = customer_and_order_body(
        CustomerAndOrder(first_name="Zoë", last_name=None, emails=[Email(email_address="z@x.io")])
    )
    assert body == '{"FirstName":"Zoë","Emails":[{"EmailAddress":"z@x.io"}]}'.encode()
    assert b"null" not in body


def test_money_and_dates_go_out_in_omedas_formats() -> None:
    """Decimal as its exact text, dates as yyyy-MM-dd, in the bytes sent."""
    body = customer_and_order_body(
        CustomerAndOrder(
            products=[
                Product(
                    omeda_product_id=14,
                    amount=Decimal("65.00"),
                    order_expiration_date=date(2027, 1, 31),
                )
            ]
        )
    )
    assert body == (
        b'{"Products":[{"OmedaProductId":14,"Amount":"65.00","OrderExpirationDate":"2027-01-31"}]}'
    )


def test_invalid_payload_raises_with_every_violation_and_no_body() -> None:
    """A payload breaking rules raises PayloadValidationError (a ValueError) listing all of them."""
    payload = {"Gender": "X", "Emails": [{"EmailAddress": "nope"}], "Bogus": 1}
    with pytest.raises(PayloadValidationError) as caught:
        customer_and_order_body(payload)
    assert isinstance(caught.value, ValueError)
    assert {(v.path, v.rule) for v in caught.value.violations} == {
        ("Gender", "choice"),
        ("Emails[0].EmailAddress", "email"),
        ("Bogus", "unknown_field"),
    }


def test_invalid_model_raises_too() -> None:
    """A model is validated in its wire form before anything is serialized."""
    with pytest.raises(PayloadValidationError) as caught:
        order_body(Order(products=[OrderProduct(omeda_product_id=1)]))
    assert [v.rule for v in caught.value.violations] == ["conditional"]


@pytest.mark.parametrize(
    ("build", "payload", "expected"),
    [
        (customer_and_order_body, Order(omeda_customer_id=1), "expected a CustomerAndOrder"),
        (order_body, CustomerAndOrder(), "expected a Order payload"),
        (customer_and_order_body, Product(omeda_product_id=1), "got a Product model"),
    ],
)
def test_model_of_the_wrong_class_is_rejected(build: Any, payload: Any, expected: str) -> None:
    """Each service takes only its own top-level model."""
    with pytest.raises(PayloadValidationError) as caught:
        build(payload)
    (violation,) = caught.value.violations
    assert violation.path == ""
    assert expected in violation.message


@pytest.mark.parametrize("payload", [None, [], "{}", b"{}"])
def test_non_mapping_is_rejected(payload: Any) -> None:
    """Only a model or a mapping can become a body."""
    with pytest.raises(PayloadValidationError):
        customer_and_order_body(payload)


def test_extra_fields_are_sent_unchecked() -> None:
    """extra_fields go on the wire as given, even where Omeda's tables say nothing."""
    body = customer_and_order_body(
        CustomerAndOrder(first_name="A", extra_fields={"BrandNewField": [1, {"x": "y"}]})
    )
    assert json.loads(body) == {"FirstName": "A", "BrandNewField": [1, {"x": "y"}]}


def test_read_only_mapping_extra_fields_are_sent_too() -> None:
    """extra_fields may be any mapping, not only a dict: merged after the documented fields."""
    body = customer_and_order_body(
        CustomerAndOrder(first_name="A", extra_fields=MappingProxyType({"BrandNewField": 1}))
    )
    assert body == b'{"FirstName":"A","BrandNewField":1}'


@pytest.mark.parametrize("value", [object(), float("nan"), {1, 2}])
def test_unserializable_extra_fields_raise_payload_validation_error(value: Any) -> None:
    """A value JSON cannot carry is a PayloadValidationError, not a TypeError from json."""
    with pytest.raises(PayloadValidationError, match="not JSON-serializable"):
        customer_and_order_body(CustomerAndOrder(extra_fields={"X": value}))


def test_cyclic_extra_fields_raise_payload_validation_error() -> None:
    """A cycle smuggled in through extra_fields fails cleanly, not with RecursionError."""
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(PayloadValidationError, match="not JSON-serializable"):
        customer_and_order_body(CustomerAndOrder(extra_fields={"Loop": cycle}))


def test_card_data_reaches_the_wire_unmasked() -> None:
    """Masking is for repr and messages only: Omeda receives the real card data."""
    billing = BillingInformation(
        credit_card_number="4111111111111111",
        card_security_code="999",
        expiration_date="12/2031",
        name_on_card="J S",
        deposit_date=date(2026, 1, 2),
        auth_code="A1",
        billing_street="1 Main St",
        billing_city="Oslo",
        billing_country_code="NOR",
    )
    wire = json.loads(customer_and_order_body(CustomerAndOrder(billing_information=billing)))
    assert wire["BillingInformation"]["CreditCardNumber"] == "4111111111111111"
    assert wire["BillingInformation"]["CardSecurityCode"] == "999"
    assert wire["BillingInformation"]["ExpirationDate"] == "12/2031"
    assert wire["BillingInformation"]["DoCharge"] == "False"
