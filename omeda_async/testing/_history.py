"""Order Issue History for FakeOmeda: what a customer's processed orders look like.

A customer's history is what was seeded (``FakeOmeda.add_order_history``) plus
the product lines of every transaction of theirs that Omeda moved to ERD
(98-101; with the orders attached to it) and of every Add Order naming them.
Answers use the page's shape: ``OrderHistory`` items of ``ProductId``,
``Orders`` and ``Issues``.

Dates are wall-clock dates in the page's own formats, which its example mixes:
``ChangedDate`` as ``yyyy-MM-dd HH:mm:ss``, ``OrderDate`` as
``yyyy-MM-dd HH:mm:ss.S``, ``VerificationDate`` as ``yyyy-MM-dd``. An event
that happened ``d`` fake seconds ago is dated ``d`` seconds before the wall
clock's now when it is first shown, and keeps that date: on a sped-up clock
the fake's minutes read as Omeda's, and no date is ever in the future.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from omeda_async._status import Outcome
from omeda_async.models._responses import parse_omeda_datetime
from omeda_async.testing._ids import int_or_none
from omeda_async.testing._records import QueuedOrder, QueuedTransaction

__all__ = ["OrderHistory"]

_DONE_OUTCOMES: Final = frozenset({Outcome.SUCCEEDED, Outcome.PARTIAL})
_MARKETING_CLASS: Final = MappingProxyType(
    {1: ("1", "Active Qualified"), 0: ("24", "Requested Suspends")}
)
_COPIED: Final = (
    ("ShippingAddressId", "ShippingAddressId"),
    ("EmailAddressId", "EmailAddressId"),
    ("Amount", "Amount"),
    ("Term", "Term"),
    ("PaymentStatusId", "PaymentStatus"),
    ("AutoRenewalCode", "AutoRenewalCode"),
    ("NumberOfInstallments", "NumberOfInstallments"),
)

# One product's (orders, issues), as the answer lists them.
_Entry = tuple[list[Any], list[Any]]


class OrderHistory:
    """Each customer's orders and issues: seeded ones, and those their processed records made.

    ``now`` reads the fake's clock; ``order_of`` finds an Add Order by id.
    """

    def __init__(self, *, now: Callable[[], float], order_of: Callable[[int], QueuedOrder]) -> None:
        self._now = now
        self._order_of = order_of
        self._seeded: dict[int | str, dict[int | str, _Entry]] = {}
        self._transactions: dict[int, list[QueuedTransaction]] = {}
        self._orders: dict[int, list[QueuedOrder]] = {}
        self._dates: dict[tuple[str, int], datetime.datetime] = {}

    def seed(
        self,
        customer_id: int | str,
        product_id: int | str,
        *,
        orders: Iterable[Mapping[str, Any]],
        issues: Iterable[Mapping[str, Any]],
    ) -> None:
        """Add ``orders`` and ``issues`` (dicts in the page's shape) to a customer's history."""
        seeded_orders, seeded_issues = self._seeded.setdefault(customer_id, {}).setdefault(
            product_id, ([], [])
        )
        seeded_orders.extend(dict(order) for order in orders)
        seeded_issues.extend(dict(issue) for issue in issues)

    def add_transaction(self, customer_id: int, tx: QueuedTransaction) -> None:
        """A transaction whose path ends with ``customer_id``: its products count once processed."""
        self._transactions.setdefault(customer_id, []).append(tx)

    def add_order(self, customer_id: int, order: QueuedOrder) -> None:
        """An Add Order naming ``customer_id``: its products count at once."""
        self._orders.setdefault(customer_id, []).append(order)

    def products(self, customer: int | str, raw_product: str | None = None) -> list[dict[str, Any]]:
        """The answer's ``OrderHistory`` items (empty: "No purchases found")."""
        product: int | str | None = raw_product
        if raw_product is not None and raw_product.isdigit():
            product = int(raw_product)
        now = self._now()
        products: dict[int | str, _Entry] = {}

        def entry(product_id: int | str) -> _Entry:
            return products.setdefault(product_id, ([], []))

        for product_id, (orders, issues) in self._seeded.get(customer, {}).items():
            if product is None or product_id == product:
                entry(product_id)[0].extend(orders)
                entry(product_id)[1].extend(issues)
        if isinstance(customer, int):
            for tx in self._transactions.get(customer, ()):
                if tx.status_at(now).outcome not in _DONE_OUTCOMES:
                    continue
                when = self._date(("transaction", tx.transaction_id), tx.finished_at(), now)
                sources = [tx.body, *(self._order_of(oid).body for oid in tx.order_ids)]
                for body in sources:
                    _add_products(entry, body, product, when)
            for order in self._orders.get(customer, ()):
                when = self._date(("order", order.order_id), order.created_at, now)
                _add_products(entry, order.body, product, when)
        return [
            {"Orders": orders, "Issues": issues, "ProductId": product_id}
            for product_id, (orders, issues) in products.items()
        ]

    def _date(self, key: tuple[str, int], at: float, now: float) -> datetime.datetime:
        """The wall date of what happened at fake-clock ``at``: as long ago as on the fake clock."""
        found = self._dates.get(key)
        if found is None:
            ago = datetime.timedelta(seconds=max(0.0, now - at))
            found = self._dates[key] = datetime.datetime.now() - ago
        return found


def _add_products(
    entry: Callable[[int | str], _Entry],
    body: Mapping[str, Any],
    product: int | str | None,
    when: datetime.datetime,
) -> None:
    items = body.get("Products")
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        raw_id = item.get("OmedaProductId")
        product_id = int_or_none(raw_id)
        key: int | str = product_id if product_id is not None else str(raw_id)
        if product is not None and key != product:
            continue
        entry(key)[0].append(_order_record(item, body, when))


def _order_date(body: Mapping[str, Any], when: datetime.datetime) -> str:
    """``OrderDate`` as the page's example writes it: the body's own, or when it was processed."""
    given = body.get("OrderDate")
    parsed = parse_omeda_datetime(given) if isinstance(given, str) else None
    return (parsed or when).strftime("%Y-%m-%d %H:%M:%S.%f")[:-5]


def _issue_date(value: Any) -> Any:
    """A submitted ``yyyy-MM-dd`` as the page's ``yyyy-MM-dd HH:mm:ss``; anything else as sent."""
    parsed = parse_omeda_datetime(value) if isinstance(value, str) else None
    return parsed.strftime("%Y-%m-%d %H:%M:%S") if parsed is not None else value


def _order_record(
    item: Mapping[str, Any], body: Mapping[str, Any], when: datetime.datetime
) -> dict[str, Any]:
    """One ``Orders`` element of Order Issue History for a processed product line."""
    version = item.get("RequestedVersion") or "P"
    receive = 0 if int_or_none(item.get("Receive", 1)) == 0 else 1
    quantity = int_or_none(item.get("Quantity", 1))
    class_id, class_description = _MARKETING_CLASS[receive]
    record: dict[str, Any] = {
        "RequestedVersion": version,
        "RequestedVersionCode": version,
        "ActualVersionCode": version,
        "Quantity": quantity if quantity is not None else 1,
        "SKU": item.get("Sku", ""),
        "Receive": receive,
        "MarketingClassId": class_id,
        "MarketingClassDescription": class_description,
        "ChangedDate": when.strftime("%Y-%m-%d %H:%M:%S"),
        "OrderDate": _order_date(body, when),
        "VerificationDate": when.strftime("%Y-%m-%d"),
    }
    for source, target in _COPIED:
        if source in item:
            record[target] = item[source]
    if "StartIssueDate" in item:
        record["StartIssueDate"] = _issue_date(item["StartIssueDate"])
    if "DonorId" in body:
        record["DonorId"] = body["DonorId"]
    return record
