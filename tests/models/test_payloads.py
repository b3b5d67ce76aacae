"""Payload models: shape, defaults, contact-type enums, and card data kept out of sight."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from omeda_async import (
    Address,
    AddressContactType,
    BehaviorAttribute,
    BillingInformation,
    CustomerAndOrder,
    CustomerBehavior,
    CustomerDemographic,
    Email,
    EmailContactType,
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
from omeda_async.models._payloads import PAYLOAD_CLASSES, SPEC_KEY

MODELS = [
    CustomerAndOrder,
    Address,
    Email,
    Phone,
    CustomerDemographic,
    Product,
    ProductUpdate,
    MarketingProduct,
    ProductFieldResponse,
    BillingInformation,
    Telemarketing,
    CustomerBehavior,
    BehaviorAttribute,
    Order,
    OrderProduct,
    OptFilter,
]

CARD = "4111111111111111"
CODE = "9993"
EXPIRY = "12/2031"


def wire_names(cls: type) -> list[str]:
    return [a.metadata[SPEC_KEY].wire for a in attrs.fields(cls) if SPEC_KEY in a.metadata]


def test_every_model_is_listed_for_the_converter() -> None:
    """The converter and validator are built for exactly the sixteen models."""
    assert set(PAYLOAD_CLASSES) == set(MODELS)
    assert len(PAYLOAD_CLASSES) == len(MODELS)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_models_are_keyword_only_slotted_and_mutable(cls: Any) -> None:
    """attrs, slots, keyword-only; fields can be set step by step."""
    assert "__slots__" in cls.__dict__
    with pytest.raises(TypeError):
        cls(1)
    model = cls()
    assert not hasattr(model, "__dict__")
    model.extra_fields = {"X": 1}
    assert model.extra_fields == {"X": 1}
    assert cls.__doc__
    assert attrs.has(cls)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_every_field_defaults_to_absent(cls: type) -> None:
    """Every field defaults to None, except the one documented constant (DoCharge)."""
    model = cls()
    for field in attrs.fields(cls):
        value = getattr(model, field.name)
        if field.name == "do_charge":
            assert value == "False"
        else:
            assert value is None, field.name


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_every_field_carries_its_wire_name(cls: type) -> None:
    """Each field but extra_fields names its PascalCase wire key, once per class."""
    names = wire_names(cls)
    assert len(names) == len(attrs.fields(cls)) - 1
    assert len(set(names)) == len(names)
    assert all(name[0].isupper() for name in names)


def test_customer_and_order_has_every_customer_element_of_pages_000_and_001() -> None:
    """Both pages' Customer Elements are fields of one model, and RunProcessor."""
    assert wire_names(CustomerAndOrder) == [
        "ClientCustomerId",
        "OmedaCustomerId",
        "ExternalCustomerId",
        "ExternalCustomerIdNamespace",
        "CustomerStatusId",
        "Salutation",
        "FirstName",
        "MiddleName",
        "LastName",
        "Suffix",
        "Title",
        "Gender",
        "SignupDate",
        "ClientOrderId",
        "PromoCode",
        "OrderDate",
        "Addresses",
        "Phones",
        "Emails",
        "CustomerDemographics",
        "Products",
        "ProductUpdates",
        "MarketingProducts",
        "Telemarketing",
        "CustomerBehaviors",
        "BillingInformation",
        "DonorId",
        "MergeCode",
        # Beyond the pages: what Omeda's production users send (issue 18).
        "RunProcessor",
    ]


def test_product_has_controlled_and_paid_fields() -> None:
    """Product carries page 000's controlled fields and page 001's paid ones."""
    assert set(wire_names(Product)) >= {
        "OmedaProductId", "Receive", "Quantity", "PersonalIdentifier", "RequestedVersion",
        "ShippingAddressId", "EmailAddressId", "Sku", "Term", "PricePerQuantity",
        "DiscountPercentage", "PaymentStatusId", "Amount", "AmountPaid", "SalesTax", "Postage",
        "PurchaseOrderNumber", "StartIssueDate", "OrderExpirationDate", "AutoRenewalCode",
        "NumberOfInstallments",
    }  # fmt: skip


def test_order_models_follow_page_002() -> None:
    """Order, OrderProduct and OptFilter have page 002's fields, RunProcessor included."""
    assert wire_names(Order) == [
        "ClientCustomerId", "OmedaCustomerId", "TransactionId", "ClientOrderId", "PromoCode",
        "RunProcessor", "Products",
    ]  # fmt: skip
    assert wire_names(OrderProduct) == [
        "OmedaProductId", "Quantity", "PersonalIdentifier", "Receive", "RequestedVersion",
        "ShippingAddressId", "EmailAddressId", "Filter",
    ]  # fmt: skip
    assert wire_names(OptFilter) == ["EmailAddress", "DeleteOptOut"]


def test_customer_demographic_has_omeda_and_client_ids() -> None:
    """Page 001 and the error messages name ClientDemographicId/Value as well."""
    assert wire_names(CustomerDemographic) == [
        "OmedaDemographicId",
        "OmedaDemographicValue",
        "ClientDemographicId",
        "ClientDemographicValue",
        "WriteInDesc",
    ]


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (AddressContactType, {0, 100, 110}),
        (EmailContactType, {0, 300, 310}),
        (PhoneContactType, {0, 200, 210, 220, 230, 240, 250, 260, 270}),
    ],
)
def test_contact_type_enums_offer_the_documented_codes(enum: Any, values: set[int]) -> None:
    """The documented contact-type codes are offered as IntEnums."""
    assert {member.value for member in enum} == values
    assert enum.__doc__


def test_address_and_email_contact_types_accept_any_integer() -> None:
    """An undocumented address or email contact type is not rejected: Omeda decides."""
    payload = CustomerAndOrder(
        addresses=[Address(address_contact_type=999)],
        emails=[Email(email_address="a@b.com", email_contact_type=EmailContactType.SECONDARY)],
        phones=[Phone(number="1", phone_contact_type=PhoneContactType.MOBILE)],
    )
    assert validate(payload) == []
    assert payload.to_dict()["Emails"][0]["EmailContactType"] == 310
    assert payload.to_dict()["Phones"][0]["PhoneContactType"] == 230


@pytest.mark.parametrize("given", [12345, "999", -1])
def test_phone_contact_type_must_be_a_documented_code(given: Any) -> None:
    """Page 000's "The submission contained an invalid PhoneContactType {n}", before sending."""
    as_dict = validate({"Phones": [{"Number": "1"}, {"Number": "2", "PhoneContactType": given}]})
    as_model = validate(CustomerAndOrder(phones=[Phone(number="2", phone_contact_type=given)]))
    message = f"The submission contained an invalid PhoneContactType {given}"
    assert [(v.path, v.message, v.rule) for v in as_dict] == [
        ("Phones[1].PhoneContactType", message, "choice")
    ]
    assert [(v.path, v.message) for v in as_model] == [("Phones[0].PhoneContactType", message)]


@pytest.mark.parametrize("code", list(PhoneContactType))
def test_every_documented_phone_contact_type_passes(code: PhoneContactType) -> None:
    """Each code of the table (and the page example's 220), as a number or digit string."""
    assert validate({"Phones": [{"Number": "1", "PhoneContactType": int(code)}]}) == []
    assert validate({"Phones": [{"Number": "1", "PhoneContactType": str(int(code))}]}) == []


def test_run_processor_is_a_customer_and_order_field() -> None:
    """RunProcessor (0 or 1) is read, sent and checked like Order's."""
    model = CustomerAndOrder.from_dict({"FirstName": "J", "RunProcessor": "1"})
    assert model.run_processor == 1
    assert model.to_dict() == {"FirstName": "J", "RunProcessor": 1}
    assert validate({"RunProcessor": 1}) == []
    assert [v.path for v in validate({"RunProcessor": 2})] == ["RunProcessor"]
    assert [v.rule for v in validate(CustomerAndOrder(run_processor=3))] == ["choice"]


def test_from_dict_and_to_dict_methods_round_trip() -> None:
    """Model.from_dict / model.to_dict are thin, symmetric doors to the converter."""
    product = Product.from_dict({"OmedaProductId": "14", "Amount": "65.00", "Term": "12"})
    assert product == Product(omeda_product_id=14, amount=Decimal("65.00"), term=12)
    assert product.to_dict() == {"OmedaProductId": 14, "Term": 12, "Amount": "65.00"}


def test_from_dict_method_rejects_unknown_keys() -> None:
    """Model.from_dict raises PayloadValidationError naming the unknown key."""
    with pytest.raises(PayloadValidationError) as caught:
        Email.from_dict({"EmailAddress": "a@b.com", "EmailAdress": "a@b.com"})
    assert [(v.path, v.rule) for v in caught.value.violations] == [("EmailAdress", "unknown_field")]


# ------------------------------------------------------------------- secrets


def card_billing() -> BillingInformation:
    return BillingInformation(
        credit_card_number=CARD,
        card_security_code=CODE,
        expiration_date=EXPIRY,
        name_on_card="James Smith",
        billing_street="555 Huehl Road",
    )


def test_billing_repr_shows_only_the_last_four_digits() -> None:
    """repr shows '************1111' and '***' for the code and the expiry."""
    text = repr(card_billing())
    assert "credit_card_number='************1111'" in text
    assert "card_security_code='***'" in text
    assert "expiration_date='***'" in text
    assert "name_on_card='James Smith'" in text
    assert "billing_street='555 Huehl Road'" in text


def test_billing_repr_of_absent_secrets_is_none() -> None:
    """Unset secrets show as None, not as a mask that suggests a value."""
    text = repr(BillingInformation())
    assert "credit_card_number=None" in text
    assert "card_security_code=None" in text


def test_short_card_numbers_are_masked_completely() -> None:
    """A value too short to be a card number is not mostly revealed by its last four."""
    assert "credit_card_number='*****'" in repr(BillingInformation(credit_card_number="41111"))


@pytest.mark.parametrize("render", [repr, str], ids=["repr", "str"])
def test_card_data_never_appears_in_repr_or_str(render: Any) -> None:
    """Neither the billing model nor a payload holding it shows card data."""
    billing = card_billing()
    billing.extra_fields = {"CardHolderPin": "4321"}
    for shown in (render(billing), render(CustomerAndOrder(billing_information=billing))):
        assert CARD not in shown
        assert CARD[:12] not in shown
        assert CODE not in shown
        assert EXPIRY not in shown
        assert "4321" not in shown


def test_card_data_never_appears_in_any_violation_message() -> None:
    """Violations about card fields state the rule, never the card data."""
    payloads: list[Any] = [
        # Wrong types on every secret field.
        {"BillingInformation": {"CreditCardNumber": int(CARD), "CardSecurityCode": int(CODE),
                                "ExpirationDate": 122031, "DoCharge": "False"}},
        # A card number without the fields it needs (and a misspelt card key).
        {"BillingInformation": {"CreditCardNumber": CARD, "CardSecurityCod": CODE,
                                "ExpirationDat": EXPIRY}},
        # The same in a model.
        CustomerAndOrder(billing_information=BillingInformation(
            credit_card_number=int(CARD),  # type: ignore[arg-type]
            card_security_code=[CODE],  # type: ignore[arg-type]
            expiration_date=EXPIRY,
            do_charge=None,
        )),
    ]  # fmt: skip
    for payload in payloads:
        violations = validate(payload)
        assert violations
        for violation in violations:
            for secret in (CARD, CODE, EXPIRY, "122031"):
                assert secret not in violation.message
                assert secret not in violation.path
        error = str(PayloadValidationError(violations))
        assert CARD not in error
        assert CODE not in error
