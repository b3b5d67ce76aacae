"""Payload properties: validation and structuring on any JSON, and exact wire round trips.

Extends tests/models/test_converter.py (one round trip of Product/Telemarketing,
validate on a few keys) to whole nested records, both schemas, and
``from_dict`` as well as ``validate``.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from omeda_async import (
    Address,
    CustomerAndOrder,
    CustomerDemographic,
    Email,
    Order,
    OrderProduct,
    PayloadValidationError,
    Phone,
    Product,
    validate,
)
from omeda_async.models import from_dict
from omeda_async.models._wire import customer_and_order_body, order_body

TEXT = st.text(max_size=12)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=15,
)
CUSTOMER_KEYS = st.sampled_from(
    ["OmedaCustomerId", "ClientCustomerId", "FirstName", "Gender", "SignupDate", "OrderDate",
     "Emails", "Phones", "Addresses", "Products", "BillingInformation", "CustomerDemographics",
     "CustomerBehaviors", "Telemarketing", "MarketingProducts", "ProductUpdates", "MergeCode",
     "CustomerStatusId", "Bogus"]
)  # fmt: skip
NESTED_KEYS = st.sampled_from(
    ["EmailAddress", "Number", "Street", "CountryCode", "RegionCode", "OmedaProductId",
     "Receive", "Term", "Amount", "StartIssueDate", "OmedaDemographicId",
     "OmedaDemographicValue", "CreditCardNumber", "CardSecurityCode", "ExpirationDate",
     "NameOnCard", "Quantity", "Bogus"]
)  # fmt: skip
ORDER_KEYS = st.sampled_from(
    ["OmedaCustomerId", "TransactionId", "Products", "RunProcessor", "BillingInformation",
     "ClientOrderId", "Bogus"]
)  # fmt: skip
NESTED = st.dictionaries(NESTED_KEYS, JSON, max_size=5)
FIELD_VALUE = JSON | NESTED | st.lists(NESTED, max_size=3)
CUSTOMER_LIKE = st.dictionaries(CUSTOMER_KEYS, FIELD_VALUE, max_size=6) | JSON
ORDER_LIKE = st.dictionaries(ORDER_KEYS, FIELD_VALUE, max_size=5) | JSON


@settings(max_examples=200, deadline=None)
@given(CUSTOMER_LIKE, ORDER_LIKE)
def test_validate_never_raises_on_any_json(customer: Any, order: Any) -> None:
    """validate returns a list of violations for any JSON-like value, for both schemas."""
    for payload, schema in ((customer, None), (order, Order)):
        violations = validate(payload, schema=schema)
        assert isinstance(violations, list)
        assert all(isinstance(str(v), str) and v.rule for v in violations)


@settings(max_examples=200, deadline=None)
@given(CUSTOMER_LIKE, ORDER_LIKE)
def test_from_dict_raises_only_payload_validation_error(customer: Any, order: Any) -> None:
    """from_dict builds a model or raises PayloadValidationError with violations, nothing else."""
    for payload, schema in ((customer, CustomerAndOrder), (order, Order)):
        try:
            model: object = from_dict(schema, payload)
        except PayloadValidationError as exc:
            model = exc
        assert isinstance(model, schema) or (
            isinstance(model, PayloadValidationError) and model.violations
        )


@settings(max_examples=150, deadline=None)
@given(CUSTOMER_LIKE, ORDER_LIKE)
def test_wire_bodies_raise_only_payload_validation_error(customer: Any, order: Any) -> None:
    """Serializing any dict gives JSON bytes or PayloadValidationError, never another error."""
    for payload, body in ((customer, customer_and_order_body), (order, order_body)):
        try:
            sent: object = json.loads(body(payload))
        except PayloadValidationError as exc:
            sent = exc
        assert isinstance(sent, dict) or (
            isinstance(sent, PayloadValidationError) and sent.violations
        )


# ------------------------------------------------------------ valid models

NAME = st.text(string.ascii_letters + " '-", min_size=1, max_size=30)
IDS = st.integers(min_value=1, max_value=10**10)
EMAIL = st.builds(
    "{}@{}.{}".format,
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10),
    st.text(string.ascii_lowercase, min_size=1, max_size=10),
    st.sampled_from(["com", "org", "co.uk"]),
)
EMAILS = st.builds(Email, email_address=EMAIL, email_contact_type=st.none() | st.just(300))
PHONES = st.builds(Phone, number=st.text(string.digits + "-", min_size=7, max_size=15))
ADDRESSES = st.builds(
    Address,
    street=st.none() | NAME,
    city=st.none() | NAME,
    postal_code=st.none() | st.text(string.digits, min_size=5, max_size=5),
    company=st.none() | NAME,
)
PRODUCTS = st.builds(
    Product,
    omeda_product_id=IDS,
    receive=st.none() | st.sampled_from([0, 1]),
    term=st.none() | st.integers(1, 60),
    personal_identifier=st.none() | NAME,
)
DEMOGRAPHICS = st.builds(
    CustomerDemographic,
    omeda_demographic_id=IDS,
    omeda_demographic_value=IDS | st.lists(IDS, min_size=1, max_size=3),
)
CUSTOMERS = st.builds(
    CustomerAndOrder,
    omeda_customer_id=st.none() | IDS,
    client_customer_id=st.none() | IDS | st.text(string.ascii_letters, min_size=1, max_size=10),
    first_name=st.none() | NAME,
    last_name=st.none() | NAME,
    gender=st.none() | st.sampled_from(["M", "F"]),
    signup_date=st.none() | st.dates(),
    promo_code=st.none() | st.text(string.ascii_uppercase, min_size=1, max_size=10),
    emails=st.none() | st.lists(EMAILS, min_size=1, max_size=2),
    phones=st.none() | st.lists(PHONES, min_size=1, max_size=2),
    addresses=st.none() | st.lists(ADDRESSES, min_size=1, max_size=2),
    products=st.none() | st.lists(PRODUCTS, min_size=1, max_size=3),
    customer_demographics=st.none() | st.lists(DEMOGRAPHICS, min_size=1, max_size=2),
)
ORDERS = st.builds(
    Order,
    omeda_customer_id=IDS,
    products=st.lists(
        st.builds(OrderProduct, omeda_product_id=IDS, quantity=st.none() | st.integers(0, 99)),
        min_size=1,
        max_size=3,
    ),
)


@settings(max_examples=100, deadline=None)
@given(CUSTOMERS)
def test_valid_customer_round_trips_exactly_through_the_wire(model: CustomerAndOrder) -> None:
    """A valid CustomerAndOrder -> the bytes sent -> from_dict is the same model."""
    assume(not validate(model))
    sent = json.loads(customer_and_order_body(model))
    assert from_dict(CustomerAndOrder, sent) == model
    # A dict payload is sent exactly as the model it describes.
    assert json.loads(customer_and_order_body(sent)) == sent


@settings(max_examples=100, deadline=None)
@given(ORDERS)
def test_valid_order_round_trips_exactly_through_the_wire(model: Order) -> None:
    """A valid Order -> the bytes sent -> from_dict is the same model."""
    assume(not validate(model, schema=Order))
    sent = json.loads(order_body(model))
    assert from_dict(Order, sent) == model
    assert json.loads(order_body(sent)) == sent
