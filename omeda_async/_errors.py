"""The exception tree of ``omeda_async``.

Every exception the library raises on purpose derives from :class:`OmedaError`;
callers never need to catch ``aiohttp``, ``asyncio`` or ``json`` exceptions.
Lower-layer exceptions are mapped once, in the transport, and chained with
``raise ... from exc``. Messages never contain the app id, the input id, a card
number or a security code.

::

    OmedaError
    ├── PayloadValidationError   (also ValueError) .violations; nothing was sent
    ├── ApiError                 .status .errors .submission_id
    │   ├── BadRequestError              400
    │   │   ├── CustomerMergedError      .customer_id .merged_into_customer_id (any 4xx)
    │   │   └── PendingDeactivationError "pending deactivation. Please try again later"
    │   ├── AuthenticationError          403
    │   ├── NotFoundError                404
    │   ├── MethodNotAllowedError        405
    │   ├── RateLimitedError             429 .retry_after
    │   ├── ServerError                  5xx
    │   └── MalformedResponseError       an answer that is not the JSON Omeda documents
    ├── TransportError           connection level; .sent says whether the request may have left
    ├── SubmissionOutcomeUnknown .payload: the POST may or may not have been queued
    └── StoreError               the journal cannot be used (.path, .sqlite_error)
        ├── IncompatibleStoreError  not ours, newer schema, another brand: left untouched
        └── StoreWriteError         read-only file, full disk, I/O error

A merged customer (an answer carrying ``MergedIntoCustomerId``) is a
:class:`CustomerMergedError` whatever 4xx status carries it: Omeda's page shows
it as an error answer, FakeOmeda uses 400, and Omeda's own clients meet it on 404.
It is also what its status makes it, so nothing that caught it before stops
catching it: on a 400 it is exactly ``CustomerMergedError`` (a
``BadRequestError``); on a 403, 404 or 405 it is a subclass of
``CustomerMergedError`` and of ``AuthenticationError``, ``NotFoundError`` or
``MethodNotAllowedError`` (``except NotFoundError`` still sees a merged 404, and,
being a ``CustomerMergedError``, so does ``except BadRequestError``: the request
names a customer that no longer stands, and the fix is in the request). Its
``status`` is always the answer's. A merged answer is final, even on a 429:
resending cannot unmerge the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import attrs

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "CustomerMergedError",
    "IncompatibleStoreError",
    "MalformedResponseError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OmedaError",
    "PayloadValidationError",
    "PendingDeactivationError",
    "RateLimitedError",
    "ServerError",
    "StoreError",
    "StoreWriteError",
    "SubmissionOutcomeUnknown",
    "TransportError",
    "Violation",
    "merged_error_class",
]


class OmedaError(Exception):
    """Root of every exception ``omeda_async`` raises."""


@attrs.frozen
class Violation:
    """One broken rule: where (``Products[1].Term``, ``""`` for the root), what, which rule.

    ``validate`` returns these; :class:`PayloadValidationError` carries them.
    """

    path: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PayloadValidationError(OmedaError, ValueError):
    """A payload breaks one or more of Omeda's documented rules; nothing was sent.

    ``violations`` lists every broken rule with its JSON path.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        count = len(self.violations)
        head = "; ".join(str(v) for v in self.violations[:10])
        more = f" (and {count - 10} more)" if count > 10 else ""
        rules = "a documented rule" if count == 1 else f"{count} documented rules"
        super().__init__(f"payload breaks {rules}: {head}{more}")


class ApiError(OmedaError):
    """Omeda answered with an error status (or an answer that cannot be read).

    ``status`` is the HTTP status, ``errors`` Omeda's error messages in order
    (every ``"Error"`` of every ``Errors`` item, repeated keys included) and
    ``submission_id`` the ``SubmissionId`` Omeda sent, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: Sequence[str] = (),
        submission_id: str | None = None,
    ) -> None:
        self.status = status
        self.errors: tuple[str, ...] = tuple(errors)
        self.submission_id = submission_id
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, errors={self.errors!r})"


class BadRequestError(ApiError):
    """400: the request does not follow Omeda's specification."""


class CustomerMergedError(BadRequestError):
    """The customer was merged into another; resend with ``merged_into_customer_id``.

    Read from the structured ``MergedIntoCustomerId`` of any 4xx answer (the
    module docstring says which other classes a merged 403, 404 or 405 belongs to).
    ``customer_id`` is the merged customer, when the message names it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: Sequence[str] = (),
        submission_id: str | None = None,
        customer_id: int | None,
        merged_into_customer_id: int,
    ) -> None:
        super().__init__(message, status=status, errors=errors, submission_id=submission_id)
        self.customer_id = customer_id
        self.merged_into_customer_id = merged_into_customer_id


class PendingDeactivationError(BadRequestError):
    """400: "OmedaCustomerId n is pending deactivation. Please try again later."."""


class AuthenticationError(ApiError):
    """403: the credentials (most likely the ``x-omeda-appid``) were refused."""


class NotFoundError(ApiError):
    """404: a malformed URL, or the thing looked up does not exist (or has expired)."""


class MethodNotAllowedError(ApiError):
    """405: the resource does not take this HTTP method."""


class RateLimitedError(ApiError):
    """429: too many requests; ``retry_after`` is the server's wish in seconds, if given."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        errors: Sequence[str] = (),
        submission_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, errors=errors, submission_id=submission_id)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx. Omeda: a 500 "generally indicates a problem of a more serious nature"."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: Sequence[str] = (),
        submission_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, errors=errors, submission_id=submission_id)
        self.retry_after = retry_after


class MalformedResponseError(ApiError):
    """An answer that is not the JSON Omeda documents (HTML, truncated, wrong shape, too big)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        content_type: str | None = None,
        errors: Sequence[str] = (),
        submission_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, errors=errors, submission_id=submission_id)
        self.content_type = content_type


def _merged_on(status_class: type[ApiError]) -> type[CustomerMergedError]:
    """A CustomerMergedError that is also ``status_class``, named as its parent.

    The name is the one users see (``type(exc).__name__`` in journals and CLI output).
    """
    variant = type(
        "CustomerMergedError",
        (CustomerMergedError, status_class),
        {
            "__module__": __name__,
            "__doc__": f"A merged customer answered with the status of {status_class.__name__}.",
        },
    )
    return cast("type[CustomerMergedError]", variant)


_MERGED_BY_STATUS: dict[int, type[CustomerMergedError]] = {
    403: _merged_on(AuthenticationError),
    404: _merged_on(NotFoundError),
    405: _merged_on(MethodNotAllowedError),
}


def merged_error_class(status: int) -> type[CustomerMergedError]:
    """The class of a merged-customer answer with this 4xx ``status`` (module docstring)."""
    return _MERGED_BY_STATUS.get(status, CustomerMergedError)


class TransportError(OmedaError):
    """The request failed below HTTP: refused, reset, timed out, DNS.

    ``sent`` is False when the request surely never reached the server
    (connection refused, DNS failure, connect timeout), True when it may have.
    """

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class SubmissionOutcomeUnknown(OmedaError):
    """A POST failed after its body may have reached Omeda: it may or may not be queued.

    It is never retried silently. ``payload`` is what was submitted (to reconcile
    or resend on purpose); ``service`` names the endpoint. The message and repr
    never show the payload, which may hold card data.
    """

    def __init__(self, message: str, *, payload: Any, service: str) -> None:
        super().__init__(message)
        self.payload = payload
        self.service = service

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, service={self.service!r})"


class StoreError(OmedaError):
    """The journal cannot be used: locked by another process, cannot be opened, ...

    ``path`` is the journal file; ``sqlite_error`` SQLite's error name, if any.
    """

    def __init__(self, message: str, *, path: str, sqlite_error: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.sqlite_error = sqlite_error


class IncompatibleStoreError(StoreError):
    """The file is not an omeda_async journal this version can use; it was left untouched.

    Not SQLite, another application's database, a newer journal schema, or the
    journal of another brand.
    """


class StoreWriteError(StoreError):
    """A write could not be recorded: read-only file, full disk, I/O error.

    Nothing of the failed transaction was stored; everything committed before is.
    """
