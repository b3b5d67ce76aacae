"""The HTTP layer: one aiohttp session, headers, timeouts, rate limit, retries, errors.

Everything ``aiohttp``, ``asyncio`` and ``json`` can raise is caught here, once,
and re-raised as the project's own exception ``from`` the original; nothing
above this module needs ``except aiohttp.ClientError``. Reading an answer raises
nothing but an :class:`~omeda_async.OmedaError`, however deep its JSON nests or
whatever a response reader trips on. Every exception of a request is redacted in
one place (``Transport._scrub``, rules in ``_redact``) before it is raised.

Retries are data plus pure functions: :func:`retry_decision` (whether) and
:func:`retry_delay` (how long), whose exponential ceilings and full jitter come
from backoff's wait generators (:func:`retry_ceilings`). The loop stays ours: it
sleeps on the client's clock and applies the POST rules. The rules that cost
money when wrong:

- A GET (and Run Processor, which is idempotent) is retried on 429, any 5xx and
  any transport error.
- A POST is retried only when it surely was not queued: the connection never
  opened (refused, DNS, connect timeout), 429, 503. Any other failure after the
  body may have reached Omeda (a dropped connection, a read timeout, 500, 502,
  504, a 2xx answer that cannot be read) raises
  :class:`~omeda_async.SubmissionOutcomeUnknown` carrying the payload: never a
  silent retry, never a silent drop.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import itertools
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, Literal, TypeVar

import aiohttp
import attrs
import backoff
from multidict import CIMultiDict, CIMultiDictProxy

from ._clock import Clock
from ._deadline import Deadlines
from ._errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    MethodNotAllowedError,
    NotFoundError,
    OmedaError,
    PendingDeactivationError,
    RateLimitedError,
    ServerError,
    SubmissionOutcomeUnknown,
    TransportError,
    merged_error_class,
)
from ._json import error_messages, last, loads, values
from ._policies import RETRY_AFTER_CAP, RetryPolicy
from ._ratelimit import RateLimiter
from ._redact import Redactor, submitted_card

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "PRODUCTION_URL",
    "STAGING_URL",
    "Answer",
    "RetryDecision",
    "Transport",
    "error_for_answer",
    "parse_retry_after",
    "retry_ceilings",
    "retry_decision",
    "retry_delay",
]

logger = logging.getLogger("omeda_async")

PRODUCTION_URL: Final = "https://ows.omeda.com"
STAGING_URL: Final = "https://ows.omedastaging.com"
DEFAULT_MAX_RESPONSE_SIZE: Final = 10 * 1024 * 1024
_CHUNK = 64 * 1024
# The connect phase never needs the whole request budget; a dead host should
# fail fast, and a connect timeout is the one timeout that is safe to retry.
_MAX_CONNECT_TIMEOUT = 10.0

_T = TypeVar("_T")
Method = Literal["GET", "POST"]


# --- retry: what and how long (pure) ------------------------------------------------


class RetryDecision(enum.Enum):
    """What the retry loop does with one failed attempt."""

    RETRY = "retry"
    """Send again (if attempts remain; otherwise raise the error as it is)."""
    RAISE = "raise"
    """Raise the error as it is."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """A POST may have been queued: raise SubmissionOutcomeUnknown, never resend."""


def retry_decision(error: OmedaError, *, idempotent: bool) -> RetryDecision:
    """Decide what one failed attempt means (DESIGN.md, "No duplicate submissions").

    ``idempotent`` requests (GETs, Run Processor) retry on 429, 5xx, transport
    errors and answers that cannot be read (a cut or garbled body is as likely
    to be passing as a 502, and asking again changes nothing at Omeda). Others
    (the two POST services) retry only when surely not queued: a connection
    that never opened, 429, 503; after the body may have arrived (a dropped
    connection, 500, 502, 504, another 5xx, an unreadable answer) the
    outcome is unknown. 400, 403, 404, 405 and other answers are final.
    """
    if idempotent:
        if isinstance(
            error, RateLimitedError | ServerError | TransportError | MalformedResponseError
        ):
            return RetryDecision.RETRY
        return RetryDecision.RAISE
    if isinstance(error, TransportError):
        return RetryDecision.OUTCOME_UNKNOWN if error.sent else RetryDecision.RETRY
    if isinstance(error, RateLimitedError):
        return RetryDecision.RETRY
    if isinstance(error, ServerError):
        # Omeda: a 500 "generally indicates a problem of a more serious nature,
        # and submitting additional requests may not be advisable". Only 503
        # (unavailable: turned away at the door) says the body was not taken.
        return RetryDecision.RETRY if error.status == 503 else RetryDecision.OUTCOME_UNKNOWN
    if isinstance(error, MalformedResponseError):
        return RetryDecision.OUTCOME_UNKNOWN
    return RetryDecision.RAISE


# backoff.expo doubles an unbounded int exponent while below max_value (a zero
# base_delay never reaches it, and 0.0 * 2**1024 overflows a float): past this many
# doublings the ceiling stays where it is, as a huge max_attempts would have it.
_MAX_DOUBLINGS = 60


def retry_ceilings(policy: RetryPolicy) -> Iterator[float]:
    """Full jitter's ceiling for each retry in turn: ``base_delay * 2**n``, at most ``max_delay``.

    Computed by backoff's exponential wait generator (``backoff.expo``), one
    generator per request, advanced once per retry as backoff's own loop does.
    """
    waits = backoff.expo(base=2, factor=policy.base_delay, max_value=policy.max_delay)
    next(waits)  # backoff's generators start with a bare yield, primed before use
    last = min(policy.max_delay, policy.base_delay * 2.0**_MAX_DOUBLINGS)
    return itertools.chain(itertools.islice(waits, _MAX_DOUBLINGS), itertools.repeat(last))


def retry_delay(
    ceiling: float,
    *,
    retry_after: float | None = None,
    jitter: Callable[[float], float] = backoff.full_jitter,
) -> float:
    """Seconds to wait before a retry whose full-jitter ceiling is ``ceiling``.

    ``jitter(ceiling)``: by default backoff's ``full_jitter``, uniform in
    ``[0, ceiling]``. A server's ``Retry-After`` wins over that and over
    ``max_delay``, capped at ``RETRY_AFTER_CAP`` (120 s) so a confused server
    cannot park a client for hours.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP)
    return jitter(ceiling)


_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110 10.2.3).

    Returns seconds from ``now`` (never negative) or None when absent or unreadable.
    The value is the server's wish as sent; :func:`retry_delay` applies the cap.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


# --- answers and error mapping ------------------------------------------------------


@attrs.define
class Answer:
    """One HTTP answer, read: status, headers and the JSON body (None if not JSON).

    Internal and built once per request, so neither frozen nor keyword-only: a
    frozen ``__init__`` sets each field through ``object.__setattr__``, and
    calling a class with keywords makes CPython build (and unpack) a dict of
    them; together 0.6 µs per answer, which a bulk job pays per record.
    """

    status: int
    reason: str
    content_type: str | None
    headers: Mapping[str, str]
    data: Any
    is_json: bool
    too_large: bool = False


_JSON_TYPES = frozenset({"application/json", "text/json"})
_CUSTOMER_ID = re.compile(r"customer\s*id\s+(\d+)", re.IGNORECASE)


def _mimetype(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


# A server sends one or two Content-Type values: each is parsed once. Bounded,
# so a server that varies it (a boundary, a charset) cannot grow it for ever.
_JSON_TYPE_SEEN: dict[str | None, bool] = {}
_JSON_TYPE_SEEN_MAX = 64


def _json_type(content_type: str | None) -> bool:
    """JSON, or no content type at all (then the body decides)."""
    known = _JSON_TYPE_SEEN.get(content_type)
    if known is not None:
        return known
    mimetype = _mimetype(content_type)
    answer = mimetype is None or mimetype in _JSON_TYPES or mimetype.endswith("+json")
    if len(_JSON_TYPE_SEEN) < _JSON_TYPE_SEEN_MAX:
        _JSON_TYPE_SEEN[content_type] = answer
    return answer


def _as_int(value: Any) -> int | None:
    value = last(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def _merged_into(data: Any) -> tuple[int, int | None] | None:
    """(MergedIntoCustomerId, customer id from the message) from an Errors item."""
    if not isinstance(data, Mapping):
        return None
    for errors in values(data.get("Errors")):
        for item in errors if isinstance(errors, list) else [errors]:
            if not isinstance(item, Mapping) or "MergedIntoCustomerId" not in item:
                continue
            merged = _as_int(item["MergedIntoCustomerId"])
            if merged is None:
                continue
            customer: int | None = None
            for text in values(item.get("Error")):
                match = _CUSTOMER_ID.search(text) if isinstance(text, str) else None
                if match:
                    customer = int(match.group(1))
                    break
            return merged, customer
    return None


def error_for_answer(
    answer: Answer, *, method: str, path: str, redact: Callable[[str], str]
) -> ApiError:
    """The exception for a non-2xx answer (Omeda's status table; 429 and 5xx too).

    Every text of the server's (messages, reason phrase, content type) passes
    through ``redact`` before it is put in the exception.
    """
    status = answer.status
    data = answer.data if answer.is_json else None
    errors = tuple(redact(message) for message in error_messages(data))
    submission = last(data.get("SubmissionId")) if isinstance(data, Mapping) else None
    submission_id = submission if isinstance(submission, str) else None
    if errors:
        detail = "; ".join(errors[:5]) + (
            f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        )
    elif answer.too_large:
        detail = "the error body was too large to read"
    elif not answer.is_json:
        detail = f"a non-JSON body ({redact(answer.content_type or 'no content type')})"
    else:
        detail = "no error message"
    # The reason phrase and the content type are the server's text as much as its body.
    reason = f" {redact(answer.reason)}" if answer.reason else ""
    message = f"HTTP {status}{reason} from {method} {path}: {detail}"
    common: dict[str, Any] = {"status": status, "errors": errors, "submission_id": submission_id}
    if 400 <= status <= 499:
        # Omeda's page shows a merged customer as an error answer without a status;
        # FakeOmeda sends 400, Omeda's own clients meet it on 404.
        merged = _merged_into(data)
        if merged is not None:
            return merged_error_class(status)(
                message, merged_into_customer_id=merged[0], customer_id=merged[1], **common
            )
    if status == 400:
        if any("pending deactivation" in error.lower() for error in errors):
            return PendingDeactivationError(message, **common)
        return BadRequestError(message, **common)
    if status == 403:
        return AuthenticationError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 405:
        return MethodNotAllowedError(message, **common)
    retry_after = parse_retry_after(answer.headers.get("Retry-After"))
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after, **common)
    if 500 <= status <= 599:
        return ServerError(message, retry_after=retry_after, **common)
    return ApiError(message, **common)


# --- the transport ------------------------------------------------------------------


class Transport:
    """Sends requests for one client: session, headers, limits, retries, mapping.

    An injected ``aiohttp.ClientSession`` is used as it is and never closed
    (the caller owns it, as with aiohttp's ``connector_owner=False``); otherwise
    a session is created lazily inside the running loop on first use and closed
    by :meth:`close`.
    """

    __slots__ = (
        "_app_id",
        "_base_url",
        "_clock",
        "_closed",
        "_deadlines",
        "_headers_by_input",
        "_input_id",
        "_jitter",
        "_limiter",
        "_max_response_size",
        "_owns_session",
        "_redactor",
        "_retry",
        "_session",
        "_timeout",
    )

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        input_id: str | None,
        session: aiohttp.ClientSession | None,
        timeout: float,
        rate_limit: RateLimiter | None,
        retry: RetryPolicy,
        clock: Clock,
        max_response_size: int,
        jitter: Callable[[float], float] = backoff.full_jitter,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._input_id = input_id
        self._session = session
        self._owns_session = session is None
        # The total limit is kept by Deadlines (one timer for all requests, not
        # one per request); aiohttp keeps only the connect limit, paid per new
        # connection rather than per request.
        self._deadlines = Deadlines(timeout)
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(timeout, _MAX_CONNECT_TIMEOUT)
        )
        self._limiter = rate_limit
        self._retry = retry
        self._clock = clock
        self._max_response_size = max_response_size
        self._jitter = jitter
        self._redactor = Redactor((app_id, input_id))
        self._closed = False
        # Almost every request carries the client's own input id (POSTs) or none
        # (GETs): their headers are built once, immutable, in the form aiohttp
        # takes without converting.
        self._headers_by_input = {known: self._headers(known) for known in {input_id, None}}

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def retry(self) -> RetryPolicy:
        """The default retry policy."""
        return self._retry

    async def close(self) -> None:
        """Close the session if this transport created it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("OmedaClient is closed")
        if self._session is None:
            # Created here, inside a coroutine, so it binds to the running loop.
            # No cookie jar: Omeda's API is stateless (credentials ride in headers),
            # so nothing a server sets is kept or sent back, and no request pays
            # for filtering an empty jar (1% of a bulk job's client CPU).
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    def redact(self, text: str, *extra: str | None) -> str:
        """``text`` without the app id, the input ids and card numbers (see ``_redact``)."""
        return self._redactor_for(*extra)(text)

    def _redactor_for(self, *extra: str | None) -> Redactor:
        if not any(secret and secret != self._input_id for secret in extra):
            return self._redactor
        # Another input id for this call: only on an error path, so built as needed.
        return Redactor((self._app_id, self._input_id, *extra))

    def _scrub(self, error: OmedaError, input_id: str | None, body: bytes | None) -> OmedaError:
        """``error`` with every text in it redacted: message, ``errors``, content type.

        The one place every exception of a request passes before it is raised,
        whoever built it (the error mapping, a response reader, the exchange):
        whatever a server echoed, in any letter case, leaves here redacted, and
        so do the card number and security code the request itself submitted.
        """
        redactor = self._redactor_for(input_id)
        card_number, security_code = submitted_card(body)

        def clean(text: str) -> str:
            return redactor(text, card_number=card_number, security_code=security_code)

        error.args = tuple(clean(arg) if isinstance(arg, str) else arg for arg in error.args)
        if isinstance(error, ApiError):
            error.errors = tuple(clean(message) for message in error.errors)
            if error.submission_id is not None:
                error.submission_id = clean(error.submission_id)
        if isinstance(error, MalformedResponseError) and error.content_type is not None:
            error.content_type = clean(error.content_type)
        return error

    def _headers(self, input_id: str | None) -> CIMultiDictProxy[str]:
        headers = CIMultiDict(
            {
                "x-omeda-appid": self._app_id,
                "content-type": "application/json",
                "accept": "application/json",
            }
        )
        if input_id is not None:
            headers["x-omeda-inputid"] = input_id
        return CIMultiDictProxy(headers)

    async def request(
        self,
        method: Method,
        path: str,
        *,
        parse: Callable[[Answer], _T],
        service: str,
        idempotent: bool,
        body: bytes | None = None,
        input_id: str | None = None,
        retry: RetryPolicy | None = None,
        payload: Any = None,
    ) -> _T:
        """Send with retries; return ``parse(answer)`` for a 2xx answer.

        Non-2xx answers raise the mapped :class:`~omeda_async.ApiError`; see
        :func:`retry_decision` for what is retried and when a POST's outcome is
        unknown (``payload`` and ``service`` then ride on the exception). At most
        ``retry.max_attempts`` attempts, each bounded by the client's timeout, with
        sleeps bounded by ``max(max_delay, RETRY_AFTER_CAP)``.
        """
        policy = retry or self._retry
        session = self._get_session()  # use after close fails before any waiting
        headers = self._headers_by_input.get(input_id) or self._headers(input_id)
        attempt = 0
        ceilings: Iterator[float] | None = None
        # The loop is ours rather than a backoff decorator: backoff's async
        # decorator sleeps with asyncio.sleep, which would bypass the client's
        # Clock (scaled and manual clocks in tests and the fake server), and the
        # POST rules need the failure itself, not just "retry or not". The delays
        # are backoff's: its expo generator and full jitter (retry_ceilings).
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire()
            error: OmedaError
            if attempt > 1:
                session = self._get_session()  # closed while we waited?
            try:
                answer = await self._exchange(session, method, path, body, headers, attempt)
            except TransportError as exc:
                error = exc
            else:
                if 200 <= answer.status <= 299:
                    if answer.is_json:
                        try:
                            return parse(answer)
                        except MalformedResponseError as exc:
                            error = exc
                        except Exception as exc:
                            # Whatever a reader trips on (a value nested past the
                            # recursion limit, a number too long for int()), the
                            # answer could not be read: for a POST that means the
                            # outcome is unknown, never an exception that a bulk
                            # job would take for "never sent".
                            error = self._unreadable(answer, method, path, exc)
                    else:
                        error = self._unreadable(answer, method, path)
                else:
                    error = self._error_for(answer, method, path, input_id)
            error = self._scrub(error, input_id, body)
            decision = retry_decision(error, idempotent=idempotent)
            if decision is RetryDecision.OUTCOME_UNKNOWN:
                raise SubmissionOutcomeUnknown(
                    f"{method} {path} may or may not have been queued: {error}",
                    payload=payload,
                    service=service,
                ) from error
            if decision is RetryDecision.RAISE or attempt >= policy.max_attempts:
                raise error
            if ceilings is None:
                ceilings = retry_ceilings(policy)  # only once a retry is due
            delay = retry_delay(
                next(ceilings),
                retry_after=getattr(error, "retry_after", None),
                jitter=self._jitter,
            )
            logger.warning(
                "retrying %s %s in %.2fs after %s (attempt %d of %d failed)",
                method,
                path,
                delay,
                type(error).__name__,
                attempt,
                policy.max_attempts,
            )
            await self._clock.sleep(delay)

    def _error_for(self, answer: Answer, method: str, path: str, input_id: str | None) -> ApiError:
        """:func:`error_for_answer`, judging by the status alone an error body it cannot read."""
        redact = self._redactor_for(input_id)
        try:
            return error_for_answer(answer, method=method, path=path, redact=redact)
        except Exception:
            # An error body too odd to read (nested past the recursion limit) still
            # has a status: the error is what the status alone makes it.
            bare = Answer(
                answer.status, answer.reason, answer.content_type, answer.headers, None, False
            )
            return error_for_answer(bare, method=method, path=path, redact=redact)

    def _unreadable(
        self, answer: Answer, method: str, path: str, failure: Exception | None = None
    ) -> MalformedResponseError:
        """What is wrong with a 2xx answer that could not be read (too large, not JSON, odd)."""
        if failure is not None:
            # The failure's own text may quote the answer: only its kind is shown.
            problem = f"the body could not be read ({type(failure).__name__})"
        elif answer.too_large:
            problem = f"the body is larger than {self._max_response_size} bytes"
        else:
            problem = f"the body is not JSON ({answer.content_type or 'no content type'})"
        return MalformedResponseError(
            f"HTTP {answer.status} from {method} {path}: {problem}",
            status=answer.status,
            content_type=answer.content_type,
        )

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: Method,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
        attempt: int,
    ) -> Answer:
        """One HTTP exchange, every lower-layer failure mapped to TransportError."""
        # Timed (and logged) only when DEBUG is on: a bulk job pays this per record.
        started = time.perf_counter() if logger.isEnabledFor(logging.DEBUG) else None
        try:
            with self._deadlines.limit():
                async with session.request(
                    method,
                    self._base_url + path,
                    data=body,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                    raise_for_status=False,
                ) as response:
                    response_headers: CIMultiDictProxy[str] = response.headers
                    raw: bytes | None
                    declared = response_headers.get("Content-Length")
                    if (
                        declared is not None
                        and declared.isdecimal()
                        and int(declared) <= self._max_response_size
                        and "Content-Encoding" not in response_headers
                    ):
                        # The usual answer (see _read_capped), read without another coroutine.
                        raw, too_large = await response.read(), False
                    else:
                        raw, too_large = await self._read_capped(response)
                    status = response.status
                    reason = response.reason or ""
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # The connection never opened: nothing reached Omeda.
            self._log(method, path, "connect failed", started, attempt)
            raise TransportError(
                self.redact(f"could not connect for {method} {path}: {exc}"), sent=False
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise TransportError(
                self.redact(f"invalid URL for {method} {path}"), sent=False
            ) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # Past the connect: the request may have left (a dropped connection, a
            # read or total timeout, a broken body). Only GETs may assume otherwise.
            self._log(method, path, type(exc).__name__, started, attempt)
            detail = str(exc) or type(exc).__name__
            raise TransportError(
                self.redact(
                    f"{method} {path} failed after the request may have been sent: {detail}"
                ),
                sent=True,
            ) from exc
        if started is not None:
            self._log(method, path, status, started, attempt)
        content_type = response_headers.get("Content-Type")
        if raw is None:
            # status, reason, content type, headers, data, is JSON, too large
            return Answer(status, reason, content_type, response_headers, None, False, too_large)
        data: Any = None
        is_json = False
        # An error answer is read whatever its content type claims: its messages
        # (a merged customer's MergedIntoCustomerId) matter more than the label.
        if _json_type(content_type) or not 200 <= status <= 299:
            try:
                data = loads(raw)
                is_json = True
            except (ValueError, RecursionError):
                # Truncated, not JSON at all, or nested deeper than the parser
                # goes (RecursionError): the caller decides what that means.
                is_json = False
        return Answer(status, reason, content_type, response_headers, data, is_json)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> tuple[bytes | None, bool]:
        """The body, or (None, True) as soon as it is known to exceed the cap."""
        cap = self._max_response_size
        headers = response.headers
        declared = headers.get("Content-Length", "").strip()
        if declared.isdecimal():
            if int(declared) > cap:
                return None, True
            if "Content-Encoding" not in headers:
                # aiohttp reads no more than the declared length, so one read is
                # within the cap (Omeda's answers are small and declared). A
                # compressed body may inflate past its length: it is streamed.
                return await response.read(), False
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > cap:
                # Leaving the response unread closes its connection: nothing more
                # of an oversized answer is read into memory.
                return None, True
            chunks.append(chunk)
        return b"".join(chunks), False

    def _log(
        self, method: str, path: str, outcome: object, started: float | None, attempt: int
    ) -> None:
        # Method, path (brand and ids), status, timing: never headers or bodies.
        if started is None:
            return
        logger.debug(
            "%s %s -> %s in %.3fs (attempt %d)",
            method,
            path,
            outcome,
            time.perf_counter() - started,
            attempt,
        )
