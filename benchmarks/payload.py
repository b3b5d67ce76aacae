"""Payload cost: validate + serialize the full Save Customer and Order example, per payload.

Contenders (the payload is the JSON example of Omeda's "Save Customer and
Order" page, its syntax slips mended):

* ``omeda_async`` model path: ``customer_and_order_body(model)``: one pass
  reads the model, checks every rule and builds the wire dict (exactly
  ``to_dict(model)``), then encode;
* ``omeda_async`` dict path: ``customer_and_order_body(dict)``: one pass checks
  the dict as given and builds its normalized wire dict (digit-string ids as
  ints, as the tables name them), then encode;
* the floor: ``json`` encoding of the finished wire dict with the request
  builder's settings (no validation or conversion at all);
* pydantic v2 (what many users would write instead, ``_pydantic_model``):
  ``model_validate(dict)`` + ``model_dump_json``, and the dump alone of a
  built model.

Each figure is the median over interleaved rounds of ``number`` calls.
Goal (issue 7): the model path under 100 µs and within 3x of the floor.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from typing import Any

from omeda_async import CustomerAndOrder, validate
from omeda_async.models import to_dict
from omeda_async.models._wire import customer_and_order_body

from . import _pydantic_model as pyd
from ._common import Goal, Section, Table, interleaved, median

# Page 000's request example, mended: the commas missing after "AddressProducts"
# and between the two Products, the one after "Receive":1, and "12;30" -> "12:30".
SAVE_CUSTOMER_AND_ORDER_JSON = """
{
  "OmedaCustomerId": 1234, "Salutation": "Mr.", "FirstName": "James", "MiddleName": "J",
  "LastName": "Smith", "Suffix": "Sr", "Title": "Orthopaedic Surgeon", "Gender": "M",
  "SignupDate": "2010-04-18", "ClientOrderId": "ORD19520", "PromoCode": "ZZZ2010A23",
  "OrderDate": "2010-04-18",
  "Addresses": [{
    "AddressContactType": "100", "Company": "Smith Orthopaedics",
    "ApartmentMailStop": "2nd Floor", "Street": "555 Huehl Road", "ExtraAddress": "Room 34",
    "City": "Northbrook", "RegionCode": "IL", "PostalCode": "60062-0123",
    "CountryCode": "USA", "AddressProducts": "12,13,14", "Airmail": "A"}],
  "Emails": [
    {"EmailContactType": "310", "EmailAddress": "jsmith@domain.com",
     "EmailProducts": "12,13,14"},
    {"EmailContactType": "300", "EmailAddress": "owner@smithortho.domain.com",
     "EmailProducts": "12,13,14"}],
  "Phones": [
    {"PhoneContactType": "200", "Number": "847-555-7527", "Extension": "72"},
    {"PhoneContactType": "220", "Number": "847-555-6573"},
    {"PhoneContactType": "210", "Number": "847-555-1351"}],
  "CustomerDemographics": [
    {"OmedaDemographicId": 10001, "OmedaDemographicValue": [10002, 10001]},
    {"OmedaDemographicId": 10002, "OmedaDemographicValue": 10003,
     "WriteInDesc": "Other OEC value"}],
  "Products": [
    {"OmedaProductId": 14, "Receive": 1, "Quantity": 1, "RequestedVersion": "D",
     "PersonalIdentifier": "test", "ShippingAddressId": 112, "EmailAddressId": 1},
    {"OmedaProductId": 24, "Receive": 1}],
  "ProductUpdates": [{"OmedaProductIdUpdate": 15, "RequestedVersionUpdate": "D"}],
  "Telemarketing": [{
    "TelemarketingCompany": "Tele company Name", "TelemarketingRecordingId": "12345",
    "TelemarketingAgent": "Smith", "PersonalIdQuestion": "Eye color",
    "TimeOfCall": "2011-10-10 12:15", "EndOfCall": "2011-10-10 12:30", "LengthOfCall": 15,
    "SpokeToName": "Jessica", "SpokeToTitle": "Manager",
    "AuthorizedAssistantResponse": false, "GeneralTeleInfo": "Additional Information"}],
  "CustomerBehaviors": [
    {"BehaviorId": "104", "BehaviorDate": "2011-07-20 12:12:12", "BehaviorPromoCode": "123"},
    {"BehaviorId": "105", "BehaviorDate": "2011-07-20 12:12:12", "BehaviorPromoCode": "456",
     "BehaviorAttributes": [
       {"BehaviorAttributeTypeId": 222, "BehaviorAttributeValue": "Article Name Something"},
       {"BehaviorAttributeTypeId": 3, "BehaviorAttributeValueId": 60}]}]
}
"""

# The same settings as the request builder (omeda_async.models._wire).
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
)


def example_dict() -> dict[str, Any]:
    """Page 000's example as a fresh dict, exactly as the page writes it."""
    data: dict[str, Any] = json.loads(SAVE_CUSTOMER_AND_ORDER_JSON)
    return data


def example_model() -> CustomerAndOrder:
    """Page 000's example as a model."""
    return CustomerAndOrder.from_dict(example_dict())


MODEL = "omeda_async: model path (check + build in one pass, encode)"
DICT = "omeda_async: dict path (check + normalize in one pass, encode)"
FLOOR = "floor: json encoding of the wire dict"
DUMPS = "json.dumps(wire) with defaults"
PYD_FULL = "pydantic v2: model_validate(dict) + model_dump_json"
PYD_DUMP = "pydantic v2: model_dump_json of a built model"


def calls() -> dict[str, timeit.Timer]:
    """One timer per contender, checked first to produce the same body."""
    model = example_model()
    data = example_dict()
    wire = to_dict(model)
    if validate(model) or validate(data):
        raise RuntimeError("the page example does not validate: the benchmark would be meaningless")
    body = customer_and_order_body(model)
    built = pyd.CustomerAndOrder.model_validate(data)
    if body != customer_and_order_body(data) or json.loads(body) != json.loads(pyd.body(built)):
        raise RuntimeError("the contenders disagree about the body")
    return {
        MODEL: timeit.Timer(lambda: customer_and_order_body(model)),
        DICT: timeit.Timer(lambda: customer_and_order_body(data)),
        FLOOR: timeit.Timer(lambda: _ENCODER.encode(wire).encode()),
        DUMPS: timeit.Timer(lambda: json.dumps(wire).encode()),
        PYD_FULL: timeit.Timer(lambda: pyd.body(pyd.CustomerAndOrder.model_validate(data))),
        PYD_DUMP: timeit.Timer(lambda: pyd.body(built)),
    }


def run(quick: bool) -> Section:
    """Median µs per payload of each contender, ratios to the floor, and the goals."""
    rounds, number = (15, 100) if quick else (60, 300)
    timers = calls()

    def micros(timer: timeit.Timer) -> Callable[[], float]:
        return lambda: timer.timeit(number) / number * 1e6

    figures = interleaved({name: micros(timer) for name, timer in timers.items()}, rounds=rounds)
    medians = {name: median(values) for name, values in figures.items()}
    floor = medians[FLOOR]
    rows = [
        [name, f"{value:.1f}", f"{min(figures[name]):.1f}", f"{value / floor:.2f}x"]
        for name, value in medians.items()
    ]
    model = medians[MODEL]
    return Section(
        name="payload",
        tables=[
            Table(
                f"Payload cost: Save Customer and Order example, median of {rounds} interleaved "
                f"rounds of {number} calls",
                ["path", "µs/payload (median)", "best round", "vs floor"],
                rows,
            )
        ],
        goals=[
            Goal("payload: model path", f"{model:.1f} µs", "< 100 µs", model < 100),
            Goal(
                "payload: model path vs json floor",
                f"{model / floor:.2f}x",
                "<= 3x",
                model <= 3 * floor,
            ),
        ],
        data={"microseconds": figures, "median": medians},
    )
