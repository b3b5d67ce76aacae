"""Secrets out of every text a server provides, before it reaches an exception.

A server may echo anything back: the app id in a reason phrase, the input id
in a Content-Type, a card number in an error message, in any letter case. The
transport passes every message it raises (and each of Omeda's ``errors``)
through a :class:`Redactor`, so exceptions, and the journal and command-line
output built from them, never carry:

- **the app id and input ids**, replaced by ``***`` in any letter case. An id
  of at least :data:`ANYWHERE_FROM` characters is replaced wherever it appears,
  glued to other text included (``%22<id>%22``); a shorter one (only ever a
  test value, such as ``"a"``: Omeda's ids are long random strings) is
  replaced only where it stands as a whole token, not touching a letter or
  digit, so that it cannot garble ordinary words ("B***d Request");
- **card numbers**: 13 to 19 digits standing alone (or grouped by spaces or
  dashes) that pass the Luhn check, and the card number the request submitted
  wherever it appears and whatever its check digit, keep only their last four
  digits;
- **the security code the request submitted**, replaced by ``***`` wherever
  those 3 or 4 digits stand alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["ANYWHERE_FROM", "Redactor", "mask_cards", "submitted_card"]

#: Credentials at least this long are redacted wherever they appear; shorter ones as whole tokens.
ANYWHERE_FROM: Final = 8
_MASK = "***"
# Numbers, and runs of them joined by one space or dash (4111 1111 1111 1111,
# 3782-822463-10005): a card number may be any contiguous part of a run.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ -][0-9]+)*(?![0-9])")
_GROUPS = re.compile(r"[0-9]+")
_SEPARATORS = str.maketrans("", "", " -")
# The submitted card number is masked wherever it appears once it is this long.
_ANYWHERE_DIGITS = 8


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def mask_cards(text: str, submitted: str | None = None) -> str:
    """``text`` with every card number shown by its last four digits only.

    A card number is 13-19 digits (one number, or neighbours joined by a space
    or a dash) passing the Luhn check, or the digits of the ``submitted`` card
    number whatever its check digit.
    """
    if not any(char.isdigit() for char in text):
        return text  # most messages: nothing to look at
    if submitted and len(submitted) >= _ANYWHERE_DIGITS and submitted in text:
        # The number this request sent, even glued to other digits (a card
        # number and its security code run together).
        text = text.replace(submitted, "*" * (len(submitted) - 4) + submitted[-4:])
    return _DIGIT_RUN.sub(lambda run: _mask_run(run.group(), submitted), text)


def _is_card(digits: str, submitted: str | None) -> bool:
    return 13 <= len(digits) <= 19 and (digits == submitted or _luhn(digits))


def _mask_run(run: str, submitted: str | None) -> str:
    """One run of numbers, each longest card number in it (from the left) masked."""
    groups = [(m.start(), m.end()) for m in _GROUPS.finditer(run)]
    out: list[str] = []
    done = 0  # where the text not yet copied starts
    first = 0
    while first < len(groups):
        card = None
        digits = ""
        for last in range(first, len(groups)):
            digits += run[groups[last][0] : groups[last][1]]
            if len(digits) > 19:
                break
            if _is_card(digits, submitted):
                card = (last, digits)
        if card is None:
            first += 1
            continue
        last, digits = card
        out += [run[done : groups[first][0]], "*" * (len(digits) - 4) + digits[-4:]]
        done = groups[last][1]
        first = last + 1
    return "".join(out) + run[done:]


def _as_text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def submitted_card(body: bytes | None) -> tuple[str | None, str | None]:
    """The card number (digits only) and security code a request body submitted, if any.

    Read only when an error is being raised for that request: the body is the
    JSON this library built (``BillingInformation.CreditCardNumber`` and
    ``CardSecurityCode``).
    """
    if not body or b"BillingInformation" not in body:
        return None, None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    billing = data.get("BillingInformation") if isinstance(data, Mapping) else None
    if not isinstance(billing, Mapping):
        return None, None
    number = _as_text(billing.get("CreditCardNumber"))
    code = _as_text(billing.get("CardSecurityCode"))
    return (number.translate(_SEPARATORS) if number else None), code


class Redactor:
    """Replaces the given credentials (and card data) in text; see the module docstring."""

    __slots__ = ("_credentials",)

    def __init__(self, credentials: Iterable[str | None]) -> None:
        parts: list[str] = []
        # Longest first: an id that contains another is replaced whole.
        for secret in sorted({c for c in credentials if c}, key=len, reverse=True):
            escaped = re.escape(secret)
            if len(secret) < ANYWHERE_FROM:
                escaped = rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"
            parts.append(escaped)
        self._credentials = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def __call__(
        self, text: str, *, card_number: str | None = None, security_code: str | None = None
    ) -> str:
        """``text`` without the credentials, card numbers and the submitted security code."""
        if self._credentials is not None:
            text = self._credentials.sub(_MASK, text)
        text = mask_cards(text, card_number)
        if security_code:
            text = re.sub(rf"(?<![0-9]){re.escape(security_code)}(?![0-9])", _MASK, text)
        return text
