"""Redaction rules: credentials in any case, short ids as whole tokens, cards by Luhn, the CVV."""

from __future__ import annotations

import json

import pytest

from omeda_async._redact import ANYWHERE_FROM, Redactor, mask_cards, submitted_card

APP_ID = "7b65b95da75c2b0856b1ecaaffb8b102"
INPUT_ID = "837de75cd681d3bb"


@pytest.mark.parametrize(
    "echo",
    [
        APP_ID,
        APP_ID.upper(),
        APP_ID.swapcase(),
        f"%22{APP_ID}%22",
        f"key={APP_ID}&x",
        f"x{APP_ID}y",
    ],
)
def test_a_long_credential_goes_wherever_it_appears(echo: str) -> None:
    """In any letter case, glued to other text included."""
    assert APP_ID.lower() not in Redactor([APP_ID, INPUT_ID])(f"echo {echo}").lower()


def test_both_credentials_and_the_longer_first() -> None:
    """An id containing another is replaced whole, not left half-shown."""
    redact = Redactor(["abcdefgh", "abcdefgh-ijklmnop"])
    assert redact("id abcdefgh-ijklmnop and abcdefgh") == "id *** and ***"


def test_a_short_credential_goes_only_as_a_whole_token() -> None:
    """An id shorter than ANYWHERE_FROM cannot garble words: only standalone tokens go."""
    short = "ab1"
    assert len(short) < ANYWHERE_FROM
    redact = Redactor([short, None])
    text = "HTTP 400 Bad Request: key ab1 (AB1) 'ab1' ab1. not in tab1e or ab12 or xab1"
    assert redact(text) == (
        "HTTP 400 Bad Request: key *** (***) '***' ***. not in tab1e or ab12 or xab1"
    )
    assert Redactor(["a"])("a Bad Request with appid=a") == "*** Bad Request with appid=***"


def test_no_credentials_leave_text_alone() -> None:
    """A redactor without credentials still masks cards, and nothing else."""
    assert Redactor([None, ""])("plain text 42") == "plain text 42"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111111111111111 declined", "card ************1111 declined"),
        ("card 4111 1111 1111 1111", "card ************1111"),
        ("card 4111-1111-1111-1111.", "card ************1111."),
        ("amex 378282246310005", "amex ***********0005"),
        ("amex 3782 822463 10005", "amex ***********0005"),
        ("two 5555555555554444, 4012888888881881", "two ************4444, ************1881"),
        ("card 4111111111111111 737", "card ************1111 737"),
        # Not a card: fails Luhn, too short, too long, or a part of a longer number.
        ("fails 4111111111111112", "fails 4111111111111112"),
        ("short 411111111111", "short 411111111111"),
        ("long 41111111111111111111", "long 41111111111111111111"),
        ("TransactionId 8907512 customer 1234567", "TransactionId 8907512 customer 1234567"),
        ("no digits at all", "no digits at all"),
    ],
)
def test_card_numbers_keep_their_last_four(text: str, expected: str) -> None:
    """13-19 digits passing Luhn, standalone or grouped by spaces or dashes."""
    assert mask_cards(text) == expected


def test_the_submitted_card_goes_whatever_its_check_digit() -> None:
    """The number the request sent is masked even when it fails Luhn or is glued to digits."""
    mistyped = "4111111111111112"
    assert mask_cards(f"bad {mistyped}", mistyped) == "bad ************1112"
    assert mask_cards(f"x{mistyped}737", mistyped) == "x************1112737"


def test_the_submitted_security_code_goes_where_it_stands_alone() -> None:
    """3-4 digits: only as a number of its own, never inside a longer one."""
    redact = Redactor([APP_ID])
    text = "CVV 737 wrong; cvv=737; id 17370; 737."
    assert redact(text, security_code="737") == "CVV *** wrong; cvv=***; id 17370; ***."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "BillingInformation": {
                    "CreditCardNumber": "4111 1111 1111 1111",
                    "CardSecurityCode": "737",
                }
            },
            ("4111111111111111", "737"),
        ),
        (
            {"BillingInformation": {"CreditCardNumber": 4111111111111111, "CardSecurityCode": 73}},
            ("4111111111111111", "73"),
        ),
        ({"BillingInformation": {"CardSecurityCode": " "}}, (None, None)),
        ({"BillingInformation": "not an object"}, (None, None)),
        ({"FirstName": "BillingInformation"}, (None, None)),
        ({"FirstName": "Ann"}, (None, None)),
    ],
)
def test_submitted_card_is_read_from_the_body(
    body: dict[str, object], expected: tuple[str | None, str | None]
) -> None:
    """The card number (digits only) and security code a body carried."""
    assert submitted_card(json.dumps(body).encode()) == expected


@pytest.mark.parametrize(
    "body", [None, b"", b"BillingInformation [[[", b"[" * 100_000 + b"BillingInformation"]
)
def test_an_odd_body_submitted_no_card(body: bytes | None) -> None:
    """Never fails: a body that is not our JSON carried no card to look for."""
    assert submitted_card(body) == (None, None)
