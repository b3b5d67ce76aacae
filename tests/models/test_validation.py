"""validate(): every documented rule, its path, its code and Omeda's wording."""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from omeda_async import (
    Address,
    BillingInformation,
    CustomerAndOrder,
    Email,
    Order,
    OrderProduct,
    Product,
    Violation,
    validate,
)
from omeda_async.models._validation import _MAX_SHAPES, _RULES, _Shapes, _Walk

# A Telemarketing element with every required field, and a BillingInformation
# that satisfies every rule; cases below break one rule at a time.
TELE: dict[str, Any] = {
    "TelemarketingCompany": "Tele company Name",
    "TelemarketingRecordingId": "12345",
    "TelemarketingAgent": "Smith",
    "PersonalIdQuestion": "Eye color",
    "SpokeToName": "Jessica",
    "SpokeToTitle": "Manager",
}
BILLING: dict[str, Any] = {
    "DoCharge": "False",
    "BillingStreet": "555 Huehl Road",
    "BillingCity": "Northbrook",
    "BillingRegion": "IL",
    "BillingPostalCode": "60062",
    "BillingCountryCode": "USA",
}
PFR: dict[str, Any] = {"ProductFieldId": 7, "ProductFieldResponseValue": "blue"}


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    """A copy of ``data`` without ``key``."""
    return {k: v for k, v in data.items() if k != key}


def tele(**changes: Any) -> dict[str, Any]:
    return {"Telemarketing": [{**TELE, **changes}]}


def billing(**changes: Any) -> dict[str, Any]:
    return {"BillingInformation": {**BILLING, **changes}}


def order(**changes: Any) -> dict[str, Any]:
    return {"OmedaCustomerId": 1, **changes}


# (id, schema, violating payload, valid counterpart, path, rule, message fragment)
Case = tuple[str, type, dict[str, Any], dict[str, Any], str, str, str]

CASES: list[Case] = [
    # ---- required fields
    (
        "email-address-required",
        CustomerAndOrder,
        {"Emails": [{"EmailContactType": 300}]},
        {"Emails": [{"EmailContactType": 300, "EmailAddress": "a@b.com"}]},
        "Emails[0].EmailAddress",
        "required",
        "EmailAddress is missing.",
    ),
    (
        "number-required",
        CustomerAndOrder,
        {"Phones": [{"PhoneContactType": 200}]},
        {"Phones": [{"PhoneContactType": 200, "Number": "847-555-7527"}]},
        "Phones[0].Number",
        "required",
        "Number must be set.",
    ),
    (
        "number-empty-string-is-missing",
        CustomerAndOrder,
        {"Phones": [{"Number": ""}]},
        {"Phones": [{"Number": "1"}]},
        "Phones[0].Number",
        "required",
        "Number must be set.",
    ),
    *[
        (
            f"telemarketing-{field}-required",
            CustomerAndOrder,
            {"Telemarketing": [without(TELE, field)]},
            {"Telemarketing": [TELE]},
            f"Telemarketing[0].{field}",
            "required",
            f"{field} is missing.",
        )
        for field in TELE
    ],
    (
        "behavior-id-required",
        CustomerAndOrder,
        {"CustomerBehaviors": [{"BehaviorDate": "2011-07-20 12:12:12"}]},
        {"CustomerBehaviors": [{"BehaviorId": 104, "BehaviorDate": "2011-07-20 12:12:12"}]},
        "CustomerBehaviors[0].BehaviorId",
        "required",
        "BehaviorId is missing.",
    ),
    (
        "behavior-date-required",
        CustomerAndOrder,
        {"CustomerBehaviors": [{"BehaviorId": 104}]},
        {"CustomerBehaviors": [{"BehaviorId": 104, "BehaviorDate": "2011-07-20 12:12:12"}]},
        "CustomerBehaviors[0].BehaviorDate",
        "required",
        "BehaviorDate is missing.",
    ),
    (
        "behavior-attribute-type-id-required",
        CustomerAndOrder,
        {
            "CustomerBehaviors": [
                {
                    "BehaviorId": 105,
                    "BehaviorDate": "2011-07-20 12:12:12",
                    "BehaviorAttributes": [{"BehaviorAttributeValue": "x"}],
                }
            ]
        },
        {
            "CustomerBehaviors": [
                {
                    "BehaviorId": 105,
                    "BehaviorDate": "2011-07-20 12:12:12",
                    "BehaviorAttributes": [
                        {"BehaviorAttributeTypeId": 222, "BehaviorAttributeValue": "x"}
                    ],
                }
            ]
        },
        "CustomerBehaviors[0].BehaviorAttributes[0].BehaviorAttributeTypeId",
        "required",
        "BehaviorAttributeTypeId is missing.",
    ),
    *[
        (
            f"billing-{field}-required",
            CustomerAndOrder,
            {"BillingInformation": without(BILLING, field)},
            {"BillingInformation": BILLING},
            f"BillingInformation.{field}",
            "required",
            f"{field} is missing.",
        )
        for field in ("DoCharge", "BillingStreet", "BillingCity", "BillingCountryCode")
    ],
    (
        "product-id-update-required",
        CustomerAndOrder,
        {"ProductUpdates": [{"RequestedVersionUpdate": "D"}]},
        {"ProductUpdates": [{"OmedaProductIdUpdate": 15, "RequestedVersionUpdate": "D"}]},
        "ProductUpdates[0].OmedaProductIdUpdate",
        "required",
        "OmedaProductIdUpdate is missing",
    ),
    (
        "product-field-id-required",
        CustomerAndOrder,
        {
            "MarketingProducts": [
                {"OmedaProductId": 9, "ProductFieldResponses": [without(PFR, "ProductFieldId")]}
            ]
        },
        {"MarketingProducts": [{"OmedaProductId": 9, "ProductFieldResponses": [PFR]}]},
        "MarketingProducts[0].ProductFieldResponses[0].ProductFieldId",
        "required",
        "ProductFieldId is missing.",
    ),
    (
        "product-field-response-value-required",
        CustomerAndOrder,
        {
            "MarketingProducts": [
                {
                    "OmedaProductId": 9,
                    "ProductFieldResponses": [without(PFR, "ProductFieldResponseValue")],
                }
            ]
        },
        {"MarketingProducts": [{"OmedaProductId": 9, "ProductFieldResponses": [PFR]}]},
        "MarketingProducts[0].ProductFieldResponses[0].ProductFieldResponseValue",
        "required",
        "ProductFieldResponseValue is missing.",
    ),
    (
        "products-omeda-product-id-required",
        CustomerAndOrder,
        {"Products": [{"Receive": 1}]},
        {"Products": [{"OmedaProductId": 14, "Receive": 1}]},
        "Products[0].OmedaProductId",
        "required",
        "OmedaProductId is missing in Products submission",
    ),
    (
        "marketing-products-omeda-product-id-required",
        CustomerAndOrder,
        {"MarketingProducts": [{"ProductFieldResponses": [PFR]}]},
        {"MarketingProducts": [{"OmedaProductId": 9, "ProductFieldResponses": [PFR]}]},
        "MarketingProducts[0].OmedaProductId",
        "required",
        "OmedaProductId is missing in MarketingProducts submission",
    ),
    (
        "order-products-omeda-product-id-required",
        Order,
        order(Products=[{"Receive": 1}]),
        order(Products=[{"OmedaProductId": 101588, "Receive": 1}]),
        "Products[0].OmedaProductId",
        "required",
        "OmedaProductId is missing in Products submission",
    ),
    (
        "filter-email-address-required",
        Order,
        order(Products=[{"OmedaProductId": 1, "Filter": [{"DeleteOptOut": 1}]}]),
        order(Products=[{"OmedaProductId": 1, "Filter": [{"EmailAddress": "j@d.com"}]}]),
        "Products[0].Filter[0].EmailAddress",
        "required",
        "EmailAddress is missing",
    ),
    # ---- conditional rules
    (
        "demographic-value-with-id",
        CustomerAndOrder,
        {"CustomerDemographics": [{"OmedaDemographicId": 10001}]},
        {"CustomerDemographics": [{"OmedaDemographicId": 10001, "OmedaDemographicValue": 1}]},
        "CustomerDemographics[0].OmedaDemographicValue",
        "conditional",
        "OmedaDemographicValue is missing for OmedaDemographicId:10001",
    ),
    (
        "demographic-empty-value-list-is-missing",
        CustomerAndOrder,
        {"CustomerDemographics": [{"OmedaDemographicId": 10001, "OmedaDemographicValue": []}]},
        {"CustomerDemographics": [{"OmedaDemographicId": 10001, "OmedaDemographicValue": [1]}]},
        "CustomerDemographics[0].OmedaDemographicValue",
        "conditional",
        "OmedaDemographicValue is missing for OmedaDemographicId:10001",
    ),
    (
        "client-demographic-value-with-id",
        CustomerAndOrder,
        {"CustomerDemographics": [{"ClientDemographicId": "EYES"}]},
        {"CustomerDemographics": [{"ClientDemographicId": "EYES", "ClientDemographicValue": "B"}]},
        "CustomerDemographics[0].ClientDemographicValue",
        "conditional",
        "ClientDemographicValue is missing for ClientDemographicId: EYES",
    ),
    (
        "demographic-needs-an-id",
        CustomerAndOrder,
        {"CustomerDemographics": [{"WriteInDesc": "Other"}]},
        {"CustomerDemographics": [{"OmedaDemographicId": 3, "OmedaDemographicValue": "37"}]},
        "CustomerDemographics[0]",
        "conditional",
        "Either the ClientDemographicId or OmedaDemographicId is required",
    ),
    (
        "demographic-not-both-ids",
        CustomerAndOrder,
        {
            "CustomerDemographics": [
                {
                    "OmedaDemographicId": 3,
                    "OmedaDemographicValue": "37",
                    "ClientDemographicId": "EYES",
                    "ClientDemographicValue": "B",
                }
            ]
        },
        {"CustomerDemographics": [{"ClientDemographicId": "EYES", "ClientDemographicValue": "B"}]},
        "CustomerDemographics[0].ClientDemographicId",
        "conditional",
        "Can't submit more than one of the following: OmedaDemographicId, ClientDemographicId.",
    ),
    (
        "shipping-address-id-needs-customer-id",
        CustomerAndOrder,
        {"Products": [{"OmedaProductId": 14, "ShippingAddressId": 112}]},
        {"OmedaCustomerId": 1234, "Products": [{"OmedaProductId": 14, "ShippingAddressId": 112}]},
        "Products[0].ShippingAddressId",
        "conditional",
        "To set a ShippingAddressId, your submission must contain an OmedaCustomerId.",
    ),
    (
        "email-address-id-needs-customer-id",
        CustomerAndOrder,
        {"Products": [{"OmedaProductId": 14, "EmailAddressId": 1}]},
        {"OmedaCustomerId": 1234, "Products": [{"OmedaProductId": 14, "EmailAddressId": 1}]},
        "Products[0].EmailAddressId",
        "conditional",
        "To set an EmailAddressId, your submission must contain an OmedaCustomerId.",
    ),
    (
        "marketing-shipping-address-id-needs-customer-id",
        CustomerAndOrder,
        {"MarketingProducts": [{"OmedaProductId": 9, "ShippingAddressId": 112}]},
        {
            "OmedaCustomerId": 5,
            "MarketingProducts": [{"OmedaProductId": 9, "ShippingAddressId": 1}],
        },
        "MarketingProducts[0].ShippingAddressId",
        "conditional",
        "To set a ShippingAddressId",
    ),
    (
        "marketing-email-address-id-needs-customer-id",
        CustomerAndOrder,
        {"MarketingProducts": [{"OmedaProductId": 9, "EmailAddressId": 3}]},
        {"OmedaCustomerId": 5, "MarketingProducts": [{"OmedaProductId": 9, "EmailAddressId": 3}]},
        "MarketingProducts[0].EmailAddressId",
        "conditional",
        "To set an EmailAddressId",
    ),
    (
        "order-shipping-address-id-needs-customer-id",
        Order,
        {"TransactionId": 8907512, "Products": [{"OmedaProductId": 1, "ShippingAddressId": 5}]},
        {"OmedaCustomerId": 129, "Products": [{"OmedaProductId": 1, "ShippingAddressId": 5}]},
        "Products[0].ShippingAddressId",
        "conditional",
        "your submission must contain an OmedaCustomerId",
    ),
    (
        "order-email-address-id-needs-customer-id",
        Order,
        {"ClientCustomerId": "C-9", "Products": [{"OmedaProductId": 1, "EmailAddressId": 5}]},
        {"OmedaCustomerId": 129, "Products": [{"OmedaProductId": 1, "EmailAddressId": 5}]},
        "Products[0].EmailAddressId",
        "conditional",
        "To set an EmailAddressId",
    ),
    *[
        (
            f"paid-product-by-{trigger}-needs-term",
            CustomerAndOrder,
            {"Products": [{"OmedaProductId": 14, trigger: value}]},
            {"Products": [{"OmedaProductId": 14, trigger: value, "Term": 12}]},
            "Products[0].Term",
            "conditional",
            "You must specify Term or OrderExpirationDate per paid product.",
        )
        for trigger, value in (
            ("Amount", "65.00"),
            ("AmountPaid", "0.00"),
            ("PricePerQuantity", "5.00"),
            ("PaymentStatusId", 1),
        )
    ],
    (
        "paid-product-expiration-date-instead-of-term",
        CustomerAndOrder,
        {"Products": [{"OmedaProductId": 14, "Amount": "65.00", "SalesTax": "6.50"}]},
        {
            "Products": [
                {"OmedaProductId": 14, "Amount": "6.00", "OrderExpirationDate": "2027-01-31"}
            ]
        },
        "Products[0].Term",
        "conditional",
        "Term or OrderExpirationDate",
    ),
    (
        "product-id-once-per-submission",
        CustomerAndOrder,
        {"Products": [{"OmedaProductId": 14}, {"OmedaProductId": "14"}]},
        {"Products": [{"OmedaProductId": 14}, {"OmedaProductId": 24}]},
        "Products[1].OmedaProductId",
        "duplicate",
        "OmedaProductId 14 cannot be included more than once in a submission.",
    ),
    (
        "product-id-once-across-products-and-marketing-products",
        CustomerAndOrder,
        {"Products": [{"OmedaProductId": 14}], "MarketingProducts": [{"OmedaProductId": 14}]},
        {"Products": [{"OmedaProductId": 14}], "MarketingProducts": [{"OmedaProductId": 15}]},
        "MarketingProducts[0].OmedaProductId",
        "duplicate",
        "OmedaProductId 14 cannot be included more than once",
    ),
    (
        "order-product-id-once",
        Order,
        order(Products=[{"OmedaProductId": 7}, {"OmedaProductId": 7}]),
        order(Products=[{"OmedaProductId": 7}, {"OmedaProductId": 8}]),
        "Products[1].OmedaProductId",
        "duplicate",
        "OmedaProductId 7 cannot be included more than once",
    ),
    (
        "behavior-attribute-value-or-value-id",
        CustomerAndOrder,
        {
            "CustomerBehaviors": [
                {
                    "BehaviorId": 1,
                    "BehaviorDate": "2011-07-20 12:12:12",
                    "BehaviorAttributes": [{"BehaviorAttributeTypeId": 3}],
                }
            ]
        },
        {
            "CustomerBehaviors": [
                {
                    "BehaviorId": 1,
                    "BehaviorDate": "2011-07-20 12:12:12",
                    "BehaviorAttributes": [
                        {"BehaviorAttributeTypeId": 3, "BehaviorAttributeValueId": 60}
                    ],
                }
            ]
        },
        "CustomerBehaviors[0].BehaviorAttributes[0].BehaviorAttributeValue",
        "conditional",
        "BehaviorAttributeValue  is missing.",
    ),
    (
        "behavior-attribute-not-value-and-value-id",
        CustomerAndOrder,
        {
            "CustomerBehaviors": [
                {
                    "BehaviorId": 1,
                    "BehaviorDate": "2011-07-20 12:12:12",
                    "BehaviorAttributes": [
                        {
                            "BehaviorAttributeTypeId": 3,
                            "BehaviorAttributeValue": "x",
                            "BehaviorAttributeValueId": 60,
                        }
                    ],
                }
            ]
        },
        {
            "CustomerBehaviors": [
                {
                    "BehaviorId": 1,
                    "BehaviorDate": "2011-07-20 12:12:12",
                    "BehaviorAttributes": [
                        {"BehaviorAttributeTypeId": 3, "BehaviorAttributeValue": "x"}
                    ],
                }
            ]
        },
        "CustomerBehaviors[0].BehaviorAttributes[0].BehaviorAttributeValueId",
        "conditional",
        "can only be present if BehaviorAttributeValue is not present",
    ),
    (
        "behavior-attributes-not-empty",
        CustomerAndOrder,
        {
            "CustomerBehaviors": [
                {"BehaviorId": 1, "BehaviorDate": "2011-07-20 12:12:12", "BehaviorAttributes": []}
            ]
        },
        {"CustomerBehaviors": [{"BehaviorId": 1, "BehaviorDate": "2011-07-20 12:12:12"}]},
        "CustomerBehaviors[0].BehaviorAttributes",
        "required",
        "BehaviorAttributes must have at least one set",
    ),
    (
        "name-on-card-with-card-number",
        CustomerAndOrder,
        billing(CreditCardNumber="4111111111111111", DepositDate="2026-01-02", AuthCode="A1"),
        billing(
            CreditCardNumber="4111111111111111",
            DepositDate="2026-01-02",
            AuthCode="A1",
            NameOnCard="James Smith",
        ),
        "BillingInformation.NameOnCard",
        "conditional",
        "NameOnCard is required if CreditCardNumber is submitted.",
    ),
    (
        "deposit-date-with-card-number",
        CustomerAndOrder,
        billing(CreditCardNumber="4111111111111111", NameOnCard="J S", AuthCode="A1"),
        billing(
            CreditCardNumber="4111111111111111",
            NameOnCard="J S",
            AuthCode="A1",
            DepositDate="2026-01-02",
        ),
        "BillingInformation.DepositDate",
        "conditional",
        "DepositDate is required for 3rd party payment",
    ),
    (
        "auth-code-with-card-number",
        CustomerAndOrder,
        billing(CreditCardNumber="4111111111111111", NameOnCard="J S", DepositDate="2026-01-02"),
        billing(
            CreditCardNumber="4111111111111111",
            NameOnCard="J S",
            DepositDate="2026-01-02",
            AuthCode="A1",
        ),
        "BillingInformation.AuthCode",
        "conditional",
        "AuthCode is required for 3rd party payment",
    ),
    *[
        (
            f"billing-{field}-required-in-{country}",
            CustomerAndOrder,
            {"BillingInformation": {**without(BILLING, field), "BillingCountryCode": country}},
            {"BillingInformation": {**without(BILLING, field), "BillingCountryCode": "GBR"}},
            f"BillingInformation.{field}",
            "conditional",
            f"{field} is required if BillingCountryCode is USA or Canada.",
        )
        for field in ("BillingRegion", "BillingPostalCode")
        for country in ("USA", "CAN", "usa")
    ],
    (
        "billing-region-two-letters-in-usa",
        CustomerAndOrder,
        billing(BillingRegion="Illinois"),
        billing(BillingRegion="IL"),
        "BillingInformation.BillingRegion",
        "format",
        "2-character US state or Canadian code",
    ),
    (
        "billing-region-any-text-outside-usa-and-canada",
        CustomerAndOrder,
        billing(BillingRegion="Illinois"),
        billing(BillingRegion="Greater London", BillingCountryCode="GBR"),
        "BillingInformation.BillingRegion",
        "format",
        "'Illinois'",
    ),
    (
        "paypal-payment-id-with-payer-id",
        CustomerAndOrder,
        billing(PayPalPayerId="PAYER"),
        billing(PayPalPayerId="PAYER", PayPalPaymentId="PAY-1"),
        "BillingInformation.PayPalPaymentId",
        "conditional",
        "PayPalPaymentId is required if PayPalPayerId is submitted.",
    ),
    (
        "paypal-payer-id-with-payment-id",
        CustomerAndOrder,
        billing(PayPalPaymentId="PAY-1"),
        billing(PayPalPayerId="PAYER", PayPalPaymentId="PAY-1"),
        "BillingInformation.PayPalPayerId",
        "conditional",
        "PayPalPayerId is required if PayPalPaymentId is submitted.",
    ),
    *[
        (
            f"add-order-named-by-{field}",
            Order,
            {"PromoCode": "X", "Products": [{"OmedaProductId": 1}]},
            {field: value, "PromoCode": "X", "Products": [{"OmedaProductId": 1}]},
            "",
            "conditional",
            "One of either ClientCustomerId, OmedaCustomerId, or TransactionId is required.",
        )
        for field, value in (
            ("ClientCustomerId", "C-9"),
            ("OmedaCustomerId", 129340133423),
            ("TransactionId", "8907512"),
        )
    ],
    # ---- enumerations
    *[
        (
            f"choice-{path}",
            schema,
            bad,
            good,
            path,
            "choice",
            fragment,
        )
        for schema, path, bad, good, fragment in (
            (CustomerAndOrder, "Gender", {"Gender": "X"}, {"Gender": "F"}, "'M', 'F'"),
            (
                CustomerAndOrder,
                "Products[0].RequestedVersion",
                {"Products": [{"OmedaProductId": 1, "RequestedVersion": "Z"}]},
                {"Products": [{"OmedaProductId": 1, "RequestedVersion": "B"}]},
                "'P', 'D', 'B'",
            ),
            (
                CustomerAndOrder,
                "ProductUpdates[0].RequestedVersionUpdate",
                {"ProductUpdates": [{"OmedaProductIdUpdate": 1, "RequestedVersionUpdate": "d"}]},
                {"ProductUpdates": [{"OmedaProductIdUpdate": 1, "RequestedVersionUpdate": "P"}]},
                "got 'd'",
            ),
            (
                CustomerAndOrder,
                "Products[0].Receive",
                {"Products": [{"OmedaProductId": 1, "Receive": 2}]},
                {"Products": [{"OmedaProductId": 1, "Receive": "0"}]},
                "0, 1",
            ),
            (CustomerAndOrder, "MergeCode", {"MergeCode": "2"}, {"MergeCode": "0"}, "0, 1"),
            (
                CustomerAndOrder,
                "CustomerStatusId",
                {"CustomerStatusId": 2},
                {"CustomerStatusId": 3},
                "0, 1, 3",
            ),
            (
                CustomerAndOrder,
                "Products[0].AutoRenewalCode",
                {"Products": [{"OmedaProductId": 1, "AutoRenewalCode": 1}]},
                {"Products": [{"OmedaProductId": 1, "AutoRenewalCode": 6}]},
                "0, 5, 6",
            ),
            (
                CustomerAndOrder,
                "Addresses[0].Airmail",
                {"Addresses": [{"Airmail": "B"}]},
                {"Addresses": [{"Airmail": ""}]},
                "'A', ''",
            ),
            (
                CustomerAndOrder,
                "BillingInformation.DoCharge",
                billing(DoCharge="True"),
                billing(DoCharge="False"),
                "must be 'False'",
            ),
            (
                Order,
                "Products[0].Filter[0].DeleteOptOut",
                order(
                    Products=[
                        {
                            "OmedaProductId": 1,
                            "Filter": [{"EmailAddress": "a@b.co", "DeleteOptOut": 3}],
                        }
                    ]
                ),
                order(
                    Products=[
                        {
                            "OmedaProductId": 1,
                            "Filter": [{"EmailAddress": "a@b.co", "DeleteOptOut": 0}],
                        }
                    ]
                ),
                "0, 1",
            ),
            (Order, "RunProcessor", order(RunProcessor=5), order(RunProcessor=1), "0, 1"),
            (
                Order,
                "Products[0].Receive",
                order(Products=[{"OmedaProductId": 1, "Receive": -1}]),
                order(Products=[{"OmedaProductId": 1, "Receive": 0}]),
                "0, 1",
            ),
            (
                Order,
                "Products[0].RequestedVersion",
                order(Products=[{"OmedaProductId": 1, "RequestedVersion": "X"}]),
                order(Products=[{"OmedaProductId": 1, "RequestedVersion": "D"}]),
                "'P', 'D', 'B'",
            ),
        )
    ],
    # ---- dates
    *[
        (f"date-{path}-{bad_value}", schema, bad, good, path, "date_format", fragment)
        for schema, path, bad_value, bad, good, fragment in (
            (
                CustomerAndOrder,
                "SignupDate",
                "slashes",
                {"SignupDate": "2010/04/18"},
                {"SignupDate": "2010-04-18 12:30"},
                "Your submission contained an invalid date",
            ),
            (
                CustomerAndOrder,
                "OrderDate",
                "seconds",
                {"OrderDate": "2010-04-18 12:30:00"},
                {"OrderDate": "2010-04-18"},
                "yyyy-MM-dd or yyyy-MM-dd HH:mm",
            ),
            (
                CustomerAndOrder,
                "SignupDate",
                "february-30",
                {"SignupDate": "2010-02-30"},
                {"SignupDate": "2012-02-29"},
                "'2010-02-30'",
            ),
            (
                CustomerAndOrder,
                "Telemarketing[0].EndOfCall",
                "semicolon",
                tele(EndOfCall="2011-10-10 12;30"),
                tele(EndOfCall="2011-10-10 12:30"),
                "invalid date",
            ),
            (
                CustomerAndOrder,
                "Telemarketing[0].TimeOfCall",
                "hour-25",
                tele(TimeOfCall="2011-10-10 25:15"),
                tele(TimeOfCall="2011-10-10 23:15"),
                "invalid date",
            ),
            (
                CustomerAndOrder,
                "Products[0].StartIssueDate",
                "with-time",
                {"Products": [{"OmedaProductId": 1, "StartIssueDate": "2026-01-01 10:00"}]},
                {"Products": [{"OmedaProductId": 1, "StartIssueDate": "2026-01-01"}]},
                "must be yyyy-MM-dd;",
            ),
            (
                CustomerAndOrder,
                "Products[0].OrderExpirationDate",
                "with-time",
                {"Products": [{"OmedaProductId": 1, "OrderExpirationDate": "2027-01-01 00:00"}]},
                {"Products": [{"OmedaProductId": 1, "OrderExpirationDate": "2027-01-01"}]},
                "must be yyyy-MM-dd;",
            ),
            (
                CustomerAndOrder,
                "BillingInformation.DepositDate",
                "us-order",
                billing(DepositDate="01/02/2026"),
                billing(DepositDate="2026-01-02"),
                "must be yyyy-MM-dd;",
            ),
            (
                CustomerAndOrder,
                "CustomerBehaviors[0].BehaviorDate",
                "no-seconds",
                {"CustomerBehaviors": [{"BehaviorId": 1, "BehaviorDate": "2011-07-20 12:12"}]},
                {"CustomerBehaviors": [{"BehaviorId": 1, "BehaviorDate": "2011-07-20 12:12:12"}]},
                "yyyy-MM-dd HH:mm:ss",
            ),
        )
    ],
    # ---- email syntax, country and region codes, range
    (
        "email-syntax",
        CustomerAndOrder,
        {"Emails": [{"EmailAddress": "jsmith@"}]},
        {"Emails": [{"EmailAddress": "j.smith+news@smithortho.domain.com"}]},
        "Emails[0].EmailAddress",
        "email",
        "EmailAddress is not valid jsmith@",
    ),
    (
        "email-syntax-no-dot-in-domain",
        CustomerAndOrder,
        {"Emails": [{"EmailAddress": "jsmith@localhost"}]},
        {"Emails": [{"EmailAddress": "jsmith@local.host"}]},
        "Emails[0].EmailAddress",
        "email",
        "is not valid",
    ),
    (
        "filter-email-syntax",
        Order,
        order(Products=[{"OmedaProductId": 1, "Filter": [{"EmailAddress": "two@@domain.com"}]}]),
        order(Products=[{"OmedaProductId": 1, "Filter": [{"EmailAddress": "two@domain.com"}]}]),
        "Products[0].Filter[0].EmailAddress",
        "email",
        "EmailAddress is not valid two@@domain.com",
    ),
    (
        "country-code-three-letters",
        CustomerAndOrder,
        {"Addresses": [{"CountryCode": "US"}]},
        {"Addresses": [{"CountryCode": "USA"}]},
        "Addresses[0].CountryCode",
        "format",
        "3-character country code",
    ),
    (
        "billing-country-code-three-letters",
        CustomerAndOrder,
        billing(BillingCountryCode="U.S"),
        billing(BillingCountryCode="CAN", BillingRegion="ON"),
        "BillingInformation.BillingCountryCode",
        "format",
        "3-character country code",
    ),
    (
        "region-code-two-letters-for-usa",
        CustomerAndOrder,
        {"Addresses": [{"CountryCode": "USA", "RegionCode": "ILL"}]},
        {"Addresses": [{"CountryCode": "DEU", "RegionCode": "BAY"}]},
        "Addresses[0].RegionCode",
        "format",
        "2-character US state or Canadian code",
    ),
    (
        "region-code-two-letters-for-canada",
        CustomerAndOrder,
        {"Addresses": [{"CountryCode": "CAN", "RegionCode": "Ontario"}]},
        {"Addresses": [{"CountryCode": "CAN", "RegionCode": "ON"}]},
        "Addresses[0].RegionCode",
        "format",
        "when CountryCode is USA or CAN",
    ),
    (
        "quantity-not-negative",
        CustomerAndOrder,
        {"Products": [{"OmedaProductId": 1, "Quantity": -1}]},
        {"Products": [{"OmedaProductId": 1, "Quantity": 0}]},
        "Products[0].Quantity",
        "range",
        "Quantity was a negative number.",
    ),
    (
        "order-quantity-not-negative",
        Order,
        order(Products=[{"OmedaProductId": 1, "Quantity": "-3"}]),
        order(Products=[{"OmedaProductId": 1, "Quantity": "3"}]),
        "Products[0].Quantity",
        "range",
        "Quantity was a negative number.",
    ),
    # ---- types
    *[
        (f"type-{case_id}", schema, bad, good, path, "type", fragment)
        for case_id, schema, path, bad, good, fragment in (
            (
                "letters-for-an-integer",
                CustomerAndOrder,
                "OmedaCustomerId",
                {"OmedaCustomerId": "abc"},
                {"OmedaCustomerId": "1234"},
                "OmedaCustomerId must be an integer; got 'abc'",
            ),
            (
                "bool-is-not-an-integer",
                CustomerAndOrder,
                "Products[0].Quantity",
                {"Products": [{"OmedaProductId": 1, "Quantity": True}]},
                {"Products": [{"OmedaProductId": 1, "Quantity": 1}]},
                "must be an integer; got True",
            ),
            (
                "float-is-not-an-integer",
                CustomerAndOrder,
                "DonorId",
                {"DonorId": 12.0},
                {"DonorId": 12},
                "must be an integer",
            ),
            (
                "list-where-object-expected",
                CustomerAndOrder,
                "BillingInformation",
                {"BillingInformation": [BILLING]},
                {"BillingInformation": BILLING},
                "must be an object (BillingInformation); got a value of type list",
            ),
            (
                "object-where-list-expected",
                CustomerAndOrder,
                "Emails",
                {"Emails": {"EmailAddress": "a@b.com"}},
                {"Emails": [{"EmailAddress": "a@b.com"}]},
                "Emails must be a list of objects (Email)",
            ),
            (
                "text-in-a-list-of-objects",
                CustomerAndOrder,
                "Emails[1]",
                {"Emails": [{"EmailAddress": "a@b.com"}, "c@d.com"]},
                {"Emails": [{"EmailAddress": "a@b.com"}, {"EmailAddress": "c@d.com"}]},
                "each Emails element must be an object (Email)",
            ),
            (
                "number-for-a-string",
                CustomerAndOrder,
                "Addresses[0].PostalCode",
                {"Addresses": [{"PostalCode": 60062}]},
                {"Addresses": [{"PostalCode": "60062"}]},
                "PostalCode must be a string; got 60062",
            ),
            (
                "text-for-a-boolean",
                CustomerAndOrder,
                "Telemarketing[0].AuthorizedAssistantResponse",
                tele(AuthorizedAssistantResponse="false"),
                tele(AuthorizedAssistantResponse=False),
                "must be true or false",
            ),
            (
                "words-for-money",
                CustomerAndOrder,
                "Products[0].Amount",
                {"Products": [{"OmedaProductId": 1, "Term": 12, "Amount": "sixty"}]},
                {"Products": [{"OmedaProductId": 1, "Term": 12, "Amount": 65.5}]},
                "Amount must be a decimal number",
            ),
            (
                "nan-for-money",
                CustomerAndOrder,
                "Products[0].SalesTax",
                {"Products": [{"OmedaProductId": 1, "SalesTax": Decimal("NaN")}]},
                {"Products": [{"OmedaProductId": 1, "SalesTax": Decimal("6.50")}]},
                "SalesTax must be a decimal number",
            ),
            (
                "object-for-a-demographic-value",
                CustomerAndOrder,
                "CustomerDemographics[0].OmedaDemographicValue",
                {
                    "CustomerDemographics": [
                        {"OmedaDemographicId": 1, "OmedaDemographicValue": {"a": 1}}
                    ]
                },
                {
                    "CustomerDemographics": [
                        {"OmedaDemographicId": 1, "OmedaDemographicValue": ["a", 1]}
                    ]
                },
                "an integer, a string, or a list of them",
            ),
            (
                "float-for-a-client-order-id",
                CustomerAndOrder,
                "ClientOrderId",
                {"ClientOrderId": 1.5},
                {"ClientOrderId": 19520},
                "must be an integer or a string",
            ),
            (
                "date-without-time-for-behavior-date",
                CustomerAndOrder,
                "CustomerBehaviors[0].BehaviorDate",
                {"CustomerBehaviors": [{"BehaviorId": 1, "BehaviorDate": date(2011, 7, 20)}]},
                {"CustomerBehaviors": [{"BehaviorId": 1, "BehaviorDate": datetime(2011, 7, 2, 1)}]},
                "a date and time (yyyy-MM-dd HH:mm:ss)",
            ),
            (
                "number-for-a-date",
                CustomerAndOrder,
                "SignupDate",
                {"SignupDate": 20100418},
                {"SignupDate": date(2010, 4, 18)},
                "SignupDate must be a date",
            ),
            (
                "list-for-a-product-field-response",
                CustomerAndOrder,
                "MarketingProducts[0].ProductFieldResponses[0].ProductFieldResponseValue",
                {
                    "MarketingProducts": [
                        {
                            "OmedaProductId": 9,
                            "ProductFieldResponses": [
                                {"ProductFieldId": 1, "ProductFieldResponseValue": ["a"]}
                            ],
                        }
                    ]
                },
                {
                    "MarketingProducts": [
                        {
                            "OmedaProductId": 9,
                            "ProductFieldResponses": [
                                {"ProductFieldId": 1, "ProductFieldResponseValue": 42}
                            ],
                        }
                    ]
                },
                "a string, an integer or a date",
            ),
        )
    ],
]

# ---- every stated maximum length: (schema, wrap the field into a payload, field, limit)
LENGTHS: list[tuple[type, str, int]] = [
    (CustomerAndOrder, "Salutation", 10),
    (CustomerAndOrder, "FirstName", 100),
    (CustomerAndOrder, "MiddleName", 100),
    (CustomerAndOrder, "LastName", 100),
    (CustomerAndOrder, "Suffix", 10),
    (CustomerAndOrder, "Title", 100),
    (CustomerAndOrder, "PromoCode", 50),
    (CustomerAndOrder, "Addresses[0].Company", 255),
    (CustomerAndOrder, "Addresses[0].Street", 255),
    (CustomerAndOrder, "Addresses[0].ApartmentMailStop", 255),
    (CustomerAndOrder, "Addresses[0].ExtraAddress", 255),
    (CustomerAndOrder, "Addresses[0].City", 100),
    (CustomerAndOrder, "Addresses[0].Region", 100),
    (CustomerAndOrder, "Addresses[0].Country", 100),
    (CustomerAndOrder, "CustomerDemographics[0].WriteInDesc", 100),
    (CustomerAndOrder, "Products[0].PersonalIdentifier", 50),
    (Order, "Products[0].PersonalIdentifier", 50),
    (CustomerAndOrder, "Telemarketing[0].TelemarketingCompany", 100),
    (CustomerAndOrder, "Telemarketing[0].TelemarketingRecordingId", 50),
    (CustomerAndOrder, "Telemarketing[0].TelemarketingAgent", 20),
    (CustomerAndOrder, "Telemarketing[0].PersonalIdQuestion", 100),
    (CustomerAndOrder, "Telemarketing[0].SpokeToName", 100),
    (CustomerAndOrder, "Telemarketing[0].SpokeToTitle", 100),
    (CustomerAndOrder, "Telemarketing[0].GeneralTeleInfo", 255),
    (CustomerAndOrder, "BillingInformation.BillingCompany", 255),
    (CustomerAndOrder, "BillingInformation.BillingStreet", 255),
    (CustomerAndOrder, "BillingInformation.BillingApartmentMailStop", 255),
    (CustomerAndOrder, "BillingInformation.BillingCity", 100),
]


def with_value(schema: type, path: str, value: Any) -> dict[str, Any]:
    """A valid payload of ``schema`` whose field at ``path`` holds ``value``."""
    head, _, field = path.rpartition(".")
    if head == "":
        return order(**{field: value}) if schema is Order else {field: value}
    if head == "Addresses[0]":
        return {"Addresses": [{field: value}]}
    if head == "CustomerDemographics[0]":
        demographic = {"OmedaDemographicId": 1, "OmedaDemographicValue": 1, field: value}
        return {"CustomerDemographics": [demographic]}
    if head == "Products[0]":
        products = [{"OmedaProductId": 1, field: value}]
        return order(Products=products) if schema is Order else {"Products": products}
    if head == "Telemarketing[0]":
        return tele(**{field: value})
    if head == "BillingInformation":
        return billing(**{field: value})
    raise AssertionError(path)  # pragma: no cover


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, violations
    return violations[0]


@pytest.mark.parametrize(
    ("schema", "bad", "path", "rule", "fragment"),
    [pytest.param(s, b, p, r, f, id=i) for i, s, b, _g, p, r, f in CASES],
)
def test_rule_is_reported_with_path_code_and_message(
    schema: type, bad: dict[str, Any], path: str, rule: str, fragment: str
) -> None:
    """Each documented rule, broken alone, is one violation at its wire path."""
    violation = only(validate(bad, schema=schema))
    assert (violation.path, violation.rule) == (path, rule)
    assert fragment in violation.message


@pytest.mark.parametrize(
    ("schema", "good"), [pytest.param(s, g, id=i) for i, s, _b, g, _p, _r, _f in CASES]
)
def test_valid_counterpart_passes(schema: type, good: dict[str, Any]) -> None:
    """The same payload with the rule satisfied has no violations."""
    assert validate(good, schema=schema) == []


@pytest.mark.parametrize(
    ("schema", "path", "limit"),
    [pytest.param(s, p, n, id=f"{s.__name__}-{p}") for s, p, n in LENGTHS],
)
def test_maximum_length(schema: type, path: str, limit: int) -> None:
    """Every stated maximum length: the limit passes, one more is a max_length violation."""
    assert validate(with_value(schema, path, "x" * limit), schema=schema) == []
    violation = only(validate(with_value(schema, path, "x" * (limit + 1)), schema=schema))
    assert (violation.path, violation.rule) == (path, "max_length")
    assert f"at most {limit} characters" in violation.message


@pytest.mark.parametrize(
    "payload", [[], "payload", None, 5, b"{}"], ids=["list", "str", "none", "int", "bytes"]
)
def test_non_mapping_payload_is_one_violation_at_the_root(payload: Any) -> None:
    """A payload that is not a JSON object is one 'type' violation at '' (never a crash)."""
    violation = only(validate(payload))
    assert (violation.path, violation.rule) == ("", "type")
    assert "CustomerAndOrder payload must be a JSON object" in violation.message


@pytest.mark.parametrize(
    ("payload", "path", "suggestion"),
    [
        ({"FirstNme": "J"}, "FirstNme", "did you mean 'FirstName'?"),
        ({"first_name": "J"}, "first_name", "did you mean 'FirstName'?"),
        ({"emails": []}, "emails", "did you mean 'Emails'?"),
        ({"Emails": [{"EmailAdress": "a@b.co"}]}, "Emails[0].EmailAdress", "'EmailAddress'?"),
        (billing(BillingZip="1"), "BillingInformation.BillingZip", "Unknown field 'BillingZip'"),
    ],
)
def test_unknown_key_names_the_key_and_suggests_the_closest_field(
    payload: dict[str, Any], path: str, suggestion: str
) -> None:
    """Typos cost money: an unknown key is a violation naming it, with a close match if any."""
    found = [v for v in validate(payload) if v.rule == "unknown_field"]
    assert [v.path for v in found] == [path]
    assert suggestion in found[0].message


def test_unknown_key_without_a_close_match_has_no_suggestion() -> None:
    """A key like nothing known gets no (misleading) suggestion."""
    violation = only(validate({"Zzzzzz": 1}))
    assert violation.message == "Unknown field 'Zzzzzz' in CustomerAndOrder."


def test_unknown_key_in_an_order_payload_is_judged_against_order_fields() -> None:
    """schema=Order: Order's fields are known, CustomerAndOrder-only ones are not."""
    violation = only(validate(order(FirstName="J"), schema=Order))
    assert (violation.path, violation.rule) == ("FirstName", "unknown_field")


def test_every_violation_is_reported_at_once() -> None:
    """One walk returns every broken rule, across every level, in one list."""
    payload = {
        "Gender": "male",
        "FirstName": "x" * 101,
        "SignupDate": "18/04/2010",
        "Emails": [{"EmailAddress": "nope"}, {"EmailContactType": 300}],
        "Phones": [{"Extension": "72"}],
        "Products": [
            {"OmedaProductId": 14, "Amount": "65.00", "ShippingAddressId": 112},
            {"OmedaProductId": 14, "Receive": 3},
        ],
        "BillingInformation": {"DoCharge": "True", "BillingCountryCode": "USA"},
        "Telemarketing": [{"TelemarketingCompany": "T"}],
        "Unknown": 1,
    }
    found = {(v.path, v.rule) for v in validate(payload)}
    assert found == {
        ("Gender", "choice"),
        ("FirstName", "max_length"),
        ("SignupDate", "date_format"),
        ("Emails[0].EmailAddress", "email"),
        ("Emails[1].EmailAddress", "required"),
        ("Phones[0].Number", "required"),
        ("Products[0].ShippingAddressId", "conditional"),
        ("Products[0].Term", "conditional"),
        ("Products[1].OmedaProductId", "duplicate"),
        ("Products[1].Receive", "choice"),
        ("BillingInformation.DoCharge", "choice"),
        ("BillingInformation.BillingStreet", "required"),
        ("BillingInformation.BillingCity", "required"),
        ("BillingInformation.BillingRegion", "conditional"),
        ("BillingInformation.BillingPostalCode", "conditional"),
        *{
            (f"Telemarketing[0].{field}", "required")
            for field in TELE
            if field != "TelemarketingCompany"
        },
        ("Unknown", "unknown_field"),
    }


def test_a_model_is_validated_in_its_wire_form() -> None:
    """A model is checked like the dict it becomes: wire paths, wire names."""
    model = CustomerAndOrder(
        gender="X",
        emails=[Email(email_address="a@b.com"), Email()],
        products=[Product(omeda_product_id=14, amount=Decimal("65.00"))],
    )
    assert {(v.path, v.rule) for v in validate(model)} == {
        ("Gender", "choice"),
        ("Emails[1].EmailAddress", "required"),
        ("Products[0].Term", "conditional"),
    }


def test_wrong_python_types_in_a_model_are_violations_not_crashes() -> None:
    """Tolerant unstructuring: bad values in a model come back as 'type' violations."""
    model = CustomerAndOrder(
        omeda_customer_id="abc",  # type: ignore[arg-type]
        signup_date="yesterday",  # type: ignore[arg-type]
        emails=[Email(email_address="a@b.com"), "c@d.com"],  # type: ignore[list-item]
        billing_information=[BillingInformation()],  # type: ignore[arg-type]
        products=[Product(omeda_product_id=1, term=12, quantity=True, amount=float("nan"))],  # type: ignore[arg-type]
    )
    assert {(v.path, v.rule) for v in validate(model)} == {
        ("OmedaCustomerId", "type"),
        ("SignupDate", "date_format"),
        ("Emails[1]", "type"),
        ("BillingInformation", "type"),
        ("Products[0].Quantity", "type"),
        ("Products[0].Amount", "type"),
    }


def test_a_wire_dict_inside_a_model_list_is_validated_as_a_dict() -> None:
    """A dict put into a model's list is checked as the wire element it stands for."""
    model = CustomerAndOrder(emails=[{"EmailAddress": "bad"}])  # type: ignore[list-item]
    violation = only(validate(model))
    assert (violation.path, violation.rule) == ("Emails[0].EmailAddress", "email")


def test_model_of_another_class_than_the_schema_is_one_violation() -> None:
    """validate(Order(...), schema=CustomerAndOrder) names the mismatch instead of guessing."""
    violation = only(validate(Order(omeda_customer_id=1), schema=CustomerAndOrder))
    assert (violation.path, violation.rule) == ("", "type")
    assert "expected a CustomerAndOrder payload, got a Order model" in violation.message


def test_a_model_is_checked_against_its_own_class() -> None:
    """An Order model needs no schema= to be judged by the orderqueue rules."""
    violation = only(validate(Order(products=[OrderProduct(omeda_product_id=1)])))
    assert (violation.path, violation.rule) == ("", "conditional")


def test_schema_must_be_a_payload_class() -> None:
    """A wrong schema argument is a programming error, raised at once."""
    with pytest.raises(TypeError, match="schema must be a payload model class"):
        validate({}, schema=dict)  # type: ignore[arg-type]


def test_needs_customer_id_does_not_apply_when_the_root_is_not_a_submission() -> None:
    """Validating a lone Product checks its fields, not a submission-level OmedaCustomerId."""
    assert validate({"OmedaProductId": 1, "ShippingAddressId": 112}, schema=Product) == []


def test_violation_str_is_path_and_message() -> None:
    """str(Violation) is 'path: message', as the client's error lists them."""
    violation = Violation("Products[1].Term", "Term is missing.", "required")
    assert str(violation) == "Products[1].Term: Term is missing."
    assert str(Violation("", "bad", "type")) == ": bad"


def test_violation_is_frozen() -> None:
    """A Violation cannot be edited after the fact."""
    violation = Violation("a", "b", "c")
    with pytest.raises(AttributeError):
        violation.path = "x"  # type: ignore[misc]


def test_null_values_count_as_absent() -> None:
    """JSON null is never sent; in a dict it counts as an absent field."""
    assert validate({"FirstName": None, "Emails": None}) == []
    violation = only(validate({"Emails": [{"EmailAddress": None}]}))
    assert violation.rule == "required"


def test_digit_strings_are_accepted_for_integer_fields() -> None:
    """Omeda's own examples send ids as digit strings: both forms are valid."""
    assert validate({"OmedaCustomerId": "1234", "Products": [{"OmedaProductId": "14"}]}) == []


@pytest.mark.skipif(sys.get_int_max_str_digits() == 0, reason="int() reads any number of digits")
def test_digit_string_too_long_for_an_int_is_a_type_violation() -> None:
    """An id with more digits than int() reads is reported at its path, never raised."""
    digits = "1" * (sys.get_int_max_str_digits() + 1)
    for payload, path in (
        ({"DonorId": digits}, "DonorId"),
        ({"Products": [{"OmedaProductId": digits}]}, "Products[0].OmedaProductId"),
        ({"Products": [{"OmedaProductId": 1, "Quantity": digits}]}, "Products[0].Quantity"),
    ):
        violation = only(validate(payload))
        assert (violation.path, violation.rule) == (path, "type")


def test_validate_does_not_change_its_input() -> None:
    """Checking a dict leaves it exactly as it was."""
    payload = {"OmedaCustomerId": "1234", "Emails": [{"EmailAddress": "bad"}]}
    before = repr(payload)
    validate(payload)
    assert repr(payload) == before


# ------------------------------------------------- passes specialized by shape
# That they agree with the general pass: tests/properties/test_payload_properties.py.


@pytest.fixture
def address_shapes() -> Iterator[_Shapes]:
    """Address's shape cache, empty before and after the test."""
    shapes = _RULES[Address].shapes
    assert shapes is not None
    shapes.clear()
    yield shapes
    shapes.clear()


def test_a_dict_shape_gets_its_own_pass_when_seen_again(address_shapes: _Shapes) -> None:
    """A one-off record compiles nothing; a repeated set of keys (any order) shares one pass."""
    assert address_shapes[("Street", "City")] is None
    special = address_shapes[("City", "Street")]
    assert special is not None
    assert address_shapes[("Street", "City")] is special
    street_only = {"Street": "555 Huehl Road"}
    assert special(street_only | {"City": "Northbrook"}, None, _Walk({}, frozenset()), None) == {
        "Street": "555 Huehl Road",
        "City": "Northbrook",
    }


def test_a_shape_with_an_unknown_key_is_left_to_the_general_pass(
    address_shapes: _Shapes,
) -> None:
    for _ in range(3):
        assert address_shapes[("Street", "Stret")] is None
    assert len(address_shapes) == 0
    violation = only(validate({"Addresses": [{"Street": "1 Main", "Stret": "x"}]}))
    assert violation.rule == "unknown_field"


def test_specialized_passes_per_class_are_capped(address_shapes: _Shapes) -> None:
    fields = sorted(_RULES[Address].known)
    shapes = [(first, second) for first in fields for second in fields if first < second]
    assert len(shapes) > _MAX_SHAPES
    for shape in shapes:
        address_shapes[shape]
    made = [shape for shape in shapes if address_shapes[shape] is not None]
    assert len(made) == _MAX_SHAPES == len(address_shapes)


@pytest.mark.parametrize("code", ["ÉTA", "U1A", "US ", "ＵＳＡ", "USAA", ""])
def test_a_country_code_is_three_ascii_letters(code: str) -> None:
    violation = only(validate({"Addresses": [{"CountryCode": code}]}))
    assert (violation.path, violation.rule) == ("Addresses[0].CountryCode", "format")


@pytest.mark.parametrize("code", ["ÎL", "I1", "I ", "ＩＬ"])
def test_a_us_region_code_is_two_ascii_letters(code: str) -> None:
    violation = only(validate({"Addresses": [{"CountryCode": "usa", "RegionCode": code}]}))
    assert (violation.path, violation.rule) == ("Addresses[0].RegionCode", "format")


# ------------------------------------------ generated code stays debuggable


class _Exploding(str):
    """A string whose length cannot be taken: fails inside whatever pass checks it."""

    __slots__ = ()

    def __len__(self) -> int:
        raise LookupError("no length")


def _pass_frames(caught: pytest.ExceptionInfo[BaseException]) -> list[traceback.FrameSummary]:
    return [
        frame
        for frame in traceback.extract_tb(caught.tb)
        if frame.filename.startswith("<omeda_async ")
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"Addresses": [{"Company": _Exploding("Smith Orthopaedics")}]},
        CustomerAndOrder(addresses=[Address(company=_Exploding("Smith Orthopaedics"))]),
    ],
    ids=["dict", "model"],
)
def test_a_traceback_through_a_generated_pass_shows_its_line(payload: Any) -> None:
    """Each pass has its own file name in linecache; its locals carry the wire field's name."""
    with pytest.raises(LookupError) as caught:
        validate(payload)
    innermost = _pass_frames(caught)[-1]
    assert innermost.name in ("wire_Address", "wire_Address_for_shape", "model_Address")
    assert innermost.line == "if len(Company) > 255: too_long(walk, path, SPEC_Company, Company)"
    # The record's own pass: the general one, or the one made for this set of keys
    # once the set has been seen before (then the general pass hands over to it).
    outer = [
        frame
        for frame in _pass_frames(caught)
        if frame.name.startswith(("wire_CustomerAndOrder", "model_CustomerAndOrder"))
    ]
    assert outer
    assert outer[-1].filename != innermost.filename
    assert "Addresses" in (outer[-1].line or "")


def test_inspect_shows_the_source_of_each_generated_pass() -> None:
    """inspect.getsource reads a pass's source back, as the rules keep it."""
    rules = _RULES[Address]
    wire = inspect.getsource(rules.from_wire)
    model = inspect.getsource(rules.from_model)
    assert wire.startswith("def wire_Address(node, path, walk, model):\n")
    assert model.startswith("def model_Address(m, path, walk):\n")
    assert rules.source == wire + "\n" + model
    assert "    Company = m.company\n" in model
    assert inspect.getsourcefile(rules.from_wire) != inspect.getsourcefile(rules.from_model)


def test_a_shape_pass_has_its_own_source_file(address_shapes: _Shapes) -> None:
    """A pass made for one set of keys is registered too, under a name of its own."""
    address_shapes[("City",)]
    special = address_shapes[("City",)]
    assert special is not None
    source = inspect.getsource(special)
    assert source.startswith("def wire_Address_for_shape(node, path, walk, model):\n")
    assert "City = node['City']" in source
    assert "Street" not in source
    assert inspect.getsourcefile(special) != inspect.getsourcefile(_RULES[Address].from_wire)
