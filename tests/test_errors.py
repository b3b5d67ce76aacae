"""The exception tree: hierarchy, attributes, and messages that never carry payloads."""

from __future__ import annotations

import pytest

import omeda_async as oa
from omeda_async._errors import merged_error_class


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (oa.PayloadValidationError, oa.OmedaError),
        (oa.PayloadValidationError, ValueError),
        (oa.ApiError, oa.OmedaError),
        (oa.BadRequestError, oa.ApiError),
        (oa.CustomerMergedError, oa.BadRequestError),
        (oa.PendingDeactivationError, oa.BadRequestError),
        (oa.AuthenticationError, oa.ApiError),
        (oa.NotFoundError, oa.ApiError),
        (oa.MethodNotAllowedError, oa.ApiError),
        (oa.RateLimitedError, oa.ApiError),
        (oa.ServerError, oa.ApiError),
        (oa.MalformedResponseError, oa.ApiError),
        (oa.TransportError, oa.OmedaError),
        (oa.SubmissionOutcomeUnknown, oa.OmedaError),
    ],
)
def test_hierarchy(cls: type[Exception], parent: type[Exception]) -> None:
    """Each exception sits where DESIGN.md draws it."""
    assert issubclass(cls, parent)


def test_api_error_carries_status_errors_and_submission_id() -> None:
    """ApiError keeps Omeda's messages in order and the SubmissionId."""
    err = oa.BadRequestError("bad", status=400, errors=["a", "b"], submission_id="s-1")
    assert (err.status, err.errors, err.submission_id) == (400, ("a", "b"), "s-1")
    assert "BadRequestError" in repr(err)


def test_customer_merged_error_fields() -> None:
    """A merged-customer error says which customer to use instead."""
    err = oa.CustomerMergedError(
        "Customer id 22 is valid but not active. Please use 99999.",
        status=400,
        customer_id=22,
        merged_into_customer_id=99999,
    )
    assert (err.customer_id, err.merged_into_customer_id) == (22, 99999)
    assert isinstance(err, oa.BadRequestError)


def test_merged_customer_on_404_is_also_not_found() -> None:
    """A merged 404 is caught by CustomerMergedError, NotFoundError and BadRequestError."""
    cls = merged_error_class(404)
    err = cls("merged", status=404, customer_id=22, merged_into_customer_id=99999)
    for catcher in (oa.CustomerMergedError, oa.NotFoundError, oa.BadRequestError, oa.ApiError):
        with pytest.raises(catcher):
            raise err
    assert type(err).__name__ == "CustomerMergedError"
    assert repr(err).startswith("CustomerMergedError(status=404")
    assert merged_error_class(400) is oa.CustomerMergedError
    assert merged_error_class(409) is oa.CustomerMergedError
    assert not issubclass(merged_error_class(403), oa.NotFoundError)
    assert issubclass(merged_error_class(403), oa.AuthenticationError)


def test_submission_outcome_unknown_never_renders_its_payload() -> None:
    """The payload (which may hold a card number) rides on the error but is never printed."""
    payload = {"BillingInformation": {"CreditCardNumber": "4111111111111111"}}
    err = oa.SubmissionOutcomeUnknown("connection lost", payload=payload, service="x")
    assert err.payload is payload
    assert "4111" not in str(err)
    assert "4111" not in repr(err)


def test_payload_validation_error_lists_violations() -> None:
    """The message counts the broken rules and names them."""
    err = oa.PayloadValidationError(["v1", "v2"])  # type: ignore[list-item]
    assert err.violations == ("v1", "v2")
    assert str(err).startswith("payload breaks 2 documented rules: v1; v2")
    assert str(oa.PayloadValidationError(["v"])).startswith("payload breaks a documented rule: v")  # type: ignore[list-item]


def test_transport_error_says_whether_it_was_sent() -> None:
    """TransportError.sent separates 'never left' from 'may have arrived'."""
    assert oa.TransportError("refused", sent=False).sent is False
    assert oa.TransportError("reset", sent=True).sent is True


def test_rate_limited_error_retry_after() -> None:
    """429 errors carry the server's Retry-After in seconds."""
    assert oa.RateLimitedError("slow down", retry_after=3.0).retry_after == 3.0
