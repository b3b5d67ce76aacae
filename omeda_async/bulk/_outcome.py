"""What a job reports: one :class:`SubmissionOutcome` per record, and the counts of them.

Every outcome is made in one place (the job's ``_report``) and counted by
:meth:`Tally.count`: one way to report a record, one counting rule.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import attrs

from omeda_async._errors import ApiError, OmedaError, PayloadValidationError
from omeda_async._status import Outcome
from omeda_async._store import CUSTOMER_SERVICE, RecordState, StoredRecord
from omeda_async.models._responses import OrderReceipt, ProcessorResult, SubmissionReceipt
from omeda_async.models._validation import Violation

if TYPE_CHECKING:
    from omeda_async._poller import TrackingResult

__all__ = ["BulkSummary", "SubmissionOutcome", "Tally", "init_outcome", "reasons", "record_error"]

_LISTED_KEYS: Final = 5
"""How many unknown/failed keys ``str(summary)`` names (``summary`` keeps them all)."""


# Not slotted: attrs's frozen __init__ then writes the instance dict directly,
# where a slotted class calls object.__setattr__ per field (twice the cost, and
# a job makes one outcome per record).
@attrs.frozen(kw_only=True, slots=False)
class SubmissionOutcome:
    """What became of one record of a ``submit_many`` job.

    ``index`` is its position in the input, ``key`` its stable key (None only
    when the caller's key function failed on it). For a record sent in this
    run, ``receipt`` (Omeda queued it) or ``error`` (it was refused, or
    ``SubmissionOutcomeUnknown``: it may or may not be queued) is set;
    ``result`` is its ``TrackingResult`` when tracking.

    ``state`` is where the record stands now: ACCEPTED (queued), FINISHED
    (tracked to ``result``), REJECTED (never queued: safe to fix and resend),
    UNKNOWN (reconcile before resending), PENDING (in flight: a duplicate of a
    record of this job, ``duplicate_of``, or in flight in another job sharing
    the store, ``in_flight_elsewhere``). ``skipped`` is True when nothing was
    sent for it in this run (the store already had it, or an identical key was
    in flight); ``stored`` is what the store held when the record was read.
    ``merged_into`` is the OmedaCustomerId it was resent with after Omeda said
    the customer was merged; ``attempts`` counts its POSTs in this run;
    ``processor`` is Run Processor's answer for it (``run_processor=True``).
    """

    index: int
    key: str | None
    receipt: SubmissionReceipt | OrderReceipt | None = None
    error: OmedaError | None = None
    result: TrackingResult | None = None
    state: RecordState
    service: str
    skipped: bool = False
    duplicate_of: int | None = None
    stored: StoredRecord | None = attrs.field(default=None, repr=False)
    merged_into: int | None = None
    attempts: int = 0
    processor: ProcessorResult | None = None

    @property
    def transaction_id(self) -> int | None:
        """The record's TransactionId (``storecustomerandorder``), from this run or the store."""
        if self.service != CUSTOMER_SERVICE:
            return None
        if isinstance(self.receipt, SubmissionReceipt):
            return self.receipt.transaction_id
        if self.result is not None:
            return self.result.transaction_id
        return self.stored.transaction_id if self.stored is not None else None

    @property
    def outcome(self) -> Outcome | None:
        """The tracking outcome: from ``result``, else the one the store recorded."""
        if self.result is not None:
            return self.result.outcome
        if self.stored is not None and self.state is RecordState.FINISHED:
            return self.stored.outcome
        return None

    @property
    def in_flight_elsewhere(self) -> bool:
        """Skipped because another job sharing the store was sending it."""
        return self.state is RecordState.PENDING and self.skipped and self.duplicate_of is None


# Called directly, attrs's __init__ takes the keywords as they are: no dict of
# them is built and unpacked again, as SubmissionOutcome(...) would (see the job's
# _report, the one place outcomes are made).
init_outcome: Final = SubmissionOutcome.__init__


def reasons(exc: BaseException) -> list[str]:
    """Why a record was refused: each violation, or Omeda's own messages."""
    if isinstance(exc, PayloadValidationError):
        return [str(violation) for violation in exc.violations] or [str(exc)]
    if isinstance(exc, ApiError) and exc.errors:
        return list(exc.errors)
    return [f"{type(exc).__name__}: {exc}"]


def record_error(path: str, message: str, rule: str) -> PayloadValidationError:
    """A record the job refuses itself (not a documented rule), as one violation."""
    return PayloadValidationError([Violation(path, message, rule)])


@attrs.frozen(kw_only=True)
class BulkSummary:
    """Counts of a ``submit_many`` job, fit to log (``str(summary)``).

    Every record read is counted once in ``accepted`` (queued in this run),
    ``skipped`` (nothing sent: already accepted or finished, a duplicate, or in
    flight elsewhere), ``rejected`` (never queued: invalid, refused by Omeda, or
    not sent) or ``unknown`` (may or may not be queued: ``unknown_keys``), so
    ``total == accepted + skipped + rejected + unknown`` once the job ends.
    ``outcomes`` counts tracking outcomes; ``failed_keys`` lists rejected
    records and tracked ones that FAILED. ``posts`` counts the submissions
    sent: one per POST the job made (none for a record refused before sending,
    two for a merge followed; the transport's own resends of a POST that surely
    never arrived are not counted). ``elapsed`` is in seconds on the client's
    clock.
    """

    total: int = 0
    accepted: int = 0
    skipped: int = 0
    rejected: int = 0
    unknown: int = 0
    outcomes: Mapping[Outcome, int] = attrs.field(factory=lambda: MappingProxyType({}))
    posts: int = 0
    merges_followed: int = 0
    pending_retries: int = 0
    processed: int = 0
    elapsed: float = 0.0
    finished: bool = False
    unknown_keys: tuple[str, ...] = ()
    failed_keys: tuple[str, ...] = ()

    @property
    def records_per_second(self) -> float:
        """Records accounted for per second of ``elapsed``."""
        done = self.accepted + self.skipped + self.rejected + self.unknown
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def accepted_per_second(self) -> float:
        """Records queued by Omeda per second of ``elapsed``."""
        return self.accepted / self.elapsed if self.elapsed > 0 else 0.0

    def __str__(self) -> str:
        head = (
            f"{self.total} records in {self.elapsed:.1f}s "
            f"({self.records_per_second:.1f}/s{'' if self.finished else ', running'}): "
            f"{self.accepted} accepted, {self.rejected} rejected, {self.unknown} unknown, "
            f"{self.skipped} skipped"
        )
        parts = [head]
        if self.outcomes:
            listed = ", ".join(
                f"{count} {outcome.value}" for outcome, count in self.outcomes.items()
            )
            parts.append(f"tracking: {listed}")
        extras = []
        if self.merges_followed:
            extras.append(f"{self.merges_followed} merges followed")
        if self.pending_retries:
            extras.append(f"{self.pending_retries} pending-deactivation retries")
        if self.processed:
            extras.append(f"{self.processed} run through the processor")
        if extras:
            parts.append(", ".join(extras))
        for name, keys in (("unknown", self.unknown_keys), ("failed", self.failed_keys)):
            if keys:
                more = f" (+{len(keys) - _LISTED_KEYS} more)" if len(keys) > _LISTED_KEYS else ""
                parts.append(f"{name}: {', '.join(keys[:_LISTED_KEYS])}{more}")
        return "; ".join(parts)


@dataclasses.dataclass(slots=True)
class Tally:
    """The running counts behind ``BulkSummary``; :meth:`count` is the counting rule."""

    total: int = 0
    accepted: int = 0
    skipped: int = 0
    rejected: int = 0
    unknown: int = 0
    posts: int = 0
    merges_followed: int = 0
    pending_retries: int = 0
    processed: int = 0
    outcomes: Counter[Outcome] = dataclasses.field(default_factory=Counter)
    unknown_keys: list[str] = dataclasses.field(default_factory=list)
    failed_keys: list[str] = dataclasses.field(default_factory=list)

    def count(self, outcome: SubmissionOutcome) -> None:
        """Count one record's outcome: each record once, in exactly one of four counts."""
        state = outcome.state
        if state is RecordState.UNKNOWN:
            self.unknown += 1
            self.unknown_keys.append(_name(outcome))
        elif state is RecordState.REJECTED:
            self.rejected += 1
            self.failed_keys.append(_name(outcome))
        elif outcome.skipped:
            self.skipped += 1
        else:
            self.accepted += 1
        result = outcome.result
        if result is not None:
            self.outcomes[result.outcome] += 1
            if result.outcome is Outcome.FAILED:
                self.failed_keys.append(_name(outcome))
        if outcome.processor is not None and outcome.processor.succeeded:
            self.processed += 1

    def summary(self, *, elapsed: float, finished: bool) -> BulkSummary:
        """The counts so far as a frozen ``BulkSummary``."""
        return BulkSummary(
            total=self.total,
            accepted=self.accepted,
            skipped=self.skipped,
            rejected=self.rejected,
            unknown=self.unknown,
            outcomes=MappingProxyType(dict(sorted(self.outcomes.items()))),
            posts=self.posts,
            merges_followed=self.merges_followed,
            pending_retries=self.pending_retries,
            processed=self.processed,
            elapsed=elapsed,
            finished=finished,
            unknown_keys=tuple(self.unknown_keys),
            failed_keys=tuple(self.failed_keys),
        )


def _name(outcome: SubmissionOutcome) -> str:
    """How the summary lists a record: its key, else its index."""
    return outcome.key if outcome.key is not None else f"#{outcome.index}"
