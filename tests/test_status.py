"""The status table: codes, stages, outcomes and transition rules from Omeda's page."""

from __future__ import annotations

import pytest

from omeda_async import Outcome, Stage, StatusCode, Transition, classify_transition
from omeda_async._status import DEFAULT_TERMINAL

DOCUMENTED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 19, 20, 21, 28, 29, 30, 31, 35, 36, 37,
              49, 50, 51, 52, 90, 91, 98, 99, 100, 101, 110]  # fmt: skip


def test_all_32_documented_codes_are_members() -> None:
    """Every code on the Transaction Lookup page is a member, and nothing else."""
    assert sorted(int(code) for code in StatusCode) == DOCUMENTED
    assert all(StatusCode(code).is_documented for code in DOCUMENTED)


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (0, "Loaded into Staging"),
        (7, "API Transaction Loaded into Staging"),
        (36, "DupeCheck Manual Review New Customer"),
        (52, "Source Prioritization Partial Failure"),
        (100, "Moved to ERD - Complete New Customer"),
        (110, "Discard Record"),
    ],
)
def test_descriptions_are_omedas_words(code: int, description: str) -> None:
    """Descriptions match the page's Status Descriptions table."""
    assert StatusCode(code).description == description


@pytest.mark.parametrize(
    ("codes", "outcome"),
    [
        ((100, 101), Outcome.SUCCEEDED),
        ((98, 99), Outcome.PARTIAL),
        ((2, 6, 9, 110), Outcome.FAILED),
        ((1, 3, 20, 35, 36, 37), Outcome.HELD),
        ((0, 4, 5, 7, 8, 10, 19, 21, 28, 29, 30, 31, 49, 50, 51, 52, 90, 91), Outcome.PENDING),
    ],
)
def test_outcomes_follow_the_design_table(codes: tuple[int, ...], outcome: Outcome) -> None:
    """Each code's outcome is the one DESIGN.md's table gives."""
    assert {StatusCode(code).outcome for code in codes} == {outcome}


def test_terminal_codes_are_the_final_outcomes() -> None:
    """Only SUCCEEDED, PARTIAL and FAILED codes end tracking by default."""
    assert {int(c) for c in DEFAULT_TERMINAL} == {2, 6, 9, 98, 99, 100, 101, 110}
    assert StatusCode(100).is_terminal
    assert not StatusCode(35).is_terminal


@pytest.mark.parametrize(
    ("codes", "stage"),
    [
        ((0, 7, 1, 2, 3), Stage.STAGING),
        ((4, 5, 6), Stage.PAYMENT),
        ((8, 9, 10), Stage.VALIDATION),
        ((19, 20, 21), Stage.OEC),
        ((28, 29, 30, 31, 35, 36, 37), Stage.DUPECHECK),
        ((49, 50, 51, 52), Stage.SOURCE_PRIORITIZATION),
        ((90, 91), Stage.MIGRATION),
        ((98, 99, 100, 101), Stage.ERD),
        ((110,), Stage.DISCARD),
    ],
)
def test_stages(codes: tuple[int, ...], stage: Stage) -> None:
    """Codes sit in the pipeline stages DESIGN.md names."""
    assert {StatusCode(code).stage for code in codes} == {stage}


def test_stages_are_in_pipeline_order() -> None:
    """Stage values order the pipeline from staging to ERD."""
    order = [Stage.STAGING, Stage.PAYMENT, Stage.VALIDATION, Stage.OEC, Stage.DUPECHECK,
             Stage.SOURCE_PRIORITIZATION, Stage.MIGRATION, Stage.ERD]  # fmt: skip
    assert order == sorted(order)


def test_new_customer_codes() -> None:
    """30, 36, 90 and 100 say the record made a new customer."""
    assert {int(c) for c in StatusCode if c.is_new_customer} == {30, 36, 90, 100}


def test_unknown_code_keeps_its_number_and_counts_as_pending() -> None:
    """An undocumented number never crashes: it keeps its value and is pending."""
    code = StatusCode(42)
    assert int(code) == 42
    assert code == 42
    assert code.name == "UNKNOWN_42"
    assert code.outcome is Outcome.PENDING
    assert code.stage is Stage.UNKNOWN
    assert not code.is_terminal
    assert not code.is_documented
    assert "42" in code.description


@pytest.mark.parametrize("value", [100, "100", " 100 "])
def test_parse_accepts_ints_and_digit_strings(value: object) -> None:
    """Omeda may send the status as a number or a digit string."""
    assert StatusCode.parse(value) is StatusCode.MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER


@pytest.mark.parametrize("value", [True, None, "abc", 1.5, "", [1]])
def test_parse_refuses_non_integers(value: object) -> None:
    """Anything that is not a whole number is a ValueError, not a crash elsewhere."""
    with pytest.raises(ValueError, match="status must be an integer"):
        StatusCode.parse(value)


S = StatusCode


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, S(0), Transition.FIRST),
        (S(30), S(30), Transition.SAME),
        (S(0), S(4), Transition.FORWARD),
        (S(0), S(7), Transition.WITHIN_STAGE),
        (S(7), S(1), Transition.WITHIN_STAGE),
        (S(31), S(29), Transition.WITHIN_STAGE),
        (S(50), S(110), Transition.TO_DISCARD),
        (S(90), S(30), Transition.BACKWARD),
        (S(100), S(30), Transition.FROM_TERMINAL),
        (S(110), S(0), Transition.FROM_TERMINAL),
        (S(30), S(42), Transition.UNKNOWN_CODE),
        (None, S(42), Transition.UNKNOWN_CODE),
    ],
)
def test_classify_transition(
    previous: StatusCode | None, current: StatusCode, expected: Transition
) -> None:
    """Moves forward, within a stage or to discard are expected; others are anomalies."""
    assert classify_transition(previous, current) is expected


def test_anomalies_are_backward_from_terminal_and_unknown() -> None:
    """Only backward moves, moves out of a terminal code and unknown codes are anomalies."""
    anomalies = {t for t in Transition if t.is_anomaly}
    assert anomalies == {Transition.BACKWARD, Transition.FROM_TERMINAL, Transition.UNKNOWN_CODE}


def test_custom_terminal_set_changes_from_terminal() -> None:
    """A caller's terminal set decides what counts as leaving a terminal code."""
    held_is_terminal = DEFAULT_TERMINAL | {S(35)}
    assert classify_transition(S(35), S(31), terminal=held_is_terminal) is Transition.FROM_TERMINAL
    assert classify_transition(S(35), S(31)) is Transition.WITHIN_STAGE
