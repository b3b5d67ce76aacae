"""A hostile server, over real sockets: what the client raises, and what it never shows.

The server answers with JSON nested 100,000 deep (in 2xx, 4xx and 5xx answers,
to POSTs and GETs, on every path an answer is read), echoes the credentials
(in the body, the reason phrase and the Content-Type, in any letter case) and
the card data it was sent, and hands out receipts that name nothing. The
promises (issue 15):

- an answer that cannot be read is an OmedaError, never a RecursionError:
  ``SubmissionOutcomeUnknown`` for a POST (never resent), and for a GET what
  its status makes it (``MalformedResponseError`` for a 2xx, ``ServerError``,
  retried, for a 5xx);
- no exception, ``errors`` entry, result, journal or command output carries the
  app id, the input id, a card number or the submitted security code;
- a receipt whose TransactionId is not a positive 64-bit integer is an unknown
  outcome, never an accepted record (and never a poisoned journal).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web

from omeda_async import (
    BadRequestError,
    MalformedResponseError,
    MemoryStore,
    NotFoundError,
    OmedaClient,
    OmedaError,
    RecordState,
    RetryPolicy,
    ServerError,
    SqliteStore,
    SubmissionOutcomeUnknown,
)

APP_ID = "HostileAppId0042abcdef"
INPUT_ID = "HostileInput0042"
BRAND = "HOSTILE"
PREFIX = f"/webservices/rest/brand/{BRAND}"
CARD = "4111111111111111"
OTHER_CARD = "5555555555554444"  # never submitted: masked because it passes Luhn
SECURITY_CODE = "737"
ATTEMPTS = 3
# Nested far past the recursion limit, as the adversarial review sent it.
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
DEEP = {"array": DEEP_ARRAY, "object": DEEP_OBJECT}
SIGNUP: dict[str, Any] = {"FirstName": "Ann", "Emails": [{"EmailAddress": "ann@example.com"}]}
ORDER: dict[str, Any] = {"OmedaCustomerId": 5, "Products": [{"OmedaProductId": 7}]}
PAID: dict[str, Any] = {
    "FirstName": "Ann",
    "BillingInformation": {
        "CreditCardNumber": CARD,
        "CardSecurityCode": SECURITY_CODE,
        "ExpirationDate": "1230",
        "DoCharge": "False",
        "NameOnCard": "Ann Smith",
        "DepositDate": "2024-05-01",
        "AuthCode": "A1",
        "BillingStreet": "1 Main St",
        "BillingCity": "Chicago",
        "BillingRegion": "IL",
        "BillingPostalCode": "60601",
        "BillingCountryCode": "USA",
    },
}


@attrs.define
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    reason: str | None = None
    content_type: str = "application/json"


@attrs.define
class Hostile:
    """The server's script (the last reply repeats) and what it received, by path."""

    url: str = ""
    replies: list[Reply] = attrs.Factory(list)
    received: list[str] = attrs.Factory(list)

    def answer(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.received.clear()

    def count(self, service: str) -> int:
        return sum(1 for path in self.received if f"/{service}/" in path)

    def client(self, **options: Any) -> OmedaClient:
        settings: dict[str, Any] = {
            "brand": BRAND,
            "app_id": APP_ID,
            "input_id": INPUT_ID,
            "base_url": self.url,
            "retry": RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.0),
            "timeout": 30.0,
        }
        settings.update(options)
        return OmedaClient(**settings)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    """A local server that answers whatever the test scripts."""
    state = Hostile()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        await request.read()
        state.received.append(request.path)
        reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
        return web.Response(
            status=reply.status,
            reason=reply.reason,
            body=reply.body,
            headers={"Content-Type": reply.content_type},
        )

    # A 100,000-deep answer is 200 kB: more than aiohttp's default line and field limits allow.
    runner = web.ServerRunner(web.Server(handler), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


async def _text_of(call: Call, client: OmedaClient) -> str:
    """What a caller gets to see: the exception (an OmedaError, else the test fails) or result."""
    try:
        result = await call(client)
    except OmedaError as exc:
        return _chain(exc)
    return repr(result)


def _chain(error: BaseException) -> str:
    """Every text of ``error`` and of the errors it came from."""
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None:
        parts += [str(current), repr(current)]
        parts += [str(value) for value in vars(current).values() if isinstance(value, str)]
        parts += list(getattr(current, "errors", ()))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


SECRETS = (APP_ID, INPUT_ID, CARD, OTHER_CARD)


def assert_clean(text: str) -> None:
    """No credential or card number in any letter case, grouped or not; no security code."""
    folded = text.lower()
    for secret in SECRETS:
        assert secret.lower() not in folded
    digits_only = re.sub(r"(?<=\d)[ -](?=\d)", "", text)
    assert CARD not in digits_only
    assert OTHER_CARD not in digits_only
    assert not re.search(rf"(?<!\d){SECURITY_CODE}(?!\d)", text)


Call = Callable[[OmedaClient], Awaitable[Any]]
POSTS: dict[str, tuple[str, Call]] = {
    "storecustomerandorder": (
        "storecustomerandorder",
        lambda c: c.store_customer_and_order(SIGNUP),
    ),
    "orderqueue": ("orderqueue", lambda c: c.add_order(ORDER)),
}
GETS: dict[str, tuple[str, Call]] = {
    "transaction": ("transaction", lambda c: c.get_transaction(7)),
    "orderissuehistory": ("orderissuehistory", lambda c: c.get_order_issue_history(5)),
    "runprocessor": ("runprocessor", lambda c: c.run_processor([7])),  # idempotent: a GET's rules
}


# --- answers that cannot be read ----------------------------------------------------


@pytest.mark.parametrize("shape", sorted(DEEP))
@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("name", sorted(POSTS))
async def test_deep_answer_to_a_post_is_an_unknown_outcome(
    hostile: Hostile, name: str, status: int, shape: str
) -> None:
    """2xx or 500, 100k deep: SubmissionOutcomeUnknown with the payload, sent exactly once."""
    service, call = POSTS[name]
    hostile.answer(Reply(status, DEEP[shape]))
    async with hostile.client() as client:
        with pytest.raises(SubmissionOutcomeUnknown) as caught:
            await call(client)
    assert caught.value.payload is not None
    assert caught.value.service == service
    assert hostile.count(service) == 1


@pytest.mark.parametrize("shape", sorted(DEEP))
@pytest.mark.parametrize("name", sorted(GETS))
async def test_deep_2xx_answer_to_a_get_is_malformed(
    hostile: Hostile, name: str, shape: str
) -> None:
    """A 2xx that cannot be read is MalformedResponseError: retried as GETs are, then raised."""
    service, call = GETS[name]
    hostile.answer(Reply(200, DEEP[shape]))
    async with hostile.client() as client:
        with pytest.raises(MalformedResponseError) as caught:
            await call(client)
    assert caught.value.status == 200
    assert hostile.count(service) == ATTEMPTS


@pytest.mark.parametrize("name", sorted(GETS))
async def test_deep_500_answer_to_a_get_is_retried_as_a_server_error(
    hostile: Hostile, name: str
) -> None:
    """A deep 500 is a ServerError like any other: retried, then raised."""
    service, call = GETS[name]
    hostile.answer(Reply(500, DEEP_ARRAY))
    async with hostile.client() as client:
        with pytest.raises(ServerError):
            await call(client)
    assert hostile.count(service) == ATTEMPTS


@pytest.mark.parametrize(
    ("status", "kind"), [(400, BadRequestError), (404, NotFoundError), (403, OmedaError)]
)
async def test_deep_error_body_is_judged_by_its_status(
    hostile: Hostile, status: int, kind: type[OmedaError]
) -> None:
    """An error body nested past the limit still gives its status's error, on every service."""
    hostile.answer(Reply(status, DEEP_OBJECT))
    async with hostile.client() as client:
        for name, (_service, call) in (*POSTS.items(), *GETS.items()):
            if name == "runprocessor" and status != 403:
                # Run Processor settles a refused id as a failed result, not an exception.
                (result,) = await call(client)
                assert not result.succeeded
                continue
            with pytest.raises(kind):
                await call(client)


@pytest.mark.parametrize(
    "body",
    [
        # Readable JSON with a value nested just short of what the parser takes,
        # where a reader or the error mapping would quote or re-encode it.
        '{"ResponseInfo":[{"TransactionId":' + "[" * 700 + "]" * 700 + "}]}",
        '{"ResponseInfo":[{"OrderId":' + "[" * 700 + "]" * 700 + "}]}",
        '{"TransactionId":7,"Status":' + '{"a":' * 700 + "1" + "}" * 700 + "}",
        '{"OrderHistory":[{"ProductId":' + "[" * 700 + "]" * 700 + "}]}",
        '{"BatchStatus":[{"TransactionId":' + "[" * 700 + "]" * 700 + "}]}",
        '{"ResponseInfo":[{"TransactionId":"' + "9" * 5000 + '"}]}',
    ],
)
async def test_deeply_nested_values_in_readable_answers(hostile: Hostile, body: str) -> None:
    """Readers never recurse on, or quote in full, what a server nests: OmedaError only."""
    hostile.answer(Reply(200, body.encode()))
    async with hostile.client() as client:
        for _service, call in (*POSTS.values(), *GETS.values()):
            assert len(await _text_of(call, client)) < 2000


async def test_deep_error_values_in_a_readable_error_body(hostile: Hostile) -> None:
    """An Error value nested hundreds deep is shown as such, not re-encoded past the limit."""
    error = "[" * 900 + "]" * 900
    hostile.answer(Reply(400, f'{{"Errors":[{{"Error":{error}}}]}}'.encode()))
    async with hostile.client() as client:
        with pytest.raises(BadRequestError) as caught:
            await client.add_order(ORDER)
    assert len(caught.value.errors) == 1


# --- echoes of secrets --------------------------------------------------------------


def _cases(secret: str) -> list[str]:
    return [secret, secret.upper(), secret.lower(), secret.swapcase()]


ECHOES = (
    [
        pytest.param(
            Reply(403, json.dumps({"Errors": [{"Error": f"bad app id {echo}"}]}).encode()),
            id=f"body-{index}",
        )
        for index, echo in enumerate([*_cases(APP_ID), *_cases(INPUT_ID)])
    ]
    + [
        pytest.param(Reply(400, b"{}", reason=f"Bad key {echo}"), id=f"reason-{index}")
        for index, echo in enumerate([*_cases(APP_ID), *_cases(INPUT_ID)])
    ]
    + [
        pytest.param(
            Reply(status, b"<html/>", content_type=f"text/html; k={echo}"), id=f"type-{status}"
        )
        for status, echo in [(200, APP_ID.upper()), (404, INPUT_ID.lower()), (503, APP_ID)]
    ]
    + [
        pytest.param(
            Reply(200, json.dumps({"ResponseInfo": [{"TransactionId": APP_ID}]}).encode()),
            id="receipt-value",
        ),
        pytest.param(
            Reply(400, json.dumps({"Errors": [{"Error": f"%22{APP_ID}%22 glued"}]}).encode()),
            id="glued",
        ),
    ]
)


@pytest.mark.parametrize("reply", ECHOES)
async def test_echoed_credentials_never_reach_an_exception(hostile: Hostile, reply: Reply) -> None:
    """Body, reason phrase, Content-Type, any letter case: POSTs and GETs show *** instead."""
    hostile.answer(reply)
    async with hostile.client() as client:
        shown = [await _text_of(call, client) for _, call in (*POSTS.values(), *GETS.values())]
    for text in shown:
        assert_clean(text)
    # The echo did reach the caller's text, redacted: the test is not vacuous.
    assert any("***" in text for text in shown)


async def test_a_reason_phrase_of_a_2xx_is_never_quoted(hostile: Hostile) -> None:
    """An unreadable 2xx whose reason phrase echoes the app id: clean as well."""
    hostile.answer(Reply(200, b"{}", reason=f"OK {APP_ID.lower()}"))
    async with hostile.client() as client:
        for _service, call in (*POSTS.values(), *GETS.values()):
            assert_clean(await _text_of(call, client))


async def test_echoed_card_and_security_code_are_masked(hostile: Hostile) -> None:
    """A card number (plain or grouped, submitted or not) keeps its last four; the CVV goes."""
    messages = [
        f"Card {CARD} was declined",
        "Card 4111 1111 1111 1111 was declined",
        "Card 4111-1111-1111-1111 was declined",
        f"Also on file: {OTHER_CARD}",
        f"CardSecurityCode {SECURITY_CODE} does not match",
        f"cvv={SECURITY_CODE}",
    ]
    hostile.answer(
        Reply(400, json.dumps({"Errors": [{"Error": m} for m in messages]}).encode()),
        Reply(500, json.dumps({"Errors": [{"Error": f"charge {CARD} {SECURITY_CODE}"}]}).encode()),
    )
    async with hostile.client() as client:
        with pytest.raises(BadRequestError) as refused:
            await client.store_customer_and_order(PAID)
        with pytest.raises(SubmissionOutcomeUnknown) as unknown:
            await client.store_customer_and_order(PAID)
    assert_clean(_chain(refused.value))
    assert_clean(_chain(unknown.value))
    assert refused.value.errors[0] == "Card ************1111 was declined"
    assert refused.value.errors[3] == "Also on file: ************4444"
    assert refused.value.errors[4] == "CardSecurityCode *** does not match"
    # The payload rides on the exception for reconciliation, never in its text.
    assert unknown.value.payload is PAID


async def test_a_submitted_card_failing_luhn_is_masked_too(hostile: Hostile) -> None:
    """The card number the request sent is masked whatever its check digit."""
    mistyped = "4111111111111112"
    payload = {**PAID, "BillingInformation": {**PAID["BillingInformation"]}}
    payload["BillingInformation"]["CreditCardNumber"] = mistyped
    hostile.answer(Reply(400, json.dumps({"Errors": [{"Error": f"bad {mistyped}"}]}).encode()))
    async with hostile.client() as client:
        with pytest.raises(BadRequestError) as caught:
            await client.store_customer_and_order(payload)
    assert caught.value.errors == ("bad ************1112",)


async def test_lookup_errors_are_redacted_in_results(hostile: Hostile) -> None:
    """A Transaction's and a Run Processor result's messages are the server's text too."""
    echo = f"card {CARD} rejected for {APP_ID.upper()}"
    hostile.answer(
        Reply(
            200, json.dumps({"TransactionId": 7, "Status": 9, "Errors": [{"Error": echo}]}).encode()
        ),
        Reply(
            200,
            json.dumps(
                {
                    "BatchStatus": [
                        {"TransactionId": 7, "Success": "false", "Errors": [{"Error": echo}]}
                    ]
                }
            ).encode(),
        ),
    )
    async with hostile.client() as client:
        transaction = await client.get_transaction(7)
        (result,) = await client.run_processor([7])
    assert transaction.errors == ("card ************1111 rejected for ***",)
    assert result.message == "card ************1111 rejected for ***"


async def test_the_journal_and_outcomes_stay_clean(hostile: Hostile, tmp_path: Path) -> None:
    """submit_many journals the redacted reasons: nothing secret reaches the file."""
    hostile.answer(
        Reply(
            400,
            json.dumps({"Errors": [{"Error": f"{APP_ID} {CARD} {SECURITY_CODE}"}]}).encode(),
            reason=f"Bad {INPUT_ID.lower()}",
        )
    )
    journal = tmp_path / "job.sqlite"
    async with hostile.client() as client, SqliteStore(journal, brand=BRAND) as store:
        outcomes = [outcome async for outcome in client.submit_many([PAID], store=store)]
    (outcome,) = outcomes
    assert outcome.error is not None
    assert_clean(_chain(outcome.error))
    raw = journal.read_bytes().decode("latin-1")
    assert_clean(raw)


async def test_a_short_app_id_does_not_garble_messages(hostile: Hostile) -> None:
    """An id too short to be Omeda's is redacted as a whole token only."""
    hostile.answer(
        Reply(
            400,
            json.dumps({"Errors": [{"Error": "Invalid key ab1 (AB1) for table ab12"}]}).encode(),
        )
    )
    async with hostile.client(app_id="ab1") as client:
        with pytest.raises(BadRequestError) as caught:
            await client.add_order(ORDER)
    assert caught.value.errors == ("Invalid key *** (***) for table ab12",)
    assert str(caught.value).startswith("HTTP 400 Bad Request from POST ")


# --- receipts that name nothing -----------------------------------------------------


BAD_IDS = [0, -1, "-5", 2**63, 2**64 + 3, "x", None, True, 1.5, [7], {"a": 7}]


@pytest.mark.parametrize("transaction_id", BAD_IDS)
async def test_a_receipt_without_a_usable_id_is_an_unknown_outcome(
    hostile: Hostile, transaction_id: Any
) -> None:
    """TransactionId 0, negative, >= 2**63 or not a number: outcome unknown, sent once."""
    hostile.answer(
        Reply(200, json.dumps({"ResponseInfo": [{"TransactionId": transaction_id}]}).encode())
    )
    async with hostile.client() as client:
        with pytest.raises(SubmissionOutcomeUnknown) as caught:
            await client.store_customer_and_order(SIGNUP)
    assert isinstance(caught.value.__cause__, MalformedResponseError)
    assert hostile.count("storecustomerandorder") == 1


@pytest.mark.parametrize("transaction_id", [0, -7, 2**63])
async def test_a_bad_receipt_never_poisons_a_journal(
    hostile: Hostile, tmp_path: Path, transaction_id: int
) -> None:
    """Journaled unknown (not accepted): a tracked re-run neither dies nor resends it."""
    hostile.answer(
        Reply(200, json.dumps({"ResponseInfo": [{"TransactionId": transaction_id}]}).encode())
    )
    journal = tmp_path / "job.sqlite"
    for _run in range(2):
        async with hostile.client() as client, SqliteStore(journal, brand=BRAND) as store:
            outcomes = [o async for o in client.submit_many([SIGNUP], store=store, track=True)]
            (outcome,) = outcomes
            assert outcome.receipt is None
            assert outcome.key is not None
            record = await store.get(outcome.key)
            assert record is not None
            assert record.state is RecordState.UNKNOWN
            assert record.transaction_id is None
    assert hostile.count("storecustomerandorder") == 1


async def test_memory_store_keeps_the_bad_receipt_unknown(hostile: Hostile) -> None:
    """The same with the in-memory store: UNKNOWN, never ACCEPTED with an impossible id."""
    hostile.answer(Reply(200, b'{"ResponseInfo":[{"TransactionId":0}]}'))
    store = MemoryStore()
    async with hostile.client() as client:
        (outcome,) = [o async for o in client.submit_many([SIGNUP], store=store)]
    assert isinstance(outcome.error, SubmissionOutcomeUnknown)
    assert outcome.key is not None
    record = await store.get(outcome.key)
    assert record is not None
    assert record.state is RecordState.UNKNOWN


async def test_command_output_stays_clean(
    hostile: Hostile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """omeda-async submit prints errors built from the exception: redacted there too."""
    from omeda_async.cli import main

    hostile.answer(
        Reply(
            400,
            json.dumps(
                {"Errors": [{"Error": f"{APP_ID.upper()} {CARD} {SECURITY_CODE}"}]}
            ).encode(),
            reason=f"Bad {INPUT_ID}",
        )
    )
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(PAID) + "\n", encoding="utf-8")
    journal = tmp_path / "journal.sqlite"
    for name, value in {
        "OMEDA_BRAND": BRAND,
        "OMEDA_APP_ID": APP_ID,
        "OMEDA_INPUT_ID": INPUT_ID,
        "OMEDA_BASE_URL": hostile.url,
    }.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["submit", str(rows), "--journal", str(journal)])
    out, err = capsys.readouterr()
    assert code == 1
    (line,) = [json.loads(text) for text in out.splitlines() if text.strip()]
    assert "************1111" in json.dumps(line)
    assert_clean(out)
    assert_clean(err)
    assert_clean(journal.read_bytes().decode("latin-1"))
