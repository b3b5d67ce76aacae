"""FakeOmeda: Omeda's customer/order services on 127.0.0.1, for tests, demos and benchmarks.

It speaks the services as Omeda's pages describe them, under
``/webservices/rest/brand/{brand}/`` with the trailing ``/*``:

- ``POST storecustomerandorder/*`` (Save Customer and Order, free and paid)
- ``POST orderqueue/*`` (Add Order)
- ``GET transaction/{id}/*`` (Transaction Lookup)
- ``GET customer/{id}/orderissuehistory/*`` and ``.../orderissuehistory/product/{pid}/*``
- ``POST runprocessor/*`` (Run Processor, see DESIGN.md)

Every URI on Omeda's pages ends with ``/*``; a path without it is a 404 here,
as it is on Omeda. This module is the thin HTTP side: routing, faults
(:mod:`._faults`) and recording. What Omeda does with a routed request
(credentials, validation, the queue and its status paths, customers, history)
is :mod:`._state`'s. Handlers are kept lean (one dispatch function on
aiohttp's low-level server, hand-written JSON for lookups) so the fake never
limits a benchmark.

Where the pages leave an answer open, the fake picks one (the README's
"Where the fake goes beyond the pages" says why):

- a merged customer is a 400 (``merged_status=404``: as Omeda's production
  clients meet it), pending deactivation a 400;
- 429 and 503 with ``Retry-After`` come only from fault injection;
- every documented rule, unknown keys included, is checked at POST time by the
  library's own validator (a 400 with Omeda's messages);
- a content type other than JSON is a 400; none means JSON, except on Save
  Customer and Order, whose page gives no default;
- a wrong ``x-omeda-appid`` is a 403, a missing or unknown
  ``x-omeda-inputid`` on Save Customer and Order a 400;
- Run Processor and ``"RunProcessor": 1`` in a customer body follow DESIGN.md
  and Omeda's production users (not these pages); an Omatch input is a 400;
- timings (status paths, :mod:`._timing`, expiry, visibility delay), ids,
  EncryptedCustomerIds, message wording for 403/404/405 and the order history
  a processed record leaves are the fake's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from aiohttp import web

from omeda_async._client import OmedaClient
from omeda_async._clock import Clock, ScaledClock
from omeda_async._status import StatusCode
from omeda_async.testing._faults import FaultKind, Faults
from omeda_async.testing._ids import int_or_none
from omeda_async.testing._records import (
    Duplicate,
    QueuedOrder,
    QueuedTransaction,
    RecordedRequest,
)
from omeda_async.testing._scenarios import Mix, Scenario, ScenarioLike, to_source
from omeda_async.testing._state import BrandState, Refusal
from omeda_async.testing._timing import Batch, Spread, TimingModel

__all__ = ["FakeOmeda"]

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
_ALLOW: Final = MappingProxyType(
    {
        "storecustomerandorder": "POST",
        "orderqueue": "POST",
        "runprocessor": "POST",
        "transaction": "GET",
        "orderissuehistory": "GET",
    }
)


def _lookup_key(raw_id: str) -> int:
    """The ``lookups`` key of a looked-up id (-1 for one that is not a number)."""
    transaction_id = int_or_none(raw_id)
    return transaction_id if transaction_id is not None else -1


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


def _expire_after(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise ValueError(f"expire_after must be > 0 or None, not {value!r}")
    return value


def _visibility_delay(value: float) -> float:
    if not value >= 0:
        raise ValueError(f"visibility_delay must be >= 0, not {value!r}")
    return float(value)


def _merged_status(value: int) -> int:
    if value not in (400, 404):
        raise ValueError(f"merged_status must be 400 or 404, not {value!r}")
    return value


def _json_response(status: int, text: str) -> web.Response:
    return web.Response(body=text.encode(), status=status, content_type=_JSON)


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
      as Omeda documents; ``merged_status`` is the merged answer's status, 400
      (default) or 404. ``omatch_inputs``: input ids whose flow includes
      Omatch (valid inputs; Run Processor refuses their transactions).
    - A customer body with ``"RunProcessor": 1`` is processed at once and
      answered with ``CustomerId`` and ``EncryptedCustomerId``.
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
        merged_status: int = 400,
        omatch_inputs: Collection[str] | None = None,
        faults: Faults | Mapping[str, float] | None = None,
        record_bodies: bool = True,
    ) -> None:
        if not brand or "/" in brand:
            raise ValueError(f"brand must be a non-empty path segment, not {brand!r}")
        if host not in _LOOPBACK:
            raise ValueError(f"FakeOmeda listens on loopback only, not {host!r}")
        if not isinstance(timing, Spread | Batch):
            raise TypeError(f"timing must be Spread() or Batch(...), not {timing!r}")
        self._state = BrandState(
            brand=brand,
            app_id=app_id if app_id is not None else secrets.token_hex(16),
            input_id=input_id if input_id is not None else secrets.token_hex(8),
            clock=clock if clock is not None else ScaledClock(time_scale),
            scenario=scenario,
            timing=timing,
            seed=seed,
            expire_after=_expire_after(expire_after),
            visibility_delay=_visibility_delay(visibility_delay),
            merged_customers=merged_customers,
            pending_deactivation=pending_deactivation,
            merged_status=_merged_status(merged_status),
            omatch_inputs=omatch_inputs,
        )
        if isinstance(faults, Faults):
            self.faults = faults
        else:
            self.faults = Faults(rates=faults or {}, seed=None if seed is None else seed + 2)
        self.record_bodies = record_bodies
        self.requests: list[RecordedRequest] = []
        """Every request received, in order."""
        self.lookups: Counter[int] = Counter()
        """Transaction Lookups per transaction id (unknown ids included)."""
        self.max_in_flight = 0
        """The most requests handled at once."""
        self.max_in_flight_by_service: Counter[str] = Counter()
        """The most requests handled at once, per service (``"transaction"``: lookups)."""
        self.in_flight = 0
        self._in_flight_by_service: Counter[str] = Counter()

        self._host = host
        self._requested_port = port
        self._prefix = f"{_PREFIX}{brand}/"
        self._runner: web.ServerRunner | None = None
        self._closing = asyncio.Event()
        self._closed = False
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        source = self._state.source
        scenario = repr(source.name) if isinstance(source, Scenario) else repr(source)
        return (
            f"FakeOmeda({where!r}, brand={self.brand!r}, clock={self.clock!r}, "
            f"scenario={scenario}, timing={self.timing!r})"
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
        self._state.base_url = self.url

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

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- configuration -------------------------------------------------------

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
        return self._state.brand

    @property
    def app_id(self) -> str:
        """The ``x-omeda-appid`` requests must carry (a test credential)."""
        return self._state.app_id

    @property
    def input_id(self) -> str:
        """The default ``x-omeda-inputid`` (a test credential)."""
        return self._state.input_id

    @property
    def clock(self) -> Clock:
        """The fake's clock: status paths advance on it; clients made by ``client()`` share it."""
        return self._state.clock

    @property
    def timing(self) -> TimingModel:
        """The timing model: ``Spread()`` or ``Batch(...)`` (its ``phase`` drawn if it was None)."""
        return self._state.timing

    @property
    def seed(self) -> int | None:
        """The seed random draws start from (None: unseeded)."""
        return self._state.seed

    @property
    def scenario(self) -> Scenario | Mix:
        """What each new submission's status path is drawn from."""
        return self._state.source

    @scenario.setter
    def scenario(self, value: ScenarioLike) -> None:
        self._state.source = to_source(value)

    @property
    def expire_after(self) -> float | None:
        """Fake-clock seconds after queuing a transaction answers 404 (None: never)."""
        return self._state.expire_after

    @expire_after.setter
    def expire_after(self, value: float | None) -> None:
        self._state.expire_after = _expire_after(value)

    @property
    def visibility_delay(self) -> float:
        """Fake-clock seconds a new transaction answers 404 before it shows."""
        return self._state.visibility_delay

    @visibility_delay.setter
    def visibility_delay(self, value: float) -> None:
        self._state.visibility_delay = _visibility_delay(value)

    @property
    def merged_customers(self) -> dict[int, int]:
        """``{customer_id: merged_into_id}``: posts naming these get the merged error."""
        return self._state.customers.merged

    @merged_customers.setter
    def merged_customers(self, value: Mapping[int, int]) -> None:
        self._state.customers.merged = dict(value)

    @property
    def merged_status(self) -> int:
        """The HTTP status of the merged-customer answer: 400 (default) or 404."""
        return self._state.customers.merged_status

    @merged_status.setter
    def merged_status(self, value: int) -> None:
        self._state.customers.merged_status = _merged_status(value)

    @property
    def pending_deactivation(self) -> set[int]:
        """Customer ids whose posts get "pending deactivation"."""
        return self._state.customers.pending_deactivation

    @pending_deactivation.setter
    def pending_deactivation(self, value: Collection[int]) -> None:
        self._state.customers.pending_deactivation = set(value)

    @property
    def omatch_inputs(self) -> set[str]:
        """Input ids (valid ones) whose flow includes Omatch: Run Processor answers 400."""
        return self._state.omatch_inputs

    @omatch_inputs.setter
    def omatch_inputs(self, value: Collection[str]) -> None:
        self._state.omatch_inputs = set(value)

    # -- what tests read -----------------------------------------------------

    @property
    def transactions(self) -> dict[int, QueuedTransaction]:
        """Queued transactions by TransactionId."""
        return self._state.transactions

    @property
    def orders(self) -> dict[int, QueuedOrder]:
        """Queued orders by OrderId."""
        return self._state.orders

    @property
    def lookups_after_terminal(self) -> Counter[int]:
        """Lookups of a transaction after the fake had already answered it with a terminal code."""
        return self._state.lookups_after_terminal

    def client(self, **overrides: Any) -> OmedaClient:
        """An ``OmedaClient`` wired to this fake: brand, credentials, base_url and clock set.

        Any keyword given replaces the default (e.g. ``app_id="wrong"``, ``timeout=0.2``).
        """
        options: dict[str, Any] = {
            "brand": self.brand,
            "app_id": self.app_id,
            "input_id": self.input_id,
            "base_url": self.url,
            "clock": self.clock,
        }
        options.update(overrides)
        return OmedaClient(**options)

    def script_next(self, *paths: ScenarioLike) -> None:
        """Use these paths, in order, for the next submissions (one each).

        Each is a scenario name, a ``Scenario``, a ``Mix`` or a list of steps
        (``[7, (29, 60), (9, 0, ["bad email"])]``); afterwards the fake goes
        back to its ``scenario``.
        """
        self._state.script.extend(to_source(path) for path in paths)

    def transaction_url(self, transaction_id: int) -> str:
        """The Transaction Lookup URL of ``transaction_id``, as the POST answers give it."""
        return f"{self.url}{self._prefix}transaction/{transaction_id}/*"

    def status_of(self, transaction_id: int) -> StatusCode:
        """The status a transaction has now (not counted as a lookup; ignores expiry)."""
        return self.transactions[transaction_id].status_at(self.clock.now())

    def add_order_history(
        self,
        customer_id: int | str,
        product_id: int | str,
        *,
        orders: Iterable[Mapping[str, Any]] = (),
        issues: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Seed Order Issue History: ``orders`` and ``issues`` (dicts in the page's shape)."""
        self._state.history.seed(customer_id, product_id, orders=orders, issues=issues)

    def duplicates(self) -> list[Duplicate]:
        """Bodies queued more than once (same canonical JSON), per service."""
        return self._state.duplicates()

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
                RecordedRequest(method, path, service, headers, recorded, self.clock.now())
            )
        else:
            self.requests.append(RecordedRequest(method, path, service, {}, None, self.clock.now()))

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
            except Refusal as refusal:
                response = self._error(refusal.status, *refusal.messages, extra=refusal.extra)
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
        state = self._state
        headers = request.headers
        state.check_app_id(headers.get("x-omeda-appid"))
        state.check_content_type(service, headers.get("content-type"))
        if service == "transaction":
            return _json_response(200, state.lookup(params[0]))
        if service == "orderissuehistory":
            return _json_response(200, json.dumps(state.order_issue_history(*params)))
        if service == "runprocessor":
            return _json_response(200, json.dumps(state.run_processor(body)))
        input_id = state.input_for(service, headers.get("x-omeda-inputid"))
        if not isinstance(body, dict):
            raise Refusal(400, "The request body must be a JSON object.")
        if service == "storecustomerandorder":
            answer = state.store_customer_and_order(body, input_id)
        else:
            answer = state.add_order(body, input_id)
        return _json_response(200, json.dumps(answer))

    # -- answers -------------------------------------------------------------

    def _error(
        self, status: int, *messages: str, extra: Mapping[str, Any] | None = None
    ) -> web.Response:
        return _json_response(status, self._state.error_body(messages, extra))

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
