"""Reading Omeda's JSON without losing anything.

Omeda's own Transaction Lookup example repeats a key inside one object::

    {"Errors": [{"Error": "invalid email", "Error": "vulgarity"}]}

``json.loads`` keeps only the last value; :func:`loads` keeps every one, so both
messages reach the caller. A repeated key's values are collected, in order, into
a :class:`Repeated` list; :func:`last` reads such a key as plain ``json`` would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["Repeated", "error_messages", "last", "loads", "values"]


class Repeated(list[Any]):
    """Every value of a key that one JSON object repeats, in document order.

    A marker type: a JSON array is a plain ``list``, never a ``Repeated``.
    """

    __slots__ = ()


def _keep_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = dict(pairs)
    if len(obj) == len(pairs):
        return obj  # nothing repeated: the usual case, built in C
    obj = {}
    for key, value in pairs:
        if key not in obj:
            obj[key] = value
            continue
        seen = obj[key]
        if isinstance(seen, Repeated):
            seen.append(value)
        else:
            obj[key] = Repeated((seen, value))
    return obj


# Built once: json.loads(..., object_pairs_hook=...) builds a decoder per call,
# a measurable share of reading each small answer in a bulk job.
_decode = json.JSONDecoder(object_pairs_hook=_keep_repeats).decode


def loads(body: bytes | str) -> Any:
    """Parse JSON, keeping every value of a key an object repeats (as :class:`Repeated`).

    Bytes are decoded as ``json.loads`` decodes them (UTF-8, -16 or -32, found
    from the first bytes). Raises ``ValueError`` (``json.JSONDecodeError`` or
    ``UnicodeDecodeError``) for anything that is not JSON; the transport maps
    that to the project's errors.
    """
    if isinstance(body, bytes | bytearray):
        # An object whose second byte is not NUL is UTF-8 to detect_encoding
        # (no BOM starts with "{"): the usual answer skips its checks.
        if body[:1] == b"{" and body[1:2] != b"\x00":
            encoding = "utf-8"
        else:
            encoding = json.detect_encoding(body)
        body = body.decode(encoding, "surrogatepass")
    elif body.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", body, 0)
    return _decode(body)


def values(value: Any) -> list[Any]:
    """Every value a key held: the repeats of a :class:`Repeated`, else ``[value]``."""
    return list(value) if isinstance(value, Repeated) else [value]


def last(value: Any) -> Any:
    """The value plain ``json`` would have kept for a possibly repeated key."""
    return value[-1] if isinstance(value, Repeated) else value


def _messages(value: Any) -> list[str]:
    """Messages of one ``Error`` value (a string, or something else rendered as text)."""
    out: list[str] = []
    for item in values(value):
        if item is None:
            continue
        if isinstance(item, str):
            out.append(item)
            continue
        try:
            out.append(json.dumps(item))
        except (ValueError, RecursionError):
            # Nested past what the encoder goes (it read back, so it is JSON).
            out.append(f"(an error given as a JSON {type(item).__name__} too deep to show)")
    return out


def error_messages(data: Any) -> tuple[str, ...]:
    """Every ``Error`` of every ``Errors`` item, repeats included, in document order.

    Omeda answers failures with ``{"Errors": [{"Error": "..."}, ...]}``. Also
    tolerated: ``Errors`` as a single object, items that are bare strings, and a
    repeated ``Errors`` key. Anything else yields no messages rather than failing.
    """
    if not isinstance(data, Mapping):
        return ()
    found: list[str] = []
    for errors in values(data.get("Errors")):
        items = errors if isinstance(errors, list) else [errors]
        for item in items:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, Mapping) and "Error" in item:
                found.extend(_messages(item["Error"]))
    return tuple(found)
