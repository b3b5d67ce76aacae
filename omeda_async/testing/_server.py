"""FakeOmeda: Omeda's customer/order services on 127.0.0.1, for tests, demos and benchmarks.

It speaks the services as Omeda's pages describe them, under
``/webservices/rest/brand/{brand}/`` with the trailing ``/*``:

- ``POST storecustomerandorder/*`` (Save Customer and Order, free and paid)
- ``POST orderqueue/*`` (Add Order)
- ``GET transaction/{id}/*`` (Transaction Lookup)
- ``GET customer/{id}/orderissuehistory/*`` and ``.../orderissuehistory/product/{pid}/*``
- ``POST runprocessor/*`` (Run Processor, see DESIGN.md)

Each queued transaction follows a status path (:mod:`._scenarios`) on the
fake's clock; faults (:mod:`._faults`) are injected at chosen rates or from a
script; everything received is recorded for assertions.

Bodies are checked with the project's own validator (one source of truth).
Handlers are kept lean (one dispatch function on aiohttp's low-level server,
hand-written JSON for lookups) so the fake never limits a benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import random
import secrets
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final

import attrs
from aiohttp import web

from omeda_async._client import OmedaClient
from omeda_async._clock import Clock, ScaledClock
from omeda_async._status import Outcome, StatusCode
from omeda_async.models import Order, validate
from omeda_async.testing._faults import FaultKind, Faults
from omeda_async.testing._scenarios import Mix, Scenario, ScenarioLike, to_source
from omeda_async.testing._timing import Batch, Spread, TimingModel

__all__ = ["Duplicate", "FakeOmeda", "QueuedOrder", "QueuedTransaction", "RecordedRequest"]

_PREFIX: Final = "/webservices/rest/brand/"
_MASK: Final = "***"
_SECRET_HEADERS: Final = frozenset({"x-omeda-appid", "x-omeda-inputid"})
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_JSON: Final = "application/json"
_HTML_PAGE: Final = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The proxy could not reach Omeda.</p></body></html>"
)
_SPREAD: Final = Spread()
_DONE_OUTCOMES: Final = frozenset({Outcome.SUCCEEDED, Outcome.PARTIAL})
_ALLOW: Final = MappingProxyType(
    {
        "storecustomerandorder": "POST",
        "orderqueue": "POST",
        "runprocessor": "POST",
        "transaction": "GET",
        "orderissuehistory": "GET",
    }
)


def _compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _int_or_none(value: object) -> int | None:
    """An id as Omeda may send it (a number or a digit string), or None."""
    if type(value) is str and value.isdigit():  # the lookup path's fast case
        return int(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _lookup_key(raw_id: str) -> int:
    """The ``lookups`` key of a looked-up id (-1 for one that is not a number)."""
    transaction_id = _int_or_none(raw_id)
    return transaction_id if transaction_id is not None else -1


def _customer_key(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _mask_card(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` whose card number, security code and expiry are masked."""
    billing = body.get("BillingInformation")
    if not isinstance(billing, dict):
        return body
    masked = dict(billing)
    number = masked.get("CreditCardNumber")
    if isinstance(number, str | int) and str(number):
        digits = str(number)
        masked["CreditCardNumber"] = "*" * max(0, len(digits) - 4) + digits[-4:]
    for key in ("CardSecurityCode", "ExpirationDate"):
        if key in masked:
            masked[key] = _MASK
    return {**body, "BillingInformation": masked}


@attrs.frozen
class RecordedRequest:
    """One request FakeOmeda received.

    ``headers`` has ``x-omeda-appid`` and ``x-omeda-inputid`` masked as ``"***"``;
    ``body`` is the parsed JSON (card number, security code and expiry masked),
    or the raw text if it was not JSON; both are empty when the fake was made
    with ``record_bodies=False``. ``service`` is None for an unknown path;
    ``at`` is the time on the fake's clock.
    """

    method: str
    path: str
    service: str | None
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: Any = attrs.field(repr=False)
    at: float


@attrs.define(eq=False)
class QueuedTransaction:
    """A transaction queued by ``storecustomerandorder``.

    ``scenario`` is its status path, ``created_at`` the fake-clock time it was
    queued, ``customer_id`` the OmedaCustomerId its path ends with (None when
    the path never gets that far), ``processed_at`` when Run Processor (or an
    Add Order with ``RunProcessor: 1``) jumped it to its final status.
    ``body`` and ``input_id`` are kept but never shown in ``repr``.
    """

    transaction_id: int
    body: dict[str, Any] = attrs.field(repr=False)
    input_id: str = attrs.field(repr=False)
    scenario: Scenario = attrs.field(repr=lambda scenario: repr(scenario.name))
    created_at: float
    customer_id: int | None
    client_customer_id: Any
    customer_from: int | None = attrs.field(repr=False)
    processed_at: float | None = None
    answered_terminal: bool = attrs.field(default=False, repr=False)
    order_ids: list[int] = attrs.field(factory=list, repr=False)

    @property
    def path(self) -> Scenario:
        """The status path it follows (the same as ``scenario``)."""
        return self.scenario

    def index_at(self, now: float) -> int:
        """The index of the current step of ``scenario`` at fake-clock time ``now``."""
        if self.processed_at is not None and now >= self.processed_at:
            return len(self.scenario.steps) - 1
        return self.scenario.index_at(now - self.created_at)

    def status_at(self, now: float) -> StatusCode:
        """The status Transaction Lookup shows at fake-clock time ``now``."""
        return self.scenario.steps[self.index_at(now)].status

    def finished_at(self) -> float:
        """The fake-clock time the final status is (or will be) reached."""
        natural = self.created_at + self.scenario.total_seconds
        return natural if self.processed_at is None else min(natural, self.processed_at)


@attrs.define(eq=False)
class QueuedOrder:
    """An order queued by ``orderqueue`` (Add Order).

    ``customer_id`` is the customer it resolved to (None until known: an
    order naming a ``TransactionId`` gets its customer when that transaction
    is processed); ``transaction_id`` the transaction it is attached to.
    """

    order_id: int
    body: dict[str, Any] = attrs.field(repr=False)
    input_id: str = attrs.field(repr=False)
    created_at: float
    customer_id: int | None
    transaction_id: int | None
    run_processor: bool


@attrs.frozen
class Duplicate:
    """Identical bodies queued more than once on ``service``: the ids they got."""

    service: str
    ids: tuple[int, ...]
    body: dict[str, Any] = attrs.field(repr=False)


class _Answer(Exception):
    """Raised inside a handler to answer at once with an error body."""

    def __init__(self, status: int, *messages: str, extra: Mapping[str, Any] | None = None):
        super().__init__(status)
        self.status = status
        self.messages = messages
        self.extra = extra


class FakeOmeda:
    """A faithful local Omeda: an ``aiohttp.web`` server on 127.0.0.1.

    ``async with FakeOmeda(time_scale=1000, seed=1) as fake:`` starts it;
    ``fake.client()`` is an ``OmedaClient`` wired to it (same brand,
    credentials and clock). Configuration, all keyword-only:

    - ``brand``, ``app_id``, ``input_id``: what requests must carry (random
      credentials per instance by default); ``host`` (loopback only), ``port`` (0: any).
    - ``time_scale``: how much faster than real time the fake's clock runs
      (``clock`` replaces it with any ``Clock``). Status paths advance on it.
    - ``scenario``: a name from ``SCENARIOS``, a ``Scenario``, a ``Mix`` or
      ``{name: weight}``; ``seed`` makes random draws reproducible.
      ``script_next()`` overrides it for the next submissions.
    - ``timing``: when a record passes through its path's codes.
      ``Spread()`` (default): each code after its own pause, as the path's
      durations say. ``Batch(every=900)``: Omeda's processor runs every
      ``every`` fake seconds and takes what was queued before the run, in
      order; records wait at status 0, then pass through their codes within a
      minute. Scripted paths are timed the same way.
    - ``expire_after``: fake seconds after queuing a transaction answers 404
      (Omeda keeps them "not necessarily ... indefinitely"); ``visibility_delay``:
      fake seconds a new transaction answers 404 first, as a real queue may.
    - ``merged_customers`` ``{customer_id: merged_into_id}``,
      ``pending_deactivation`` ``{customer_id}``: posting for these ids fails
      as Omeda documents. ``omatch_inputs``: input ids whose flow includes
      Omatch (valid inputs; Run Processor refuses their transactions).
    - ``faults``: a ``Faults`` or ``{kind: rate}``; ``fake.faults.script(...)``.
    - ``record_bodies``: record headers and bodies of requests (off for benchmarks).
    """

    def __init__(
        self,
        *,
        brand: str = "TESTBRAND",
        app_id: str | None = None,
        input_id: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
        clock: Clock | None = None,
        scenario: ScenarioLike = "new_customer",
        timing: TimingModel = _SPREAD,
        seed: int | None = None,
        expire_after: float | None = None,
        visibility_delay: float = 0.0,
        merged_customers: Mapping[int, int] | None = None,
        pending_deactivation: Collection[int] | None = None,
        omatch_inputs: Collection[str] | None = None,
        faults: Faults | Mapping[str, float] | None = None,
        record_bodies: bool = True,
    ) -> None:
        if not brand or "/" in brand:
            raise ValueError(f"brand must be a non-empty path segment, not {brand!r}")
        if host not in _LOOPBACK:
            raise ValueError(f"FakeOmeda listens on loopback only, not {host!r}")
        if expire_after is not None and not expire_after > 0:
            raise ValueError(f"expire_after must be > 0 or None, not {expire_after!r}")
        if not visibility_delay >= 0:
            raise ValueError(f"visibility_delay must be >= 0, not {visibility_delay!r}")
        self._brand = brand
        self._app_id = app_id if app_id is not None else secrets.token_hex(16)
        self._input_id = input_id if input_id is not None else secrets.token_hex(8)
        self._host = host
        self._requested_port = port
        self._clock: Clock = clock if clock is not None else ScaledClock(time_scale)
        self._source: Scenario | Mix = to_source(scenario)
        self._seed = seed
        self._rng = random.Random(seed)
        if not isinstance(timing, Spread | Batch):
            raise TypeError(f"timing must be Spread() or Batch(...), not {timing!r}")
        self._timing: TimingModel = timing.resolved(self._rng)
        # Ids and SubmissionIds come from their own generator so that how many
        # lookups happened never changes which scenarios are drawn.
        self._id_rng = random.Random(None if seed is None else seed + 1)
        self.expire_after: float | None = expire_after
        """Fake-clock seconds after queuing a transaction answers 404 (None: never)."""
        self.visibility_delay: float = float(visibility_delay)
        """Fake-clock seconds a new transaction answers 404 before it shows."""
        self.merged_customers: dict[int, int] = dict(merged_customers or {})
        """``{customer_id: merged_into_id}``: posts naming these get the merged error."""
        self.pending_deactivation: set[int] = set(pending_deactivation or ())
        """Customer ids whose posts get "pending deactivation"."""
        self.omatch_inputs: set[str] = set(omatch_inputs or ())
        """Input ids (valid ones) whose flow includes Omatch: Run Processor answers 400."""
        if isinstance(faults, Faults):
            self.faults = faults
        else:
            self.faults = Faults(rates=faults or {}, seed=None if seed is None else seed + 2)
        self.record_bodies = record_bodies

        self.requests: list[RecordedRequest] = []
        """Every request received, in order."""
        self.transactions: dict[int, QueuedTransaction] = {}
        """Queued transactions by TransactionId."""
        self.orders: dict[int, QueuedOrder] = {}
        """Queued orders by OrderId."""
        self.lookups: Counter[int] = Counter()
        """Transaction Lookups per transaction id (unknown ids included)."""
        self.lookups_after_terminal: Counter[int] = Counter()
        """Lookups of a transaction after the fake had already answered it with a terminal code."""
        self.max_in_flight = 0
        """The most requests handled at once."""
        self.max_in_flight_by_service: Counter[str] = Counter()
        """The most requests handled at once, per service (``"transaction"``: lookups)."""
        self.in_flight = 0
        self._in_flight_by_service: Counter[str] = Counter()

        self._script: list[Scenario | Mix] = []
        self._history: dict[int | str, dict[int | str, tuple[list[Any], list[Any]]]] = {}
        self._customer_transactions: dict[int, list[QueuedTransaction]] = {}
        self._customer_orders: dict[int, list[QueuedOrder]] = {}
        self._client_customers: dict[str, int] = {}
        self._next_transaction = self._id_rng.randint(10_000_000, 49_999_999)
        self._next_order = self._id_rng.randint(10_000, 99_999)
        self._next_customer = self._id_rng.randint(100_000_000, 499_999_999)
        self._wall_origin = datetime.datetime.now() - datetime.timedelta(seconds=self._clock.now())

        self._runner: web.ServerRunner | None = None
        self._closing = asyncio.Event()
        self._closed = False
        self._port: int | None = None
        self._prefix = f"{_PREFIX}{brand}/"

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        source = self._source
        scenario = repr(source.name) if isinstance(source, Scenario) else repr(source)
        return (
            f"FakeOmeda({where!r}, brand={self._brand!r}, clock={self._clock!r}, "
            f"scenario={scenario}, timing={self._timing!r})"
        )

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Start listening (``async with`` does this)."""
        if self._closed:
            raise RuntimeError("this FakeOmeda is closed; make a new one")
        if self._runner is not None:
            raise RuntimeError("this FakeOmeda is already started")
        server = web.Server(self._dispatch, access_log=None)
        # A short shutdown timeout: slow answers end at close() anyway.
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening and drop open connections; idempotent."""
        self._closed = True
        self._closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeOmeda:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- configuration and helpers -------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give a client, ``http://127.0.0.1:PORT`` (once started)."""
        if self._port is None:
            raise RuntimeError("FakeOmeda is not started; use `async with` or await start()")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def port(self) -> int:
        """The port it listens on (once started)."""
        if self._port is None:
            raise RuntimeError("FakeOmeda is not started")
        return self._port

    @property
    def brand(self) -> str:
        """The brand abbreviation in every path."""
        return self._brand

    @property
    def app_id(self) -> str:
        """The ``x-omeda-appid`` requests must carry (a test credential)."""
        return self._app_id

    @property
    def input_id(self) -> str:
        """The default ``x-omeda-inputid`` (a test credential)."""
        return self._input_id

    @property
    def clock(self) -> Clock:
        """The fake's clock: status paths advance on it; clients made by ``client()`` share it."""
        return self._clock

    @property
    def timing(self) -> TimingModel:
        """The timing model: ``Spread()`` or ``Batch(...)`` (its ``phase`` drawn if it was None)."""
        return self._timing

    @property
    def seed(self) -> int | None:
        """The seed random draws start from (None: unseeded)."""
        return self._seed

    @property
    def scenario(self) -> Scenario | Mix:
        """What each new submission's status path is drawn from."""
        return self._source

    @scenario.setter
    def scenario(self, value: ScenarioLike) -> None:
        self._source = to_source(value)

    def client(self, **overrides: Any) -> OmedaClient:
        """An ``OmedaClient`` wired to this fake: brand, credentials, base_url and clock set.

        Any keyword given replaces the default (e.g. ``app_id="wrong"``, ``timeout=0.2``).
        """
        options: dict[str, Any] = {
            "brand": self._brand,
            "app_id": self._app_id,
            "input_id": self._input_id,
            "base_url": self.url,
            "clock": self._clock,
        }
        options.update(overrides)
        return OmedaClient(**options)

    def script_next(self, *paths: ScenarioLike) -> None:
        """Use these paths, in order, for the next submissions (one each).

        Each is a scenario name, a ``Scenario``, a ``Mix`` or a list of steps
        (``[7, (29, 60), (9, 0, ["bad email"])]``); afterwards the fake goes
        back to its ``scenario``.
        """
        self._script.extend(to_source(path) for path in paths)

    def transaction_url(self, transaction_id: int) -> str:
        """The Transaction Lookup URL of ``transaction_id``, as the POST answers give it."""
        return f"{self.url}{self._prefix}transaction/{transaction_id}/*"

    def status_of(self, transaction_id: int) -> StatusCode:
        """The status a transaction has now (not counted as a lookup; ignores expiry)."""
        return self.transactions[transaction_id].status_at(self._clock.now())

    def add_order_history(
        self,
        customer_id: int | str,
        product_id: int | str,
        *,
        orders: Iterable[Mapping[str, Any]] = (),
        issues: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Seed Order Issue History: ``orders`` and ``issues`` (dicts in the page's shape)."""
        per_customer = self._history.setdefault(customer_id, {})
        seeded_orders, seeded_issues = per_customer.setdefault(product_id, ([], []))
        seeded_orders.extend(dict(order) for order in orders)
        seeded_issues.extend(dict(issue) for issue in issues)

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

    def reset_records(self) -> None:
        """Forget recorded requests, lookup counts, in-flight peaks and injected-fault counts.

        Queued transactions and orders stay: they are the fake's state.
        """
        self.requests.clear()
        self.lookups.clear()
        self.lookups_after_terminal.clear()
        self.max_in_flight = 0
        self.max_in_flight_by_service.clear()
        self.faults.injected.clear()

    # -- dispatch ------------------------------------------------------------

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        method = request.method
        service, params = self._route(path)
        body: Any = None
        if method == "POST":
            raw = await request.read()
            body = self._parse(raw)
        if self.record_bodies:
            headers = {
                key: (_MASK if key.lower() in _SECRET_HEADERS else value)
                for key, value in request.headers.items()
            }
            recorded = _mask_card(body) if isinstance(body, dict) else body
            self.requests.append(
                RecordedRequest(method, path, service, headers, recorded, self._clock.now())
            )
        else:
            self.requests.append(
                RecordedRequest(method, path, service, {}, None, self._clock.now())
            )

        if service is None:
            return self._error(404, f"No resource at {path}.")
        allowed = _ALLOW[service]
        if method != allowed:
            response = self._error(405, f"Method {method} is not allowed; use {allowed}.")
            response.headers["Allow"] = allowed
            return response

        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        per_service = self._in_flight_by_service
        per_service[service] += 1
        if per_service[service] > self.max_in_flight_by_service[service]:
            self.max_in_flight_by_service[service] = per_service[service]
        try:
            if service == "transaction":
                # Counted before any fault: lookups are what the client sent.
                self.lookups[_lookup_key(params[0])] += 1
            fault = self.faults.choose(service, method)
            if fault is not None and fault.before_handling:
                return self._fault_answer(fault)
            try:
                response = self._handle(service, params, request, body)
            except _Answer as answer:
                response = self._error(answer.status, *answer.messages, extra=answer.extra)
            if fault is None:
                return response
            return await self._mangle(fault, request, response)
        finally:
            self.in_flight -= 1
            per_service[service] -= 1

    def _route(self, path: str) -> tuple[str | None, tuple[str, ...]]:
        if not path.startswith(self._prefix) or not path.endswith("/*"):
            return None, ()
        parts = path[len(self._prefix) : -2].split("/")
        count = len(parts)
        head = parts[0]
        if count == 1 and head in ("storecustomerandorder", "orderqueue", "runprocessor"):
            return head, ()
        if count == 2 and head == "transaction" and parts[1]:
            return "transaction", (parts[1],)
        if count >= 3 and head == "customer" and parts[1] and parts[2] == "orderissuehistory":
            if count == 3:
                return "orderissuehistory", (parts[1],)
            if count == 5 and parts[3] == "product" and parts[4]:
                return "orderissuehistory", (parts[1], parts[4])
        return None, ()

    @staticmethod
    def _parse(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return raw.decode("utf-8", "replace")

    def _handle(
        self, service: str, params: tuple[str, ...], request: web.BaseRequest, body: Any
    ) -> web.Response:
        headers = request.headers
        if headers.get("x-omeda-appid") != self._app_id:
            raise _Answer(403, "Access denied: the x-omeda-appid header is missing or not valid.")
        if service == "transaction":
            return self._lookup(params[0])
        if service == "orderissuehistory":
            return self._order_issue_history(*params)
        if service == "runprocessor":
            return self._run_processor(body)
        input_id = headers.get("x-omeda-inputid")
        if input_id is None:
            if service == "storecustomerandorder":
                raise _Answer(400, "The x-omeda-inputid header is required.")
            input_id = self._input_id  # Add Order: "the x-omeda-appid's default inputid"
        elif input_id != self._input_id and input_id not in self.omatch_inputs:
            raise _Answer(400, f"The x-omeda-inputid is not valid for brand {self._brand}.")
        if not isinstance(body, dict):
            raise _Answer(400, "The request body must be a JSON object.")
        if service == "storecustomerandorder":
            return self._store_customer_and_order(body, input_id)
        return self._add_order(body, input_id)

    # -- POST services -------------------------------------------------------

    def _check_customer(self, body: Mapping[str, Any]) -> None:
        customer_id = _int_or_none(body.get("OmedaCustomerId"))
        if customer_id is None:
            return
        merged_into = self.merged_customers.get(customer_id)
        if merged_into is not None:
            raise _Answer(
                400,
                f"Customer id {customer_id} is valid but not active. Please use {merged_into}.",
                extra={"MergedIntoCustomerId": merged_into},
            )
        if customer_id in self.pending_deactivation:
            raise _Answer(
                400,
                f"OmedaCustomerId {customer_id} is pending deactivation. Please try again later.",
            )

    def _new_customer_id(self) -> int:
        self._next_customer += 1
        return self._next_customer

    def _client_customer(self, client_customer_id: Any) -> int:
        key = str(client_customer_id)
        found = self._client_customers.get(key)
        if found is None:
            found = self._client_customers[key] = self._new_customer_id()
        return found

    def _store_customer_and_order(self, body: dict[str, Any], input_id: str) -> web.Response:
        violations = _validate(body, order=False)
        if violations:
            raise _Answer(400, *violations)
        self._check_customer(body)
        source = self._script.pop(0) if self._script else self._source
        scenario = source.draw(self._rng) if isinstance(source, Mix) else source
        now = self._clock.now()
        scenario = self._timing.path(scenario, queued_at=now, rng=self._rng)

        posted = _int_or_none(body.get("OmedaCustomerId"))
        client_customer_id = body.get("ClientCustomerId")
        customer_from = scenario.customer_from
        customer_id: int | None
        if scenario.makes_new_customer:
            customer_id = self._new_customer_id()
        elif posted is not None:
            customer_id, customer_from = posted, 0
        elif customer_from is not None:
            # An existing customer found by dupe check: a stable id per ClientCustomerId.
            customer_id = (
                self._client_customer(client_customer_id)
                if client_customer_id is not None
                else self._new_customer_id()
            )
        else:
            customer_id = None

        self._next_transaction += 1
        transaction_id = self._next_transaction
        tx = QueuedTransaction(
            transaction_id=transaction_id,
            body=body,
            input_id=input_id,
            scenario=scenario,
            created_at=now,
            customer_id=customer_id,
            client_customer_id=client_customer_id,
            customer_from=customer_from if customer_id is not None else None,
        )
        self.transactions[transaction_id] = tx
        if customer_id is not None:
            self._customer_transactions.setdefault(customer_id, []).append(tx)
        info = {"TransactionId": transaction_id, "Url": self.transaction_url(transaction_id)}
        return _json_response(200, {"ResponseInfo": [info]})

    def _visible(self, transaction_id: int | None, now: float) -> QueuedTransaction | None:
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

    def _add_order(self, body: dict[str, Any], input_id: str) -> web.Response:
        violations = _validate(body, order=True)
        if violations:
            raise _Answer(400, *violations)
        self._check_customer(body)
        now = self._clock.now()
        run_processor = _int_or_none(body.get("RunProcessor")) == 1
        tx: QueuedTransaction | None = None
        customer_id = _int_or_none(body.get("OmedaCustomerId"))
        if "TransactionId" in body:
            transaction_id = _int_or_none(body.get("TransactionId"))
            # Attaching needs the transaction to exist, visible or not yet.
            tx = self.transactions.get(transaction_id) if transaction_id is not None else None
            if tx is None or (
                self.expire_after is not None and now - tx.created_at >= self.expire_after
            ):
                raise _Answer(
                    400, f"TransactionId {body.get('TransactionId')} is not a valid transaction."
                )
            if run_processor and tx.processed_at is None:
                tx.processed_at = now
            customer_id = tx.customer_id
        elif customer_id is None and body.get("ClientCustomerId") is not None:
            customer_id = self._client_customer(body["ClientCustomerId"])

        self._next_order += 1
        order_id = self._next_order
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
            self._customer_orders.setdefault(customer_id, []).append(order)
        info: dict[str, Any] = {
            "OrderId": order_id,
            "Url": f"{self.url}{self._prefix}order/{order_id}/*",
        }
        if run_processor and customer_id is not None:
            info["CustomerId"] = customer_id
            info["CustomerUrl"] = f"{self.url}{self._prefix}customer/{customer_id}/*"
        return _json_response(200, {"ResponseInfo": [info]})

    def _run_processor(self, body: Any) -> web.Response:
        ids: list[int] = []
        process = body.get("Process") if isinstance(body, dict) else None
        if not isinstance(process, list) or not process:
            raise _Answer(400, 'The body must be {"Process":[{"TransactionId":[...]}]}.')
        for item in process:
            listed = item.get("TransactionId") if isinstance(item, dict) else None
            if isinstance(listed, int | str):
                listed = [listed]
            if not isinstance(listed, list) or not listed:
                raise _Answer(400, "Each Process item needs a TransactionId list.")
            for value in listed:
                transaction_id = _int_or_none(value)
                if transaction_id is None:
                    raise _Answer(400, f"TransactionId {value!r} is not a number.")
                ids.append(transaction_id)
        now = self._clock.now()
        found: list[QueuedTransaction] = []
        # All or nothing: every id is checked before any is processed.
        for transaction_id in ids:
            tx = self._visible(transaction_id, now)
            if tx is None:
                raise _Answer(404, f"No status found for transaction {transaction_id}.")
            found.append(tx)
        for tx in found:
            if tx.input_id in self.omatch_inputs:
                raise _Answer(
                    400,
                    f"Transaction {tx.transaction_id} cannot be processed: its input "
                    "includes Omatch.",
                )
        for tx in found:
            if tx.index_at(now) == len(tx.scenario.steps) - 1:
                raise _Answer(403, f"Transaction {tx.transaction_id} has already been processed.")
        batch: list[dict[str, Any]] = []
        for tx in found:
            tx.processed_at = now
            status: dict[str, Any] = {"TransactionId": tx.transaction_id}
            if tx.customer_id is not None:
                status["OmedaCustomerId"] = tx.customer_id
            status["TransactionStatusId"] = int(tx.scenario.final.status)
            status["Success"] = "true"
            batch.append(status)
        return _json_response(200, {"BatchStatus": batch, "SubmissionId": self._submission_id()})

    # -- GET services --------------------------------------------------------

    def _lookup(self, raw_id: str) -> web.Response:
        transaction_id = _int_or_none(raw_id)
        now = self._clock.now()
        tx = self._visible(transaction_id, now)
        if tx is None:
            raise _Answer(404, f"No status found for transaction {raw_id}.")
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
        text += f',"SubmissionId":"{self._submission_id()}"}}'
        return web.Response(body=text.encode(), status=200, content_type=_JSON)

    def _order_issue_history(
        self, raw_customer: str, raw_product: str | None = None
    ) -> web.Response:
        customer = _customer_key(raw_customer)
        product = _customer_key(raw_product) if raw_product is not None else None
        now = self._clock.now()
        products: dict[int | str, tuple[list[Any], list[Any]]] = {}

        def entry(product_id: int | str) -> tuple[list[Any], list[Any]]:
            return products.setdefault(product_id, ([], []))

        for product_id, (orders, issues) in self._history.get(customer, {}).items():
            if product is None or product_id == product:
                entry(product_id)[0].extend(orders)
                entry(product_id)[1].extend(issues)
        if isinstance(customer, int):
            for tx in self._customer_transactions.get(customer, ()):
                if tx.status_at(now).outcome not in _DONE_OUTCOMES:
                    continue
                changed = self._wall(tx.finished_at())
                sources = [tx.body, *(self.orders[oid].body for oid in tx.order_ids)]
                for body in sources:
                    self._add_products(entry, body, product, changed)
            for order in self._customer_orders.get(customer, ()):
                self._add_products(entry, order.body, product, self._wall(order.created_at))
        if not products:
            raise _Answer(404, f"No purchases found for customer {raw_customer}.")
        history = [
            {"Orders": orders, "Issues": issues, "ProductId": product_id}
            for product_id, (orders, issues) in products.items()
        ]
        customer_url = f"{self.url}{self._prefix}customer/{raw_customer}/*"
        return _json_response(
            200,
            {
                "Customer": customer_url,
                "SubmissionId": self._submission_id(),
                "OrderHistory": history,
            },
        )

    @staticmethod
    def _add_products(
        entry: Any, body: Mapping[str, Any], product: int | str | None, changed: str
    ) -> None:
        items = body.get("Products")
        if not isinstance(items, list):
            return
        for item in items:
            if not isinstance(item, dict):
                continue
            raw_id = item.get("OmedaProductId")
            product_id = _int_or_none(raw_id)
            key: int | str = product_id if product_id is not None else str(raw_id)
            if product is not None and key != product:
                continue
            entry(key)[0].append(_order_record(item, body, changed))

    def _wall(self, at: float) -> str:
        when = self._wall_origin + datetime.timedelta(seconds=at)
        return when.strftime("%Y-%m-%d %H:%M:%S")

    # -- answers -------------------------------------------------------------

    def _submission_id(self) -> str:
        # A version-4 UUID from the seeded generator, formatted by hand: it is
        # on every answer, and uuid.UUID costs several times more.
        h = f"{self._id_rng.getrandbits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def _error(
        self, status: int, *messages: str, extra: Mapping[str, Any] | None = None
    ) -> web.Response:
        errors: list[dict[str, Any]] = []
        for message in messages:
            item: dict[str, Any] = dict(extra) if extra else {}
            item["Error"] = message
            errors.append(item)
        return _json_response(status, {"SubmissionId": self._submission_id(), "Errors": errors})

    def _fault_answer(self, fault: FaultKind) -> web.Response:
        if fault is FaultKind.SERVER_ERROR:
            return self._error(500, "An unexpected error occurred. Please contact Omeda.")
        status = 429 if fault is FaultKind.RATE_LIMIT else 503
        message = "Too many requests." if status == 429 else "Service temporarily unavailable."
        response = self._error(status, message)
        response.headers["Retry-After"] = f"{self.faults.retry_after:g}"
        return response

    async def _mangle(
        self, fault: FaultKind, request: web.BaseRequest, response: web.Response
    ) -> web.StreamResponse:
        if fault is FaultKind.DROP:
            # The body was read and the request handled (a POST is queued);
            # the client only sees the connection go away.
            if request.transport is not None:
                request.transport.abort()
            return response
        if fault is FaultKind.SLOW:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.faults.slow_seconds)
            return response
        if fault is FaultKind.MALFORMED:
            return web.Response(body=_HTML_PAGE, status=200, content_type="text/html")
        body = response.body
        data = body if isinstance(body, bytes) else b"{}"
        return web.Response(body=data[: len(data) // 2], status=200, content_type=_JSON)


def _json_response(status: int, payload: Any) -> web.Response:
    return web.Response(body=json.dumps(payload).encode(), status=status, content_type=_JSON)


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
    ("StartIssueDate", "StartIssueDate"),
)


def _order_record(item: Mapping[str, Any], body: Mapping[str, Any], changed: str) -> dict[str, Any]:
    """One ``Orders`` element of Order Issue History for a processed product line."""
    version = item.get("RequestedVersion") or "P"
    receive = 0 if _int_or_none(item.get("Receive", 1)) == 0 else 1
    quantity = _int_or_none(item.get("Quantity", 1))
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
        "ChangedDate": changed,
        "OrderDate": changed,
    }
    for source, target in _COPIED:
        if source in item:
            record[target] = item[source]
    if "DonorId" in body:
        record["DonorId"] = body["DonorId"]
    return record


def _validate(body: dict[str, Any], *, order: bool) -> list[str]:
    """Every documented rule ``body`` breaks, as Omeda's messages (the project's validator)."""
    violations = validate(body, schema=Order) if order else validate(body)
    return [violation.message for violation in violations]
