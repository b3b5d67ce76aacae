"""Payload -> request body: validate, then serialize to Omeda's compact JSON.

The client calls exactly these two functions before any request is made. One
pass (:func:`~._validation.checked_wire`) checks every rule and builds the
wire dict: a model's is exactly ``to_dict(model)``; a dict's is the form
Omeda's tables name, "accept both forms on input and send the form the table
names" (digit-string ids go out as integers, dates and money in Omeda's
formats), in the model's field order. So a record is sent as the same bytes
whether it came as a model or as a dict, in any key order (the bulk job keys
its records by a hash of these bytes).
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from omeda_async._errors import PayloadValidationError, Violation

from ._payloads import CustomerAndOrder, Order, Payload
from ._validation import checked_wire

__all__ = ["customer_and_order_body", "order_body"]

# Compact, UTF-8 (JSON's default encoding; escaping every non-ASCII character
# would only make the body bigger and slower to build), and no NaN. The
# wire pass builds trees, so only extra_fields could hold a cycle: that ends in
# a RecursionError (caught below) instead of paying for a cycle check per object.
_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
)


def _chunk_encoder(make: Any) -> Callable[[Any, int], Sequence[str]] | None:
    """``_ENCODER``'s C encoder, made once (``make``: ``json.encoder.c_make_encoder``).

    ``JSONEncoder.encode`` makes it again on every call, with the same
    arguments (its ``iterencode``, one-shot, no indent): a measurable share of
    a small body. None where the interpreter has no C speedups.
    """
    if make is None:
        return None
    encoder = _ENCODER
    chunks: Callable[[Any, int], Sequence[str]] = make(
        None,  # markers: check_circular=False
        encoder.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        encoder.indent,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    return chunks


_CHUNKS: Final = _chunk_encoder(getattr(json.encoder, "c_make_encoder", None))


def _encode(wire: Any) -> str:
    """``_ENCODER.encode(wire)``: the same text."""
    if _CHUNKS is None:
        return _ENCODER.encode(wire)
    return "".join(_CHUNKS(wire, 0))


def customer_and_order_body(payload: CustomerAndOrder | Mapping[str, Any]) -> bytes:
    """The ``storecustomerandorder`` body for a ``CustomerAndOrder`` model or wire dict.

    Raises PayloadValidationError listing every violation (nothing to send).
    """
    return _body(payload, CustomerAndOrder)


def order_body(payload: Order | Mapping[str, Any]) -> bytes:
    """The ``orderqueue`` (Add Order) body for an ``Order`` model or wire dict.

    Raises PayloadValidationError listing every violation (nothing to send).
    """
    return _body(payload, Order)


def _body(payload: Any, schema: type[Payload]) -> bytes:
    wire, violations = checked_wire(payload, schema)
    if violations:
        raise PayloadValidationError(violations)
    try:
        return _encode(wire).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        # Only extra_fields are sent unchecked; say so without quoting them.
        raise PayloadValidationError(
            [
                Violation(
                    "",
                    f"payload is not JSON-serializable ({type(exc).__name__}); "
                    "check the values in extra_fields.",
                    "type",
                )
            ]
        ) from exc
