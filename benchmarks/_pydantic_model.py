"""The Save Customer and Order payload as a pydantic v2 model: what many users would write.

Faithful to the same page and to the same rules ``omeda_async`` checks where
pydantic can express them: PascalCase aliases (the wire names), required
fields, maximum lengths, choices, date formats, the email shape, 3-letter
country codes, 2-letter region codes, non-negative quantities. Rules between
fields (a region code needs a US/CAN country; an id needs OmedaCustomerId at
the root) would need model validators and are left out, which only makes
pydantic's figure lower.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Str10 = Annotated[str, StringConstraints(max_length=10)]
Str20 = Annotated[str, StringConstraints(max_length=20)]
Str50 = Annotated[str, StringConstraints(max_length=50)]
Str100 = Annotated[str, StringConstraints(max_length=100)]
Str255 = Annotated[str, StringConstraints(max_length=255)]
Date = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
DateTime = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2})?$")
]
BehaviorDateTime = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
]
EmailAddress = Annotated[
    str, StringConstraints(max_length=100, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
YesNo = Literal[0, 1]
Version = Literal["P", "D", "B"]


class _Model(BaseModel):
    # Wire names in and out; a snake_case name is accepted too, like the models.
    model_config = ConfigDict(
        alias_generator=lambda name: "".join(part.title() for part in name.split("_")),
        populate_by_name=True,
        extra="forbid",
    )


class Address(_Model):
    address_contact_type: int | None = None
    company: Str255 | None = None
    street: Str255 | None = None
    apartment_mail_stop: Str255 | None = None
    extra_address: Str255 | None = None
    city: Str100 | None = None
    region_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None
    region: Str100 | None = None
    postal_code: str | None = None
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    country: Str100 | None = None
    address_products: str | None = None
    airmail: Literal["A", ""] | None = None


class Email(_Model):
    email_contact_type: int | None = None
    email_address: EmailAddress
    email_products: str | None = None


class Phone(_Model):
    phone_contact_type: int | None = None
    number: str
    extension: str | None = None


class CustomerDemographic(_Model):
    omeda_demographic_id: int | None = None
    omeda_demographic_value: int | str | list[int | str] | None = None
    client_demographic_id: int | str | None = None
    client_demographic_value: int | str | list[int | str] | None = None
    write_in_desc: Str100 | None = None


class Product(_Model):
    omeda_product_id: int
    receive: YesNo | None = None
    quantity: Annotated[int, Field(ge=0)] | None = None
    personal_identifier: Str50 | None = None
    requested_version: Version | None = None
    shipping_address_id: int | None = None
    email_address_id: int | None = None


class ProductUpdate(_Model):
    omeda_product_id_update: int
    requested_version_update: Version | None = None


class Telemarketing(_Model):
    telemarketing_company: Str100
    telemarketing_recording_id: Str50
    telemarketing_agent: Str20
    personal_id_question: Str100
    time_of_call: DateTime | None = None
    end_of_call: DateTime | None = None
    length_of_call: int | None = None
    spoke_to_name: Str100
    spoke_to_title: Str100
    authorized_assistant_response: bool | None = None
    general_tele_info: Str255 | None = None


class BehaviorAttribute(_Model):
    behavior_attribute_type_id: int
    behavior_attribute_value: str | None = None
    behavior_attribute_value_id: int | None = None


class CustomerBehavior(_Model):
    behavior_id: int
    behavior_date: BehaviorDateTime
    behavior_promo_code: str | None = None
    behavior_attributes: list[BehaviorAttribute] | None = None


class CustomerAndOrder(_Model):
    """Save Customer and Order (storecustomerandorder), the fields of the page's example."""

    client_customer_id: int | str | None = None
    omeda_customer_id: int | None = None
    customer_status_id: Literal[0, 1, 3] | None = None
    salutation: Str10 | None = None
    first_name: Str100 | None = None
    middle_name: Str100 | None = None
    last_name: Str100 | None = None
    suffix: Str10 | None = None
    title: Str100 | None = None
    gender: Literal["M", "F"] | None = None
    signup_date: DateTime | None = None
    client_order_id: int | str | None = None
    promo_code: Str50 | None = None
    order_date: DateTime | None = None
    addresses: list[Address] | None = None
    phones: list[Phone] | None = None
    emails: list[Email] | None = None
    customer_demographics: list[CustomerDemographic] | None = None
    products: list[Product] | None = None
    product_updates: list[ProductUpdate] | None = None
    telemarketing: list[Telemarketing] | None = None
    customer_behaviors: list[CustomerBehavior] | None = None
    merge_code: YesNo | None = None


def body(model: CustomerAndOrder) -> bytes:
    """The wire JSON of a built model: wire names, unset fields left out."""
    return model.model_dump_json(by_alias=True, exclude_none=True).encode()
