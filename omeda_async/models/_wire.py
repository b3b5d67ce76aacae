"""Payload -> request body: validate, then serialize to Omeda's compact JSON.

The client calls exactly these two functions before any request is made. A
model is unstructured once and that wire dict is both validated and sent. A
dict is validated as given, then normalized through the converter (structure,
then unstructure) so it is sent in the form Omeda's tables name: "accept both
forms on input and send the form the table names" (digit-string ids go out as
integers, dates and money in Omeda's formats).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from omeda_async._errors import PayloadValidationError

from ._converter import STRUCTURE_ERRORS, payload_converter
from ._payloads import CustomerAndOrder, Order, Payload
from ._validation import Violation, validate_wire

__all__ = ["customer_and_order_body", "order_body"]

# Compact, UTF-8 (JSON's default encoding; escaping every non-ASCII character
# would only make the body bigger and slower to build), and no NaN. The
# converter builds trees, so only extra_fields could hold a cycle: that ends in
# a RecursionError (caught below) instead of paying for a cycle check per object.
_encode = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
).encode


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
    converter = payload_converter()
    wire: Any
    if isinstance(payload, Payload):
        if type(payload) is not schema:
            raise PayloadValidationError(
                [
                    Violation(
                        "",
                        f"expected a {schema.__name__} payload, "
                        f"got a {type(payload).__name__} model.",
                        "type",
                    )
                ]
            )
        wire = converter.unstructure(payload)
        violations = validate_wire(wire, schema, payload)
    else:
        violations = validate_wire(payload, schema)
        if not violations:
            try:
                wire = converter.unstructure(converter.structure(payload, schema))
            except STRUCTURE_ERRORS as exc:
                # The validator accepts only what the hooks can build; this is a bug.
                raise PayloadValidationError(
                    [Violation("", f"cannot build {schema.__name__} from this data.", "type")]
                ) from exc
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
