"""Realistic customer-and-order payloads for the demo, a few of them broken on purpose.

Each record is a ``CustomerAndOrder`` as a publisher would send it: a name
and job title, a business address, an email, a phone, two demographics and
a controlled subscription; about a third also buy a paid product, half of
those paying by card (Omeda's documented TEST card, 3rd-party payment with
``DoCharge`` "False") and half "bill me". Everything is fictional: reserved
``example.com``/``example.org`` addresses and 555-01xx phone numbers.

On purpose, a few records break a documented rule (so validation refuses
them before any request) and a few name a customer Omeda has merged into
another (the first answer is Omeda's merged-customer error).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Final

import attrs

from omeda_async.models import (
    Address,
    BillingInformation,
    CustomerAndOrder,
    CustomerDemographic,
    Email,
    Phone,
    Product,
)

__all__ = ["MERGED_CUSTOMERS", "TEST_CARD", "SampleRecord", "sample_records"]

TEST_CARD: Final = "4111111111111111"
"""Visa test number from Omeda's "Test Credit Cards" table (Paytrace, PayPal, Authorize.net)."""
_TEST_CVV: Final = "999"  # Paytrace's Visa test security code on the same page

MERGED_CUSTOMERS: Final[Mapping[int, int]] = {200_001_001 + n: 300_001_001 + n for n in range(50)}
"""Customer ids FakeOmeda answers as merged (``{id: merged_into}``) in the demo."""

_FIRST: Final = (  # noqa: SIM905 - a list of words reads best as words
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
    "Barbara Richard Susan Joseph Jessica Thomas Sarah Carlos Karen Daniel Lisa Matthew "
    "Nancy Anthony Betty Mark Sandra Priya Ashley Wei Emily Ahmed Kimberly Kenji Donna "
    "Luis Michelle Olga Amara"
).split()
_LAST: Final = (  # noqa: SIM905 - a list of words reads best as words
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright "
    "Scott Nguyen Patel Kim"
).split()
_TITLES: Final = (
    "Orthopaedic Surgeon",
    "Plant Manager",
    "Director of Engineering",
    "Purchasing Agent",
    "Chief Financial Officer",
    "Maintenance Supervisor",
    "Registered Nurse",
    "Product Designer",
    "Operations Analyst",
    "Editor in Chief",
)
_COMPANIES: Final = (
    "Northbrook Orthopaedics",
    "Lakeside Manufacturing",
    "Prairie Health Partners",
    "Summit Logistics",
    "Riverbend Foods",
    "Cobalt Design Studio",
    "Granite Peak Energy",
    "Harbor Freightworks",
)
_STREETS: Final = (
    "Huehl Road",
    "Main Street",
    "Oak Avenue",
    "Lakeshore Drive",
    "Industrial Parkway",
    "Commerce Court",
    "Elm Street",
    "Park Boulevard",
)
# (city, region code, ZIP prefix, phone area code)
_PLACES: Final = (
    ("Northbrook", "IL", "600", "847"),
    ("Chicago", "IL", "606", "312"),
    ("Milwaukee", "WI", "532", "414"),
    ("Columbus", "OH", "432", "614"),
    ("Austin", "TX", "787", "512"),
    ("Denver", "CO", "802", "303"),
    ("Portland", "OR", "972", "503"),
    ("Raleigh", "NC", "276", "919"),
    ("Boston", "MA", "021", "617"),
    ("Atlanta", "GA", "303", "404"),
)
# Demographic 3 (job function) and 4 (industry), values as in Omeda's "Comp" example.
_JOB_FUNCTION: Final = (37, 38, 39, 40, 41)
_INDUSTRY: Final = (52, 53, 54, 55)
_MAGAZINE: Final = 2
_NEWSLETTER: Final = 5
_PAID_MAGAZINE: Final = 14
_PAID_NEWSLETTER: Final = 16
_BRAND_NAME: Final = "Demo Monthly"


@attrs.frozen
class SampleRecord:
    """One generated record: the payload, who it is, and what was done to it on purpose."""

    number: int
    name: str
    payload: CustomerAndOrder
    broken: str | None = None
    """The rule this record breaks on purpose (None: a valid record)."""
    merged: bool = False
    """True when it names a customer Omeda has merged into another."""


def _person(rng: random.Random, number: int, today: dt.date) -> tuple[str, CustomerAndOrder]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, region, zip_prefix, area = rng.choice(_PLACES)
    company = rng.choice(_COMPANIES)
    street = f"{rng.randint(10, 9899)} {rng.choice(_STREETS)}"
    postal = f"{zip_prefix}{rng.randint(0, 99):02d}"
    email = f"{first.lower()}.{last.lower()}{number}@{rng.choice(('example.com', 'example.org'))}"
    payload = CustomerAndOrder(
        external_customer_id=f"crm-{number:06d}",
        external_customer_id_namespace="DemoCRM",
        salutation=rng.choice(("Ms.", "Mr.", "Dr.", None)),
        first_name=first,
        last_name=last,
        title=rng.choice(_TITLES),
        signup_date=today - dt.timedelta(days=rng.randint(0, 900)),
        promo_code=rng.choice(("SPRING24", "WEB", "TRADESHOW", "free")),
        addresses=[
            Address(
                address_contact_type=100,
                company=company,
                street=street,
                city=city,
                region_code=region,
                postal_code=postal,
                country_code="USA",
                address_products="ALL",
            )
        ],
        emails=[Email(email_contact_type=300, email_address=email, email_products="ALL")],
        phones=[Phone(phone_contact_type=200, number=f"{area}-555-01{rng.randint(0, 99):02d}")],
        customer_demographics=[
            CustomerDemographic(
                omeda_demographic_id=3, omeda_demographic_value=[rng.choice(_JOB_FUNCTION)]
            ),
            CustomerDemographic(
                omeda_demographic_id=4, omeda_demographic_value=[rng.choice(_INDUSTRY)]
            ),
        ],
        products=[
            Product(omeda_product_id=_MAGAZINE, receive=1, requested_version=rng.choice("PDB")),
            Product(omeda_product_id=_NEWSLETTER, receive=1),
        ],
    )
    return f"{first} {last}", payload


def _paid(rng: random.Random, payload: CustomerAndOrder, today: dt.date) -> CustomerAndOrder:
    """Add a paid subscription: by TEST card (3rd-party payment) or "bill me"."""
    amount = Decimal(rng.choice(("49.00", "65.00", "99.00")))
    tax = (amount * Decimal("0.10")).quantize(Decimal("0.01"))
    address = (payload.addresses or [Address()])[0]
    name = f"{payload.first_name} {payload.last_name}"
    billing = BillingInformation(
        do_charge="False",
        billing_company=address.company,
        billing_street=address.street,
        billing_city=address.city,
        billing_region=address.region_code,
        billing_postal_code=address.postal_code,
        billing_country_code="USA",
        comment1=_BRAND_NAME,
        comment2=name,
    )
    product = Product(
        omeda_product_id=_PAID_MAGAZINE,
        receive=1,
        requested_version="D",
        term=rng.choice((12, 24)),
        amount=amount,
        sales_tax=tax,
    )
    if rng.random() < 0.5:
        # 3rd-party payment: paid elsewhere, so DoCharge stays "False" and the
        # documented test card fills the card fields the format requires.
        billing = attrs.evolve(
            billing,
            credit_card_number=TEST_CARD,
            card_security_code=_TEST_CVV,
            expiration_date=f"12/{today.year + 3}",
            name_on_card=name,
            deposit_date=today,
            auth_code=f"T{rng.randint(100000, 999999)}",
        )
        product = attrs.evolve(product, amount_paid=amount, payment_status_id=2)
    return attrs.evolve(
        payload,
        products=[*(payload.products or []), product],
        billing_information=billing,
    )


def _break_email(payload: CustomerAndOrder) -> CustomerAndOrder:
    email = (payload.emails or [Email()])[0]
    local = (email.email_address or "someone@").split("@")[0]
    return attrs.evolve(payload, emails=[attrs.evolve(email, email_address=f"{local}@")])


def _break_term(payload: CustomerAndOrder) -> CustomerAndOrder:
    paid = Product(omeda_product_id=_PAID_NEWSLETTER, receive=1, amount=Decimal("29.00"))
    return attrs.evolve(payload, products=[*(payload.products or []), paid])


def _break_phone(payload: CustomerAndOrder) -> CustomerAndOrder:
    return attrs.evolve(payload, phones=[Phone(phone_contact_type=200, extension="72")])


def _break_region(payload: CustomerAndOrder) -> CustomerAndOrder:
    address = (payload.addresses or [Address()])[0]
    return attrs.evolve(payload, addresses=[attrs.evolve(address, region_code="Illinois")])


def _break_product(payload: CustomerAndOrder) -> CustomerAndOrder:
    return attrs.evolve(payload, products=[Product(receive=1, quantity=1)])


_BREAKS: Final[tuple[tuple[str, Callable[[CustomerAndOrder], CustomerAndOrder]], ...]] = (
    ("an email address without a domain", _break_email),
    ("a paid product without Term or OrderExpirationDate", _break_term),
    ("a phone without a Number", _break_phone),
    ("a state name where the 2-letter RegionCode belongs", _break_region),
    ("a product without OmedaProductId", _break_product),
)


def _spots(rng: random.Random, count: int, share: float, minimum_count: int) -> int:
    """How many records get a treatment: ``share`` of them, at least one in a big enough run."""
    return max(1, round(count * share)) if count >= minimum_count else 0


def sample_records(
    count: int, *, seed: int, today: dt.date | None = None
) -> Iterator[SampleRecord]:
    """``count`` records, the same for the same ``seed`` (and ``today``), made one at a time."""
    rng = random.Random(seed)
    day = today if today is not None else dt.date.today()
    invalid = _spots(rng, count, 0.03, 5)
    merged = _spots(rng, count, 0.02, 10)
    chosen = rng.sample(range(count), invalid + merged)
    broken_at = {index: n for n, index in enumerate(chosen[:invalid])}
    merged_at = set(chosen[invalid:])
    merged_ids = list(MERGED_CUSTOMERS)
    for index in range(count):
        number = index + 1
        name, payload = _person(rng, number, day)
        if rng.random() < 0.33:
            payload = _paid(rng, payload, day)
        broken: str | None = None
        if index in broken_at:
            broken, damage = _BREAKS[broken_at[index] % len(_BREAKS)]
            payload = damage(payload)
        is_merged = index in merged_at
        if is_merged:
            payload = attrs.evolve(payload, omeda_customer_id=merged_ids[index % len(merged_ids)])
        yield SampleRecord(number, name, payload, broken=broken, merged=is_merged)
