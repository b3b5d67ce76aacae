"""submit_many's pure decisions: what an answer, an exception or a stored state means."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omeda_async import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    CustomerMergedError,
    MalformedResponseError,
    MethodNotAllowedError,
    NotFoundError,
    OmedaError,
    PayloadValidationError,
    PendingDeactivationError,
    RateLimitedError,
    RecordState,
    ServerError,
    StoredRecord,
    SubmissionOutcomeUnknown,
    TransportError,
    Violation,
)
from omeda_async.bulk._decide import (
    AfterFailure,
    BeforeSending,
    after_failure,
    before_sending,
    journal_state,
    never_left,
    resendable_states,
    stops_the_job,
)

SCO = "storecustomerandorder"
ORDERS = "orderqueue"


def decide(
    error: BaseException,
    *,
    follow_merges: bool = False,
    merged_already: bool = False,
    pending_tries: int = 0,
    pending_retries: int = 3,
) -> AfterFailure:
    return after_failure(
        error,
        follow_merges=follow_merges,
        merged_already=merged_already,
        pending_tries=pending_tries,
        pending_retries=pending_retries,
    )


def merged(status: int = 400) -> CustomerMergedError:
    return CustomerMergedError(
        "Customer id 5 is valid but not active. Please use 6.",
        status=status,
        customer_id=5,
        merged_into_customer_id=6,
    )


def unknown() -> SubmissionOutcomeUnknown:
    return SubmissionOutcomeUnknown(
        "POST ... may or may not have been queued", payload={}, service=SCO
    )


# ----------------------------------------------------------------- after a failed POST


@pytest.mark.parametrize(
    "error",
    [
        PayloadValidationError([Violation("FirstName", "FirstName is required", "required")]),
        BadRequestError("bad", status=400, errors=["EmailAddress is not valid"]),
        NotFoundError("no such brand", status=404),
        MethodNotAllowedError("no", status=405),
        RateLimitedError("slow down", retry_after=1.0),
        ServerError("unavailable", status=503),
        TransportError("connection refused", sent=False),
    ],
    ids=["validation", "400", "404", "405", "429", "503", "refused"],
)
def test_errors_that_prove_the_post_never_left_reject_the_record(error: OmedaError) -> None:
    """Validation, Omeda's 4xx refusals, 503 and a connection never opened: REJECTED."""
    assert never_left(error)
    assert decide(error) is AfterFailure.REJECT
    assert journal_state(AfterFailure.REJECT) is RecordState.REJECTED


@pytest.mark.parametrize(
    "error",
    [
        ServerError("boom", status=500),
        ServerError("bad gateway", status=502),
        ServerError("timeout", status=504),
        MalformedResponseError("not JSON", status=200),
        TransportError("reset after the body was sent", sent=True),
        OmedaError("something"),
        RecursionError("maximum recursion depth exceeded while decoding a JSON object"),
        json.JSONDecodeError("Expecting value", "{", 1),
        ValueError("not a documented failure"),
        RuntimeError("a bug"),
        KeyError("TransactionId"),
    ],
    ids=[
        "500",
        "502",
        "504",
        "malformed",
        "reset",
        "bare",
        "recursion",
        "json",
        "value",
        "bug",
        "key",
    ],
)
def test_an_exception_after_the_request_may_have_left_is_never_a_rejection(
    error: BaseException,
) -> None:
    """Anything that does not prove the POST never left stops the job; the record stays pending."""
    assert not never_left(error)
    assert decide(error) is AfterFailure.FAIL
    assert journal_state(AfterFailure.FAIL) is None


def test_outcome_unknown_is_unknown() -> None:
    """SubmissionOutcomeUnknown: journaled UNKNOWN, reported, never resent by itself."""
    assert decide(unknown()) is AfterFailure.UNKNOWN
    assert journal_state(AfterFailure.UNKNOWN) is RecordState.UNKNOWN


def test_wrong_app_id_stops_the_job() -> None:
    """A 403: every further record would be refused too."""
    error = AuthenticationError("Access denied", status=403)
    assert stops_the_job(error)
    assert decide(error) is AfterFailure.STOP
    assert journal_state(AfterFailure.STOP) is RecordState.REJECTED


@pytest.mark.parametrize(
    "message",
    [
        "The x-omeda-inputid is not valid for brand ABC.",
        "The x-omeda-inputid header is required.",
        "X-OMEDA-INPUTID is invalid",
    ],
)
def test_wrong_input_id_stops_the_job(message: str) -> None:
    """Omeda refusing the input id refuses every record of the job alike: stop at once."""
    error = BadRequestError(message, status=400, errors=[message])
    assert decide(error) is AfterFailure.STOP


def test_a_record_merely_mentioning_the_input_id_header_is_only_rejected() -> None:
    """Other 400s stay the record's own refusal."""
    error = BadRequestError("EmailAddress is not valid", status=400, errors=["EmailAddress..."])
    assert not stops_the_job(error)
    assert decide(error) is AfterFailure.REJECT


@pytest.mark.parametrize("status", [400, 404])
def test_merges_are_followed_once_when_asked(status: int) -> None:
    """CustomerMergedError (400 from the fake, 404 from Omeda) resends once with follow_merges."""
    assert decide(merged(status)) is AfterFailure.REJECT
    assert decide(merged(status), follow_merges=True) is AfterFailure.RESEND_MERGED
    assert decide(merged(status), follow_merges=True, merged_already=True) is AfterFailure.REJECT
    assert journal_state(AfterFailure.RESEND_MERGED) is None


def test_pending_deactivation_is_retried_later_a_bounded_number_of_times() -> None:
    """ "Please try again later": later, at most pending_retries times, then rejected."""
    error = PendingDeactivationError("pending deactivation. Please try again later", status=400)
    assert decide(error, pending_tries=0, pending_retries=2) is AfterFailure.RETRY_LATER
    assert decide(error, pending_tries=1, pending_retries=2) is AfterFailure.RETRY_LATER
    assert decide(error, pending_tries=2, pending_retries=2) is AfterFailure.REJECT
    assert decide(error, pending_retries=0) is AfterFailure.REJECT
    # Refused for now: a crash while it waits must let a re-run send it.
    assert journal_state(AfterFailure.RETRY_LATER) is RecordState.REJECTED


# ---------------------------------------------------------- the property that costs money


def _proves_never_left(error: BaseException) -> bool:
    """The test's own reading of DESIGN.md: refused before sending, or by Omeda's answer."""
    status = getattr(error, "status", None)
    answered_no = (
        isinstance(error, ApiError)
        and not isinstance(error, MalformedResponseError)
        and (status == 503 or status // 100 == 4)
    )
    never_connected = isinstance(error, TransportError) and error.sent is False
    return isinstance(error, PayloadValidationError) or answered_no or never_connected


def _api_error(kind: type[ApiError], status: int, text: str) -> ApiError:
    if kind is CustomerMergedError:
        return CustomerMergedError(text, status=status, customer_id=1, merged_into_customer_id=2)
    return kind(text, status=status, errors=[text])


_TEXTS = st.sampled_from(
    ["refused", "The x-omeda-inputid is not valid for brand X.", "Please try again later", ""]
)
_ERRORS = st.one_of(
    st.builds(
        _api_error,
        st.sampled_from(
            [
                ApiError,
                BadRequestError,
                CustomerMergedError,
                PendingDeactivationError,
                AuthenticationError,
                NotFoundError,
                MethodNotAllowedError,
                RateLimitedError,
                ServerError,
                MalformedResponseError,
            ]
        ),
        st.integers(100, 599),
        _TEXTS,
    ),
    st.builds(lambda sent: TransportError("t", sent=sent), st.booleans()),
    st.builds(lambda: PayloadValidationError([Violation("A", "b", "c")])),
    st.builds(unknown),
    st.builds(OmedaError, st.text(max_size=5)),
    st.sampled_from([RecursionError, ValueError, RuntimeError, KeyError, TypeError]).map(
        lambda kind: kind("x")
    ),
)


@given(
    _ERRORS,
    st.booleans(),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 5),
)
def test_rejected_only_with_proof_and_unknown_only_when_the_client_says_so(
    error: BaseException,
    follow_merges: bool,
    merged_already: bool,
    pending_tries: int,
    pending_retries: int,
) -> None:
    """REJECTED only when the error proves the POST never left; UNKNOWN only for
    SubmissionOutcomeUnknown; anything else leaves the record as journaled (pending)."""
    decision = after_failure(
        error,
        follow_merges=follow_merges,
        merged_already=merged_already,
        pending_tries=pending_tries,
        pending_retries=pending_retries,
    )
    state = journal_state(decision)
    if state is RecordState.REJECTED or decision is AfterFailure.RESEND_MERGED:
        assert _proves_never_left(error)
    if state is RecordState.UNKNOWN:
        assert isinstance(error, SubmissionOutcomeUnknown)
    if isinstance(error, SubmissionOutcomeUnknown):
        assert decision is AfterFailure.UNKNOWN
    if not _proves_never_left(error) and not isinstance(error, SubmissionOutcomeUnknown):
        assert decision is AfterFailure.FAIL
        assert state is None


# ------------------------------------------------------------- what the store already holds


def stored(state: RecordState, **fields: object) -> StoredRecord:
    return StoredRecord(key="k", state=state, **fields)  # type: ignore[arg-type]


def before(
    record: StoredRecord | None,
    *,
    resend_unknown: bool = False,
    tracking: bool = False,
    held_elsewhere: bool = False,
) -> BeforeSending:
    return before_sending(
        record, resend_unknown=resend_unknown, tracking=tracking, held_elsewhere=held_elsewhere
    )


def test_a_new_or_rejected_record_is_sent() -> None:
    """Nothing stored, or refused before (never queued): send."""
    assert before(None) is BeforeSending.SEND
    assert before(stored(RecordState.REJECTED, errors=("no",))) is BeforeSending.SEND


def test_a_finished_record_is_skipped() -> None:
    """Tracked to its end in an earlier run: skipped, tracking or not."""
    for tracking in (False, True):
        assert before(stored(RecordState.FINISHED), tracking=tracking) is BeforeSending.FINISHED


def test_an_accepted_customer_is_retracked_only_when_tracking() -> None:
    """Queued before and unfinished: followed again with track=True, else reported accepted."""
    record = stored(RecordState.ACCEPTED, service=SCO, transaction_id=7)
    assert before(record, tracking=True) is BeforeSending.RETRACK
    assert before(record) is BeforeSending.ACCEPTED
    assert before(record, resend_unknown=True) is BeforeSending.ACCEPTED


def test_an_accepted_order_is_never_retracked() -> None:
    """An OrderId is no TransactionId: Transaction Lookup cannot follow it."""
    order = stored(RecordState.ACCEPTED, service=ORDERS, transaction_id=7)
    assert before(order, tracking=True) is BeforeSending.ACCEPTED


def test_unknown_and_stale_pending_are_reported_not_resent() -> None:
    """May be queued: reported unknown (a stale pending is journaled unknown first)."""
    assert before(stored(RecordState.UNKNOWN)) is BeforeSending.UNKNOWN
    assert before(stored(RecordState.PENDING)) is BeforeSending.STALE_PENDING


def test_resend_unknown_resends_unknown_and_stale_pending() -> None:
    """On purpose only: the record may already be queued."""
    for state in (RecordState.UNKNOWN, RecordState.PENDING):
        assert before(stored(state), resend_unknown=True) is BeforeSending.SEND
    assert resendable_states(resend_unknown=True) >= {RecordState.UNKNOWN, RecordState.PENDING}
    assert resendable_states(resend_unknown=False) == {RecordState.REJECTED}


def test_a_record_held_elsewhere_is_skipped_whatever_its_state() -> None:
    """Another job is sending it right now: never sent twice, even with resend_unknown."""
    for record in (None, stored(RecordState.PENDING), stored(RecordState.REJECTED)):
        for resend in (False, True):
            assert (
                before(record, held_elsewhere=True, resend_unknown=resend)
                is BeforeSending.IN_FLIGHT_ELSEWHERE
            )


@given(
    st.none() | st.sampled_from(list(RecordState)),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_stored_unknown_only_for_stored_pending_or_unknown(
    state: RecordState | None, resend_unknown: bool, tracking: bool, held_elsewhere: bool
) -> None:
    """A stored record is reported unknown only when it is stored PENDING or UNKNOWN, and
    sent only when it is new, REJECTED, or (on purpose) PENDING/UNKNOWN, never when held."""
    record = None if state is None else stored(state, service=SCO, transaction_id=1)
    decision = before(
        record, resend_unknown=resend_unknown, tracking=tracking, held_elsewhere=held_elsewhere
    )
    if decision in (BeforeSending.UNKNOWN, BeforeSending.STALE_PENDING):
        assert state in (RecordState.PENDING, RecordState.UNKNOWN)
    if decision is BeforeSending.SEND:
        assert not held_elsewhere
        assert state in (None, RecordState.REJECTED) or (
            resend_unknown and state in (RecordState.PENDING, RecordState.UNKNOWN)
        )
    if state in (RecordState.ACCEPTED, RecordState.FINISHED):
        assert decision is not BeforeSending.SEND
