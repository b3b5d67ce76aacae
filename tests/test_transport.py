"""The transport: retry rules as pure functions, error mapping, limits, real sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import backoff
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from omeda_async import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    CustomerMergedError,
    MalformedResponseError,
    MethodNotAllowedError,
    NotFoundError,
    OmedaError,
    PendingDeactivationError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    SubmissionOutcomeUnknown,
    TransportError,
    _transport,
)
from omeda_async._json import loads
from omeda_async._transport import (
    Answer,
    RetryDecision,
    Transport,
    error_for_answer,
    parse_retry_after,
    retry_ceilings,
    retry_decision,
    retry_delay,
)
from tests.support import MockedHttp, VirtualClock

APP_ID = "app-SECRET-1234"
INPUT_ID = "input-SECRET-5678"
BASE = "https://ows.omedastaging.com"
PATH = "/webservices/rest/brand/ABC/transaction/7/*"
URL_ = BASE + PATH


# --- test doubles -------------------------------------------------------------------


def top(ceiling: float) -> float:
    """No jitter: the delay is the ceiling itself, so the ceilings can be checked."""
    return ceiling


TransportFactory = Callable[..., Transport]


@pytest.fixture
async def make_transport(clock: VirtualClock) -> AsyncIterator[TransportFactory]:
    made: list[Transport] = []

    def make(**overrides: Any) -> Transport:
        options: dict[str, Any] = {
            "base_url": BASE,
            "app_id": APP_ID,
            "input_id": INPUT_ID,
            "session": None,
            "timeout": 5.0,
            "rate_limit": None,
            "retry": RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=30.0),
            "clock": clock,
            "max_response_size": 1024,
        }
        options.update(overrides)
        transport = Transport(**options)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        await transport.close()


def _data(answer: Answer) -> Any:
    return answer.data


async def get(transport: Transport, path: str = PATH, **kwargs: Any) -> Any:
    return await transport.request(
        "GET", path, parse=_data, service="transaction", idempotent=True, **kwargs
    )


async def post(transport: Transport, path: str = PATH, **kwargs: Any) -> Any:
    kwargs.setdefault("body", b'{"FirstName":"Jane"}')
    kwargs.setdefault("payload", {"FirstName": "Jane"})
    return await transport.request(
        "POST", path, parse=_data, service="storecustomerandorder", idempotent=False, **kwargs
    )


def connector_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("ows.omedastaging.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


# --- retry_decision -----------------------------------------------------------------


def _server(status: int) -> ServerError:
    return ServerError("x", status=status)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        # GETs: 429, every 5xx and every transport error are retried.
        (RateLimitedError("x"), True, RetryDecision.RETRY),
        (_server(500), True, RetryDecision.RETRY),
        (_server(502), True, RetryDecision.RETRY),
        (_server(503), True, RetryDecision.RETRY),
        (_server(504), True, RetryDecision.RETRY),
        (TransportError("x", sent=False), True, RetryDecision.RETRY),
        (TransportError("x", sent=True), True, RetryDecision.RETRY),
        (BadRequestError("x", status=400), True, RetryDecision.RAISE),
        (AuthenticationError("x", status=403), True, RetryDecision.RAISE),
        (NotFoundError("x", status=404), True, RetryDecision.RAISE),
        (MethodNotAllowedError("x", status=405), True, RetryDecision.RAISE),
        (MalformedResponseError("x", status=200), True, RetryDecision.RETRY),
        # POSTs: retried only when surely not queued.
        (TransportError("x", sent=False), False, RetryDecision.RETRY),
        (RateLimitedError("x"), False, RetryDecision.RETRY),
        (_server(503), False, RetryDecision.RETRY),
        (TransportError("x", sent=True), False, RetryDecision.OUTCOME_UNKNOWN),
        (_server(500), False, RetryDecision.OUTCOME_UNKNOWN),
        (_server(502), False, RetryDecision.OUTCOME_UNKNOWN),
        (_server(504), False, RetryDecision.OUTCOME_UNKNOWN),
        (_server(501), False, RetryDecision.OUTCOME_UNKNOWN),
        (MalformedResponseError("x", status=200), False, RetryDecision.OUTCOME_UNKNOWN),
        (BadRequestError("x", status=400), False, RetryDecision.RAISE),
        (AuthenticationError("x", status=403), False, RetryDecision.RAISE),
        (NotFoundError("x", status=404), False, RetryDecision.RAISE),
        (MethodNotAllowedError("x", status=405), False, RetryDecision.RAISE),
        (ApiError("x", status=409), False, RetryDecision.RAISE),
    ],
)
def test_retry_decision(error: OmedaError, idempotent: bool, expected: RetryDecision) -> None:
    """Which failures are retried, raised, or make a POST's outcome unknown."""
    assert retry_decision(error, idempotent=idempotent) is expected


# --- retry_delay --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_number", "ceiling"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (5, 16.0), (6, 30.0), (10, 30.0), (5000, 30.0)],
)
def test_full_jitter_ceiling_doubles_up_to_max_delay(retry_number: int, ceiling: float) -> None:
    """The jitter range is [0, min(max_delay, base_delay * 2**n)], even for huge n."""
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    ceilings = itertools.islice(retry_ceilings(policy), retry_number, None)
    assert next(ceilings) == ceiling


def test_ceilings_are_backoffs_exponential_waits() -> None:
    """backoff.expo computes the ceilings (past 60 doublings they hold still)."""
    policy = RetryPolicy(base_delay=0.25, max_delay=1e30)
    expo = backoff.expo(base=2, factor=0.25, max_value=1e30)
    next(expo)
    ours = list(itertools.islice(retry_ceilings(policy), 70))
    assert ours[:60] == list(itertools.islice(expo, 60))
    assert ours[60:] == [0.25 * 2.0**60] * 10


def test_a_zero_base_delay_never_overflows() -> None:
    """base_delay=0 keeps every ceiling at 0, however many retries a policy allows."""
    ceilings = retry_ceilings(RetryPolicy(max_attempts=5000, base_delay=0.0))
    assert set(itertools.islice(ceilings, 5000)) == {0.0}


def test_full_jitter_spreads_over_the_whole_range() -> None:
    """By default backoff's full jitter draws from the whole [0, ceiling] range."""
    delays = [retry_delay(8.0) for _ in range(500)]
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert min(delays) < 1.0
    assert max(delays) > 7.0


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(0.25, 0.25), (45.0, 45.0), (120.0, 120.0), (3600.0, 120.0), (-5.0, 0.0)],
)
def test_retry_after_wins_over_jitter_and_max_delay(retry_after: float, expected: float) -> None:
    """A Retry-After beats the computed delay and max_delay, capped at 120 s."""
    assert retry_delay(0.5, retry_after=retry_after, jitter=top) == expected


async def test_retry_delays_double_on_the_clock(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """Each retry of one request takes the next ceiling; Retry-After still advances it."""
    http.get(URL_, status=500, payload={})
    http.get(URL_, status=429, payload={}, headers={"Retry-After": "7"})
    http.get(URL_, status=503, payload={})
    http.get(URL_, status=502, payload={})
    http.get(URL_, payload={"ok": True})
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=1.5)
    assert await get(make_transport(retry=policy, jitter=top)) == {"ok": True}
    assert clock.sleeps == [0.5, 7.0, 1.5, 1.5]


async def test_default_jitter_stays_under_each_ceiling(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """Without an injected jitter, each sleep is drawn within its retry's ceiling."""
    http.get(URL_, status=503, payload={}, repeat=True)
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0)
    with pytest.raises(ServerError):
        await get(make_transport(retry=policy))
    ceilings = [1.0, 2.0, 4.0]
    assert all(0.0 <= slept <= most for slept, most in zip(clock.sleeps, ceilings, strict=True))


# --- parse_retry_after --------------------------------------------------------------

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:59:00 GMT", 0.0),
        ("soon", None),
        ("-3", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    """Seconds or an HTTP date; past dates are 0; junk is None."""
    assert parse_retry_after(header, now=NOW) == expected


# --- error_for_answer ---------------------------------------------------------------


def answer(
    status: int,
    body: str | None = None,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Answer:
    data = loads(body) if body is not None else None
    return Answer(
        status=status,
        reason="",
        content_type=content_type,
        headers=CIMultiDict(headers or {}),
        data=data,
        is_json=body is not None,
    )


def _map(a: Answer) -> ApiError:
    return error_for_answer(a, method="POST", path=PATH, redact=lambda t: t.replace(APP_ID, "***"))


MERGED = (
    '{"SubmissionId":"2da476ca","Errors":[{"MergedIntoCustomerId":99999,'
    '"Error":"Customer id 22 is valid but not active. Please use 99999."}]}'
)


def test_plain_400_is_bad_request_with_messages() -> None:
    """A 400 with Errors is BadRequestError carrying every message, status and path."""
    error = _map(answer(400, '{"Errors":[{"Error":"Number must be set."},{"Error":"b"}]}'))
    assert type(error) is BadRequestError
    assert error.errors == ("Number must be set.", "b")
    assert "HTTP 400" in str(error)
    assert PATH in str(error)
    assert "Number must be set." in str(error)


def test_merged_customer_is_read_from_merged_into_customer_id() -> None:
    """The structured MergedIntoCustomerId makes a CustomerMergedError (ids parsed)."""
    error = _map(answer(400, MERGED))
    assert isinstance(error, CustomerMergedError)
    assert error.merged_into_customer_id == 99999
    assert error.customer_id == 22
    assert error.submission_id == "2da476ca"


def test_merged_customer_without_id_in_message() -> None:
    """A merged answer whose message names no customer still carries the target id."""
    error = _map(answer(400, '{"Errors":[{"MergedIntoCustomerId":"5","Error":"merged"}]}'))
    assert isinstance(error, CustomerMergedError)
    assert (error.customer_id, error.merged_into_customer_id) == (None, 5)


@pytest.mark.parametrize(
    ("status", "also"),
    [
        (400, BadRequestError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (405, MethodNotAllowedError),
        (409, BadRequestError),
        (429, BadRequestError),
    ],
)
def test_merged_customer_on_any_4xx(status: int, also: type[ApiError]) -> None:
    """MergedIntoCustomerId makes a CustomerMergedError on every 4xx, keeping its status class."""
    error = _map(answer(status, MERGED))
    assert isinstance(error, CustomerMergedError)
    assert isinstance(error, also)
    assert isinstance(error, BadRequestError)
    assert (error.status, error.customer_id, error.merged_into_customer_id) == (status, 22, 99999)
    assert type(error).__name__ == "CustomerMergedError"
    assert not isinstance(error, RateLimitedError)  # final: a merge is never retried
    assert retry_decision(error, idempotent=False) is RetryDecision.RAISE


def test_merged_into_customer_id_is_not_read_from_a_5xx() -> None:
    """A server error stays a ServerError (its outcome rules apply), whatever its body says."""
    error = _map(answer(500, MERGED))
    assert type(error) is ServerError


def test_pending_deactivation() -> None:
    """Omeda's "pending deactivation" message is a PendingDeactivationError."""
    body = (
        '{"Errors":[{"Error":'
        '"OmedaCustomerId 5 is pending deactivation. Please try again later."}]}'
    )
    error = _map(answer(400, body))
    assert isinstance(error, PendingDeactivationError)
    assert isinstance(error, BadRequestError)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (403, AuthenticationError),
        (404, NotFoundError),
        (405, MethodNotAllowedError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (409, ApiError),
        (302, ApiError),
    ],
)
def test_status_mapping(status: int, kind: type[ApiError]) -> None:
    """Each documented status maps to its own exception class."""
    error = _map(answer(status, '{"Errors":[{"Error":"nope"}]}'))
    assert type(error) is kind
    assert error.status == status


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_rides_on_the_error(status: int) -> None:
    """429 and 5xx carry the server's Retry-After in seconds."""
    error = _map(answer(status, "{}", headers={"Retry-After": "12"}))
    assert isinstance(error, RateLimitedError | ServerError)
    assert error.retry_after == 12.0


def test_error_status_with_html_body_keeps_its_class() -> None:
    """An HTML error page keeps the status's class and names the content type."""
    error = _map(answer(502, None, content_type="text/html"))
    assert type(error) is ServerError
    assert "text/html" in str(error)
    assert error.errors == ()


def test_server_messages_are_redacted() -> None:
    """A server message echoing the app id shows *** instead."""
    error = _map(answer(403, f'{{"Errors":[{{"Error":"Invalid app id {APP_ID}"}}]}}'))
    assert APP_ID not in str(error)
    assert APP_ID not in repr(error)
    assert error.errors == ("Invalid app id ***",)


# --- the transport over aioresponses ------------------------------------------------


async def test_headers_timeout_and_no_redirects(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """Every request carries the app id, JSON content type, the connect timeout, no redirects.

    The total limit is the transport's own (``_deadline.Deadlines``, one timer for
    all requests), so aiohttp is given only the connect limit."""
    http.get(URL_, payload={"ok": 1})
    transport = make_transport(timeout=42.0)
    assert await get(transport) == {"ok": 1}
    (call,) = http.calls("GET", URL_)
    headers = call.kwargs["headers"]
    assert headers["x-omeda-appid"] == APP_ID
    assert headers["content-type"] == "application/json"
    assert "x-omeda-inputid" not in headers
    assert call.kwargs["allow_redirects"] is False
    assert call.kwargs["timeout"] == aiohttp.ClientTimeout(total=None, sock_connect=10.0)
    assert transport._deadlines.seconds == 42.0


async def test_input_id_header_only_when_given(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """x-omeda-inputid is sent when the call names one, with that value."""
    http.post(URL_, payload={"ok": 1})
    await post(make_transport(), input_id="per-call")
    (call,) = http.calls("POST", URL_)
    assert call.kwargs["headers"]["x-omeda-inputid"] == "per-call"
    assert call.kwargs["data"] == b'{"FirstName":"Jane"}'


async def test_short_timeout_bounds_connect_too(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A timeout under 10 s also bounds the connect phase."""
    http.get(URL_, payload={})
    await get(make_transport(timeout=2.0))
    (call,) = http.calls("GET", URL_)
    assert call.kwargs["timeout"] == aiohttp.ClientTimeout(total=None, sock_connect=2.0)


async def test_redirect_is_not_followed(http: MockedHttp, make_transport: TransportFactory) -> None:
    """A 302 is reported, not followed (the app id must not travel elsewhere)."""
    http.get(URL_, status=302, headers={"Location": "https://evil.example/"}, body="")
    with pytest.raises(ApiError) as caught:
        await get(make_transport())
    assert caught.value.status == 302
    assert http.calls("GET", "https://evil.example/") == []


async def test_get_retried_on_5xx_then_succeeds(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """A GET retries a 502 and a 500, sleeping on the clock, then returns the answer."""
    http.get(URL_, status=502, body="<html>bad gateway</html>", content_type="text/html")
    http.get(URL_, status=500, payload={"Errors": [{"Error": "boom"}]})
    http.get(URL_, payload={"ok": True})
    transport = make_transport(jitter=top)
    assert await get(transport) == {"ok": True}
    assert len(http.calls("GET", URL_)) == 3
    assert clock.sleeps == [0.5, 1.0]


async def test_get_gives_up_after_max_attempts(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """Retries are bounded: the last error is raised after max_attempts tries."""
    http.get(URL_, status=503, payload={}, repeat=True)
    with pytest.raises(ServerError) as caught:
        await get(make_transport())
    assert caught.value.status == 503
    assert len(http.calls("GET", URL_)) == 3
    assert len(clock.sleeps) == 2


async def test_per_call_policy_overrides(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """RetryPolicy.none() on the call means exactly one attempt."""
    http.get(URL_, status=429, payload={}, headers={"Retry-After": "3"}, repeat=True)
    with pytest.raises(RateLimitedError) as caught:
        await get(make_transport(), retry=RetryPolicy.none())
    assert caught.value.retry_after == 3.0
    assert len(http.calls("GET", URL_)) == 1
    assert clock.sleeps == []


async def test_429_retry_after_seconds_is_honoured(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """Retry-After (seconds) decides the wait, beyond max_delay."""
    http.get(URL_, status=429, payload={}, headers={"Retry-After": "45"})
    http.get(URL_, payload={"ok": 1})
    await get(make_transport(retry=RetryPolicy(max_attempts=2, max_delay=1.0)))
    assert clock.sleeps == [45.0]


async def test_429_retry_after_http_date_is_honoured(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """Retry-After as an HTTP date becomes the seconds until then."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    header = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    http.get(URL_, status=429, payload={}, headers={"Retry-After": header})
    http.get(URL_, payload={"ok": 1})
    await get(make_transport())
    (slept,) = clock.sleeps
    assert 80.0 <= slept <= 90.0


async def test_post_503_retried(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """A POST turned away with 503 was not queued: it is sent again."""
    http.post(URL_, status=503, payload={})
    http.post(URL_, payload={"ok": 1})
    assert await post(make_transport()) == {"ok": 1}
    assert len(http.calls("POST", URL_)) == 2


async def test_post_429_retried(http: MockedHttp, make_transport: TransportFactory) -> None:
    """A POST answered 429 was not queued: it is sent again."""
    http.post(URL_, status=429, payload={}, headers={"Retry-After": "1"})
    http.post(URL_, payload={"ok": 1})
    assert await post(make_transport()) == {"ok": 1}
    assert len(http.calls("POST", URL_)) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_post_5xx_is_outcome_unknown_never_retried(
    http: MockedHttp, make_transport: TransportFactory, status: int
) -> None:
    """A POST answered 500/502/504 may be queued: SubmissionOutcomeUnknown, one request."""
    http.post(URL_, status=status, payload={"Errors": [{"Error": "boom"}]}, repeat=True)
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await post(make_transport(), payload={"FirstName": "Jane"})
    assert caught.value.payload == {"FirstName": "Jane"}
    assert caught.value.service == "storecustomerandorder"
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.__cause__.status == status
    assert len(http.calls("POST", URL_)) == 1


async def test_post_server_disconnect_is_outcome_unknown(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A dropped connection after sending is SubmissionOutcomeUnknown, never a resend."""
    http.post(URL_, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await post(make_transport())
    cause = caught.value.__cause__
    assert isinstance(cause, TransportError)
    assert cause.sent
    assert isinstance(cause.__cause__, aiohttp.ServerDisconnectedError)
    assert len(http.calls("POST", URL_)) == 1


@pytest.mark.parametrize(
    "exception",
    [
        aiohttp.ClientPayloadError("broken body"),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.SocketTimeoutError("read timed out"),
        TimeoutError(),
    ],
)
async def test_post_failures_after_sending_are_outcome_unknown(
    http: MockedHttp, make_transport: TransportFactory, exception: Exception
) -> None:
    """Payload errors, resets and read/total timeouts may follow a queued POST."""
    http.post(URL_, exception=exception, repeat=True)
    with pytest.raises(SubmissionOutcomeUnknown):
        await post(make_transport())
    assert len(http.calls("POST", URL_)) == 1


@pytest.mark.parametrize(
    "exception", [connector_error(), aiohttp.ConnectionTimeoutError("connect timed out")]
)
async def test_post_connect_failure_is_retried(
    http: MockedHttp, make_transport: TransportFactory, exception: Exception
) -> None:
    """Connection refused or a connect timeout never reached Omeda: the POST is resent."""
    http.post(URL_, exception=exception)
    http.post(URL_, payload={"ok": 1})
    assert await post(make_transport()) == {"ok": 1}
    assert len(http.calls("POST", URL_)) == 2


async def test_connect_failure_exhausted_is_transport_error_not_sent(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """After max_attempts refused connections the TransportError says sent=False."""
    http.post(URL_, exception=connector_error(), repeat=True)
    with pytest.raises(TransportError) as caught:
        await post(make_transport())
    assert caught.value.sent is False
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert len(http.calls("POST", URL_)) == 3


async def test_get_retried_after_disconnect(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A GET is safe to resend after a dropped connection."""
    http.get(URL_, exception=aiohttp.ServerDisconnectedError())
    http.get(URL_, payload={"ok": 1})
    assert await get(make_transport()) == {"ok": 1}


@pytest.mark.parametrize("status", [400, 403, 404, 405])
async def test_client_errors_are_never_retried(
    http: MockedHttp, make_transport: TransportFactory, status: int
) -> None:
    """400/403/404/405 are final for GET and POST alike."""
    http.get(URL_, status=status, payload={"Errors": [{"Error": "no"}]}, repeat=True)
    http.post(URL_, status=status, payload={"Errors": [{"Error": "no"}]}, repeat=True)
    transport = make_transport()
    with pytest.raises(ApiError):
        await get(transport)
    with pytest.raises(ApiError) as caught:
        await post(transport)
    assert not isinstance(caught.value, SubmissionOutcomeUnknown)
    assert len(http.calls("GET", URL_)) == 1
    assert len(http.calls("POST", URL_)) == 1


# --- unreadable answers -------------------------------------------------------------


async def test_html_200_is_malformed_naming_status_and_type(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A 200 HTML page is MalformedResponseError naming the status and content type."""
    http.get(
        URL_, body="<html>maintenance</html>", content_type="text/html; charset=utf-8", repeat=True
    )
    with pytest.raises(MalformedResponseError) as caught:
        await get(make_transport())
    assert len(http.calls("GET", URL_)) == 3  # retried as any GET is, then raised
    assert caught.value.status == 200
    assert caught.value.content_type == "text/html; charset=utf-8"
    assert "200" in str(caught.value)
    assert "text/html" in str(caught.value)


async def test_truncated_json_is_malformed(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """JSON cut in half is MalformedResponseError, never a JSONDecodeError."""
    http.get(URL_, body='{"TransactionId": 5, "Sta', repeat=True)
    with pytest.raises(MalformedResponseError) as caught:
        await get(make_transport())
    assert not isinstance(caught.value.__cause__, ValueError)


async def test_garbled_get_answer_is_retried_and_the_next_one_read(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A GET is idempotent: an unreadable answer is asked again, as a 502 would be."""
    http.get(URL_, body='{"a": 1, "b', content_type="application/json")
    http.get(URL_, body='{"a": 1}')
    assert await get(make_transport()) == {"a": 1}
    assert len(http.calls("GET", URL_)) == 2


async def test_malformed_post_answer_is_outcome_unknown(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """An unreadable 2xx answer to a POST may hide a queued record: outcome unknown."""
    http.post(URL_, body="<html/>", content_type="text/html")
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await post(make_transport())
    assert isinstance(caught.value.__cause__, MalformedResponseError)


async def test_json_without_content_type_is_read(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """application/json with parameters, +json and text/json are all JSON."""
    for content_type in ("application/json; charset=UTF-8", "application/problem+json"):
        http.get(URL_, body='{"a": 1}', content_type=content_type)
        assert await get(make_transport()) == {"a": 1}


async def test_declared_oversize_body_is_refused(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A Content-Length over max_response_size is refused before reading."""
    http.get(URL_, body="{}", headers={"Content-Length": "999999999"}, repeat=True)
    with pytest.raises(MalformedResponseError, match="larger than 1024 bytes"):
        await get(make_transport())


async def test_streamed_oversize_body_is_refused(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """A body that grows past the cap without a Content-Length is refused too."""
    http.get(URL_, body='{"a": "' + "x" * 5000 + '"}', repeat=True)
    with pytest.raises(MalformedResponseError, match="larger than"):
        await get(make_transport())


async def test_oversize_error_body_keeps_the_status_error(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """An oversized 404 body is still a NotFoundError (without messages)."""
    http.get(URL_, status=404, body="x" * 5000)
    with pytest.raises(NotFoundError, match="too large"):
        await get(make_transport())


# --- sessions and lifecycle ---------------------------------------------------------


async def test_injected_session_is_used_and_never_closed(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """close() leaves a caller's session open; the caller closes it."""
    http.get(URL_, payload={"ok": 1})
    async with aiohttp.ClientSession() as session:
        transport = make_transport(session=session)
        assert await get(transport) == {"ok": 1}
        await transport.close()
        assert not session.closed


async def test_owned_session_is_closed_and_close_is_idempotent(
    http: MockedHttp, make_transport: TransportFactory
) -> None:
    """The transport's own session closes with it; closing twice is harmless."""
    http.get(URL_, payload={"ok": 1})
    transport = make_transport()
    await get(transport)
    session = transport._session
    assert session is not None
    await transport.close()
    await transport.close()
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        await get(transport)


async def test_closed_before_first_use(make_transport: TransportFactory) -> None:
    """A transport closed before any request never creates a session."""
    transport = make_transport()
    await transport.close()
    assert transport._session is None
    with pytest.raises(RuntimeError, match="closed"):
        await get(transport)


async def test_debug_log_per_request_without_secrets(
    http: MockedHttp, make_transport: TransportFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """One DEBUG line per attempt and a WARNING per retry; no app id or input id."""
    http.get(URL_, status=503, payload={"Errors": [{"Error": f"down for {APP_ID}"}]})
    http.get(URL_, payload={"ok": 1})
    with caplog.at_level(logging.DEBUG, logger="omeda_async"):
        await get(make_transport(), input_id=INPUT_ID)
    lines = [r for r in caplog.records if r.name == "omeda_async"]
    debug = [r.getMessage() for r in lines if r.levelno == logging.DEBUG]
    warning = [r.getMessage() for r in lines if r.levelno == logging.WARNING]
    assert len(debug) == 2
    assert all(PATH in line for line in debug)
    assert "503" in debug[0]
    assert "200" in debug[1]
    assert "attempt 2" in debug[1]
    assert len(warning) == 1
    assert "ServerError" in warning[0]
    for record in lines:
        assert APP_ID not in record.getMessage()
        assert INPUT_ID not in record.getMessage()


async def test_rate_limit_applies_to_every_attempt(
    http: MockedHttp, make_transport: TransportFactory, clock: VirtualClock
) -> None:
    """Retries pass through the token bucket like first attempts."""
    from omeda_async._ratelimit import TokenBucket

    http.get(URL_, status=500, payload={})
    http.get(URL_, payload={"ok": 1})
    transport = make_transport(rate_limit=TokenBucket(1, clock=clock), jitter=top)
    await get(transport)
    # Retry delay 0.5 s, then the bucket holds the retry to its 1 s slot: 0.5 more.
    assert clock.sleeps == [0.5, pytest.approx(0.5)]


# --- real sockets -------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[TestServer]]]:
    servers: list[TestServer] = []

    async def start(handler: Handler) -> TestServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def _base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def test_real_drop_after_body_is_outcome_unknown(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """A server that reads the POST body and hangs up: unknown outcome, sent once."""
    bodies: list[bytes] = []

    async def drop(request: web.Request) -> web.StreamResponse:
        bodies.append(await request.read())
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    server = await serve(drop)
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        await post(make_transport(base_url=_base(server)), payload={"FirstName": "Jane"})
    assert bodies == [b'{"FirstName":"Jane"}']
    assert caught.value.payload == {"FirstName": "Jane"}
    cause = caught.value.__cause__
    assert isinstance(cause, TransportError)
    assert cause.sent


async def test_real_drop_on_get_is_retried(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """The same drop on a GET is retried and the second answer returned."""
    seen: list[str] = []

    async def flaky(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        if len(seen) == 1:
            assert request.transport is not None
            request.transport.close()
        return web.json_response({"TransactionId": 7, "Status": 0})

    server = await serve(flaky)
    assert await get(make_transport(base_url=_base(server))) == {"TransactionId": 7, "Status": 0}
    assert seen == [PATH, PATH]


async def test_real_connection_refused_is_not_sent(make_transport: TransportFactory) -> None:
    """A closed port: TransportError(sent=False) after every attempt was refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = make_transport(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransportError) as caught:
        await post(transport)
    assert caught.value.sent is False
    assert APP_ID not in str(caught.value)


async def test_real_read_timeout_on_post_is_outcome_unknown(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """A POST whose answer never comes within the timeout: unknown, not resent."""
    never = asyncio.Event()
    calls: list[bytes] = []

    async def stall(request: web.Request) -> web.StreamResponse:
        calls.append(await request.read())
        await never.wait()
        return web.Response()

    server = await serve(stall)
    with pytest.raises(SubmissionOutcomeUnknown):
        await post(make_transport(base_url=_base(server), timeout=0.2))
    assert len(calls) == 1


async def test_real_stalled_body_on_get_times_out_and_is_retried(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """The time limit covers reading the body, and each attempt has its own: a GET whose
    first answer stops half-way is cut at the timeout, retried, and the retry answered."""
    never = asyncio.Event()
    attempts = 0

    async def half_then_whole(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            return web.json_response({"TransactionId": 7})
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Length": "100"}
        )
        await response.prepare(request)
        await response.write(b'{"TransactionId":')
        await never.wait()
        return response

    server = await serve(half_then_whole)
    transport = make_transport(base_url=_base(server), timeout=0.2)
    assert await get(transport) == {"TransactionId": 7}
    assert attempts == 2
    assert transport._deadlines._running == {}


async def test_a_cancelled_request_is_cancelled_not_timed_out(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """The caller's cancel mid-request propagates as CancelledError (a bulk job stopping),
    never as the timeout's TransportError."""
    never = asyncio.Event()
    arrived = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await never.wait()
        return web.Response()

    server = await serve(stall)
    transport = make_transport(base_url=_base(server), timeout=30.0)
    task = asyncio.create_task(get(transport))
    await arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert transport._deadlines._running == {}


async def test_cookies_a_server_sets_are_not_sent_back(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """The client's own session keeps no cookies: Omeda's API is stateless, so a
    cookie a server (or a proxy before it) sets never rides on the next request."""
    seen: list[str | None] = []

    async def setting(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response({"TransactionId": 7})
        response.set_cookie("session", "abc123")
        return response

    server = await serve(setting)
    # By name: aiohttp's jar would not keep a cookie of a bare IP address anyway.
    transport = make_transport(base_url=_base(server).replace("127.0.0.1", "localhost"))
    await get(transport)
    await get(transport)
    assert seen == [None, None]


async def test_real_endless_body_is_cut_at_the_cap(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """A never-ending answer is refused after max_response_size, not read to the end."""
    written = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal written
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b"[" + b"1," * 32767
        try:
            for _ in range(2000):  # 128 MiB at most, if the client read everything
                await response.write(chunk)
                written += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    server = await serve(endless)
    with pytest.raises(MalformedResponseError, match="larger than"):
        await get(make_transport(base_url=_base(server), max_response_size=256 * 1024))
    assert written < 64 * 1024 * 1024


async def test_real_compressed_body_is_measured_inflated(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """A small declared gzip body that inflates past the cap is refused: the cap counts what
    is read into memory, not the declared length."""
    inflated = b"[" + b"1," * (512 * 1024) + b"1]"

    async def deflating(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=gzip.compress(inflated),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    server = await serve(deflating)
    transport = make_transport(base_url=_base(server), max_response_size=64 * 1024)
    with pytest.raises(MalformedResponseError, match="larger than"):
        await get(transport)
    # Within the cap, the same kind of answer is read whole.
    inflated = b"[1,2,3]"
    assert await get(transport) == [1, 2, 3]


async def test_real_body_shorter_than_declared_is_outcome_unknown(
    serve: Callable[[Handler], Awaitable[TestServer]], make_transport: TransportFactory
) -> None:
    """An answer cut before its declared Content-Length: the POST's outcome is unknown."""
    bodies: list[bytes] = []

    async def cut(request: web.Request) -> web.StreamResponse:
        bodies.append(await request.read())
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"ResponseInfo": [{"TransactionId": 1')
        assert request.transport is not None
        request.transport.close()
        return response

    server = await serve(cut)
    with pytest.raises(SubmissionOutcomeUnknown):
        await post(make_transport(base_url=_base(server)))
    assert len(bodies) == 1


def test_content_type_reading_is_remembered_but_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each Content-Type is read once; a server that varies it cannot grow the memo."""
    memo: dict[str | None, bool] = {}
    monkeypatch.setattr(_transport, "_JSON_TYPE_SEEN", memo)  # this test's own, empty
    cases = {
        None: True,
        "application/json": True,
        "Application/JSON; charset=utf-8": True,
        "application/problem+json": True,
        "text/json": True,
        "text/html; charset=utf-8": False,
        "text/plain": False,
    }
    for content_type, expected in cases.items():
        assert _transport._json_type(content_type) is expected
    assert memo == cases  # each reading kept
    memo["text/plain"] = True  # a remembered answer is the one given
    assert _transport._json_type("text/plain") is True
    for n in range(_transport._JSON_TYPE_SEEN_MAX * 2):
        assert _transport._json_type(f"multipart/mixed; boundary={n}") is False
    assert len(memo) == _transport._JSON_TYPE_SEEN_MAX
