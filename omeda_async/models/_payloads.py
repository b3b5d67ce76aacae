"""Payload models for Omeda's two POST services, and the rule table they carry.

``CustomerAndOrder`` (and its parts) is the body of ``storecustomerandorder``
(pages "Save Customer and Order" and "... Paid"); ``Order`` is the body of
``orderqueue`` (page "Add Order"). Attributes are snake_case; each attrs field
carries a :class:`FieldSpec` in its metadata naming its PascalCase wire key and
the documented rules for it. The cattrs converter (``_converter``) and the
validator (``_validation``) are both generated from that one table, so a rule
is written down exactly once, next to the field it governs.

Every field is optional and defaults to ``None`` (absent fields are never sent,
never ``null``); the one exception is ``BillingInformation.do_charge``, which
defaults to ``"False"``, the only value Omeda accepts. ``extra_fields`` on every
model is the escape hatch for fields the pages omit: merged into the wire dict
as given and never validated, except that its keys may not shadow a known field.
"""

# The models declare fields through _field(), a thin wrapper of attrs.field that
# attaches the rule table; ruff's RUF009 cannot tell it apart from a mutable default.
# ruff: noqa: RUF009

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Self

import attrs

__all__ = [
    "PAYLOAD_CLASSES",
    "SPEC_KEY",
    "Address",
    "AddressContactType",
    "BehaviorAttribute",
    "BillingInformation",
    "CustomerAndOrder",
    "CustomerBehavior",
    "CustomerDemographic",
    "Email",
    "EmailContactType",
    "FieldSpec",
    "Kind",
    "MarketingProduct",
    "OneOf",
    "OptFilter",
    "Order",
    "OrderProduct",
    "Payload",
    "Phone",
    "PhoneContactType",
    "Product",
    "ProductFieldResponse",
    "ProductUpdate",
    "Telemarketing",
    "TextFormat",
]

#: The metadata key under which every payload field keeps its :class:`FieldSpec`.
SPEC_KEY = "omeda"


# ---------------------------------------------------------------- contact types


class AddressContactType(enum.IntEnum):
    """Omeda's Address Contact Types ("API Standard Constants and Codes").

    ``Address.address_contact_type`` is a plain ``int``: these are offered, other
    numbers are not rejected (Omeda decides). Omeda assumes 100 when none is given.
    """

    UNKNOWN = 0
    BUSINESS = 100
    HOME = 110


class EmailContactType(enum.IntEnum):
    """Omeda's Email Contact Types: 300 primary (business), 310 secondary (home).

    Omeda assumes 300 when none is given; other numbers are not rejected.
    """

    UNKNOWN = 0
    PRIMARY = 300
    SECONDARY = 310


class PhoneContactType(enum.IntEnum):
    """Omeda's Phone Contact Types ("API Standard Constants and Codes").

    Omeda assumes 200 (business) when none is given. ``Phone.phone_contact_type``
    must be one of these: Omeda refuses any other number ("The submission
    contained an invalid PhoneContactType n"), and so does ``validate``. 220
    appears in Omeda's own Save Customer and Order example but not in its table
    of codes, so it keeps a neutral name.
    """

    UNKNOWN = 0
    BUSINESS = 200
    HOME = 210
    CODE_220 = 220
    MOBILE = 230
    FAX = 240
    FOREIGN_PHONE = 250
    FOREIGN_FAX = 260
    PAGER = 270


# ------------------------------------------------------------------- rule table


class Kind(enum.Enum):
    """What a field holds on the wire; decides conversion and the type check."""

    STR = "a string"
    INT = "an integer"
    DECIMAL = "a decimal number"
    DATE = "a date (yyyy-MM-dd)"
    DATE_TIME = "a date (yyyy-MM-dd or yyyy-MM-dd HH:mm)"
    BEHAVIOR_DATE_TIME = "a date and time (yyyy-MM-dd HH:mm:ss)"
    BOOL = "true or false"
    INT_OR_STR = "an integer or a string"
    DEMOGRAPHIC_VALUE = "an integer, a string, or a list of them"
    RESPONSE_VALUE = "a string, an integer or a date"
    OBJECT = "an object"
    LIST = "a list of objects"


class TextFormat(enum.Enum):
    """A documented shape for a string field."""

    EMAIL = "email"
    COUNTRY_CODE = "country_code"


@attrs.frozen
class FieldSpec:
    """One row of Omeda's field tables: the wire name and every rule for the field.

    ``missing``, ``non_empty`` and ``invalid`` are Omeda's own messages for a
    missing field, an empty list, and a value outside ``choices`` (``{value}``
    stands for the value), where its pages give one.
    """

    wire: str
    kind: Kind
    model: type[Payload] | None = None
    required: bool = False
    missing: str | None = None
    max_length: int | None = None
    choices: tuple[int | str, ...] | None = None
    text_format: TextFormat | None = None
    minimum: int | None = None
    secret: bool = False
    required_with: str | None = None
    required_in_country: str | None = None
    region_of: str | None = None
    needs_root: str | None = None
    unique: bool = False
    non_empty: str | None = None
    invalid: str | None = None


@attrs.frozen
class OneOf:
    """A rule over a group of sibling fields.

    At least one of ``fields`` must be present (only when one of ``when_any`` is
    present, if that is given); with ``exclusive``, no more than one.
    """

    fields: tuple[str, ...]
    missing: str
    conflict: str | None = None
    when_any: tuple[str, ...] = ()
    missing_at: str | None = None
    conflict_at: str | None = None


def _field(
    *,
    wire: str,
    kind: Kind,
    model: type[Payload] | None = None,
    required: bool = False,
    missing: str | None = None,
    max_length: int | None = None,
    choices: tuple[int | str, ...] | None = None,
    text_format: TextFormat | None = None,
    minimum: int | None = None,
    secret: bool = False,
    required_with: str | None = None,
    required_in_country: str | None = None,
    region_of: str | None = None,
    needs_root: str | None = None,
    unique: bool = False,
    non_empty: str | None = None,
    invalid: str | None = None,
    default: Any = None,
    repr: Any = True,
) -> Any:
    spec = FieldSpec(
        wire=wire,
        kind=kind,
        model=model,
        required=required,
        missing=missing,
        max_length=max_length,
        choices=choices,
        text_format=text_format,
        minimum=minimum,
        secret=secret,
        required_with=required_with,
        required_in_country=required_in_country,
        region_of=region_of,
        needs_root=needs_root,
        unique=unique,
        non_empty=non_empty,
        invalid=invalid,
    )
    return attrs.field(default=default, repr=repr, metadata={SPEC_KEY: spec})


def _extra() -> Any:
    return attrs.field(default=None)


_S = Kind.STR
_I = Kind.INT
_M = Kind.DECIMAL
_YES_NO = (0, 1)
_VERSIONS = ("P", "D", "B")
_ROOT_ID = "OmedaCustomerId"


class Payload:
    """Base of every payload model: ``from_dict`` / ``to_dict`` via the one converter."""

    __slots__ = ()

    if TYPE_CHECKING:
        __attrs_attrs__: ClassVar[Any]
        extra_fields: dict[str, Any] | None

    _omeda_rules: ClassVar[tuple[OneOf, ...]] = ()

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Build the model from Omeda's wire dict (PascalCase keys).

        Digit strings become ints for integer fields, strings Decimals for money,
        date strings dates. Unknown keys and wrong types raise PayloadValidationError.
        """
        from ._converter import from_dict

        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        """The wire dict: PascalCase keys, absent fields omitted, Omeda's formats."""
        from ._converter import to_dict

        return to_dict(self)


# ---------------------------------------------------------------- models: leaves


@attrs.define(kw_only=True, slots=True)
class Address(Payload):
    """An ``Addresses`` element (Save Customer and Order)."""

    address_contact_type: int | None = _field(wire="AddressContactType", kind=_I)
    company: str | None = _field(wire="Company", kind=_S, max_length=255)
    street: str | None = _field(wire="Street", kind=_S, max_length=255)
    apartment_mail_stop: str | None = _field(wire="ApartmentMailStop", kind=_S, max_length=255)
    extra_address: str | None = _field(wire="ExtraAddress", kind=_S, max_length=255)
    city: str | None = _field(wire="City", kind=_S, max_length=100)
    region_code: str | None = _field(wire="RegionCode", kind=_S, region_of="CountryCode")
    region: str | None = _field(wire="Region", kind=_S, max_length=100)
    postal_code: str | None = _field(wire="PostalCode", kind=_S)
    country_code: str | None = _field(
        wire="CountryCode", kind=_S, text_format=TextFormat.COUNTRY_CODE
    )
    country: str | None = _field(wire="Country", kind=_S, max_length=100)
    address_products: str | None = _field(wire="AddressProducts", kind=_S)
    airmail: str | None = _field(wire="Airmail", kind=_S, choices=("A", ""))
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class Email(Payload):
    """An ``Emails`` element; ``EmailAddress`` is required and must be well formed."""

    email_contact_type: int | None = _field(wire="EmailContactType", kind=_I)
    email_address: str | None = _field(
        wire="EmailAddress",
        kind=_S,
        required=True,
        text_format=TextFormat.EMAIL,
        missing="EmailAddress is missing.",
    )
    email_products: str | None = _field(wire="EmailProducts", kind=_S)
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class Phone(Payload):
    """A ``Phones`` element; ``Number`` is required."""

    phone_contact_type: int | None = _field(
        wire="PhoneContactType",
        kind=_I,
        choices=tuple(int(code) for code in PhoneContactType),
        invalid="The submission contained an invalid PhoneContactType {value}",
    )
    number: str | None = _field(
        wire="Number", kind=_S, required=True, missing="Number must be set."
    )
    extension: str | None = _field(wire="Extension", kind=_S)
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class CustomerDemographic(Payload):
    """A ``CustomerDemographics`` element.

    Exactly one of ``OmedaDemographicId`` / ``ClientDemographicId``, each with
    its value. A value may be one id or a list of them, as a number or a string:
    it is kept (and sent) as given.
    """

    omeda_demographic_id: int | None = _field(wire="OmedaDemographicId", kind=_I)
    omeda_demographic_value: int | str | list[int | str] | None = _field(
        wire="OmedaDemographicValue",
        kind=Kind.DEMOGRAPHIC_VALUE,
        required_with="OmedaDemographicId",
        missing="OmedaDemographicValue is missing for OmedaDemographicId:{other}",
    )
    client_demographic_id: int | str | None = _field(
        wire="ClientDemographicId", kind=Kind.INT_OR_STR
    )
    client_demographic_value: int | str | list[int | str] | None = _field(
        wire="ClientDemographicValue",
        kind=Kind.DEMOGRAPHIC_VALUE,
        required_with="ClientDemographicId",
        missing="ClientDemographicValue is missing for ClientDemographicId: {other}",
    )
    write_in_desc: str | None = _field(wire="WriteInDesc", kind=_S, max_length=100)
    extra_fields: dict[str, Any] | None = _extra()

    _omeda_rules: ClassVar[tuple[OneOf, ...]] = (
        OneOf(
            fields=("OmedaDemographicId", "ClientDemographicId"),
            missing="Either the ClientDemographicId or OmedaDemographicId is required.",
            conflict=(
                "Can't submit more than one of the following: "
                "OmedaDemographicId, ClientDemographicId."
            ),
            conflict_at="ClientDemographicId",
        ),
    )


@attrs.define(kw_only=True, slots=True)
class OptFilter(Payload):
    """A ``Filter`` element: the email address to opt in or out for the product."""

    email_address: str | None = _field(
        wire="EmailAddress",
        kind=_S,
        required=True,
        text_format=TextFormat.EMAIL,
        missing="EmailAddress is missing in Filter submission.",
    )
    delete_opt_out: int | None = _field(wire="DeleteOptOut", kind=_I, choices=_YES_NO)
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class Product(Payload):
    """A ``Products`` element: controlled (page 000) and paid (page 001) fields.

    A paid product (one carrying Amount, AmountPaid, PricePerQuantity or
    PaymentStatusId) needs Term or OrderExpirationDate.
    """

    omeda_product_id: int | None = _field(
        wire="OmedaProductId",
        kind=_I,
        required=True,
        unique=True,
        missing="OmedaProductId is missing in Products submission",
    )
    receive: int | None = _field(wire="Receive", kind=_I, choices=_YES_NO)
    quantity: int | None = _field(wire="Quantity", kind=_I, minimum=0)
    personal_identifier: str | None = _field(wire="PersonalIdentifier", kind=_S, max_length=50)
    requested_version: str | None = _field(wire="RequestedVersion", kind=_S, choices=_VERSIONS)
    shipping_address_id: int | None = _field(wire="ShippingAddressId", kind=_I, needs_root=_ROOT_ID)
    email_address_id: int | None = _field(wire="EmailAddressId", kind=_I, needs_root=_ROOT_ID)
    sku: str | None = _field(wire="Sku", kind=_S)
    term: int | None = _field(wire="Term", kind=_I)
    price_per_quantity: Decimal | None = _field(wire="PricePerQuantity", kind=_M)
    discount_percentage: Decimal | None = _field(wire="DiscountPercentage", kind=_M)
    payment_status_id: int | None = _field(wire="PaymentStatusId", kind=_I)
    amount: Decimal | None = _field(wire="Amount", kind=_M)
    amount_paid: Decimal | None = _field(wire="AmountPaid", kind=_M)
    sales_tax: Decimal | None = _field(wire="SalesTax", kind=_M)
    postage: Decimal | None = _field(wire="Postage", kind=_M)
    purchase_order_number: str | None = _field(wire="PurchaseOrderNumber", kind=_S)
    start_issue_date: date | None = _field(wire="StartIssueDate", kind=Kind.DATE)
    order_expiration_date: date | None = _field(wire="OrderExpirationDate", kind=Kind.DATE)
    auto_renewal_code: int | None = _field(wire="AutoRenewalCode", kind=_I, choices=(0, 5, 6))
    number_of_installments: int | None = _field(wire="NumberOfInstallments", kind=_I)
    # Page 001: an Email Deployment product may carry a Filter to opt in or out.
    filter: list[OptFilter] | None = _field(wire="Filter", kind=Kind.LIST, model=OptFilter)
    extra_fields: dict[str, Any] | None = _extra()

    _omeda_rules: ClassVar[tuple[OneOf, ...]] = (
        OneOf(
            fields=("Term", "OrderExpirationDate"),
            when_any=("Amount", "AmountPaid", "PricePerQuantity", "PaymentStatusId"),
            missing="You must specify Term or OrderExpirationDate per paid product.",
            missing_at="Term",
        ),
    )


@attrs.define(kw_only=True, slots=True)
class ProductUpdate(Payload):
    """A ``ProductUpdates`` element: change the requested version of a subscription."""

    omeda_product_id_update: int | None = _field(
        wire="OmedaProductIdUpdate",
        kind=_I,
        required=True,
        missing="OmedaProductIdUpdate is missing in ProductUpdates submission",
    )
    requested_version_update: str | None = _field(
        wire="RequestedVersionUpdate", kind=_S, choices=_VERSIONS
    )
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class ProductFieldResponse(Payload):
    """A ``ProductFieldResponses`` element of a marketing product; both fields required."""

    product_field_id: int | None = _field(
        wire="ProductFieldId", kind=_I, required=True, missing="ProductFieldId is missing."
    )
    product_field_response_value: str | int | date | datetime | None = _field(
        wire="ProductFieldResponseValue",
        kind=Kind.RESPONSE_VALUE,
        required=True,
        missing="ProductFieldResponseValue is missing.",
    )
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class MarketingProduct(Payload):
    """A ``MarketingProducts`` element (Marketing products, productType 11)."""

    omeda_product_id: int | None = _field(
        wire="OmedaProductId",
        kind=_I,
        required=True,
        unique=True,
        missing="OmedaProductId is missing in MarketingProducts submission",
    )
    shipping_address_id: int | None = _field(wire="ShippingAddressId", kind=_I, needs_root=_ROOT_ID)
    email_address_id: int | None = _field(wire="EmailAddressId", kind=_I, needs_root=_ROOT_ID)
    product_field_responses: list[ProductFieldResponse] | None = _field(
        wire="ProductFieldResponses", kind=Kind.LIST, model=ProductFieldResponse
    )
    extra_fields: dict[str, Any] | None = _extra()


def _mask_card_number(value: object) -> str:
    # Only the last four digits, and only of something long enough to be a
    # card number: a short value would be mostly revealed by its last four.
    if value is None:
        return "None"
    text = str(value)
    if len(text) < 12:
        return repr("*" * len(text))
    return repr("*" * (len(text) - 4) + text[-4:])


def _mask_all(value: object) -> str:
    return "None" if value is None else "'***'"


def _mask_extra(value: object) -> str:
    if not isinstance(value, dict):
        return "None" if value is None else "'***'"
    return "{" + ", ".join(f"{key!r}: '***'" for key in value) + "}"


@attrs.define(kw_only=True, slots=True)
class BillingInformation(Payload):
    """``BillingInformation`` (Save Customer and Order Paid).

    repr/str show only the last four digits of the card number and never the
    security code or the expiration date; the wire carries them unmasked.
    """

    credit_card_number: str | None = _field(
        wire="CreditCardNumber", kind=_S, secret=True, repr=_mask_card_number
    )
    credit_card_type: int | None = _field(wire="CreditCardType", kind=_I)
    expiration_date: str | None = _field(
        wire="ExpirationDate", kind=_S, secret=True, repr=_mask_all
    )
    card_security_code: str | None = _field(
        wire="CardSecurityCode", kind=_S, secret=True, repr=_mask_all
    )
    name_on_card: str | None = _field(
        wire="NameOnCard",
        kind=_S,
        required_with="CreditCardNumber",
        missing="NameOnCard is required if CreditCardNumber is submitted.",
    )
    do_charge: str | None = _field(
        wire="DoCharge",
        kind=_S,
        required=True,
        choices=("False",),
        default="False",
        missing="DoCharge is missing.",
    )
    deposit_date: date | None = _field(
        wire="DepositDate",
        kind=Kind.DATE,
        required_with="CreditCardNumber",
        missing="DepositDate is required for 3rd party payment (CreditCardNumber submitted).",
    )
    auth_code: str | None = _field(
        wire="AuthCode",
        kind=_S,
        required_with="CreditCardNumber",
        missing="AuthCode is required for 3rd party payment (CreditCardNumber submitted).",
    )
    comment1: str | None = _field(wire="Comment1", kind=_S)
    comment2: str | None = _field(wire="Comment2", kind=_S)
    billing_company: str | None = _field(wire="BillingCompany", kind=_S, max_length=255)
    billing_street: str | None = _field(
        wire="BillingStreet",
        kind=_S,
        required=True,
        max_length=255,
        missing="BillingStreet is missing.",
    )
    billing_apartment_mail_stop: str | None = _field(
        wire="BillingApartmentMailStop", kind=_S, max_length=255
    )
    billing_extra_address: str | None = _field(wire="BillingExtraAddress", kind=_S)
    billing_city: str | None = _field(
        wire="BillingCity",
        kind=_S,
        required=True,
        max_length=100,
        missing="BillingCity is missing.",
    )
    billing_region: str | None = _field(
        wire="BillingRegion",
        kind=_S,
        required_in_country="BillingCountryCode",
        region_of="BillingCountryCode",
        missing="BillingRegion is required if BillingCountryCode is USA or Canada.",
    )
    billing_postal_code: str | None = _field(
        wire="BillingPostalCode",
        kind=_S,
        required_in_country="BillingCountryCode",
        missing="BillingPostalCode is required if BillingCountryCode is USA or Canada.",
    )
    billing_country_code: str | None = _field(
        wire="BillingCountryCode",
        kind=_S,
        required=True,
        text_format=TextFormat.COUNTRY_CODE,
        missing="BillingCountryCode is missing.",
    )
    paypal_payment_id: str | None = _field(
        wire="PayPalPaymentId",
        kind=_S,
        required_with="PayPalPayerId",
        missing="PayPalPaymentId is required if PayPalPayerId is submitted.",
    )
    paypal_payer_id: str | None = _field(
        wire="PayPalPayerId",
        kind=_S,
        required_with="PayPalPaymentId",
        missing="PayPalPayerId is required if PayPalPaymentId is submitted.",
    )
    # Unknown billing fields may hold card data too: their values are never shown.
    extra_fields: dict[str, Any] | None = attrs.field(default=None, repr=_mask_extra)


@attrs.define(kw_only=True, slots=True)
class Telemarketing(Payload):
    """A ``Telemarketing`` element; six of its fields are required."""

    telemarketing_company: str | None = _field(
        wire="TelemarketingCompany",
        kind=_S,
        required=True,
        max_length=100,
        missing="TelemarketingCompany is missing.",
    )
    telemarketing_recording_id: str | None = _field(
        wire="TelemarketingRecordingId",
        kind=_S,
        required=True,
        max_length=50,
        missing="TelemarketingRecordingId is missing.",
    )
    telemarketing_agent: str | None = _field(
        wire="TelemarketingAgent",
        kind=_S,
        required=True,
        max_length=20,
        missing="TelemarketingAgent is missing.",
    )
    personal_id_question: str | None = _field(
        wire="PersonalIdQuestion",
        kind=_S,
        required=True,
        max_length=100,
        missing="PersonalIdQuestion is missing.",
    )
    time_of_call: date | datetime | None = _field(wire="TimeOfCall", kind=Kind.DATE_TIME)
    end_of_call: date | datetime | None = _field(wire="EndOfCall", kind=Kind.DATE_TIME)
    length_of_call: int | None = _field(wire="LengthOfCall", kind=_I)
    spoke_to_name: str | None = _field(
        wire="SpokeToName",
        kind=_S,
        required=True,
        max_length=100,
        missing="SpokeToName is missing.",
    )
    spoke_to_title: str | None = _field(
        wire="SpokeToTitle",
        kind=_S,
        required=True,
        max_length=100,
        missing="SpokeToTitle is missing.",
    )
    authorized_assistant_response: bool | None = _field(
        wire="AuthorizedAssistantResponse", kind=Kind.BOOL
    )
    general_tele_info: str | None = _field(wire="GeneralTeleInfo", kind=_S, max_length=255)
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class BehaviorAttribute(Payload):
    """A ``BehaviorAttributes`` element: a type id and either a value or a value id."""

    behavior_attribute_type_id: int | None = _field(
        wire="BehaviorAttributeTypeId",
        kind=_I,
        required=True,
        missing="BehaviorAttributeTypeId is missing.",
    )
    behavior_attribute_value: str | None = _field(wire="BehaviorAttributeValue", kind=_S)
    behavior_attribute_value_id: int | None = _field(wire="BehaviorAttributeValueId", kind=_I)
    extra_fields: dict[str, Any] | None = _extra()

    _omeda_rules: ClassVar[tuple[OneOf, ...]] = (
        OneOf(
            fields=("BehaviorAttributeValue", "BehaviorAttributeValueId"),
            # Omeda's own message, double space included.
            missing="BehaviorAttributeValue  is missing.",
            conflict=(
                "BehaviorAttributeValueId can only be present if "
                "BehaviorAttributeValue is not present."
            ),
            missing_at="BehaviorAttributeValue",
            conflict_at="BehaviorAttributeValueId",
        ),
    )


@attrs.define(kw_only=True, slots=True)
class CustomerBehavior(Payload):
    """A ``CustomerBehaviors`` element; ``BehaviorDate`` is sent as yyyy-MM-dd HH:mm:ss."""

    behavior_id: int | None = _field(
        wire="BehaviorId", kind=_I, required=True, missing="BehaviorId is missing."
    )
    behavior_date: datetime | None = _field(
        wire="BehaviorDate",
        kind=Kind.BEHAVIOR_DATE_TIME,
        required=True,
        missing="BehaviorDate is missing.",
    )
    behavior_promo_code: str | None = _field(wire="BehaviorPromoCode", kind=_S)
    behavior_attributes: list[BehaviorAttribute] | None = _field(
        wire="BehaviorAttributes",
        kind=Kind.LIST,
        model=BehaviorAttribute,
        non_empty=(
            "BehaviorAttributes must have at least one set of "
            "BehaviorAttributeTypeId and BehaviorAttributeValue."
        ),
    )
    extra_fields: dict[str, Any] | None = _extra()


# ------------------------------------------------------------ models: top level


@attrs.define(kw_only=True, slots=True)
class CustomerAndOrder(Payload):
    """The ``storecustomerandorder`` body: every Customer Element of pages 000 and 001.

    ``client_customer_id`` and ``external_customer_id`` are ids of the caller's
    own system; the pages give them no type, so they are kept as given.
    ``client_order_id`` is "an integer value" in the table but text in the
    example: it is kept as given too. ``run_processor`` (0 or 1) asks Omeda to
    process the record at once; the receipt then carries ``customer_id`` and
    ``encrypted_customer_id``.
    """

    client_customer_id: int | str | None = _field(wire="ClientCustomerId", kind=Kind.INT_OR_STR)
    omeda_customer_id: int | None = _field(wire="OmedaCustomerId", kind=_I)
    external_customer_id: int | str | None = _field(wire="ExternalCustomerId", kind=Kind.INT_OR_STR)
    external_customer_id_namespace: str | None = _field(wire="ExternalCustomerIdNamespace", kind=_S)
    customer_status_id: int | None = _field(wire="CustomerStatusId", kind=_I, choices=(0, 1, 3))
    salutation: str | None = _field(wire="Salutation", kind=_S, max_length=10)
    first_name: str | None = _field(wire="FirstName", kind=_S, max_length=100)
    middle_name: str | None = _field(wire="MiddleName", kind=_S, max_length=100)
    last_name: str | None = _field(wire="LastName", kind=_S, max_length=100)
    suffix: str | None = _field(wire="Suffix", kind=_S, max_length=10)
    title: str | None = _field(wire="Title", kind=_S, max_length=100)
    gender: str | None = _field(wire="Gender", kind=_S, choices=("M", "F"))
    signup_date: date | datetime | None = _field(wire="SignupDate", kind=Kind.DATE_TIME)
    client_order_id: int | str | None = _field(wire="ClientOrderId", kind=Kind.INT_OR_STR)
    promo_code: str | None = _field(wire="PromoCode", kind=_S, max_length=50)
    order_date: date | datetime | None = _field(wire="OrderDate", kind=Kind.DATE_TIME)
    addresses: list[Address] | None = _field(wire="Addresses", kind=Kind.LIST, model=Address)
    phones: list[Phone] | None = _field(wire="Phones", kind=Kind.LIST, model=Phone)
    emails: list[Email] | None = _field(wire="Emails", kind=Kind.LIST, model=Email)
    customer_demographics: list[CustomerDemographic] | None = _field(
        wire="CustomerDemographics", kind=Kind.LIST, model=CustomerDemographic
    )
    products: list[Product] | None = _field(wire="Products", kind=Kind.LIST, model=Product)
    product_updates: list[ProductUpdate] | None = _field(
        wire="ProductUpdates", kind=Kind.LIST, model=ProductUpdate
    )
    marketing_products: list[MarketingProduct] | None = _field(
        wire="MarketingProducts", kind=Kind.LIST, model=MarketingProduct
    )
    telemarketing: list[Telemarketing] | None = _field(
        wire="Telemarketing", kind=Kind.LIST, model=Telemarketing
    )
    customer_behaviors: list[CustomerBehavior] | None = _field(
        wire="CustomerBehaviors", kind=Kind.LIST, model=CustomerBehavior
    )
    billing_information: BillingInformation | None = _field(
        wire="BillingInformation", kind=Kind.OBJECT, model=BillingInformation
    )
    donor_id: int | None = _field(wire="DonorId", kind=_I)
    merge_code: int | None = _field(wire="MergeCode", kind=_I, choices=_YES_NO)
    # Not on the pages: Omeda's production users send "RunProcessor": 1 to have the
    # customer processed at once (rapid customer identification), and read
    # CustomerId and EncryptedCustomerId back from the receipt.
    run_processor: int | None = _field(wire="RunProcessor", kind=_I, choices=_YES_NO)
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class OrderProduct(Payload):
    """A ``Products`` element of an Add Order (orderqueue)."""

    omeda_product_id: int | None = _field(
        wire="OmedaProductId",
        kind=_I,
        required=True,
        unique=True,
        missing="OmedaProductId is missing in Products submission",
    )
    quantity: int | None = _field(wire="Quantity", kind=_I, minimum=0)
    personal_identifier: str | None = _field(wire="PersonalIdentifier", kind=_S, max_length=50)
    receive: int | None = _field(wire="Receive", kind=_I, choices=_YES_NO)
    requested_version: str | None = _field(wire="RequestedVersion", kind=_S, choices=_VERSIONS)
    shipping_address_id: int | None = _field(wire="ShippingAddressId", kind=_I, needs_root=_ROOT_ID)
    email_address_id: int | None = _field(wire="EmailAddressId", kind=_I, needs_root=_ROOT_ID)
    filter: list[OptFilter] | None = _field(wire="Filter", kind=Kind.LIST, model=OptFilter)
    extra_fields: dict[str, Any] | None = _extra()


@attrs.define(kw_only=True, slots=True)
class Order(Payload):
    """The ``orderqueue`` body (Add Order).

    One of ClientCustomerId, OmedaCustomerId or TransactionId is required;
    TransactionId names the customer of a just-queued storecustomerandorder.
    ``run_processor`` is deprecated by Omeda and kept only for old callers.
    """

    client_customer_id: int | str | None = _field(wire="ClientCustomerId", kind=Kind.INT_OR_STR)
    omeda_customer_id: int | None = _field(wire="OmedaCustomerId", kind=_I)
    transaction_id: int | None = _field(wire="TransactionId", kind=_I)
    client_order_id: int | str | None = _field(wire="ClientOrderId", kind=Kind.INT_OR_STR)
    promo_code: str | None = _field(wire="PromoCode", kind=_S)
    run_processor: int | None = _field(wire="RunProcessor", kind=_I, choices=_YES_NO)
    products: list[OrderProduct] | None = _field(
        wire="Products", kind=Kind.LIST, model=OrderProduct
    )
    extra_fields: dict[str, Any] | None = _extra()

    _omeda_rules: ClassVar[tuple[OneOf, ...]] = (
        OneOf(
            fields=("ClientCustomerId", "OmedaCustomerId", "TransactionId"),
            missing=(
                "One of either ClientCustomerId, OmedaCustomerId, or TransactionId is required."
            ),
        ),
    )


#: Every payload class, leaves first (a class comes after every class it holds).
PAYLOAD_CLASSES: tuple[type[Payload], ...] = (
    Address,
    Email,
    Phone,
    CustomerDemographic,
    OptFilter,
    Product,
    ProductUpdate,
    ProductFieldResponse,
    MarketingProduct,
    BillingInformation,
    Telemarketing,
    BehaviorAttribute,
    CustomerBehavior,
    CustomerAndOrder,
    OrderProduct,
    Order,
)
