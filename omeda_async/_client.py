"""``OmedaClient``: Omeda's customer/order services over one aiohttp session.

The services and their paths under ``/webservices/rest/brand/{brand}``:

=====================================  =====  ==========================================
method                                 HTTP   path
=====================================  =====  ==========================================
``store_customer_and_order``           POST   ``/storecustomerandorder/*``
``add_order``                          POST   ``/orderqueue/*``
``get_transaction``                    GET    ``/transaction/{id}/*``
``get_order_issue_history``            GET    ``/customer/{id}/orderissuehistory/*``
                                              (``.../product/{product_id}/*``)
``run_processor``                      POST   ``/runprocessor/*``
=====================================  =====  ==========================================
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypedDict, Unpack, cast
from urllib.parse import quote

import aiohttp
import attrs
import yarl

from ._clock import Clock, SystemClock
from ._environment import variable, with_environment
from ._errors import AuthenticationError, BadRequestError, NotFoundError
from ._policies import PollPolicy, RetryPolicy
from ._poller import TrackingResult, TransactionPoller
from ._ratelimit import RateLimiter, TokenBucket
from ._rhythm import RhythmMemory
from ._store import CUSTOMER_SERVICE, ORDER_SERVICE, TrackingStore
from ._transport import (
    DEFAULT_MAX_RESPONSE_SIZE,
    PRODUCTION_URL,
    STAGING_URL,
    Answer,
    Transport,
)
from .bulk import BulkOptions, BulkOverrides, BulkSubmission
from .bulk import submit_many as _submit_many
from .models import _wire
from .models._responses import (
    OrderIssueHistory,
    OrderReceipt,
    ProcessorResult,
    SubmissionReceipt,
    Transaction,
)

if TYPE_CHECKING:
    from .models._payloads import CustomerAndOrder, Order

__all__ = ["ClientOptions", "OmedaClient"]

_ENVIRONMENTS: Final = {"production": PRODUCTION_URL, "staging": STAGING_URL}
_BRAND = re.compile(r"[A-Za-z0-9_-]+")
# Header values: printable ASCII without spaces, so nothing can smuggle a CR/LF.
_CREDENTIAL = re.compile(r"[\x21-\x7e]+")
_NO_PURCHASES = re.compile(r"\s*no purchases found for customer\b", re.IGNORECASE)
_ALREADY_PROCESSED = re.compile(r"already\s+(?:been\s+)?processed", re.IGNORECASE)
_NAMED_TRANSACTION = re.compile(r"transaction(?:\s*id)?\s*:?\s*(\d+)", re.IGNORECASE)


class ClientOptions(TypedDict, total=False):
    """Keyword arguments of :class:`OmedaClient` (for ``from_env`` overrides)."""

    brand: str
    app_id: str | None
    input_id: str | None
    environment: str
    base_url: str | None
    session: aiohttp.ClientSession | None
    timeout: float
    rate_limit: float | RateLimiter | None
    retry: RetryPolicy | None
    clock: Clock | None
    max_response_size: int
    allow_insecure: bool


# --- argument checks ----------------------------------------------------------------


def _check_brand(brand: object) -> str:
    if not isinstance(brand, str):
        raise TypeError(f"brand must be a string, not {type(brand).__name__}")
    if not _BRAND.fullmatch(brand):
        raise ValueError(
            f"brand must be Omeda's brand abbreviation (letters, digits, '_', '-'), not {brand!r}"
        )
    return brand


def _check_credential(name: str, value: object) -> str:
    # Messages name the argument, never the value: it is a secret.
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    if not _CREDENTIAL.fullmatch(value):
        raise ValueError(f"{name} must be a non-empty string of printable characters, no spaces")
    return value


def _credential(name: str, value: object) -> str | None:
    if value is None:
        value = variable(name)
        if value is None:
            return None
    return _check_credential(name, value)


def _check_id(name: str, value: object) -> int:
    # bool is an int subclass, but True is no id.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


def _check_customer_id(value: object) -> str:
    """An Omeda customer id, or (page 003) an encrypted customer id, URL-quoted."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("customer_id must not be empty")
        # quote() leaves dots alone, and URL normalization resolves a "." or ".."
        # segment away: "/customer/../orderissuehistory" would change the path.
        if value.strip() in (".", ".."):
            raise ValueError(f"customer_id must not be a dot segment, not {value!r}")
        return quote(value.strip(), safe="")
    return str(_check_id("customer_id", value))


def _check_positive_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return float(value)


def _check_base_url(base_url: object, *, allow_insecure: bool) -> str:
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a string, not {type(base_url).__name__}")
    try:
        url = yarl.URL(base_url.strip())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"base_url is not a URL: {base_url!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
    if url.query_string or url.fragment or url.user or url.password:
        raise ValueError("base_url must not carry credentials, a query or a fragment")
    if url.scheme == "http" and not allow_insecure and not _is_loopback(url.host):
        # The app id travels in a header: plain http only where it cannot leave the host.
        raise ValueError(
            "base_url uses plain http for a host that is not loopback, so the app id "
            "would travel unencrypted; use https, or pass allow_insecure=True "
            "(--allow-insecure on the command line)"
        )
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- the client ---------------------------------------------------------------------


class OmedaClient:
    """An asyncio client for Omeda's customer/order data queue.

    Keyword-only configuration; ``app_id``/``input_id`` fall back to
    ``OMEDA_APP_ID``/``OMEDA_INPUT_ID``. ``environment`` picks production
    (``https://ows.omeda.com``) or staging (``https://ows.omedastaging.com``);
    ``base_url`` overrides it (plain http only for loopback unless
    ``allow_insecure``). An injected ``session`` is used and never closed.
    ``timeout`` bounds each HTTP attempt (seconds); ``rate_limit`` (requests per
    second) is one token bucket shared by every request of this client (or a
    :class:`~omeda_async.RateLimiter` used as given, such as a fleet's shared
    budget, ``PostgresStore.rate_limit``);
    ``retry`` is the default :class:`RetryPolicy`; ``clock`` times every wait;
    answers larger than ``max_response_size`` bytes are refused.

    Use it as an async context manager, or call :meth:`close`.
    """

    __slots__ = (
        "_input_id",
        "_transport",
        "base_url",
        "brand",
        "clock",
        "environment",
        "max_response_size",
        "rate_limit",
        "retry",
        "rhythm_memory",
        "timeout",
    )

    def __init__(
        self,
        *,
        brand: str,
        app_id: str | None = None,
        input_id: str | None = None,
        environment: str = "staging",
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        rate_limit: float | RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        allow_insecure: bool = False,
    ) -> None:
        self.brand: str = _check_brand(brand)
        checked_app_id = _credential("app_id", app_id)
        if checked_app_id is None:
            raise ValueError("app_id is required: pass app_id=... or set OMEDA_APP_ID")
        self._input_id = _credential("input_id", input_id)
        if environment not in _ENVIRONMENTS:
            raise ValueError(f"environment must be 'production' or 'staging', not {environment!r}")
        self.environment: str = environment
        self.base_url: str = (
            _ENVIRONMENTS[environment]
            if base_url is None
            else _check_base_url(base_url, allow_insecure=allow_insecure)
        )
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        self.timeout: float = _check_positive_number("timeout", timeout)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, not {type(retry).__name__}")
        self.retry: RetryPolicy = retry if retry is not None else RetryPolicy()
        self.clock: Clock = clock if clock is not None else SystemClock()
        limiter: RateLimiter | None = None
        if isinstance(rate_limit, RateLimiter):
            # A limiter made elsewhere (a fleet's shared budget) is used as it is.
            limiter = rate_limit
            self.rate_limit: float | None = float(rate_limit.rate)
        else:
            self.rate_limit = (
                None if rate_limit is None else _check_positive_number("rate_limit", rate_limit)
            )
            if self.rate_limit is not None:
                limiter = TokenBucket(self.rate_limit, clock=self.clock)
        if (
            isinstance(max_response_size, bool)
            or not isinstance(max_response_size, int)
            or max_response_size < 1
        ):
            raise ValueError(f"max_response_size must be a positive int, not {max_response_size!r}")
        self.max_response_size: int = max_response_size
        # What pollers learn about this brand's queue, shared by all of them and by
        # wait_for_transaction (internal: the schedule's business, see _rhythm).
        self.rhythm_memory = RhythmMemory()
        self._transport = Transport(
            base_url=self.base_url,
            app_id=checked_app_id,
            input_id=self._input_id,
            session=session,
            timeout=self.timeout,
            rate_limit=limiter,
            retry=self.retry,
            clock=self.clock,
            max_response_size=max_response_size,
        )

    @classmethod
    def from_env(cls, **overrides: Unpack[ClientOptions]) -> OmedaClient:
        """A client configured from the environment; keyword arguments win.

        Reads ``OMEDA_BRAND``, ``OMEDA_APP_ID``, ``OMEDA_INPUT_ID``,
        ``OMEDA_ENVIRONMENT`` and ``OMEDA_BASE_URL`` (blank counts as unset).
        Passing ``environment`` or ``base_url`` ignores both of their variables.
        The ``omeda-async`` command reads its flags and the environment by
        this same rule.
        """
        options = with_environment(overrides)
        if "brand" not in options:
            raise ValueError("brand is required: pass brand=... or set OMEDA_BRAND")
        return cls(**options)

    def __repr__(self) -> str:
        input_id = "'***'" if self._input_id is not None else "None"
        return (
            f"OmedaClient(brand={self.brand!r}, environment={self.environment!r}, "
            f"base_url={self.base_url!r}, app_id='***', input_id={input_id})"
        )

    # --- lifecycle ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._transport.closed

    async def close(self) -> None:
        """Close the session this client created (never an injected one). Idempotent."""
        await self._transport.close()

    async def __aenter__(self) -> OmedaClient:
        self._check_open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._transport.closed:
            raise RuntimeError("OmedaClient is closed")

    def _path(self, *parts: str) -> str:
        return _brand_path(self.brand, "/".join(parts))

    # --- the services ---------------------------------------------------------------

    async def store_customer_and_order(
        self, payload: CustomerAndOrder | Mapping[str, Any], *, input_id: str | None = None
    ) -> SubmissionReceipt:
        """Save Customer and Order: queue a customer (and orders); returns its TransactionId.

        ``POST /storecustomerandorder/*`` with ``x-omeda-inputid`` (required by
        Omeda: the call's ``input_id``, else the client's). The payload is
        validated first: :class:`PayloadValidationError` lists every broken rule
        and nothing is sent. Only *queued*: follow the id with
        :meth:`get_transaction` or :meth:`wait_for_transaction`.
        """
        chosen = self.check_submission(CUSTOMER_SERVICE, input_id=input_id)
        receipt = await self.post_submission(CUSTOMER_SERVICE, payload, None, input_id=chosen)
        return cast(SubmissionReceipt, receipt)

    async def add_order(
        self, order: Order | Mapping[str, Any], *, input_id: str | None = None
    ) -> OrderReceipt:
        """Add Order: queue an order for an existing (or just-submitted) customer.

        ``POST /orderqueue/*``; ``x-omeda-inputid`` is optional here (Omeda then
        uses the app id's default input). Validated before sending, like
        :meth:`store_customer_and_order`.
        """
        chosen = self.check_submission(ORDER_SERVICE, input_id=input_id)
        receipt = await self.post_submission(ORDER_SERVICE, order, None, input_id=chosen)
        return cast(OrderReceipt, receipt)

    def check_submission(self, service: str, *, input_id: str | None = None) -> str | None:
        """The input id a POST to ``service`` goes with: ``input_id``, else the client's.

        The first half of a submission, for pipelines such as ``submit_many``
        (:meth:`post_submission` is the second). It raises before anything is
        sent: ``RuntimeError`` once the client is closed, ``ValueError`` for an
        unknown service, a malformed input id, or none where Omeda requires one
        (``storecustomerandorder``).
        """
        if self._transport.closed:  # _check_open(), inlined: this runs once per record
            raise RuntimeError("OmedaClient is closed")
        spec = _SUBMISSIONS.get(service)
        if spec is None:
            raise ValueError(f"service must be one of {sorted(_SUBMISSIONS)}, not {service!r}")
        chosen = self._input_id if input_id is None else _check_credential("input_id", input_id)
        if chosen is None and spec.needs_input_id:
            raise ValueError(
                f"{service} needs an input id: pass input_id=... to the call "
                "or the client, or set OMEDA_INPUT_ID"
            )
        return chosen

    def post_submission(
        self, service: str, payload: Any, body: bytes | None, *, input_id: str | None
    ) -> Awaitable[SubmissionReceipt | OrderReceipt]:
        """POST one record to ``service`` (the second half: see :meth:`check_submission`).

        ``body`` is what ``customer_and_order_body(payload)``/``order_body(payload)``
        returned: ``submit_many`` builds it once per record (its key is a hash
        of it), so it is neither validated nor serialized twice. None builds it
        here, validating first. ``input_id`` is what ``check_submission`` chose.
        Returns the receipt; raises as :meth:`store_customer_and_order` does.
        """
        # A plain function returning the transport's coroutine: one frame less per POST.
        spec = _SUBMISSIONS[service]
        return self._transport.request(
            "POST",
            _service_path(self.brand, service),
            parse=spec.parse,
            service=service,
            idempotent=False,
            body=spec.build(payload) if body is None else body,
            input_id=input_id,
            payload=payload,
        )

    async def get_transaction(
        self, transaction_id: int, *, retry: RetryPolicy | None = None
    ) -> Transaction:
        """Transaction Lookup: a queued record's status (``GET /transaction/{id}/*``).

        ``retry`` overrides the client's policy for this call (the poller passes
        ``RetryPolicy.none()`` and schedules its own retries). A 404 is
        :class:`NotFoundError`: unknown, not visible yet, or expired.
        """
        self._check_open()
        path = self._path("transaction", str(_check_id("transaction_id", transaction_id)))
        transaction = await self._transport.request(
            "GET",
            path,
            parse=_parse_transaction,
            service="transaction",
            idempotent=True,
            retry=retry,
        )
        if transaction.errors:
            # Omeda's words about the record reach results, journals and the CLI:
            # redacted as an exception's would be (an echoed card number, the app id).
            redact = self._transport.redact
            transaction = attrs.evolve(transaction, errors=tuple(map(redact, transaction.errors)))
        return transaction

    async def get_order_issue_history(
        self, customer_id: int | str, *, product_id: int | None = None
    ) -> OrderIssueHistory:
        """Order Issue History Lookup: every order and issue of a customer.

        ``GET /customer/{id}/orderissuehistory/*``, or ``.../product/{product_id}/*``
        for one product. ``customer_id`` is Omeda's customer id (or, per the page,
        an encrypted customer id as a string). Omeda's 404 "No purchases found for
        customer n." is an empty history; any other 404 is :class:`NotFoundError`.
        """
        self._check_open()
        parts = ["customer", _check_customer_id(customer_id), "orderissuehistory"]
        if product_id is not None:
            parts += ["product", str(_check_id("product_id", product_id))]
        try:
            return await self._transport.request(
                "GET",
                self._path(*parts),
                parse=_parse_history,
                service="orderissuehistory",
                idempotent=True,
            )
        except NotFoundError as exc:
            if any(_NO_PURCHASES.match(error) for error in exc.errors):
                return OrderIssueHistory(submission_id=exc.submission_id)
            raise

    async def run_processor(self, transaction_ids: Iterable[int]) -> list[ProcessorResult]:
        """Run Processor: process queued transactions now, not in 15-30 minutes.

        ``POST /runprocessor/*`` with ``{"Process":[{"TransactionId":[...]}]}``.
        Omeda processes a batch all-or-nothing, so a batch that fails for some id
        (404 unknown id, 403 "already processed", 400 e.g. an input whose flow
        includes Omatch, or a ``Success`` other than true) is split until the bad
        ids stand alone: one bad id never sinks the rest. "Already processed"
        counts as done (``already_processed=True``); a 403 that does not say so is
        an :class:`AuthenticationError`. Returns one result per id given, in order.
        Processing twice is harmless, so the call retries like a GET.
        """
        self._check_open()
        ids = [_check_id("transaction_id", tid) for tid in transaction_ids]
        results: dict[int, ProcessorResult] = {}
        await self._process(list(dict.fromkeys(ids)), results)
        redact = self._transport.redact
        for tid, result in results.items():
            if result.message:
                results[tid] = attrs.evolve(result, message=redact(result.message))
        return [results[tid] for tid in ids]

    async def _process(self, ids: list[int], results: dict[int, ProcessorResult]) -> None:
        # A loop, not recursion, for failures that name their ids: a batch of
        # thousands of already-processed ids must not exhaust the stack.
        pending = ids
        while pending:
            body = json.dumps({"Process": [{"TransactionId": pending}]}).encode()
            try:
                batch = await self._transport.request(
                    "POST",
                    self._path("runprocessor"),
                    parse=_parse_batch,
                    service="runprocessor",
                    idempotent=True,
                    body=body,
                )
            except AuthenticationError as exc:
                if not any(_ALREADY_PROCESSED.search(error) for error in exc.errors):
                    raise
                pending = await self._settle(pending, results, exc.errors, already_processed=True)
                continue
            except (NotFoundError, BadRequestError) as exc:
                errors = exc.errors or (str(exc),)
                pending = await self._settle(pending, results, errors, already_processed=False)
                continue
            answered = {result.transaction_id: result for result in batch}
            if len(pending) > 1 and any(
                tid not in answered or not answered[tid].succeeded for tid in pending
            ):
                await self._bisect(pending, results)
                return
            for tid in pending:
                results[tid] = answered.get(tid) or ProcessorResult(
                    transaction_id=tid,
                    succeeded=False,
                    message="missing from Run Processor's answer",
                )
            return

    async def _settle(
        self,
        ids: list[int],
        results: dict[int, ProcessorResult],
        errors: tuple[str, ...],
        *,
        already_processed: bool,
    ) -> list[int]:
        """Record the ids a failed batch blames; return the ids still to process.

        A lone id takes the failure. Otherwise the ids the messages name take
        theirs and the rest go again; when no message names an id of the batch,
        the batch is bisected (about 2 log2(n) extra requests for one bad id).
        """
        blamed: dict[int, tuple[str, ...]] = {}
        if len(ids) == 1:
            blamed[ids[0]] = errors
        else:
            in_batch = set(ids)
            for error in errors:
                for named in map(int, _NAMED_TRANSACTION.findall(error)):
                    if named in in_batch:
                        blamed[named] = (*blamed.get(named, ()), error)
            if not blamed:
                await self._bisect(ids, results)
                return []
        for tid, messages in blamed.items():
            results[tid] = ProcessorResult(
                transaction_id=tid,
                succeeded=already_processed,
                message="; ".join(messages) or None,
                already_processed=already_processed,
            )
        return [tid for tid in ids if tid not in blamed]

    async def _bisect(self, ids: list[int], results: dict[int, ProcessorResult]) -> None:
        middle = len(ids) // 2
        await self._process(ids[:middle], results)
        await self._process(ids[middle:], results)

    # --- tracking and bulk ----------------------------------------------------------

    def poller(
        self,
        *,
        policy: PollPolicy | None = None,
        store: TrackingStore | None = None,
        max_in_flight: int = 32,
    ) -> TransactionPoller:
        """A :class:`TransactionPoller` that follows transactions with this client."""
        self._check_open()
        return TransactionPoller(self, policy=policy, store=store, max_in_flight=max_in_flight)

    async def wait_for_transaction(
        self,
        transaction_id: int,
        *,
        # The contract's name: a tracking deadline on the client's Clock, not a cancel scope.
        timeout: float | None = None,  # noqa: ASYNC109
        policy: PollPolicy | None = None,
    ) -> TrackingResult:
        """Follow one transaction until a terminal status (or ``timeout`` seconds).

        ``timeout`` replaces the policy's ``deadline``; TIMED_OUT, NOT_FOUND and
        the other outcomes come back as a :class:`TrackingResult`, not exceptions.
        """
        self._check_open()
        _check_id("transaction_id", transaction_id)
        chosen = policy if policy is not None else PollPolicy()
        if timeout is not None:
            chosen = attrs.evolve(chosen, deadline=_check_positive_number("timeout", timeout))
        async with self.poller(policy=chosen) as poller:
            return await poller.track(transaction_id)

    def submit_many(
        self,
        payloads: Iterable[Any] | AsyncIterable[Any],
        options: BulkOptions | None = None,
        **overrides: Unpack[BulkOverrides],
    ) -> BulkSubmission:
        """Submit many records, at most ``concurrency`` at once; iterate their outcomes.

        ``async for outcome in client.submit_many(rows, store=SqliteStore("job.db"))``
        yields one :class:`SubmissionOutcome` per record (``receipt`` or ``error``;
        ``result`` with ``track=True``); ``.summary`` counts them. Rows are read
        lazily from a sync or async iterable; one bad row is one failed outcome.
        ``options`` is a :class:`BulkOptions` (every option is described there);
        keyword ``overrides`` replace its fields (``concurrency=64, track=True``).
        With a store, a re-run skips what was done and never resends a record
        whose outcome is unknown unless ``resend_unknown=True``.
        """
        self._check_open()
        return _submit_many(self, payloads, options, **overrides)


# Parsers handed to the transport: read inside its retry loop, so an unreadable 2xx
# answer to a POST becomes SubmissionOutcomeUnknown there, never a silent loss.


def _brand_path(brand: str, tail: str) -> str:
    """The path of ``tail`` (a service, then any ids) under a brand."""
    return f"/webservices/rest/brand/{brand}/{tail}/*"


# The POST services take no id: their paths are made once per brand.
_service_path: Final = functools.lru_cache(maxsize=64)(_brand_path)


def _parse_submission(answer: Answer) -> SubmissionReceipt:
    return SubmissionReceipt.from_response(answer.data, status=answer.status)


def _parse_order(answer: Answer) -> OrderReceipt:
    return OrderReceipt.from_response(answer.data, status=answer.status)


def _parse_transaction(answer: Answer) -> Transaction:
    return Transaction.from_response(answer.data, status=answer.status)


def _parse_history(answer: Answer) -> OrderIssueHistory:
    return OrderIssueHistory.from_response(answer.data, status=answer.status)


def _parse_batch(answer: Answer) -> tuple[ProcessorResult, ...]:
    return ProcessorResult.from_batch(answer.data, status=answer.status)


@attrs.frozen
class _Submission:
    """One of the two POST services: how a body is built, how the answer is read."""

    build: Callable[[Any], bytes]
    parse: Callable[[Answer], SubmissionReceipt | OrderReceipt]
    needs_input_id: bool


_SUBMISSIONS: Final[Mapping[str, _Submission]] = {
    CUSTOMER_SERVICE: _Submission(
        _wire.customer_and_order_body, _parse_submission, needs_input_id=True
    ),
    # Add Order: without x-omeda-inputid Omeda uses the app id's default input.
    ORDER_SERVICE: _Submission(_wire.order_body, _parse_order, needs_input_id=False),
}
