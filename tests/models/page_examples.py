"""Every JSON request example of Omeda's pages 000, 001 and 002, as Python dicts.

Each ``*_EXAMPLE`` is the page's example with its syntax slips mended (missing
commas after ``"AddressProducts"`` and between the two Products of page 000,
the trailing comma after ``"Receive":1``, ``"12;30"`` -> ``"12:30"`` in
``EndOfCall``). Each ``*_CANONICAL`` is written out by hand: the same payload
in the form the tables name (integer-table fields as ints), which is what the
converter must send. Nothing here is computed by the code under test.

Page 002's error example (``{ Error": ...`` with a stray quote) is a response,
not a payload, and page 001's "3rd party payment" section has no JSON example.
"""

from __future__ import annotations

import copy
from typing import Any

# ----------------------------------------------------------------- page 000

SAVE_CUSTOMER_AND_ORDER_EXAMPLE: dict[str, Any] = {
    "OmedaCustomerId": 1234,
    "Salutation": "Mr.",
    "FirstName": "James",
    "MiddleName": "J",
    "LastName": "Smith",
    "Suffix": "Sr",
    "Title": "Orthopaedic Surgeon",
    "Gender": "M",
    "SignupDate": "2010-04-18",
    "ClientOrderId": "ORD19520",
    "PromoCode": "ZZZ2010A23",
    "OrderDate": "2010-04-18",
    "Addresses": [
        {
            "AddressContactType": "100",
            "Company": "Smith Orthopaedics",
            "ApartmentMailStop": "2nd Floor",
            "Street": "555 Huehl Road",
            "ExtraAddress": "Room 34",
            "City": "Northbrook",
            "RegionCode": "IL",
            "PostalCode": "60062-0123",
            "CountryCode": "USA",
            "AddressProducts": "12,13,14",
            "Airmail": "A",
        }
    ],
    "Emails": [
        {
            "EmailContactType": "310",
            "EmailAddress": "jsmith@domain.com",
            "EmailProducts": "12,13,14",
        },
        {
            "EmailContactType": "300",
            "EmailAddress": "owner@smithortho.domain.com",
            "EmailProducts": "12,13,14",
        },
    ],
    "Phones": [
        {"PhoneContactType": "200", "Number": "847-555-7527", "Extension": "72"},
        {"PhoneContactType": "220", "Number": "847-555-6573"},
        {"PhoneContactType": "210", "Number": "847-555-1351"},
    ],
    "CustomerDemographics": [
        {"OmedaDemographicId": 10001, "OmedaDemographicValue": [10002, 10001]},
        {
            "OmedaDemographicId": 10002,
            "OmedaDemographicValue": 10003,
            "WriteInDesc": "Other OEC value",
        },
    ],
    "Products": [
        {
            "OmedaProductId": 14,
            "Receive": 1,
            "Quantity": 1,
            "RequestedVersion": "D",
            "PersonalIdentifier": "test",
            "ShippingAddressId": 112,
            "EmailAddressId": 1,
        },
        {"OmedaProductId": 24, "Receive": 1},
    ],
    "ProductUpdates": [{"OmedaProductIdUpdate": 15, "RequestedVersionUpdate": "D"}],
    "Telemarketing": [
        {
            "TelemarketingCompany": "Tele company Name",
            "TelemarketingRecordingId": "12345",
            "TelemarketingAgent": "Smith",
            "PersonalIdQuestion": "Eye color",
            "TimeOfCall": "2011-10-10 12:15",
            "EndOfCall": "2011-10-10 12:30",
            "LengthOfCall": 15,
            "SpokeToName": "Jessica",
            "SpokeToTitle": "Manager",
            "AuthorizedAssistantResponse": False,
            "GeneralTeleInfo": "Additional Information",
        }
    ],
    "CustomerBehaviors": [
        {"BehaviorId": "104", "BehaviorDate": "2011-07-20 12:12:12", "BehaviorPromoCode": "123"},
        {
            "BehaviorId": "105",
            "BehaviorDate": "2011-07-20 12:12:12",
            "BehaviorPromoCode": "456",
            "BehaviorAttributes": [
                {
                    "BehaviorAttributeTypeId": 222,
                    "BehaviorAttributeValue": "Article Name Something",
                },
                {"BehaviorAttributeTypeId": 3, "BehaviorAttributeValueId": 60},
            ],
        },
    ],
}

SAVE_CUSTOMER_AND_ORDER_CANONICAL: dict[str, Any] = {
    "OmedaCustomerId": 1234,
    "Salutation": "Mr.",
    "FirstName": "James",
    "MiddleName": "J",
    "LastName": "Smith",
    "Suffix": "Sr",
    "Title": "Orthopaedic Surgeon",
    "Gender": "M",
    "SignupDate": "2010-04-18",
    "ClientOrderId": "ORD19520",
    "PromoCode": "ZZZ2010A23",
    "OrderDate": "2010-04-18",
    "Addresses": [
        {
            "AddressContactType": 100,
            "Company": "Smith Orthopaedics",
            "ApartmentMailStop": "2nd Floor",
            "Street": "555 Huehl Road",
            "ExtraAddress": "Room 34",
            "City": "Northbrook",
            "RegionCode": "IL",
            "PostalCode": "60062-0123",
            "CountryCode": "USA",
            "AddressProducts": "12,13,14",
            "Airmail": "A",
        }
    ],
    "Emails": [
        {"EmailContactType": 310, "EmailAddress": "jsmith@domain.com", "EmailProducts": "12,13,14"},
        {
            "EmailContactType": 300,
            "EmailAddress": "owner@smithortho.domain.com",
            "EmailProducts": "12,13,14",
        },
    ],
    "Phones": [
        {"PhoneContactType": 200, "Number": "847-555-7527", "Extension": "72"},
        {"PhoneContactType": 220, "Number": "847-555-6573"},
        {"PhoneContactType": 210, "Number": "847-555-1351"},
    ],
    "CustomerDemographics": [
        {"OmedaDemographicId": 10001, "OmedaDemographicValue": [10002, 10001]},
        {
            "OmedaDemographicId": 10002,
            "OmedaDemographicValue": 10003,
            "WriteInDesc": "Other OEC value",
        },
    ],
    "Products": [
        {
            "OmedaProductId": 14,
            "Receive": 1,
            "Quantity": 1,
            "RequestedVersion": "D",
            "PersonalIdentifier": "test",
            "ShippingAddressId": 112,
            "EmailAddressId": 1,
        },
        {"OmedaProductId": 24, "Receive": 1},
    ],
    "ProductUpdates": [{"OmedaProductIdUpdate": 15, "RequestedVersionUpdate": "D"}],
    "Telemarketing": [
        {
            "TelemarketingCompany": "Tele company Name",
            "TelemarketingRecordingId": "12345",
            "TelemarketingAgent": "Smith",
            "PersonalIdQuestion": "Eye color",
            "TimeOfCall": "2011-10-10 12:15",
            "EndOfCall": "2011-10-10 12:30",
            "LengthOfCall": 15,
            "SpokeToName": "Jessica",
            "SpokeToTitle": "Manager",
            "AuthorizedAssistantResponse": False,
            "GeneralTeleInfo": "Additional Information",
        }
    ],
    "CustomerBehaviors": [
        {"BehaviorId": 104, "BehaviorDate": "2011-07-20 12:12:12", "BehaviorPromoCode": "123"},
        {
            "BehaviorId": 105,
            "BehaviorDate": "2011-07-20 12:12:12",
            "BehaviorPromoCode": "456",
            "BehaviorAttributes": [
                {
                    "BehaviorAttributeTypeId": 222,
                    "BehaviorAttributeValue": "Article Name Something",
                },
                {"BehaviorAttributeTypeId": 3, "BehaviorAttributeValueId": 60},
            ],
        },
    ],
}

# ----------------------------------------------------------------- page 001

PAID_COMP_EXAMPLE: dict[str, Any] = {
    "CustomerDemographics": [
        {"OmedaDemographicId": "3", "OmedaDemographicValue": ["37"]},
        {"OmedaDemographicId": "4", "OmedaDemographicValue": ["52"]},
    ],
    "Emails": [
        {
            "EmailProducts": "2",
            "EmailContactType": "300",
            "EmailAddress": "jdoeomeda@mailinator.com",
        }
    ],
    "Addresses": [
        {
            "Street": "123 Fake St",
            "PostalCode": "60707",
            "AddressContactType": "100",
            "AddressProducts": "2",
            "CountryCode": "USA",
            "Company": "Omeda",
            "City": "Northbrook",
            "RegionCode": "IL",
        }
    ],
    "Products": [
        {
            "Amount": "0.00",
            "AmountPaid": "0.00",
            "OmedaProductId": 2,
            "Receive": "1",
            "RequestedVersion": "B",
            "Term": "12",
        }
    ],
    "PromoCode": "free",
    "FirstName": "Jane",
    "LastName": "Doe",
    "Title": "Tester",
}

# OmedaDemographicValue is "a String value" in the table but numbers in the other
# examples: it is kept as given, so ["37"] stays a list of strings.
PAID_COMP_CANONICAL: dict[str, Any] = {
    "CustomerDemographics": [
        {"OmedaDemographicId": 3, "OmedaDemographicValue": ["37"]},
        {"OmedaDemographicId": 4, "OmedaDemographicValue": ["52"]},
    ],
    "Emails": [
        {"EmailProducts": "2", "EmailContactType": 300, "EmailAddress": "jdoeomeda@mailinator.com"}
    ],
    "Addresses": [
        {
            "Street": "123 Fake St",
            "PostalCode": "60707",
            "AddressContactType": 100,
            "AddressProducts": "2",
            "CountryCode": "USA",
            "Company": "Omeda",
            "City": "Northbrook",
            "RegionCode": "IL",
        }
    ],
    "Products": [
        {
            "Amount": "0.00",
            "AmountPaid": "0.00",
            "OmedaProductId": 2,
            "Receive": 1,
            "RequestedVersion": "B",
            "Term": 12,
        }
    ],
    "PromoCode": "free",
    "FirstName": "Jane",
    "LastName": "Doe",
    "Title": "Tester",
}

PAID_BILL_ME_EXAMPLE: dict[str, Any] = {
    "OmedaCustomerId": 1234,
    "FirstName": "James",
    "LastName": "Smith",
    "Title": "Orthopaedic Surgeon",
    "PromoCode": "ZZZ2010A23",
    "Addresses": [
        {
            "AddressContactType": "100",
            "Company": "Smith Orthopedics",
            "ApartmentMailStop": "2nd Floor",
            "Street": "555 Huehl Road",
            "ExtraAddress": "Room 34",
            "City": "Northbrook",
            "RegionCode": "IL",
            "PostalCode": "60062-0123",
            "CountryCode": "USA",
            "AddressProducts": "12,13,14",
        }
    ],
    "BillingInformation": {
        "NameOnCard": "James Smith",
        "DoCharge": "False",
        "BillingCompany": "Smith Orthopedics",
        "BillingStreet": "555 Huehl Road",
        "BillingApartmentMailStop": "2nd Floor",
        "BillingCity": "Northbrook",
        "BillingRegion": "IL",
        "BillingPostalCode": "60062",
        "BillingCountryCode": "USA",
        "Comment1": "James Smith",
        "Comment2": "1234",
    },
    "Emails": [
        {
            "EmailContactType": "310",
            "EmailAddress": "jsmith@domain.com",
            "EmailProducts": "12,13,14",
        },
        {
            "EmailContactType": "300",
            "EmailAddress": "owner@smithortho.domain.com",
            "EmailProducts": "12,13,14",
        },
    ],
    "Phones": [{"PhoneContactType": "200", "Number": "847-555-7527", "Extension": "72"}],
    "CustomerDemographics": [
        {"OmedaDemographicId": 10001, "OmedaDemographicValue": [10002, 10001]},
        {
            "OmedaDemographicId": 10002,
            "OmedaDemographicValue": 10003,
            "WriteInDesc": "Other OEC value",
        },
    ],
    "Products": [
        {
            "Amount": "65.00",
            "SalesTax": "6.50",
            "Term": "12",
            "OmedaProductId": 14,
            "Receive": 1,
            "RequestedVersion": "D",
            "PersonalIdentifier": "test",
            "ShippingAddressId": 112,
            "EmailAddressId": 1,
        }
    ],
}

PAID_BILL_ME_CANONICAL: dict[str, Any] = {
    "OmedaCustomerId": 1234,
    "FirstName": "James",
    "LastName": "Smith",
    "Title": "Orthopaedic Surgeon",
    "PromoCode": "ZZZ2010A23",
    "Addresses": [
        {
            "AddressContactType": 100,
            "Company": "Smith Orthopedics",
            "ApartmentMailStop": "2nd Floor",
            "Street": "555 Huehl Road",
            "ExtraAddress": "Room 34",
            "City": "Northbrook",
            "RegionCode": "IL",
            "PostalCode": "60062-0123",
            "CountryCode": "USA",
            "AddressProducts": "12,13,14",
        }
    ],
    "BillingInformation": {
        "NameOnCard": "James Smith",
        "DoCharge": "False",
        "BillingCompany": "Smith Orthopedics",
        "BillingStreet": "555 Huehl Road",
        "BillingApartmentMailStop": "2nd Floor",
        "BillingCity": "Northbrook",
        "BillingRegion": "IL",
        "BillingPostalCode": "60062",
        "BillingCountryCode": "USA",
        "Comment1": "James Smith",
        "Comment2": "1234",
    },
    "Emails": [
        {"EmailContactType": 310, "EmailAddress": "jsmith@domain.com", "EmailProducts": "12,13,14"},
        {
            "EmailContactType": 300,
            "EmailAddress": "owner@smithortho.domain.com",
            "EmailProducts": "12,13,14",
        },
    ],
    "Phones": [{"PhoneContactType": 200, "Number": "847-555-7527", "Extension": "72"}],
    "CustomerDemographics": [
        {"OmedaDemographicId": 10001, "OmedaDemographicValue": [10002, 10001]},
        {
            "OmedaDemographicId": 10002,
            "OmedaDemographicValue": 10003,
            "WriteInDesc": "Other OEC value",
        },
    ],
    "Products": [
        {
            "Amount": "65.00",
            "SalesTax": "6.50",
            "Term": 12,
            "OmedaProductId": 14,
            "Receive": 1,
            "RequestedVersion": "D",
            "PersonalIdentifier": "test",
            "ShippingAddressId": 112,
            "EmailAddressId": 1,
        }
    ],
}

# ----------------------------------------------------------------- page 002

ADD_ORDER_EXAMPLE: dict[str, Any] = {
    "OmedaCustomerId": 129340133423,
    "ClientOrderId": "ORD19520",
    "PromoCode": "ZZZ2010A23",
    "Products": [
        {
            "OmedaProductId": 101588,
            "RequestedVersion": "D",
            "Receive": 1,
            "Quantity": 1,
            "PersonalIdentifier": "Blue",
            "ShippingAddressId": 5423534563,
            "EmailAddressId": 54235345356,
            "Filter": [{"EmailAddress": "jsmith@domain.com", "DeleteOptOut": 1}],
        },
        {
            "OmedaProductId": 101589,
            "Receive": 0,
            "Filter": [{"EmailAddress": "jsmith@domain.com"}],
        },
    ],
}

# Every field of this example is already in its table's form.
ADD_ORDER_CANONICAL: dict[str, Any] = {
    "OmedaCustomerId": 129340133423,
    "ClientOrderId": "ORD19520",
    "PromoCode": "ZZZ2010A23",
    "Products": [
        {
            "OmedaProductId": 101588,
            "RequestedVersion": "D",
            "Receive": 1,
            "Quantity": 1,
            "PersonalIdentifier": "Blue",
            "ShippingAddressId": 5423534563,
            "EmailAddressId": 54235345356,
            "Filter": [{"EmailAddress": "jsmith@domain.com", "DeleteOptOut": 1}],
        },
        {
            "OmedaProductId": 101589,
            "Receive": 0,
            "Filter": [{"EmailAddress": "jsmith@domain.com"}],
        },
    ],
}


def fresh(example: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, so a test that edits an example cannot leak into another."""
    return copy.deepcopy(example)
