"""The cattrs converter: Omeda's examples round-trip, formats are exact, nothing null is sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
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
    MarketingProduct,
    OptFilter,
    Order,
    OrderProduct,
    PayloadValidationError,
    Phone,
    PhoneContactType,
    Product,
    ProductFieldResponse,
    ProductUpdate,
    Telemarketing,
    validate,
)
from omeda_async.models import from_dict, to_dict
from omeda_async.models._converter import payload_converter
from omeda_async.models._payloads import Payload
from tests.models.page_examples import (
    ADD_ORDER_CANONICAL,
    ADD_ORDER_EXAMPLE,
    PAID_BILL_ME_CANONICAL,
    PAID_BILL_ME_EXAMPLE,
    PAID_COMP_CANONICAL,
    PAID_COMP_EXAMPLE,
    SAVE_CUSTOMER_AND_ORDER_CANONICAL,
    SAVE_CUSTOMER_AND_ORDER_EXAMPLE,
    fresh,
)

EXAMPLES = [
    pytest.param(
        CustomerAndOrder,
        SAVE_CUSTOMER_AND_ORDER_EXAMPLE,
        SAVE_CUSTOMER_AND_ORDER_CANONICAL,
        id="000-save-customer-and-order",
    ),
    pytest.param(CustomerAndOrder, PAID_COMP_EXAMPLE, PAID_COMP_CANONICAL, id="001-comp"),
    pytest.param(CustomerAndOrder, PAID_BILL_ME_EXAMPLE, PAID_BILL_ME_CANONICAL, id="001-bill-me"),
    pytest.param(Order, ADD_ORDER_EXAMPLE, ADD_ORDER_CANONICAL, id="002-add-order"),
]


def full_customer_and_order() -> CustomerAndOrder:
    """A model with every field of every storecustomerandorder class set."""
    return CustomerAndOrder(
        client_customer_id="EXT-1",
        omeda_customer_id=1234,
        external_customer_id="abc-9",
        external_customer_id_namespace="crm",
        customer_status_id=1,
        salutation="Dr.",
        first_name="Ada",
        middle_name="K",
        last_name="Byron",
        suffix="III",
        title="Engineer",
        gender="F",
        signup_date=datetime(2026, 1, 2, 3, 4),
        client_order_id=19520,
        promo_code="SPRING",
        order_date=date(2026, 1, 2),
        addresses=[
            Address(
                address_contact_type=AddressContactType.HOME,
                company="Analytical Engines",
                street="1 Main St",
                apartment_mail_stop="Suite 2",
                extra_address="Rear",
                city="Chicago",
                region_code="IL",
                region="Illinois",
                postal_code="60601-1000",
                country_code="USA",
                country="United States",
                address_products="ALL",
                airmail="",
            )
        ],
        phones=[
            Phone(phone_contact_type=PhoneContactType.MOBILE, number="312-555-0100", extension="9")
        ],
        emails=[
            Email(email_contact_type=300, email_address="ada@example.com", email_products="NONE")
        ],
        customer_demographics=[
            CustomerDemographic(
                omeda_demographic_id=3, omeda_demographic_value=["37", 38], write_in_desc="x"
            ),
            CustomerDemographic(client_demographic_id="EYES", client_demographic_value="BLUE"),
        ],
        products=[
            Product(
                omeda_product_id=14,
                receive=1,
                quantity=2,
                personal_identifier="Blue",
                requested_version="B",
                shipping_address_id=112,
                email_address_id=1,
                sku="SKU-1",
                term=12,
                price_per_quantity=Decimal("32.50"),
                discount_percentage=Decimal("10"),
                payment_status_id=1,
                amount=Decimal("65.00"),
                amount_paid=Decimal("65.00"),
                sales_tax=Decimal("6.50"),
                postage=Decimal("0.00"),
                purchase_order_number="PO-7",
                start_issue_date=date(2026, 2, 1),
                order_expiration_date=date(2027, 1, 31),
                auto_renewal_code=5,
                number_of_installments=3,
                filter=[OptFilter(email_address="ada@example.com", delete_opt_out=1)],
            )
        ],
        product_updates=[ProductUpdate(omeda_product_id_update=15, requested_version_update="P")],
        marketing_products=[
            MarketingProduct(
                omeda_product_id=99,
                shipping_address_id=112,
                email_address_id=1,
                product_field_responses=[
                    ProductFieldResponse(product_field_id=1, product_field_response_value="blue"),
                    ProductFieldResponse(product_field_id=2, product_field_response_value=7),
                    ProductFieldResponse(
                        product_field_id=3, product_field_response_value=date(2026, 3, 4)
                    ),
                ],
            )
        ],
        telemarketing=[
            Telemarketing(
                telemarketing_company="Tele",
                telemarketing_recording_id="R1",
                telemarketing_agent="Agent",
                personal_id_question="Eye color",
                time_of_call=datetime(2026, 1, 2, 12, 15),
                end_of_call=datetime(2026, 1, 2, 12, 30),
                length_of_call=15,
                spoke_to_name="Jess",
                spoke_to_title="Manager",
                authorized_assistant_response=True,
                general_tele_info="info",
            )
        ],
        customer_behaviors=[
            CustomerBehavior(
                behavior_id=105,
                behavior_date=datetime(2026, 1, 2, 12, 12, 12),
                behavior_promo_code="456",
                behavior_attributes=[
                    BehaviorAttribute(behavior_attribute_type_id=222, behavior_attribute_value="x"),
                    BehaviorAttribute(behavior_attribute_type_id=3, behavior_attribute_value_id=60),
                ],
            )
        ],
        billing_information=BillingInformation(
            credit_card_number="4111111111111111",
            credit_card_type=1,
            expiration_date="12/2031",
            card_security_code="999",
            name_on_card="Ada Byron",
            deposit_date=date(2026, 1, 2),
            auth_code="A1",
            comment1="Magazine",
            comment2="1234",
            billing_company="Analytical Engines",
            billing_street="1 Main St",
            billing_apartment_mail_stop="Suite 2",
            billing_extra_address="Rear",
            billing_city="Chicago",
            billing_region="IL",
            billing_postal_code="60601",
            billing_country_code="USA",
            paypal_payment_id="PAY-1",
            paypal_payer_id="PAYER-1",
        ),
        donor_id=77,
        merge_code=0,
    )


def nulls(value: Any, path: str = "") -> list[str]:
    """Every path in a wire dict that holds None."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}[{i}]")]
    return []


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(("cls", "example", "canonical"), EXAMPLES)
def test_page_example_structures_and_unstructures_to_its_canonical_form(
    cls: type[Payload], example: dict[str, Any], canonical: dict[str, Any]
) -> None:
    """Each page example becomes a model and comes back as the table's form of itself."""
    model = from_dict(cls, fresh(example))
    assert to_dict(model) == canonical


@pytest.mark.parametrize(("cls", "example", "canonical"), EXAMPLES)
def test_page_example_is_valid(
    cls: type[Payload], example: dict[str, Any], canonical: dict[str, Any]
) -> None:
    """Omeda's own examples break no rule, as dicts, as canonical dicts and as models."""
    assert validate(fresh(example), schema=cls) == []
    assert validate(fresh(canonical), schema=cls) == []
    assert validate(from_dict(cls, fresh(example))) == []


@pytest.mark.parametrize(("cls", "example", "canonical"), EXAMPLES)
def test_structure_of_unstructure_is_identity_for_page_examples(
    cls: type[Payload], example: dict[str, Any], canonical: dict[str, Any]
) -> None:
    """structure(unstructure(model)) == model."""
    model = from_dict(cls, fresh(example))
    assert from_dict(cls, to_dict(model)) == model


def test_structure_of_unstructure_is_identity_for_every_field() -> None:
    """A model with every field set survives the round trip (dates, money, enums, lists)."""
    model = full_customer_and_order()
    assert validate(model) == []
    assert from_dict(CustomerAndOrder, to_dict(model)) == model


def test_order_with_every_field_round_trips() -> None:
    """The orderqueue models round-trip too."""
    model = Order(
        client_customer_id=5,
        omeda_customer_id=1,
        transaction_id=8907512,
        client_order_id="ORD1",
        promo_code="P",
        run_processor=0,
        products=[
            OrderProduct(
                omeda_product_id=1,
                quantity=1,
                personal_identifier="Blue",
                receive=0,
                requested_version="P",
                shipping_address_id=2,
                email_address_id=3,
                filter=[OptFilter(email_address="a@b.co", delete_opt_out=0)],
            )
        ],
    )
    assert validate(model) == []
    assert from_dict(Order, to_dict(model)) == model


# -------------------------------------------------------------------- formats


def test_absent_fields_are_omitted_never_null() -> None:
    """Unset fields are left out of the wire dict: Omeda never receives null."""
    assert to_dict(CustomerAndOrder()) == {}
    assert to_dict(Product(omeda_product_id=1)) == {"OmedaProductId": 1}
    assert nulls(to_dict(full_customer_and_order())) == []


def test_do_charge_is_sent_by_default_and_omitted_when_cleared() -> None:
    """DoCharge defaults to its only valid value, "False"; set to None it is absent."""
    assert to_dict(BillingInformation()) == {"DoCharge": "False"}
    assert to_dict(BillingInformation(do_charge=None)) == {}


DT = datetime
PFR = ProductFieldResponse


@pytest.mark.parametrize(
    ("model", "key", "expected"),
    [
        (CustomerAndOrder(signup_date=date(2010, 4, 18)), "SignupDate", "2010-04-18"),
        (CustomerAndOrder(signup_date=DT(2010, 4, 18, 9, 5)), "SignupDate", "2010-04-18 09:05"),
        (CustomerAndOrder(order_date=DT(2010, 4, 18, 9, 5, 59)), "OrderDate", "2010-04-18 09:05"),
        (Product(start_issue_date=date(2026, 2, 1)), "StartIssueDate", "2026-02-01"),
        (Product(start_issue_date=DT(2026, 2, 1, 10, 30)), "StartIssueDate", "2026-02-01"),
        (Product(order_expiration_date=DT(2027, 1, 31, 23)), "OrderExpirationDate", "2027-01-31"),
        (BillingInformation(deposit_date=DT(2026, 1, 2, 8)), "DepositDate", "2026-01-02"),
        (Telemarketing(time_of_call=DT(2011, 10, 10, 12, 15)), "TimeOfCall", "2011-10-10 12:15"),
        (Telemarketing(end_of_call=date(2011, 10, 10)), "EndOfCall", "2011-10-10"),
        (CustomerBehavior(behavior_date=DT(2011, 7, 20, 12, 12, 12)), "BehaviorDate",
         "2011-07-20 12:12:12"),
        (CustomerBehavior(behavior_date=DT(2011, 7, 20, 1, 2, 3, 999)), "BehaviorDate",
         "2011-07-20 01:02:03"),
        (PFR(product_field_response_value=date(2026, 3, 4)), "ProductFieldResponseValue",
         "2026-03-04"),
        (PFR(product_field_response_value=DT(2026, 3, 4, 5, 6)), "ProductFieldResponseValue",
         "2026-03-04 05:06"),
    ],
)  # fmt: skip
def test_dates_are_written_in_omedas_formats(model: Payload, key: str, expected: str) -> None:
    """date -> yyyy-MM-dd; datetime -> yyyy-MM-dd HH:mm where allowed; BehaviorDate with seconds."""
    assert to_dict(model)[key] == expected


def test_aware_datetimes_are_sent_as_their_wall_clock_time() -> None:
    """Omeda's formats carry no offset: the time as given is sent, not converted."""
    central = timezone(timedelta(hours=-6))
    model = CustomerAndOrder(signup_date=datetime(2026, 1, 2, 9, 30, tzinfo=central))
    assert to_dict(model)["SignupDate"] == "2026-01-02 09:30"
    behavior = CustomerBehavior(behavior_date=datetime(2026, 1, 2, 9, 30, 1, tzinfo=UTC))
    assert to_dict(behavior)["BehaviorDate"] == "2026-01-02 09:30:01"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("65.00"), "65.00"),
        (Decimal("0.00"), "0.00"),
        (Decimal("6.5"), "6.5"),
        (Decimal("1E+2"), "100"),
        (Decimal("-1.25"), "-1.25"),
    ],
)
def test_money_is_written_exactly(amount: Decimal, expected: str) -> None:
    """Decimal money goes out as its exact string, never as a float."""
    assert to_dict(Product(amount=amount))["Amount"] == expected


def test_int_enums_are_written_as_plain_ints() -> None:
    """IntEnum contact types become plain ints in the wire dict."""
    wire = to_dict(Address(address_contact_type=AddressContactType.BUSINESS))
    assert wire == {"AddressContactType": 100}
    assert type(wire["AddressContactType"]) is int


def test_extra_fields_are_merged_into_the_wire_dict() -> None:
    """extra_fields go out as given, next to the documented fields, at any level."""
    model = CustomerAndOrder(
        first_name="Ada",
        extra_fields={"NewOmedaField": {"Nested": [1, 2]}},
        emails=[Email(email_address="a@b.com", extra_fields={"EmailFlag": True})],
        billing_information=BillingInformation(
            billing_street="1 Main St",
            billing_city="Oslo",
            billing_country_code="NOR",
            extra_fields={"Vendor": "v"},
        ),
    )
    assert to_dict(model) == {
        "FirstName": "Ada",
        "Emails": [{"EmailAddress": "a@b.com", "EmailFlag": True}],
        "BillingInformation": {
            "DoCharge": "False",
            "BillingStreet": "1 Main St",
            "BillingCity": "Oslo",
            "BillingCountryCode": "NOR",
            "Vendor": "v",
        },
        "NewOmedaField": {"Nested": [1, 2]},
    }
    assert validate(model) == []


def test_extra_fields_may_not_shadow_a_documented_field() -> None:
    """An extra key that is a known wire name is a violation: set the attribute instead."""
    model = CustomerAndOrder(
        first_name="Ada",
        extra_fields={"FirstName": "Eve"},
        emails=[Email(email_address="a@b.com", extra_fields={"EmailAddress": "x@y.zz"})],
    )
    found = {(v.path, v.rule) for v in validate(model)}
    assert found == {("FirstName", "extra_fields"), ("Emails[0].EmailAddress", "extra_fields")}


def test_extra_fields_of_the_wrong_type_are_a_violation() -> None:
    """extra_fields must be a dict with string keys."""
    model = CustomerAndOrder(extra_fields=[("A", 1)])  # type: ignore[arg-type]
    assert to_dict(model) == {}
    assert [(v.path, v.rule) for v in validate(model)] == [("extra_fields", "type")]
    model = CustomerAndOrder(extra_fields={1: "a"})  # type: ignore[dict-item]
    assert [v.rule for v in validate(model)] == ["type"]


def test_unstructure_tolerates_wrong_python_types() -> None:
    """A value the converter cannot convert is passed through for the validator to report."""
    model = CustomerAndOrder(
        omeda_customer_id="abc",  # type: ignore[arg-type]
        signup_date=17,  # type: ignore[arg-type]
        emails=[Email(email_address="a@b.com"), "junk"],  # type: ignore[list-item]
        phones="847-555-7527",  # type: ignore[arg-type]
        billing_information=["x"],  # type: ignore[arg-type]
        customer_behaviors=[CustomerBehavior(behavior_date=date(2026, 1, 2))],  # type: ignore[arg-type]
    )
    assert to_dict(model) == {
        "OmedaCustomerId": "abc",
        "SignupDate": 17,
        "Emails": [{"EmailAddress": "a@b.com"}, "junk"],
        "Phones": "847-555-7527",
        "CustomerBehaviors": [{"BehaviorDate": date(2026, 1, 2)}],
        "BillingInformation": ["x"],
    }


def test_unstructure_normalizes_acceptable_python_values() -> None:
    """Digit strings in int fields go out as ints, floats in money fields as exact text."""
    model = Product(omeda_product_id="14", amount=65.5, sales_tax=6, term=12)  # type: ignore[arg-type]
    assert to_dict(model) == {"OmedaProductId": 14, "Term": 12, "Amount": "65.5", "SalesTax": "6"}


def test_demographic_values_are_kept_as_given() -> None:
    """OmedaDemographicValue: one value or a list, number or string, kept (tuples become lists)."""
    assert to_dict(CustomerDemographic(omeda_demographic_value=("37", 38)))[  # type: ignore[arg-type]
        "OmedaDemographicValue"
    ] == ["37", 38]
    assert to_dict(CustomerDemographic(omeda_demographic_value="37")) == {
        "OmedaDemographicValue": "37"
    }


# ----------------------------------------------------------------- structuring


def test_structure_converts_the_examples_alternative_forms() -> None:
    """Digit strings -> int, money strings -> Decimal, date strings -> date/datetime."""
    product = from_dict(
        Product,
        {"OmedaProductId": "14", "Receive": "1", "Amount": "65.00", "PricePerQuantity": 1.1,
         "SalesTax": 6, "StartIssueDate": "2026-02-01"},
    )  # fmt: skip
    assert product == Product(
        omeda_product_id=14,
        receive=1,
        amount=Decimal("65.00"),
        price_per_quantity=Decimal("1.1"),
        sales_tax=Decimal(6),
        start_issue_date=date(2026, 2, 1),
    )
    tele = from_dict(Telemarketing, {"TimeOfCall": "2011-10-10 12:15", "EndOfCall": "2011-10-10"})
    assert tele.time_of_call == datetime(2011, 10, 10, 12, 15)
    assert tele.end_of_call == date(2011, 10, 10)
    behavior = from_dict(CustomerBehavior, {"BehaviorDate": "2011-07-20 12:12:12"})
    assert behavior.behavior_date == datetime(2011, 7, 20, 12, 12, 12)


def test_structure_keeps_client_order_id_as_given() -> None:
    """ClientOrderId: "ORD19520" stays text, 19520 stays a number, "19520" stays text."""
    assert from_dict(CustomerAndOrder, {"ClientOrderId": "ORD19520"}).client_order_id == "ORD19520"
    assert from_dict(CustomerAndOrder, {"ClientOrderId": "19520"}).client_order_id == "19520"
    assert from_dict(CustomerAndOrder, {"ClientOrderId": 19520}).client_order_id == 19520


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("blue", "blue"),
        ("42", "42"),
        ("2026-01-02", date(2026, 1, 2)),
        ("2026-01-02 03:04", datetime(2026, 1, 2, 3, 4)),
        ("2026-02-30", "2026-02-30"),
    ],
)
def test_product_field_response_value_reads_documented_dates(text: str, value: Any) -> None:
    """A response value in a documented date format is a date; other text stays text."""
    response = from_dict(ProductFieldResponse, {"ProductFieldResponseValue": text})
    assert response.product_field_response_value == value
    assert to_dict(response) == {"ProductFieldResponseValue": text}


def test_json_null_structures_as_absent() -> None:
    """A null in a dict is an absent field: the model holds None and sends nothing."""
    model = from_dict(CustomerAndOrder, {"OmedaCustomerId": None, "Emails": None, "FirstName": "A"})
    assert model == CustomerAndOrder(first_name="A")
    assert to_dict(model) == {"FirstName": "A"}


@pytest.mark.parametrize(
    ("cls", "data", "path", "rule"),
    [
        (CustomerAndOrder, {"FirstNme": "x"}, "FirstNme", "unknown_field"),
        (CustomerAndOrder, {"Emails": [{"EmailAddress": "a@b.co", "Bogus": 1}]}, "Emails[0].Bogus",
         "unknown_field"),
        (CustomerAndOrder, {"OmedaCustomerId": "abc"}, "OmedaCustomerId", "type"),
        (CustomerAndOrder, {"OmedaCustomerId": True}, "OmedaCustomerId", "type"),
        (CustomerAndOrder, {"SignupDate": "2010/04/18"}, "SignupDate", "date_format"),
        (CustomerAndOrder, {"BillingInformation": []}, "BillingInformation", "type"),
        (CustomerAndOrder, {"Products": [{"Amount": "1,00"}]}, "Products[0].Amount", "type"),
        (CustomerAndOrder, [], "", "type"),
        (Order, None, "", "type"),
    ],
)  # fmt: skip
def test_from_dict_raises_payload_validation_error_with_paths(
    cls: type[Payload], data: Any, path: str, rule: str
) -> None:
    """Data that cannot become a model raises PayloadValidationError naming where and why."""
    with pytest.raises(PayloadValidationError) as caught:
        from_dict(cls, data)
    assert [(v.path, v.rule) for v in caught.value.violations] == [(path, rule)]


def test_from_dict_does_not_judge_business_rules() -> None:
    """A partial payload (no EmailAddress yet) still builds a model to finish later."""
    assert from_dict(CustomerAndOrder, {"Emails": [{}]}) == CustomerAndOrder(emails=[Email()])


def test_converter_is_built_once() -> None:
    """payload_converter() is one cached instance, not rebuilt per call."""
    assert payload_converter() is payload_converter()


# ------------------------------------------------------------------ property


TEXT = st.text(max_size=20)
IDS = st.integers(min_value=0, max_value=10**12)


@settings(max_examples=60, deadline=None)
@given(
    st.builds(
        Product,
        omeda_product_id=IDS,
        receive=st.none() | st.sampled_from([0, 1]),
        personal_identifier=st.none() | TEXT,
        amount=st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=2),
        start_issue_date=st.none() | st.dates(),
        term=st.none() | IDS,
    ),
    st.builds(
        Telemarketing,
        time_of_call=st.none() | st.datetimes().map(lambda d: d.replace(second=0, microsecond=0)),
        authorized_assistant_response=st.none() | st.booleans(),
        general_tele_info=st.none() | TEXT,
    ),
)
def test_round_trip_property(product: Product, tele: Telemarketing) -> None:
    """For generated models, structure(unstructure(model)) == model."""
    model = CustomerAndOrder(products=[product], telemarketing=[tele])
    assert from_dict(CustomerAndOrder, to_dict(model)) == model


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
WIRE_KEYS = st.sampled_from(
    ["OmedaCustomerId", "FirstName", "SignupDate", "Emails", "Products", "BillingInformation",
     "CustomerDemographics", "CustomerBehaviors", "Telemarketing", "Bogus"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(WIRE_KEYS, JSON, max_size=6) | JSON)
def test_validate_never_raises(payload: Any) -> None:
    """Whatever JSON arrives, validate returns violations and never raises."""
    violations = validate(payload)
    assert isinstance(violations, list)
    if not violations:
        # What the validator accepts, the converter can build.
        from_dict(CustomerAndOrder, payload)
