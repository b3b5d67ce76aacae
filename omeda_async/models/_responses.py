"""What Omeda answers, as frozen attrs classes read by tolerant readers.

Every class has a ``from_response(data, *, status=200)`` classmethod: keys
Omeda adds later are ignored; a missing required key or a value of the wrong
shape raises :class:`~omeda_async.MalformedResponseError` naming the JSON path,
never ``KeyError``/``TypeError``. Numbers Omeda sends as digit strings
(``"MarketingClassId":"1"``) are read as numbers; a key repeated inside one
object (see :mod:`omeda_async._json`) is read as its last value, except
``Error``, whose every value is kept.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import reprlib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs

from omeda_async._enums import pseudo_member
from omeda_async._errors import MalformedResponseError
from omeda_async._json import error_messages, last
from omeda_async._status import StatusCode

__all__ = [
    "IssueRecord",
    "MarketingClass",
    "OrderIssueHistory",
    "OrderReceipt",
    "OrderRecord",
    "PaymentStatus",
    "ProcessorResult",
    "ProductOrderHistory",
    "SubmissionReceipt",
    "Transaction",
    "parse_omeda_datetime",
]

_T = TypeVar("_T")
_Receipt = TypeVar("_Receipt")


# --- codes of page 003 --------------------------------------------------------------


class PaymentStatus(enum.IntEnum):
    """Payment status of a paid order (Order Issue History, "Payment Status Codes").

    ``PaymentStatus(n)`` for an undocumented ``n`` is a pseudo-member ``UNKNOWN_n``
    that keeps its number.
    """

    PAID_ON_INVOICE = 1
    """Customer paid after being invoiced."""
    PAID_WITH_ORDER = 2
    """Customer paid at the time of his order."""
    CREDIT = 3
    """Customer owes an outstanding balance on the subscription."""
    GRACE = 5
    """Customer subscription is in grace."""
    FREE = 6
    """A free subscription, not necessarily qualified by the publisher."""
    CONTROLLED = 7
    """Selected by the publisher to receive the subscription for free."""
    FREE_TERM = 8
    """A paid subscription at no cost (free with expire date, formerly "Comp")."""

    @classmethod
    def _missing_(cls, value: object) -> PaymentStatus | None:
        return pseudo_member(cls, value)

    @property
    def is_documented(self) -> bool:
        """True for the seven codes on Omeda's page."""
        return self._name_ in type(self).__members__


class MarketingClass(enum.IntEnum):
    """Marketing class of an order (Order Issue History, "Marketing Class Codes").

    ``is_active`` follows the page's "Considered Active?" column (1 and 2).
    ``MarketingClass(n)`` for an undocumented ``n`` is a pseudo-member
    ``UNKNOWN_n`` that keeps its number and is not active.
    """

    ACTIVE = 1
    """Active (for controlled magazine products, Active Controlled)."""
    ACTIVE_NON_QUALIFIED = 2
    """Active Non-Qualified (paid circulation)."""
    QUALIFIED_RESERVE = 3
    """Qualified Reserve (controlled circulation)."""
    SOFT_CONTROLLED_KILLS = 8
    """Soft controlled kills."""
    CONTROLLED_KILLS = 9
    """Controlled kills."""
    ACS_KILLS = 10
    """ACS kills (Address Correction Service)."""
    EXPIRE_SUSPENDS = 20
    """Expire suspends."""
    FUTURE_STARTS = 21
    """Future starts."""
    POSTAL_SUSPENDS = 22
    """Postal suspends."""
    CREDIT_SUSPENDS = 23
    """Credit suspends."""
    REQUESTED_SUSPENDS = 24
    """Requested suspends."""
    KILL_REFUNDS = 25
    """Kill/Refunds."""
    PASSALONG = 50
    """Passalong."""

    @classmethod
    def _missing_(cls, value: object) -> MarketingClass | None:
        return pseudo_member(cls, value)

    @property
    def is_active(self) -> bool:
        """True where Omeda's page says "Considered Active?": yes (1 and 2)."""
        return int(self) in (1, 2)

    @property
    def is_documented(self) -> bool:
        """True for the thirteen codes on Omeda's page."""
        return self._name_ in type(self).__members__


# --- tolerant field readers ---------------------------------------------------------


class _Reader:
    """Reads one JSON object, naming ``where`` in every complaint."""

    __slots__ = ("data", "service", "status", "where")

    def __init__(self, data: Any, *, service: str, where: str, status: int) -> None:
        self.service = service
        self.where = where
        self.status = status
        data = last(data)
        if not isinstance(data, Mapping):
            raise self.error(f"{where or 'the answer'} is {_kind(data)}, not a JSON object")
        self.data: Mapping[str, Any] = data

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, problem: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"malformed {self.service} answer (HTTP {self.status}): {problem}",
            status=self.status,
            content_type="application/json",
        )

    def get(self, key: str) -> Any:
        return last(self.data.get(key))

    def required(self, key: str, read: Callable[[_Reader, str, Any], _T]) -> _T:
        value = self.get(key)
        if value is None:
            raise self.error(f"{self.path(key)} is missing")
        return read(self, key, value)

    def optional(self, key: str, read: Callable[[_Reader, str, Any], _T]) -> _T | None:
        value = self.get(key)
        return None if value is None else read(self, key, value)

    def child(self, key: str, value: Any, index: int | None = None) -> _Reader:
        where = self.path(key) if index is None else f"{self.path(key)}[{index}]"
        return _Reader(value, service=self.service, where=where, status=self.status)

    def children(self, key: str, *, required: bool) -> list[_Reader]:
        """The objects of an array (a single object is read as a one-item array)."""
        value = self.get(key)
        if value is None:
            if required:
                raise self.error(f"{self.path(key)} is missing")
            return []
        if isinstance(value, Mapping):
            return [self.child(key, value)]
        if not isinstance(value, list):
            raise self.error(f"{self.path(key)} is {_kind(value)}, not an array")
        return [self.child(key, item, index) for index, item in enumerate(value)]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# A value quoted in a complaint: short, and at a bounded depth (a plain repr of
# an answer nested thousands deep would recurse past the limit, and of a large
# one would build megabytes to show forty characters).
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 2, 40, 40, 40


def _shown(value: Any) -> str:
    return _REPR.repr(value)[:40]


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _int(reader: _Reader, key: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        try:
            return int(value.strip())
        except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise reader.error(f"{reader.path(key)} is {_kind(value)}, not an integer: {_shown(value)}")


#: Omeda's ids are positive 64-bit integers (a journal stores them as SQLite integers).
_MAX_ID = 2**63 - 1


def _id(reader: _Reader, key: str, value: Any) -> int:
    """An id that names something: a positive 64-bit integer, else the answer is malformed.

    A receipt with TransactionId 0, -1 or 2**63 cannot be followed or journaled: it
    is no receipt, so the POST's outcome is unknown.
    """
    number = _int(reader, key, value)
    if not 0 < number <= _MAX_ID:
        raise reader.error(f"{reader.path(key)} is not a positive 64-bit integer: {_shown(number)}")
    return number


def _str(reader: _Reader, key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Omeda's examples send some identifiers as numbers (ClientCustomerId).
        return str(value)
    raise reader.error(f"{reader.path(key)} is {_kind(value)}, not a string")


def _decimal(reader: _Reader, key: str, value: Any) -> Decimal:
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    elif isinstance(value, float):
        # repr gives the shortest text that reads back as the same float.
        return Decimal(repr(value))
    raise reader.error(f"{reader.path(key)} is not a decimal number: {_shown(value)}")


def _bool(reader: _Reader, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise reader.error(f"{reader.path(key)} is not a boolean: {_shown(value)}")


def _status(reader: _Reader, key: str, value: Any) -> StatusCode:
    try:
        return StatusCode.parse(value)
    except ValueError:
        raise reader.error(f"{reader.path(key)} is not a status code: {_shown(value)}") from None


def _payment_status(reader: _Reader, key: str, value: Any) -> PaymentStatus:
    return PaymentStatus(_int(reader, key, value))


def _marketing_class(reader: _Reader, key: str, value: Any) -> MarketingClass:
    return MarketingClass(_int(reader, key, value))


_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*"
)


def parse_omeda_datetime(value: str) -> dt.datetime | None:
    """Read ``yyyy-MM-dd``, ``yyyy-MM-dd HH:mm[:ss[.f]]`` (or a ``T``); else None.

    Omeda's page names ``yyyy-MM-dd HH:mm:ss`` yet its example also sends
    ``"2012-09-24"`` and ``"2020-09-24 11:17:00.0"``. No time zone is given, so the
    result is naive. An unreadable date is None; ``OrderRecord.raw`` keeps the text.
    """
    match = _DATE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
    except ValueError:
        return None


def _datetime(reader: _Reader, key: str, value: Any) -> dt.datetime | None:
    return parse_omeda_datetime(value) if isinstance(value, str) else None


def _first_response_info(data: Any, *, service: str, status: int) -> _Reader:
    """The first ``ResponseInfo`` item (or the answer itself when it is flat)."""
    top = _Reader(data, service=service, where="", status=status)
    if top.get("ResponseInfo") is None:
        return top
    items = top.children("ResponseInfo", required=True)
    if not items:
        raise top.error("ResponseInfo is an empty array")
    return items[0]


def _plain_receipt(data: Any) -> dict[str, Any] | None:
    """The first ``ResponseInfo`` item of a receipt in its usual, plain shape; else None.

    Plain: ``{"ResponseInfo": [{...}, ...]}`` with nothing repeated on the way
    (a repeated key is a ``Repeated`` list, never a plain dict or list). A
    receipt is read per record of a bulk job, so this shape skips the
    ``_Reader`` machinery; anything else goes the tolerant way, which also
    names what is wrong.
    """
    if type(data) is dict:
        items = data.get("ResponseInfo")
        if type(items) is list and items and type(items[0]) is dict:
            return items[0]
    return None


def _plain_fields(
    data: Any, id_key: str, text_key: str
) -> tuple[int, str, int | None, str | None] | None:
    """A plain receipt's id, ``Url``, ``CustomerId`` and ``text_key``, each of its usual type.

    The id (and CustomerId, when given) a positive 64-bit integer, the texts
    strings. Else None: the tolerant reader then reads the answer, or names
    what is wrong with it.
    """
    plain = _plain_receipt(data)
    if plain is None:
        return None
    ident, url = plain.get(id_key), plain.get("Url", "")
    customer_id, text = plain.get("CustomerId"), plain.get(text_key)
    if (
        type(ident) is int
        and 0 < ident <= _MAX_ID
        and type(url) is str
        and (customer_id is None or (type(customer_id) is int and 0 < customer_id <= _MAX_ID))
        and (text is None or type(text) is str)
    ):
        return ident, url, customer_id, text
    return None


def _from_plain(
    cls: Callable[..., _Receipt], data: Any, id_key: str, text_key: str
) -> _Receipt | None:
    """A receipt built from a plain answer (see :func:`_plain_fields`); else None.

    The receipt's attributes are the wire keys in snake case, in this order:
    the id, ``url``, ``customer_id`` and the one that differs (``text_key``).
    """
    fields = _plain_fields(data, id_key, text_key)
    if fields is None:
        return None
    ident, url, customer_id, text = fields
    return cls(
        **{_SNAKE[id_key]: ident, "url": url, "customer_id": customer_id, _SNAKE[text_key]: text}
    )


_SNAKE: Final = {
    "TransactionId": "transaction_id",
    "EncryptedCustomerId": "encrypted_customer_id",
    "OrderId": "order_id",
    "CustomerUrl": "customer_url",
}


def _submission_id(reader: _Reader) -> str | None:
    return reader.optional("SubmissionId", _str)


# --- the answers --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SubmissionReceipt:
    """Save Customer and Order's answer: the queued record's ``TransactionId``.

    ``url`` is Omeda's Transaction Lookup URL for it ("" if the answer left it out).
    ``customer_id`` and ``encrypted_customer_id`` come back (from ``ResponseInfo[0]``)
    when the submission ran the processor (``"RunProcessor": 1``); else None.
    """

    transaction_id: int
    url: str = ""
    customer_id: int | None = None
    encrypted_customer_id: str | None = None

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> SubmissionReceipt:
        """Read ``{"ResponseInfo": [{"TransactionId": n, "Url": "...", "CustomerId"?, ...}]}``.

        A TransactionId that is not a positive 64-bit integer is malformed.
        """
        plain = _from_plain(cls, data, "TransactionId", "EncryptedCustomerId")
        if plain is not None:
            return plain
        info = _first_response_info(data, service="storecustomerandorder", status=status)
        return cls(
            transaction_id=info.required("TransactionId", _id),
            url=info.optional("Url", _str) or "",
            customer_id=info.optional("CustomerId", _id),
            encrypted_customer_id=info.optional("EncryptedCustomerId", _str),
        )


@attrs.frozen(kw_only=True)
class OrderReceipt:
    """Add Order's answer: ``OrderId`` and its ``Url``.

    ``customer_id``/``customer_url`` come back only when the order ran the
    processor (``"RunProcessor": 1``).
    """

    order_id: int
    url: str = ""
    customer_id: int | None = None
    customer_url: str | None = None

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> OrderReceipt:
        """Read ``{"ResponseInfo": [{"OrderId", "Url", "CustomerId"?, "CustomerUrl"?}]}``."""
        plain = _from_plain(cls, data, "OrderId", "CustomerUrl")
        if plain is not None:
            return plain
        info = _first_response_info(data, service="orderqueue", status=status)
        return cls(
            order_id=info.required("OrderId", _id),
            url=info.optional("Url", _str) or "",
            customer_id=info.optional("CustomerId", _id),
            customer_url=info.optional("CustomerUrl", _str),
        )


@attrs.frozen(kw_only=True)
class Transaction:
    """Transaction Lookup's answer: where a queued record is in Omeda's pipeline.

    ``errors`` are problems found in the *record* (not in the lookup), every
    ``Error`` kept even when one object repeats the key, as Omeda's example does.
    ``client_customer_id`` is text (the page's example sends a number).
    """

    transaction_id: int
    status: StatusCode
    omeda_customer_id: int | None = None
    client_customer_id: str | None = None
    errors: tuple[str, ...] = ()
    submission_id: str | None = None

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> Transaction:
        """Read the flat form of the page's example or ``{"ResponseInfo": [{...}]}``."""
        info = _first_response_info(data, service="transaction lookup", status=status)
        top = _Reader(data, service="transaction lookup", where="", status=status)
        errors = error_messages(info.data) or error_messages(top.data)
        return cls(
            transaction_id=info.required("TransactionId", _int),
            status=info.required("Status", _status),
            omeda_customer_id=info.optional("OmedaCustomerId", _int),
            client_customer_id=info.optional("ClientCustomerId", _str),
            errors=errors,
            submission_id=_submission_id(info) or _submission_id(top),
        )


@attrs.frozen(kw_only=True)
class IssueRecord:
    """One issue of a product (Order Issue History, "Issues Elements")."""

    issue_description: str | None = None
    issue_name: str | None = None
    issue_date: dt.datetime | None = None

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> IssueRecord:
        """Read one ``Issues`` item."""
        return cls._read(_Reader(data, service="order issue history", where="", status=status))

    @classmethod
    def _read(cls, item: _Reader) -> IssueRecord:
        return cls(
            issue_description=item.optional("IssueDescription", _str),
            issue_name=item.optional("IssueName", _str),
            issue_date=item.optional("IssueDate", _datetime),
        )


# (attribute, Omeda key, reader) for every field of page 003's Orders table.
_ORDER_FIELDS: tuple[tuple[str, str, Callable[[_Reader, str, Any], Any]], ...] = (
    ("start_issue_date", "StartIssueDate", _datetime),
    ("expected_expiration_date", "ExpectedExpirationDate", _datetime),
    ("start_issue_name", "StartIssueName", _str),
    ("start_issue_description", "StartIssueDescription", _str),
    ("shipping_address_id", "ShippingAddressId", _int),
    ("email_address_id", "EmailAddressId", _int),
    ("requested_version", "RequestedVersion", _str),
    ("requested_version_code", "RequestedVersionCode", _str),
    ("actual_version_code", "ActualVersionCode", _str),
    ("quantity", "Quantity", _int),
    ("sku", "SKU", _str),
    ("receive", "Receive", _bool),
    ("marketing_class_id", "MarketingClassId", _marketing_class),
    ("marketing_class_description", "MarketingClassDescription", _str),
    ("billing_address_id", "BillingAddressId", _int),
    ("changed_date", "ChangedDate", _datetime),
    ("payment_status", "PaymentStatus", _payment_status),
    ("amount", "Amount", _decimal),
    ("term", "Term", _int),
    ("order_date", "OrderDate", _datetime),
    ("auto_renewal_code", "AutoRenewalCode", _int),
    ("number_of_installments", "NumberOfInstallments", _int),
    ("installment_code", "InstallmentCode", _int),
    ("donor_id", "DonorId", _int),
    ("gift_message", "GiftMessage", _str),
    ("gift_sent_date", "GiftSentDate", _datetime),
    ("verification_date", "VerificationDate", _datetime),
    ("source_id", "SourceId", _int),
    ("premium_code", "PremiumCode", _int),
    ("premium_code_description", "PremiumCodeDescription", _str),
)


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class OrderRecord:
    """One order of a product (Order Issue History, "Orders Elements"), snake_case.

    Every field is optional: the page marks some "Always Returned" that its own
    example leaves out (``SKU``). Dates are naive datetimes (None when absent or
    unreadable); ``amount`` is a ``Decimal`` in USD; ``receive`` is True when the
    customer currently receives the product. ``raw`` is the original object, so
    nothing Omeda sent is ever lost.
    """

    start_issue_date: dt.datetime | None = None
    expected_expiration_date: dt.datetime | None = None
    start_issue_name: str | None = None
    start_issue_description: str | None = None
    shipping_address_id: int | None = None
    email_address_id: int | None = None
    requested_version: str | None = None
    requested_version_code: str | None = None
    actual_version_code: str | None = None
    quantity: int | None = None
    sku: str | None = None
    receive: bool | None = None
    marketing_class_id: MarketingClass | None = None
    marketing_class_description: str | None = None
    billing_address_id: int | None = None
    changed_date: dt.datetime | None = None
    payment_status: PaymentStatus | None = None
    amount: Decimal | None = None
    term: int | None = None
    order_date: dt.datetime | None = None
    auto_renewal_code: int | None = None
    number_of_installments: int | None = None
    installment_code: int | None = None
    donor_id: int | None = None
    gift_message: str | None = None
    gift_sent_date: dt.datetime | None = None
    verification_date: dt.datetime | None = None
    source_id: int | None = None
    premium_code: int | None = None
    premium_code_description: str | None = None
    raw: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, repr=False, eq=False
    )

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> OrderRecord:
        """Read one ``Orders`` item."""
        return cls._read(_Reader(data, service="order issue history", where="", status=status))

    @classmethod
    def _read(cls, item: _Reader) -> OrderRecord:
        fields = {name: item.optional(key, read) for name, key, read in _ORDER_FIELDS}
        return cls(**fields, raw=item.data)


@attrs.frozen(kw_only=True)
class ProductOrderHistory:
    """The orders and issues of one product (Order Issue History, "Order History Elements")."""

    product_id: int
    orders: tuple[OrderRecord, ...] = ()
    issues: tuple[IssueRecord, ...] = ()

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> ProductOrderHistory:
        """Read one ``OrderHistory`` item."""
        return cls._read(_Reader(data, service="order issue history", where="", status=status))

    @classmethod
    def _read(cls, item: _Reader) -> ProductOrderHistory:
        return cls(
            product_id=item.required("ProductId", _int),
            orders=tuple(OrderRecord._read(o) for o in item.children("Orders", required=False)),
            issues=tuple(IssueRecord._read(i) for i in item.children("Issues", required=False)),
        )


@attrs.frozen(kw_only=True)
class OrderIssueHistory:
    """Order Issue History Lookup's answer: every product's orders and issues.

    Omeda's "No purchases found for customer n." (a 404) is an empty history
    (``is_empty``), not an error. ``customer_url`` is Omeda's ``Customer`` link
    (None for an empty history).
    """

    customer_url: str | None = None
    submission_id: str | None = None
    products: tuple[ProductOrderHistory, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the customer has no purchases (for this product)."""
        return not self.products

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> OrderIssueHistory:
        """Read ``{"Customer", "SubmissionId", "OrderHistory": [...]}``."""
        top = _Reader(data, service="order issue history", where="", status=status)
        return cls(
            customer_url=top.optional("Customer", _str),
            submission_id=_submission_id(top),
            products=tuple(
                ProductOrderHistory._read(p) for p in top.children("OrderHistory", required=True)
            ),
        )


@attrs.frozen(kw_only=True)
class ProcessorResult:
    """What Run Processor did with one transaction id.

    ``succeeded`` is True when the transaction was processed now or had
    ``already_processed`` (Omeda's 403 "already processed" counts as done).
    ``status`` is Omeda's ``TransactionStatusId`` when given; ``message`` says
    why a transaction failed (an unknown id, an input whose flow includes Omatch).
    """

    transaction_id: int
    succeeded: bool
    omeda_customer_id: int | None = None
    status: StatusCode | None = None
    message: str | None = None
    already_processed: bool = False

    @classmethod
    def from_response(cls, data: Any, *, status: int = 200) -> ProcessorResult:
        """Read one ``BatchStatus`` item."""
        return cls._read(_Reader(data, service="run processor", where="", status=status))

    @classmethod
    def _read(cls, item: _Reader) -> ProcessorResult:
        errors = error_messages(item.data)
        return cls(
            transaction_id=item.required("TransactionId", _int),
            succeeded=item.optional("Success", _bool) is True,
            omeda_customer_id=item.optional("OmedaCustomerId", _int),
            status=item.optional("TransactionStatusId", _status),
            message="; ".join(errors) or None,
        )

    @classmethod
    def from_batch(cls, data: Any, *, status: int = 200) -> tuple[ProcessorResult, ...]:
        """Read ``{"BatchStatus": [...], "SubmissionId": ...}`` or a bare ``[...]``."""
        if isinstance(data, list):
            data = {"BatchStatus": data}
        top = _Reader(data, service="run processor", where="", status=status)
        return tuple(cls._read(item) for item in top.children("BatchStatus", required=True))
