"""What each answer and each stored state means for a record: pure decisions.

The job (``_job.py``) acts; this module decides, as ``_schedule.py`` decides
for the poller. Nothing here awaits, reads a clock or does I/O, so every rule
is tested by calling it (``tests/test_decide.py``).

Two questions, asked at two moments of a record's life:

- **After a POST failed** (:func:`after_failure`): accept, reject, resend to
  the merged customer, retry later, unknown, or stop the job. The rule that
  costs money (DESIGN.md, "No duplicate submissions"): a record is REJECTED
  ("never queued: safe to resend") only when the error *proves* the POST never
  left (:func:`never_left`); it is UNKNOWN only for
  :class:`SubmissionOutcomeUnknown`. Anything else raised after the request
  may have left is neither: the job stops and the record stays *pending* in
  the store, which a re-run reports as unknown.
- **Before a record is sent** (:func:`before_sending`): what the store already
  holds for its key means skip (finished, accepted, in flight elsewhere),
  re-track, report unknown, or send (again).
"""

from __future__ import annotations

import enum
import re
from typing import Final

from omeda_async._errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    CustomerMergedError,
    MalformedResponseError,
    PayloadValidationError,
    PendingDeactivationError,
    ServerError,
    SubmissionOutcomeUnknown,
    TransportError,
)
from omeda_async._store import CUSTOMER_SERVICE, RecordState, StoredRecord

__all__ = [
    "AfterFailure",
    "BeforeSending",
    "after_failure",
    "before_sending",
    "journal_state",
    "never_left",
    "resendable_states",
    "stops_the_job",
]


class AfterFailure(enum.Enum):
    """What one failed POST means for its record (and for the job)."""

    REJECT = "reject"
    """Refused, surely never queued: journal REJECTED with the reasons and report it."""
    RESEND_MERGED = "resend_merged"
    """Omeda named the customer it was merged into: send again now, with that id (once)."""
    RETRY_LATER = "retry_later"
    """Pending deactivation ("Please try again later"): journal REJECTED meanwhile, send
    again after ``pending_retry_delay``."""
    UNKNOWN = "unknown"
    """The POST may or may not have been queued: journal UNKNOWN, report it, never resend."""
    STOP = "stop"
    """Refused, and every further record would be refused alike (a wrong app id or input
    id): journal REJECTED, report it, then stop the job with the error."""
    FAIL = "fail"
    """Not an answer the client documents (a bug, or a failure it did not map): the POST
    may have left, so the record stays pending (a re-run reports it unknown) and the job
    stops with the error."""


class BeforeSending(enum.Enum):
    """What the store's record of a key means for a record about to be sent."""

    SEND = "send"
    """Nothing stops it: new, refused before (never queued), or unknown and resent on purpose."""
    FINISHED = "finished"
    """Tracked to its end in an earlier run: skipped, reported finished."""
    ACCEPTED = "accepted"
    """Queued in an earlier run: skipped, reported accepted (an order, or not tracking)."""
    RETRACK = "retrack"
    """Queued in an earlier run, tracking not finished: skipped, followed again."""
    UNKNOWN = "unknown"
    """May or may not be queued: reported unknown, not resent (``resend_unknown`` resends)."""
    STALE_PENDING = "stale_pending"
    """A run stopped after sending began, before Omeda's answer was recorded: journal it
    UNKNOWN now, then report it unknown."""
    IN_FLIGHT_ELSEWHERE = "in_flight_elsewhere"
    """Another job (in this process or another) is sending it now: skipped, nothing sent."""


# Omeda's answers to a POST without an input id it accepts ("The x-omeda-inputid is
# not valid for brand X.", "The x-omeda-inputid header is required."): every record
# of the job carries the same header, so every one would be refused the same way.
_WRONG_INPUT_ID: Final = re.compile(
    r"x-omeda-inputid\b.*\b(?:not\s+valid|invalid|required|missing)", re.IGNORECASE
)


def never_left(error: BaseException) -> bool:
    """True when ``error`` proves the POST was never queued (safe to fix and resend).

    Proof is a payload refused before sending, a connection that never opened, or
    an answer from Omeda that says "refused": any 4xx, and 503 (turned away at the
    door). An answer that cannot be read, another 5xx, a connection lost after the
    body may have left, and every exception the client does not document prove
    nothing.
    """
    if isinstance(error, PayloadValidationError):
        return True
    if isinstance(error, TransportError):
        return not error.sent
    if isinstance(error, MalformedResponseError):
        return False
    if isinstance(error, ServerError):
        return error.status == 503
    if isinstance(error, ApiError):
        return 400 <= error.status <= 499
    return False


def stops_the_job(error: BaseException) -> bool:
    """True when every further record would be refused alike: a wrong app id or input id."""
    if isinstance(error, AuthenticationError):
        return True
    if isinstance(error, BadRequestError) and not isinstance(
        error, CustomerMergedError | PendingDeactivationError
    ):
        return any(_WRONG_INPUT_ID.search(text) for text in (*error.errors, str(error)))
    return False


def after_failure(
    error: BaseException,
    *,
    follow_merges: bool,
    merged_already: bool,
    pending_tries: int,
    pending_retries: int,
) -> AfterFailure:
    """What ``error``, raised by one POST of a record, means.

    ``merged_already``: the record was already resent once to a merged customer
    (a merge is followed once). ``pending_tries``: how often it was retried after
    a pending deactivation so far; ``pending_retries``: how often it may be.
    """
    if isinstance(error, SubmissionOutcomeUnknown):
        return AfterFailure.UNKNOWN
    if not never_left(error):
        return AfterFailure.FAIL
    if stops_the_job(error):
        return AfterFailure.STOP
    if isinstance(error, CustomerMergedError) and follow_merges and not merged_already:
        return AfterFailure.RESEND_MERGED
    if isinstance(error, PendingDeactivationError) and pending_tries < pending_retries:
        return AfterFailure.RETRY_LATER
    return AfterFailure.REJECT


def journal_state(decision: AfterFailure) -> RecordState | None:
    """The state a failure leaves in the journal (None: it stays as it was, pending)."""
    return _JOURNAL_STATE[decision]


_JOURNAL_STATE: Final = {
    AfterFailure.REJECT: RecordState.REJECTED,
    AfterFailure.STOP: RecordState.REJECTED,
    # Refused for now: a crash while it waits must let a re-run send it.
    AfterFailure.RETRY_LATER: RecordState.REJECTED,
    AfterFailure.UNKNOWN: RecordState.UNKNOWN,
    AfterFailure.RESEND_MERGED: None,
    AfterFailure.FAIL: None,
}


def resendable_states(*, resend_unknown: bool) -> frozenset[RecordState]:
    """The stored states a record may be sent again from.

    REJECTED always (never queued). UNKNOWN and a stale PENDING only on purpose
    (``resend_unknown``): the record may already be queued.
    """
    return _RESENDABLE[resend_unknown]


_RESENDABLE: Final = {
    False: frozenset({RecordState.REJECTED}),
    True: frozenset({RecordState.REJECTED, RecordState.UNKNOWN, RecordState.PENDING}),
}


def before_sending(
    stored: StoredRecord | None,
    *,
    resend_unknown: bool,
    tracking: bool,
    held_elsewhere: bool = False,
) -> BeforeSending:
    """What the store's ``stored`` record of a key means for sending it now.

    ``held_elsewhere``: the store says another job holds the key (its POST is in
    flight there); ``tracking``: this job follows accepted TransactionIds. A
    stored PENDING not held by anyone was left by a run that stopped after its
    POST may have left.
    """
    if held_elsewhere:
        return BeforeSending.IN_FLIGHT_ELSEWHERE
    if stored is None or stored.state in _RESENDABLE[resend_unknown]:
        return BeforeSending.SEND
    state = stored.state
    if state is RecordState.FINISHED:
        return BeforeSending.FINISHED
    if state is RecordState.ACCEPTED:
        # An OrderId is no TransactionId: Transaction Lookup cannot follow an order.
        followable = stored.service == CUSTOMER_SERVICE and stored.transaction_id is not None
        return BeforeSending.RETRACK if tracking and followable else BeforeSending.ACCEPTED
    if state is RecordState.PENDING:
        return BeforeSending.STALE_PENDING
    return BeforeSending.UNKNOWN
