"""How long validating and serializing one Save Customer and Order payload takes.

The payload is the JSON example of Omeda's "Save Customer and Order" page (its
syntax slips mended), as a ``CustomerAndOrder`` model and as the page's dict.
Issue 2 asks for well under 100 microseconds per payload on the model path.

    python benchmarks/bench_payload.py [--rounds N] [--number N]

Each figure is the best of ``--rounds`` timeit rounds of ``--number`` calls
(the best round is the one least disturbed by the rest of the machine; rounds
of the different calls are interleaved):

* model path: ``customer_and_order_body(model)``: unstructure, validate, encode;
* dict path: ``customer_and_order_body(dict)``: validate the dict as given,
  normalize it (structure, unstructure), encode;
* floor: ``json`` encoding the finished wire dict alone, with the same settings
  the request builder uses (no validation or conversion at all); plain
  ``json.dumps`` with its defaults is shown for reference.
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from omeda_async import CustomerAndOrder, validate
from omeda_async.models import to_dict
from omeda_async.models._wire import customer_and_order_body

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


def best_microseconds(
    calls: dict[str, Callable[[], object]], *, rounds: int, number: int
) -> dict[str, float]:
    """Best of ``rounds`` timeit rounds of ``number`` calls each, in microseconds per call.

    Rounds of the different calls are interleaved and kept short, so a burst of
    load from elsewhere on the machine spoils one round of each, not one figure.
    """
    timers = {label: timeit.Timer(call) for label, call in calls.items()}
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for label, timer in timers.items():
            best[label] = min(best[label], timer.timeit(number) / number * 1e6)
    return best


def measure(*, rounds: int, number: int) -> dict[str, float]:
    """Microseconds per payload for each path, plus the pieces of the model path."""
    model = example_model()
    data = example_dict()
    wire = to_dict(model)
    if validate(model) or validate(data):
        raise SystemExit("the page example does not validate: the benchmark would be meaningless")
    if customer_and_order_body(model) != customer_and_order_body(data):
        raise SystemExit("the model and dict paths disagree about the body")
    return best_microseconds(
        {
            "model path (unstructure + validate + encode)": lambda: customer_and_order_body(model),
            "dict path (validate + normalize + encode)": lambda: customer_and_order_body(data),
            "floor: json encoding of the wire dict": lambda: _ENCODER.encode(wire).encode(),
            "  (for reference: json.dumps(wire) with defaults)": lambda: json.dumps(wire).encode(),
            "  model: unstructure (to_dict)": lambda: to_dict(model),
            "  model: validate(model) (unstructure + rules)": lambda: validate(model),
            "  dict: validate(dict)": lambda: validate(data),
        },
        rounds=rounds,
        number=number,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print microseconds per payload for the model path, the dict path and the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=100, help="timeit rounds (best one wins)")
    parser.add_argument("--number", type=int, default=200, help="calls per round")
    args = parser.parse_args(argv)
    results = measure(rounds=args.rounds, number=args.number)
    width = max(map(len, results))
    print(f"Save Customer and Order example, best of {args.rounds} x {args.number} calls:")
    for label, micros in results.items():
        print(f"{label:<{width}}  {micros:8.1f} µs/payload")


if __name__ == "__main__":
    main()
