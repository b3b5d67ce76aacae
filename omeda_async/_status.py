"""Omeda's transaction status codes as one table: description, stage and outcome.

Transaction Lookup (``GET /transaction/{id}/*``) reports a record's place in
Omeda's processing pipeline as a number from 0 to 110. This module is the only
place those numbers are interpreted; the poller, the fake server and the CLI all
read it.

Stages in pipeline order::

    STAGING (0, 7, 1, 2, 3) -> PAYMENT (4, 5, 6) -> VALIDATION (8, 9, 10)
    -> OEC (19, 20, 21) -> DUPECHECK (28-37) -> SOURCE_PRIORITIZATION (49-52)
    -> MIGRATION (90, 91) -> ERD (98-101);   DISCARD (110) from anywhere.

A number Omeda adds later never crashes anything: ``StatusCode(42)`` is a
pseudo-member that keeps its number, is described as unknown, and counts as
pending.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from ._enums import pseudo_member

__all__ = [
    "DEFAULT_TERMINAL",
    "Outcome",
    "Stage",
    "StatusCode",
    "Transition",
    "classify_transition",
]


class Stage(enum.IntEnum):
    """A step of Omeda's pipeline; the values give pipeline order."""

    UNKNOWN = 0
    STAGING = 1
    PAYMENT = 2
    VALIDATION = 3
    OEC = 4
    DUPECHECK = 5
    SOURCE_PRIORITIZATION = 6
    MIGRATION = 7
    ERD = 8
    DISCARD = 9


class Outcome(enum.StrEnum):
    """What a status (or a whole tracking) amounts to for the caller."""

    SUCCEEDED = "succeeded"
    """Moved to ERD complete (100, 101)."""
    PARTIAL = "partial"
    """Moved to ERD with failed or partial source prioritization (98, 99)."""
    FAILED = "failed"
    """Excessive errors, payment failed, failed validation, discarded (2, 6, 9, 110)."""
    HELD = "held"
    """Waiting for a person (1, 3, 20, 35, 36, 37)."""
    PENDING = "pending"
    """Still moving through the pipeline."""
    TIMED_OUT = "timed_out"
    """Tracking's deadline passed before a terminal status."""
    NOT_FOUND = "not_found"
    """Transaction Lookup answered 404 past the grace window: unknown or expired."""
    CANCELLED = "cancelled"
    """Tracking was stopped before the transaction finished."""

    @property
    def is_final_status(self) -> bool:
        """True for the outcomes a status code itself can end with."""
        return self in (Outcome.SUCCEEDED, Outcome.PARTIAL, Outcome.FAILED)


class _Row(NamedTuple):
    description: str
    stage: Stage
    outcome: Outcome


_S, _O = Stage, Outcome

# The table from Omeda's Transaction Lookup page, in pipeline order.
_TABLE: dict[int, _Row] = {
    0: _Row("Loaded into Staging", _S.STAGING, _O.PENDING),
    7: _Row("API Transaction Loaded into Staging", _S.STAGING, _O.PENDING),
    1: _Row("Customer On Hold", _S.STAGING, _O.HELD),
    2: _Row("Customer Has Excessive Errors", _S.STAGING, _O.FAILED),
    3: _Row("Paid Customer On Hold", _S.STAGING, _O.HELD),
    4: _Row("Payment Pending", _S.PAYMENT, _O.PENDING),
    5: _Row("Payment Succeeded", _S.PAYMENT, _O.PENDING),
    6: _Row("Payment Failed", _S.PAYMENT, _O.FAILED),
    8: _Row("Verification Rules Ready", _S.VALIDATION, _O.PENDING),
    9: _Row("Failed Validation Rules", _S.VALIDATION, _O.FAILED),
    10: _Row("Passed Validation Rules", _S.VALIDATION, _O.PENDING),
    19: _Row("OEC Ready", _S.OEC, _O.PENDING),
    20: _Row("OEC On Hold", _S.OEC, _O.HELD),
    21: _Row("OEC Done", _S.OEC, _O.PENDING),
    28: _Row("DupeCheck Ready", _S.DUPECHECK, _O.PENDING),
    29: _Row("DupeCheck Running", _S.DUPECHECK, _O.PENDING),
    30: _Row("DupeCheck New Customer", _S.DUPECHECK, _O.PENDING),
    31: _Row("DupeCheck Existing Customer", _S.DUPECHECK, _O.PENDING),
    35: _Row("DupeCheck Manual Review", _S.DUPECHECK, _O.HELD),
    36: _Row("DupeCheck Manual Review New Customer", _S.DUPECHECK, _O.HELD),
    37: _Row("DupeCheck Manual Review Existing Customer", _S.DUPECHECK, _O.HELD),
    49: _Row("Source Prioritization Ready", _S.SOURCE_PRIORITIZATION, _O.PENDING),
    50: _Row("Source Prioritization Passed", _S.SOURCE_PRIORITIZATION, _O.PENDING),
    51: _Row("Source Prioritization Failed", _S.SOURCE_PRIORITIZATION, _O.PENDING),
    52: _Row("Source Prioritization Partial Failure", _S.SOURCE_PRIORITIZATION, _O.PENDING),
    90: _Row("Ready to Migrate to ERD New Customer", _S.MIGRATION, _O.PENDING),
    91: _Row("Ready to Migrate to ERD Existing Customer", _S.MIGRATION, _O.PENDING),
    98: _Row("Moved to ERD - Failed Source Prioritization", _S.ERD, _O.PARTIAL),
    99: _Row("Moved to ERD - Partial", _S.ERD, _O.PARTIAL),
    100: _Row("Moved to ERD - Complete New Customer", _S.ERD, _O.SUCCEEDED),
    101: _Row("Moved to ERD - Complete Existing Customer", _S.ERD, _O.SUCCEEDED),
    110: _Row("Discard Record", _S.DISCARD, _O.FAILED),
}

_NEW_CUSTOMER = frozenset({30, 36, 90, 100})


class StatusCode(enum.IntEnum):
    """The 32 documented Transaction Lookup status codes.

    Each member has ``description`` (Omeda's words), ``stage``, ``outcome``,
    ``is_terminal`` (under the default policy) and ``is_new_customer``.
    ``StatusCode(n)`` for an undocumented ``n`` returns a pseudo-member named
    ``UNKNOWN_n`` that keeps ``n``, has stage ``UNKNOWN`` and outcome ``PENDING``.
    """

    LOADED_INTO_STAGING = 0
    CUSTOMER_ON_HOLD = 1
    CUSTOMER_HAS_EXCESSIVE_ERRORS = 2
    PAID_CUSTOMER_ON_HOLD = 3
    PAYMENT_PENDING = 4
    PAYMENT_SUCCEEDED = 5
    PAYMENT_FAILED = 6
    API_TRANSACTION_LOADED_INTO_STAGING = 7
    VERIFICATION_RULES_READY = 8
    FAILED_VALIDATION_RULES = 9
    PASSED_VALIDATION_RULES = 10
    OEC_READY = 19
    OEC_ON_HOLD = 20
    OEC_DONE = 21
    DUPECHECK_READY = 28
    DUPECHECK_RUNNING = 29
    DUPECHECK_NEW_CUSTOMER = 30
    DUPECHECK_EXISTING_CUSTOMER = 31
    DUPECHECK_MANUAL_REVIEW = 35
    DUPECHECK_MANUAL_REVIEW_NEW_CUSTOMER = 36
    DUPECHECK_MANUAL_REVIEW_EXISTING_CUSTOMER = 37
    SOURCE_PRIORITIZATION_READY = 49
    SOURCE_PRIORITIZATION_PASSED = 50
    SOURCE_PRIORITIZATION_FAILED = 51
    SOURCE_PRIORITIZATION_PARTIAL_FAILURE = 52
    READY_TO_MIGRATE_TO_ERD_NEW_CUSTOMER = 90
    READY_TO_MIGRATE_TO_ERD_EXISTING_CUSTOMER = 91
    MOVED_TO_ERD_FAILED_SOURCE_PRIORITIZATION = 98
    MOVED_TO_ERD_PARTIAL = 99
    MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER = 100
    MOVED_TO_ERD_COMPLETE_EXISTING_CUSTOMER = 101
    DISCARD_RECORD = 110

    @classmethod
    def _missing_(cls, value: object) -> StatusCode | None:
        return pseudo_member(cls, value)

    @property
    def is_documented(self) -> bool:
        """True for the 32 codes on Omeda's page."""
        return int(self) in _TABLE

    @property
    def description(self) -> str:
        """Omeda's description of the code (``Unknown status n`` for others)."""
        row = _TABLE.get(int(self))
        return row.description if row else f"Unknown status {int(self)}"

    @property
    def stage(self) -> Stage:
        """The pipeline stage the code belongs to."""
        row = _TABLE.get(int(self))
        return row.stage if row else Stage.UNKNOWN

    @property
    def outcome(self) -> Outcome:
        """SUCCEEDED, PARTIAL, FAILED, HELD or PENDING (unknown codes are PENDING)."""
        row = _TABLE.get(int(self))
        return row.outcome if row else Outcome.PENDING

    @property
    def is_terminal(self) -> bool:
        """True where processing has ended under the default policy (98-101, 2, 6, 9, 110)."""
        return self in DEFAULT_TERMINAL

    @property
    def is_held(self) -> bool:
        """True where the record waits for a person (1, 3, 20, 35, 36, 37)."""
        return self.outcome is Outcome.HELD

    @property
    def is_new_customer(self) -> bool:
        """True for the codes that say the record made a new customer (30, 36, 90, 100)."""
        return int(self) in _NEW_CUSTOMER

    @classmethod
    def parse(cls, value: Any) -> StatusCode:
        """Read a status as Omeda sends it (an int or a digit string).

        Raises ``ValueError`` for anything that is not a whole number.
        """
        if isinstance(value, bool):
            raise ValueError(f"status must be an integer, not {value!r}")
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str) and value.strip().isdigit():
            return cls(int(value.strip()))
        raise ValueError(f"status must be an integer, not {type(value).__name__}")


DEFAULT_TERMINAL: frozenset[StatusCode] = frozenset(
    StatusCode(code) for code, row in _TABLE.items() if row.outcome.is_final_status
)
"""The codes that end tracking unless a ``PollPolicy`` says otherwise."""


class Transition(enum.Enum):
    """How an observed move from one status to the next relates to the pipeline."""

    FIRST = "first"
    """The first status seen for a transaction."""
    SAME = "same"
    """No change."""
    FORWARD = "forward"
    """To a later stage."""
    WITHIN_STAGE = "within_stage"
    """Another code of the same stage."""
    TO_DISCARD = "to_discard"
    """To 110, which can happen from anywhere."""
    BACKWARD = "backward"
    """To an earlier stage: recorded as an anomaly."""
    FROM_TERMINAL = "from_terminal"
    """Away from a terminal code: recorded as an anomaly."""
    UNKNOWN_CODE = "unknown_code"
    """To or from an undocumented code: recorded as an anomaly."""

    @property
    def is_anomaly(self) -> bool:
        """True for moves the pipeline does not make: the server stays the authority."""
        return self in (Transition.BACKWARD, Transition.FROM_TERMINAL, Transition.UNKNOWN_CODE)


def classify_transition(
    previous: StatusCode | None,
    current: StatusCode,
    *,
    terminal: frozenset[StatusCode] = DEFAULT_TERMINAL,
) -> Transition:
    """Classify the observed move ``previous -> current``.

    Expected: a first sighting, no change, a later stage, another code of the
    same stage, or a discard. Anomalies: a move backwards, a move out of a
    terminal code (under ``terminal``), or an undocumented code.
    """
    if previous is None:
        return Transition.UNKNOWN_CODE if not current.is_documented else Transition.FIRST
    if previous == current:
        return Transition.SAME
    if not current.is_documented or not previous.is_documented:
        return Transition.UNKNOWN_CODE
    if previous in terminal:
        return Transition.FROM_TERMINAL
    if current.stage is Stage.DISCARD:
        return Transition.TO_DISCARD
    if current.stage == previous.stage:
        return Transition.WITHIN_STAGE
    if current.stage > previous.stage:
        return Transition.FORWARD
    return Transition.BACKWARD
