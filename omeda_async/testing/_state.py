"""One brand of FakeOmeda's Omeda: its queue, customers and answers, without HTTP.

:class:`BrandState` is what Omeda does with a request once it has been routed:
check the credentials, validate and queue a submission, process transactions
on request, answer lookups and order history. Each service method takes the
parsed request and returns the answer's JSON (a dict, or ready text for the
lookup, the hot path), or raises :class:`Refusal` with Omeda's error status
and messages. The aiohttp server (:mod:`._server`) does routing, faults and
recording around it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any

from omeda_async._clock import Clock
from omeda_async.models import Order, validate
from omeda_async.testing._history import OrderHistory
from omeda_async.testing._ids import IdSource, int_or_none
from omeda_async.testing._records import Duplicate, QueuedOrder, QueuedTransaction
from omeda_async.testing._scenarios import Mix, Scenario, ScenarioLike, to_source
from omeda_async.testing._timing import TimingModel

__all__ = ["BrandState", "Customers", "Refusal"]


class Refusal(Exception):
    """Omeda's error answer to a request: an HTTP status and its ``Errors`` messages.

    ``extra`` is merged into each ``Errors`` item (``MergedIntoCustomerId``).
    """

    def __init__(self, status: int, *messages: str, extra: Mapping[str, Any] | None = None):
        super().__init__(status)
        self.status = status
        self.messages = messages
        self.extra = extra


def _compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class Customers:
    """Who a submission may name: merged and pending-deactivation customers, and new ids.

    ``merged`` maps a customer id to the id it was merged into; posting for it
    is refused with ``merged_status`` (400 by default; Omeda's production
    clients meet it as a 404) and ``MergedIntoCustomerId``.
    ``pending_deactivation`` ids are refused with "pending deactivation".
    """

    def __init__(
        self,
        ids: IdSource,
        *,
        merged: Mapping[int, int] | None,
        pending_deactivation: Collection[int] | None,
        merged_status: int = 400,
    ) -> None:
        self.merged: dict[int, int] = dict(merged or {})
        self.pending_deactivation: set[int] = set(pending_deactivation or ())
        self.merged_status = merged_status
        self._ids = ids
        self._by_client_id: dict[str, int] = {}
        self._by_encrypted_id: dict[str, int] = {}

    def check(self, body: Mapping[str, Any]) -> None:
        """Refuse a body naming a merged or pending-deactivation ``OmedaCustomerId``."""
        customer_id = int_or_none(body.get("OmedaCustomerId"))
        if customer_id is None:
            return
        merged_into = self.merged.get(customer_id)
        if merged_into is not None:
            raise Refusal(
                self.merged_status,
                f"Customer id {customer_id} is valid but not active. Please use {merged_into}.",
                extra={"MergedIntoCustomerId": merged_into},
            )
        if customer_id in self.pending_deactivation:
            raise Refusal(
                400,
                f"OmedaCustomerId {customer_id} is pending deactivation. Please try again later.",
            )

    def new(self) -> int:
        """A new customer's OmedaCustomerId."""
        return self._ids.customer()

    def encrypted(self, customer_id: int) -> str:
        """The customer's EncryptedCustomerId: 15 letters and digits, the same every time."""
        digest = hashlib.blake2b(str(customer_id).encode(), digest_size=8).hexdigest()
        encrypted = digest[:15].upper()
        self._by_encrypted_id[encrypted] = customer_id
        return encrypted

    def resolve(self, raw_customer: str) -> int | str:
        """The customer a path names: an OmedaCustomerId, or an EncryptedCustomerId it gave."""
        if raw_customer.isdigit():
            return int(raw_customer)
        return self._by_encrypted_id.get(raw_customer.upper(), raw_customer)

    def of_client(self, client_customer_id: Any) -> int:
        """The customer a ClientCustomerId stands for (the same one every time)."""
        key = str(client_customer_id)
        found = self._by_client_id.get(key)
        if found is None:
            found = self._by_client_id[key] = self._ids.customer()
        return found


class BrandState:
    """One brand's Omeda: credentials, queue, customers, history, and the services' answers.

    ``base_url`` is set by the server once it listens (answers carry URLs).
    """

    def __init__(
        self,
        *,
        brand: str,
        app_id: str,
        input_id: str,
        clock: Clock,
        scenario: ScenarioLike,
        timing: TimingModel,
        seed: int | None,
        expire_after: float | None,
        visibility_delay: float,
        merged_customers: Mapping[int, int] | None = None,
        pending_deactivation: Collection[int] | None = None,
        merged_status: int = 400,
        omatch_inputs: Collection[str] | None = None,
    ) -> None:
        self.brand = brand
        self.app_id = app_id
        self.input_id = input_id
        self.clock = clock
        self.source: Scenario | Mix = to_source(scenario)
        self.seed = seed
        self.rng = random.Random(seed)
        self.timing: TimingModel = timing.resolved(self.rng)
        self.ids = IdSource(None if seed is None else seed + 1)
        self.expire_after = expire_after
        self.visibility_delay = visibility_delay
        self.customers = Customers(
            self.ids,
            merged=merged_customers,
            pending_deactivation=pending_deactivation,
            merged_status=merged_status,
        )
        self.omatch_inputs: set[str] = set(omatch_inputs or ())
        self.transactions: dict[int, QueuedTransaction] = {}
        self.orders: dict[int, QueuedOrder] = {}
        self.lookups_after_terminal: Counter[int] = Counter()
        self.history = OrderHistory(now=clock.now, order_of=self.orders.__getitem__)
        self.script: list[Scenario | Mix] = []
        self.base_url = ""

    @property
    def paths(self) -> str:
        """The start of every service's URL: ``{base_url}/webservices/rest/brand/{brand}/``."""
        return f"{self.base_url}/webservices/rest/brand/{self.brand}/"

    def transaction_url(self, transaction_id: int) -> str:
        """The Transaction Lookup URL of ``transaction_id``, as the POST answers give it."""
        return f"{self.paths}transaction/{transaction_id}/*"

    # -- credentials ---------------------------------------------------------

    def check_app_id(self, app_id: str | None) -> None:
        """Every service needs the brand's ``x-omeda-appid``."""
        if app_id != self.app_id:
            raise Refusal(403, "Access denied: the x-omeda-appid header is missing or not valid.")

    def check_content_type(self, service: str, content_type: str | None) -> None:
        """Refuse a content type other than JSON, the one the pages list as supported.

        Every page but Save Customer and Order adds "If omitted, the default
        content type is application/json"; that one requires the header.
        """
        if content_type is None:
            if service == "storecustomerandorder":
                raise Refusal(400, "The content-type header is required: use application/json.")
            return
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise Refusal(400, "Unsupported content type: this resource accepts application/json.")

    def input_for(self, service: str, input_id: str | None) -> str:
        """The input a POST is processed with: its ``x-omeda-inputid``, checked.

        storecustomerandorder requires one; Add Order falls back to "the
        x-omeda-appid's default inputid".
        """
        if input_id is None:
            if service == "storecustomerandorder":
                raise Refusal(400, "The x-omeda-inputid header is required.")
            return self.input_id
        if input_id != self.input_id and input_id not in self.omatch_inputs:
            raise Refusal(400, f"The x-omeda-inputid is not valid for brand {self.brand}.")
        return input_id

    # -- POST services -------------------------------------------------------

    def store_customer_and_order(self, body: dict[str, Any], input_id: str) -> dict[str, Any]:
        """Save Customer and Order: validate, queue on a drawn path; the ``ResponseInfo``."""
        violations = _violations(body, order=False)
        if violations:
            raise Refusal(400, *violations)
        customers = self.customers
        customers.check(body)
        # Not on the pages: Omeda's production users send it to have the record
        # processed at once and its customer identified in the answer.
        run_processor = int_or_none(body.get("RunProcessor")) == 1
        if run_processor and input_id in self.omatch_inputs:
            raise Refusal(
                400, "RunProcessor cannot process this submission: its input includes Omatch."
            )
        source = self.script.pop(0) if self.script else self.source
        scenario = source.draw(self.rng) if isinstance(source, Mix) else source
        now = self.clock.now()
        scenario = self.timing.path(scenario, queued_at=now, rng=self.rng)

        posted = int_or_none(body.get("OmedaCustomerId"))
        client_customer_id = body.get("ClientCustomerId")
        customer_from = scenario.customer_from
        customer_id: int | None
        if scenario.makes_new_customer:
            customer_id = customers.new()
        elif posted is not None:
            customer_id, customer_from = posted, 0
        elif customer_from is not None:
            # An existing customer found by dupe check: a stable id per ClientCustomerId.
            customer_id = (
                customers.of_client(client_customer_id)
                if client_customer_id is not None
                else customers.new()
            )
        else:
            customer_id = None

        transaction_id = self.ids.transaction()
        tx = QueuedTransaction(
            transaction_id=transaction_id,
            body=body,
            input_id=input_id,
            scenario=scenario,
            created_at=now,
            customer_id=customer_id,
            client_customer_id=client_customer_id,
            customer_from=customer_from if customer_id is not None else None,
            processed_at=now if run_processor else None,
        )
        self.transactions[transaction_id] = tx
        if customer_id is not None:
            self.history.add_transaction(customer_id, tx)
        info: dict[str, Any] = {
            "TransactionId": transaction_id,
            "Url": self.transaction_url(transaction_id),
        }
        if run_processor and customer_id is not None:
            info["CustomerId"] = customer_id
            info["EncryptedCustomerId"] = customers.encrypted(customer_id)
        return {"ResponseInfo": [info]}

    def visible(self, transaction_id: int | None, now: float) -> QueuedTransaction | None:
        """The transaction a lookup finds at ``now``: None if unknown, not yet shown or expired."""
        if transaction_id is None:
            return None
        tx = self.transactions.get(transaction_id)
        if tx is None:
            return None
        age = now - tx.created_at
        if age < self.visibility_delay and tx.processed_at is None:
            return None
        if self.expire_after is not None and age >= self.expire_after:
            return None
        return tx

    def add_order(self, body: dict[str, Any], input_id: str) -> dict[str, Any]:
        """Add Order: validate, attach to a customer or transaction; the ``ResponseInfo``."""
        violations = _violations(body, order=True)
        if violations:
            raise Refusal(400, *violations)
        self.customers.check(body)
        now = self.clock.now()
        run_processor = int_or_none(body.get("RunProcessor")) == 1
        tx: QueuedTransaction | None = None
        customer_id = int_or_none(body.get("OmedaCustomerId"))
        if "TransactionId" in body:
            transaction_id = int_or_none(body.get("TransactionId"))
            # Attaching needs the transaction to exist, visible or not yet.
            tx = self.transactions.get(transaction_id) if transaction_id is not None else None
            if tx is None or (
                self.expire_after is not None and now - tx.created_at >= self.expire_after
            ):
                raise Refusal(
                    400, f"TransactionId {body.get('TransactionId')} is not a valid transaction."
                )
            if run_processor and tx.processed_at is None:
                tx.processed_at = now
            customer_id = tx.customer_id
        elif customer_id is None and body.get("ClientCustomerId") is not None:
            customer_id = self.customers.of_client(body["ClientCustomerId"])

        order_id = self.ids.order()
        order = QueuedOrder(
            order_id=order_id,
            body=body,
            input_id=input_id,
            created_at=now,
            customer_id=customer_id,
            transaction_id=tx.transaction_id if tx is not None else None,
            run_processor=run_processor,
        )
        self.orders[order_id] = order
        if tx is not None:
            tx.order_ids.append(order_id)
        elif customer_id is not None:
            self.history.add_order(customer_id, order)
        info: dict[str, Any] = {"OrderId": order_id, "Url": f"{self.paths}order/{order_id}/*"}
        if run_processor and customer_id is not None:
            info["CustomerId"] = customer_id
            info["CustomerUrl"] = f"{self.paths}customer/{customer_id}/*"
        return {"ResponseInfo": [info]}

    def run_processor(self, body: Any) -> dict[str, Any]:
        """Run Processor: every listed transaction to its final code now, or none of them."""
        ids: list[int] = []
        process = body.get("Process") if isinstance(body, dict) else None
        if not isinstance(process, list) or not process:
            raise Refusal(400, 'The body must be {"Process":[{"TransactionId":[...]}]}.')
        for item in process:
            listed = item.get("TransactionId") if isinstance(item, dict) else None
            if isinstance(listed, int | str):
                listed = [listed]
            if not isinstance(listed, list) or not listed:
                raise Refusal(400, "Each Process item needs a TransactionId list.")
            for value in listed:
                transaction_id = int_or_none(value)
                if transaction_id is None:
                    raise Refusal(400, f"TransactionId {value!r} is not a number.")
                ids.append(transaction_id)
        now = self.clock.now()
        found: list[QueuedTransaction] = []
        # All or nothing: every id is checked before any is processed.
        for transaction_id in ids:
            tx = self.visible(transaction_id, now)
            if tx is None:
                raise Refusal(404, f"No status found for transaction {transaction_id}.")
            found.append(tx)
        for tx in found:
            if tx.input_id in self.omatch_inputs:
                raise Refusal(
                    400,
                    f"Transaction {tx.transaction_id} cannot be processed: its input "
                    "includes Omatch.",
                )
        for tx in found:
            if tx.index_at(now) == len(tx.scenario.steps) - 1:
                raise Refusal(403, f"Transaction {tx.transaction_id} has already been processed.")
        batch: list[dict[str, Any]] = []
        for tx in found:
            tx.processed_at = now
            status: dict[str, Any] = {"TransactionId": tx.transaction_id}
            if tx.customer_id is not None:
                status["OmedaCustomerId"] = tx.customer_id
            status["TransactionStatusId"] = int(tx.scenario.final.status)
            status["Success"] = "true"
            batch.append(status)
        return {"BatchStatus": batch, "SubmissionId": self.ids.submission()}

    # -- GET services --------------------------------------------------------

    def lookup(self, raw_id: str) -> str:
        """Transaction Lookup: the answer's JSON text, in the page's shape and order."""
        now = self.clock.now()
        tx = self.visible(int_or_none(raw_id), now)
        if tx is None:
            raise Refusal(404, f"No status found for transaction {raw_id}.")
        if tx.answered_terminal:
            self.lookups_after_terminal[tx.transaction_id] += 1
        scenario = tx.scenario
        index = tx.index_at(now)
        step = scenario.steps[index]
        if scenario.is_terminal_index(index):
            tx.answered_terminal = True
        # Hand-written JSON: the page's flat shape, in the page's order, and
        # the one place json.dumps cannot go (a repeated "Error" key).
        text = f'{{"TransactionId":{tx.transaction_id},"Status":{int(step.status)}'
        if tx.customer_from is not None and index >= tx.customer_from:
            text += f',"OmedaCustomerId":{tx.customer_id}'
        if tx.client_customer_id is not None:
            text += f',"ClientCustomerId":{_compact_json(tx.client_customer_id)}'
        if step.errors:
            if scenario.repeat_error_keys:
                pairs = ",".join(f'"Error":{_compact_json(e)}' for e in step.errors)
                text += f',"Errors":[{{{pairs}}}]'
            else:
                items = ",".join(f'{{"Error":{_compact_json(e)}}}' for e in step.errors)
                text += f',"Errors":[{items}]'
        return text + f',"SubmissionId":"{self.ids.submission()}"}}'

    def order_issue_history(
        self, raw_customer: str, raw_product: str | None = None
    ) -> dict[str, Any]:
        """Order Issue History Lookup by customer id (and product id)."""
        customer = self.customers.resolve(raw_customer)
        history = self.history.products(customer, raw_product)
        if not history:
            raise Refusal(404, f"No purchases found for customer {raw_customer}.")
        return {
            "Customer": f"{self.paths}customer/{raw_customer}/*",
            "SubmissionId": self.ids.submission(),
            "OrderHistory": history,
        }

    # -- what tests ask ------------------------------------------------------

    def duplicates(self) -> list[Duplicate]:
        """Bodies queued more than once (same canonical JSON), per service."""
        groups: dict[tuple[str, str], list[int]] = {}
        bodies: dict[tuple[str, str], dict[str, Any]] = {}
        queued: list[tuple[str, int, dict[str, Any]]] = [
            ("storecustomerandorder", tid, tx.body) for tid, tx in self.transactions.items()
        ]
        queued += [("orderqueue", oid, order.body) for oid, order in self.orders.items()]
        for service, item_id, body in queued:
            key = (service, json.dumps(body, sort_keys=True, separators=(",", ":")))
            groups.setdefault(key, []).append(item_id)
            bodies.setdefault(key, body)
        return [
            Duplicate(service=key[0], ids=tuple(ids), body=bodies[key])
            for key, ids in groups.items()
            if len(ids) > 1
        ]

    def error_body(self, messages: tuple[str, ...], extra: Mapping[str, Any] | None) -> str:
        """Omeda's error answer: a SubmissionId and one ``Errors`` item per message."""
        errors: list[dict[str, Any]] = []
        for message in messages:
            item: dict[str, Any] = dict(extra) if extra else {}
            item["Error"] = message
            errors.append(item)
        return json.dumps({"SubmissionId": self.ids.submission(), "Errors": errors})


def _violations(body: dict[str, Any], *, order: bool) -> list[str]:
    """Every documented rule ``body`` breaks, as Omeda's messages (the project's validator)."""
    violations = validate(body, schema=Order) if order else validate(body)
    return [violation.message for violation in violations]
