"""PLACEHOLDER: payload -> request body (issue 2, models helper replaces it).

The client calls exactly these two functions; the real ones validate (raising
PayloadValidationError with every violation) and serialize a model or dict to
Omeda's JSON.
"""

import json
from typing import Any


def customer_and_order_body(payload: Any) -> bytes:
    """Validate and serialize a storecustomerandorder payload."""
    return json.dumps(payload).encode()


def order_body(payload: Any) -> bytes:
    """Validate and serialize an orderqueue payload."""
    return json.dumps(payload).encode()
