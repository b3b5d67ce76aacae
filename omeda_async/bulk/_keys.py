"""A record's request body and its key: what names one record across runs of a job."""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from omeda_async._errors import PayloadValidationError
from omeda_async._store import CUSTOMER_SERVICE, ORDER_SERVICE
from omeda_async.models import _wire
from omeda_async.models._converter import to_dict
from omeda_async.models._payloads import Payload

__all__ = ["key_of", "record_key", "request_body", "with_field"]


def _canonical(value: object) -> object:
    """JSON for what ``json`` cannot write, stable from run to run."""
    if isinstance(value, Payload):
        return to_dict(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(json.dumps(item, sort_keys=True, default=_canonical) for item in value)
    if isinstance(value, bytes):
        return value.hex()
    return f"{type(value).__qualname__}:{value!r}"


_BODY_BUILDERS: Final[Mapping[str, Callable[[Any], bytes]]] = {
    CUSTOMER_SERVICE: _wire.customer_and_order_body,
    ORDER_SERVICE: _wire.order_body,
}


def request_body(payload: Any, service: str) -> bytes | PayloadValidationError:
    """The exact body a POST of ``payload`` to ``service`` sends, or why it has none.

    A payload that breaks a rule has no body: the error lists every violation
    (it is the record's rejection, as a direct client call would raise it).
    """
    try:
        return _BODY_BUILDERS[service](payload)
    except PayloadValidationError as exc:
        return exc


# The hash of each service's name and newline, ready to be copied for a record's key.
_KEY_PREFIXES: Final = {
    service: hashlib.sha256(f"{service}\n".encode()) for service in _BODY_BUILDERS
}


def key_of(payload: Any, service: str, body: bytes | None) -> str:
    """SHA-256 of the service and the request body (else the canonical JSON)."""
    if body is None:
        data = to_dict(payload) if isinstance(payload, Payload) else payload
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical
        )
        body = text.encode("utf-8", "surrogatepass")
    prefix = _KEY_PREFIXES.get(service)
    if prefix is None:
        digest = hashlib.sha256(service.encode())
        digest.update(b"\n")
    else:
        digest = prefix.copy()
    digest.update(body)
    return digest.hexdigest()


def record_key(payload: object, service: str) -> str:
    """The default key of a record: SHA-256 of its service and its request body.

    The body is the exact bytes sent (``customer_and_order_body``/``order_body``),
    which are the same for the same record whatever the key order of its dict
    and whether it came as a model or a dict: the same record gets the same key
    in every run of a job, and submit_many serializes each record only once. A
    payload that breaks a rule has no body; it is keyed by its canonical JSON
    (dict keys sorted, a model as its wire dict).
    """
    body = request_body(payload, service) if service in _BODY_BUILDERS else None
    return key_of(payload, service, body if isinstance(body, bytes) else None)


def with_field(payload: Any, attribute: str, wire: str, value: int) -> Any:
    """``payload`` with one field set: a changed copy, never the caller's object."""
    if isinstance(payload, Payload):
        return attrs.evolve(payload, **{attribute: value})  # type: ignore[misc]
    if isinstance(payload, Mapping):
        return {**payload, wire: value}
    return payload
