"""Payload properties: validation and structuring on any JSON, and exact wire round trips.

Extends tests/models/test_converter.py (one round trip of Product/Telemarketing,
validate on a few keys) to whole nested records, both schemas, and
``from_dict`` as well as ``validate``.

The request body is built by one pass that checks and converts together
(``checked_wire``); the converter is its reference here: a model's wire dict is
exactly ``unstructure(model)``, a valid dict's is ``unstructure(structure(d))``,
key order included, and so a record is sent as the same bytes in every form
(the bulk job keys records by a hash of those bytes).
"""

from __future__ import annotations

import json
import string
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from omeda_async import (
    Address,
    AddressContactType,
    BehaviorAttribute,
    BillingInformation,
    CustomerAndOrder,
    CustomerBehavior,
    CustomerDemographic,
    Email,
    Order,
    OrderProduct,
    PayloadValidationError,
    Phone,
    PhoneContactType,
    Product,
    ProductUpdate,
    Telemarketing,
    validate,
)
from omeda_async.models import _wire, from_dict, to_dict
from omeda_async.models._converter import payload_converter, spec_fields
from omeda_async.models._payloads import PAYLOAD_CLASSES, Kind, Payload
from omeda_async.models._validation import _RULES, _Shapes, checked_wire
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
PHONES = st.builds(
    Phone,
    number=st.text(string.digits + "-", min_size=7, max_size=15),
    phone_contact_type=st.none() | st.sampled_from(PhoneContactType),
)
ADDRESSES = st.builds(
    Address,
    address_contact_type=st.none() | st.sampled_from(AddressContactType),
    street=st.none() | NAME,
    city=st.none() | NAME,
    postal_code=st.none() | st.text(string.digits, min_size=5, max_size=5),
    company=st.none() | NAME,
    country_code=st.none() | st.sampled_from(["USA", "GBR"]),
    region_code=st.none() | st.sampled_from(["IL", "ON"]),
)
MONEY = st.decimals(min_value=0, max_value=10**6, places=2)
# Values that survive the wire exactly: Omeda's formats drop seconds (HH:mm) or
# microseconds (BehaviorDate), and a date field given a datetime sends its date.
MINUTES = st.datetimes().map(lambda moment: moment.replace(second=0, microsecond=0))
SECONDS = st.datetimes().map(lambda moment: moment.replace(microsecond=0))
FREE_PRODUCTS = st.builds(
    Product,
    omeda_product_id=IDS,
    receive=st.none() | st.sampled_from([0, 1]),
    term=st.none() | st.integers(1, 60),
    personal_identifier=st.none() | NAME,
    requested_version=st.none() | st.sampled_from(["P", "D", "B"]),
    quantity=st.none() | st.integers(0, 99),
)
PAID_PRODUCTS = st.builds(
    Product,
    omeda_product_id=IDS,
    term=st.integers(1, 60),
    amount=MONEY,
    amount_paid=st.none() | MONEY,
    start_issue_date=st.none() | st.dates(),
    order_expiration_date=st.none() | st.dates(),
)
PRODUCTS = FREE_PRODUCTS | PAID_PRODUCTS
DEMOGRAPHICS = st.builds(
    CustomerDemographic,
    omeda_demographic_id=IDS,
    omeda_demographic_value=IDS | st.lists(IDS, min_size=1, max_size=3),
)
TELEMARKETING = st.builds(
    Telemarketing,
    telemarketing_company=NAME,
    telemarketing_recording_id=NAME,
    telemarketing_agent=st.text(string.ascii_letters, min_size=1, max_size=20),
    personal_id_question=NAME,
    spoke_to_name=NAME,
    spoke_to_title=NAME,
    time_of_call=st.none() | st.dates() | MINUTES,
    end_of_call=st.none() | st.dates() | MINUTES,
    length_of_call=st.none() | st.integers(0, 10**4),
    authorized_assistant_response=st.none() | st.booleans(),
)
BEHAVIORS = st.builds(
    CustomerBehavior,
    behavior_id=IDS,
    behavior_date=SECONDS,
    behavior_promo_code=st.none() | NAME,
    behavior_attributes=st.none()
    | st.lists(
        st.builds(BehaviorAttribute, behavior_attribute_type_id=IDS, behavior_attribute_value=NAME)
        | st.builds(
            BehaviorAttribute, behavior_attribute_type_id=IDS, behavior_attribute_value_id=IDS
        ),
        min_size=1,
        max_size=2,
    ),
)
BILLING = st.builds(
    BillingInformation,
    billing_street=NAME,
    billing_city=NAME,
    billing_country_code=st.sampled_from(["GBR", "NOR"]),
    billing_postal_code=st.none() | st.text(string.digits, min_size=4, max_size=6),
    deposit_date=st.none() | st.dates(),
    comment1=st.none() | NAME,
)
CUSTOMERS = st.builds(
    CustomerAndOrder,
    omeda_customer_id=st.none() | IDS,
    client_customer_id=st.none() | IDS | st.text(string.ascii_letters, min_size=1, max_size=10),
    first_name=st.none() | NAME,
    last_name=st.none() | NAME,
    gender=st.none() | st.sampled_from(["M", "F"]),
    signup_date=st.none() | st.dates() | MINUTES,
    order_date=st.none() | st.dates(),
    promo_code=st.none() | st.text(string.ascii_uppercase, min_size=1, max_size=10),
    emails=st.none() | st.lists(EMAILS, min_size=1, max_size=2),
    phones=st.none() | st.lists(PHONES, min_size=1, max_size=2),
    addresses=st.none() | st.lists(ADDRESSES, min_size=1, max_size=2),
    products=st.none() | st.lists(PRODUCTS, min_size=1, max_size=3),
    product_updates=st.none()
    | st.lists(st.builds(ProductUpdate, omeda_product_id_update=IDS), min_size=1, max_size=2),
    customer_demographics=st.none() | st.lists(DEMOGRAPHICS, min_size=1, max_size=2),
    telemarketing=st.none() | st.lists(TELEMARKETING, min_size=1, max_size=1),
    customer_behaviors=st.none() | st.lists(BEHAVIORS, min_size=1, max_size=2),
    billing_information=st.none() | BILLING,
    merge_code=st.none() | st.sampled_from([0, 1]),
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


# ------------------------------------------- one pass: the converter is its reference


def ordered(value: Any) -> Any:
    """``value`` with every dict's key order made part of what == compares."""
    if isinstance(value, dict):
        return [(key, ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [ordered(item) for item in value]
    return value


def other_form(kind: Kind, value: Any) -> list[Any]:
    """The forms a dict may give a wire ``value`` in, besides the wire form itself."""
    if kind is Kind.INT:
        return [str(value)]
    if kind is Kind.DECIMAL:
        return [Decimal(value)] + ([] if value.startswith("-") else ["0" + value])
    if kind is Kind.DATE or (kind is Kind.DATE_TIME and len(value) == len("yyyy-MM-dd")):
        return [date.fromisoformat(value)]
    if kind in (Kind.DATE_TIME, Kind.BEHAVIOR_DATE_TIME):
        return [datetime.fromisoformat(value)]
    if kind is Kind.DEMOGRAPHIC_VALUE and isinstance(value, list):
        return [tuple(value)]
    return []


@st.composite
def rewritten(draw: st.DrawFn, wire: dict[str, Any], cls: type[Payload], forms: bool) -> Any:
    """``wire`` with its keys shuffled at every level and, with ``forms``, values in other forms."""
    specs = {spec.wire: spec for _, spec in spec_fields(cls)}
    items = []
    for key, value in wire.items():
        spec = specs[key]
        if spec.model is not None and spec.kind is Kind.OBJECT:
            value = draw(rewritten(value, spec.model, forms))
        elif spec.model is not None:
            value = [draw(rewritten(item, spec.model, forms)) for item in value]
            value = tuple(value) if forms and draw(st.booleans()) else value
        elif forms:
            value = draw(st.sampled_from([value, *other_form(spec.kind, value)]))
        items.append((key, value))
    return dict(draw(st.permutations(items)))


def body_of(payload: Any, schema: type[Payload]) -> bytes:
    return customer_and_order_body(payload) if schema is CustomerAndOrder else order_body(payload)


@settings(max_examples=150, deadline=None)
@given(st.one_of(CUSTOMERS, ORDERS), st.data())
def test_a_record_is_sent_as_the_same_bytes_in_any_key_order(model: Payload, data: Any) -> None:
    """Shuffling a dict's keys at every level, or sending the model itself, changes no byte."""
    schema = type(model)
    assume(not validate(model))
    body = body_of(model, schema)
    assert body_of(to_dict(model), schema) == body
    assert body_of(data.draw(rewritten(to_dict(model), schema, forms=False)), schema) == body


@settings(max_examples=150, deadline=None)
@given(st.one_of(CUSTOMERS, ORDERS), st.data())
def test_a_valid_dict_is_sent_as_the_converter_would_send_it(model: Payload, data: Any) -> None:
    """A valid dict in any accepted form: wire dict == unstructure(structure(dict)), in order."""
    schema = type(model)
    assume(not validate(model))
    wire = to_dict(model)
    payload = data.draw(rewritten(wire, schema, forms=True))
    sent, violations = checked_wire(payload, schema)
    assert violations == []
    converter = payload_converter()
    assert ordered(sent) == ordered(converter.unstructure(converter.structure(payload, schema)))
    assert ordered(sent) == ordered(wire)
    assert body_of(payload, schema) == body_of(model, schema)


# Any value at all in any field of a model: what a caller's bug can put there.
ODD = st.one_of(
    SCALAR,
    st.dates(),
    st.datetimes(),
    st.decimals(),
    st.sampled_from([AddressContactType.HOME, "14", "", "2010-04-18", "2010-04-18 10:30"]),
    st.lists(st.integers() | TEXT, max_size=2),
    st.tuples(st.integers()),
)
EXTRAS = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["NewField", "FirstName", "Term", "DoCharge"]) | TEXT, ODD),
    st.just([("A", 1)]),
    st.just({1: "a"}),
)


def odd_models(cls: type[Payload], extras: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    """Models of ``cls`` with any values in any fields, nested models, dicts and junk in lists."""

    def value(kind: Kind, model: type[Payload] | None) -> st.SearchStrategy[Any]:
        if model is None or depth == 2:
            return ODD
        wires = st.sampled_from([spec.wire for _, spec in spec_fields(model)])
        element = odd_models(model, extras, depth + 1) | st.dictionaries(wires, ODD)
        if kind is Kind.OBJECT:
            return element | ODD
        return st.lists(element | ODD, max_size=3) | st.tuples(element) | ODD

    optional = {name: value(spec.kind, spec.model) for name, spec in spec_fields(cls)}
    if extras:
        optional["extra_fields"] = EXTRAS
    return st.fixed_dictionaries({}, optional=optional).map(lambda fields: cls(**fields))


ANY_CLASS = st.sampled_from(PAYLOAD_CLASSES)


@settings(max_examples=300, deadline=None)
@given(ANY_CLASS.flatmap(lambda cls: odd_models(cls, extras=True)))
def test_a_models_wire_dict_is_exactly_what_the_converter_unstructures(model: Payload) -> None:
    """Valid or not: same keys, values and key order as unstructure, extra_fields included."""
    sent, _ = checked_wire(model, type(model))
    assert ordered(sent) == ordered(payload_converter().unstructure(model))


@settings(max_examples=300, deadline=None)
@given(ANY_CLASS.flatmap(lambda cls: odd_models(cls, extras=False)))
def test_a_model_breaks_exactly_the_rules_its_wire_dict_breaks(model: Payload) -> None:
    """The model pass reports what the wire pass reports for to_dict(model), in the same order."""
    assert validate(model) == validate(to_dict(model), schema=type(model))


# ------------------------------------------------- passes specialized by shape


def checked_with_shapes(
    payload: Any, schema: type[Payload], sightings: int
) -> tuple[tuple[Any, Any], int]:
    """checked_wire with shapes specialized on their ``sightings``-th sight; and how many were.

    Every class starts with no shape seen and ends so: a huge ``sightings``
    runs the general passes only, 1 runs a specialized pass for every dict
    whose keys are all known.
    """
    every = [_RULES[cls].shapes for cls in PAYLOAD_CLASSES if _RULES[cls].shapes is not None]
    for shapes in every:
        shapes.clear()
    default = _Shapes.sightings
    _Shapes.sightings = sightings
    try:
        sent, violations = checked_wire(payload, schema)
        return (ordered(sent), violations), sum(len(shapes) for shapes in every)
    finally:
        _Shapes.sightings = default
        for shapes in every:
            shapes.clear()


def assert_passes_agree(payload: Any, schema: type[Payload]) -> int:
    """The specialized passes build the same dict and find the same violations, in order."""
    general, none = checked_with_shapes(payload, schema, sightings=10**9)
    special, made = checked_with_shapes(payload, schema, sightings=1)
    assert none == 0
    assert special == general
    return made


@settings(max_examples=200, deadline=None)
@given(ANY_CLASS.flatmap(lambda cls: odd_models(cls, extras=False)))
def test_shape_specialized_passes_agree_on_any_dict(model: Payload) -> None:
    """Valid or not, nested or not: a dict of any class gets what the general pass gives."""
    assert_passes_agree(to_dict(model), type(model))


@settings(max_examples=100, deadline=None)
@given(CUSTOMER_LIKE)
def test_shape_specialized_passes_agree_on_any_json(customer: Any) -> None:
    assert_passes_agree(customer, CustomerAndOrder)


@settings(max_examples=100, deadline=None)
@given(CUSTOMERS, st.data())
def test_shape_specialized_passes_agree_on_valid_records(model: Payload, data: Any) -> None:
    """A valid record in any form and key order; its root pass is always a specialized one."""
    assume(not validate(model))
    payload = data.draw(rewritten(to_dict(model), CustomerAndOrder, forms=True))
    assert assert_passes_agree(payload, CustomerAndOrder) >= 1


# ------------------------------------------------------------- the encoder

ENCODABLE = st.recursive(
    SCALAR | st.decimals(allow_nan=False) | st.just(float("nan")) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(TEXT | st.integers() | st.booleans() | st.none(), inner, max_size=3)
    ),
    max_leaves=12,
)


def encoded(encode: Any, value: Any) -> tuple[str, Any]:
    try:
        return "text", encode(value)
    except (TypeError, ValueError) as exc:
        return "error", type(exc)


@settings(max_examples=300, deadline=None)
@given(ENCODABLE)
def test_the_body_encoder_writes_what_its_json_encoder_writes(value: Any) -> None:
    """The C encoder made once gives JSONEncoder.encode's text, and its errors (NaN, Decimal)."""
    assert _wire._CHUNKS is not None  # CPython: the C speedups are there
    assert encoded(_wire._encode, value) == encoded(_wire._ENCODER.encode, value)


def test_the_body_encoder_falls_back_without_c_speedups(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _wire._chunk_encoder(None) is None
    monkeypatch.setattr(_wire, "_CHUNKS", None)
    assert _wire._encode({"FirstName": "Zoë", "Products": [{"OmedaProductId": 14}]}) == (
        '{"FirstName":"Zoë","Products":[{"OmedaProductId":14}]}'
    )
