"""Transport safety over real sockets: TLS checks, loopback-only http, hostile ids, redirects.

tests/test_client.py and tests/test_transport.py cover the option checks, the
size cap (declared and streamed) and a GET 302 over aioresponses; these tests
add what only a real server shows: the certificate is verified, a hostile
customer id stays one path segment on the wire, brands cannot carry a path or
a header, and no redirect of a POST is followed.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from aiohttp import web

from omeda_async import (
    ApiError,
    OmedaClient,
    RetryPolicy,
    TransportError,
)
from omeda_async._transport import PRODUCTION_URL, STAGING_URL

APP_ID = "safety-app-id-0042"
INPUT_ID = "safety-input-0042"
BRAND = "SAFE"
PREFIX = f"/webservices/rest/brand/{BRAND}/"
HISTORY = {"SubmissionId": "s", "Customer": "u", "OrderHistory": []}

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Serve = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a local server for ``handler`` (TLS with ``ssl_context``); give its base URL."""
    runners: list[web.ServerRunner] = []

    async def start(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> str:
        runner = web.ServerRunner(web.Server(handler), handle_signals=False)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def client_for(base_url: str, **options: object) -> OmedaClient:
    return OmedaClient(
        brand=BRAND,
        app_id=APP_ID,
        input_id=INPUT_ID,
        base_url=base_url,
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
        **options,  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------- TLS


def test_real_hosts_are_https() -> None:
    """Both Omeda environments are https URLs, and the client uses them as they are."""
    assert PRODUCTION_URL.startswith("https://")
    assert STAGING_URL.startswith("https://")
    assert OmedaClient(brand=BRAND, app_id=APP_ID, environment="production").base_url == (
        PRODUCTION_URL
    )
    assert OmedaClient(brand=BRAND, app_id=APP_ID).base_url == STAGING_URL


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    where: Path = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_certificates_are_verified(serve: Serve, self_signed: ssl.SSLContext) -> None:
    """An https server with an untrusted certificate is refused before any request reaches it."""
    reached: list[str] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        reached.append(request.path)
        return web.json_response({"ResponseInfo": [{"TransactionId": 1}]})

    base_url = await serve(handler, self_signed)
    async with client_for(base_url) as client:
        with pytest.raises(TransportError) as lookup:
            await client.get_transaction(1)
        # Never sent: a POST refused at the handshake is safe to retry, never "unknown".
        with pytest.raises(TransportError) as submit:
            await client.store_customer_and_order({"FirstName": "Ann"})
    assert lookup.value.sent is False
    assert submit.value.sent is False
    assert "certificate" in str(submit.value).lower()
    assert reached == []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "http://evil.example/127.0.0.1",
        "http://10.0.0.1:8080",
        "http://[::ffff:8.8.8.8]",
    ],
)
def test_plain_http_to_lookalike_hosts_is_refused(base_url: str) -> None:
    """Only a host that really is loopback may use plain http without allow_insecure."""
    with pytest.raises(ValueError, match="allow_insecure"):
        OmedaClient(brand=BRAND, app_id=APP_ID, base_url=base_url)


# ----------------------------------------------------------------- hostile ids


@pytest.mark.parametrize(
    "brand",
    ["..", "../x", "A/B", "A%2FB", "A?b=1", "A#x", "A\r\nX-Evil: 1", "A B", "ÄBC", "A\x00", ""],
)
def test_brand_cannot_change_the_path_or_a_header(brand: str) -> None:
    """A brand is letters, digits, '_' and '-': anything else is refused at construction."""
    with pytest.raises(ValueError, match="brand"):
        OmedaClient(brand=brand, app_id=APP_ID)


@pytest.mark.parametrize(
    "customer_id",
    ["../x", "../../storecustomerandorder", "%2F", "%2e%2e", "a/b", "?x=1", "#frag",
     "a\r\nX-Evil: 1", "é☃", "a b", "x;y", "~user", "..."],
)  # fmt: skip
async def test_hostile_customer_id_stays_one_path_segment(serve: Serve, customer_id: str) -> None:
    """An encrypted customer id with path, query, fragment or CR/LF characters is one segment."""
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        seen.append((request.method, request.raw_path, dict(request.headers)))
        return web.json_response(HISTORY)

    async with client_for(await serve(handler)) as client:
        await client.get_order_issue_history(customer_id, product_id=7)
    [(method, raw_path, headers)] = seen
    assert method == "GET"
    assert raw_path.startswith(PREFIX + "customer/")
    assert raw_path.endswith("/orderissuehistory/product/7/*")
    segment = raw_path[len(PREFIX + "customer/") : -len("/orderissuehistory/product/7/*")]
    assert not {"/", "?", "#"} & set(segment)
    assert unquote(segment) == customer_id.strip()
    assert "X-Evil" not in headers


@pytest.mark.parametrize("customer_id", ["..", ".", " .. "])
async def test_dot_segment_customer_ids_are_refused(serve: Serve, customer_id: str) -> None:
    """'.' and '..' would be resolved away by URL normalization, changing the path: refused."""
    seen: list[str] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        seen.append(request.raw_path)
        return web.json_response(HISTORY)

    async with client_for(await serve(handler)) as client:
        with pytest.raises(ValueError, match="customer_id"):
            await client.get_order_issue_history(customer_id)
    assert seen == []


# ----------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(serve: Serve, status: int) -> None:
    """A redirect answer is an error; the target (which would get the app id and body) never
    sees a request, and a redirected POST is not sent again."""
    seen: list[tuple[str, str]] = []

    async def elsewhere(request: web.BaseRequest) -> web.StreamResponse:
        seen.append(("elsewhere", request.method))
        return web.json_response({"ResponseInfo": [{"TransactionId": 5}]})

    target = await serve(elsewhere)

    async def redirecting(request: web.BaseRequest) -> web.StreamResponse:
        seen.append((request.path, request.method))
        return web.Response(status=status, headers={"Location": f"{target}/steal"})

    async with client_for(await serve(redirecting)) as client:
        with pytest.raises(ApiError) as submit:
            await client.store_customer_and_order({"FirstName": "Ann"})
        with pytest.raises(ApiError) as lookup:
            await client.get_transaction(3)
    assert submit.value.status == status
    assert lookup.value.status == status
    assert [method for _, method in seen] == ["POST", "GET"]
    assert ("elsewhere", "POST") not in seen
    assert ("elsewhere", "GET") not in seen
