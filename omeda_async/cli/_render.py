"""What the command prints: JSON lines for programs, rich tables and progress for people.

Results (one JSON object per line) go to stdout or ``--out``; progress and
summaries meant for a person go to stderr, as a live rich display on a
terminal and as plain, occasional lines otherwise (a log file, a CI job).
Nothing here ever formats a credential: the objects rendered are results,
whose messages the library already keeps free of secrets.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import json
import math
import os
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, Final, cast

import attrs
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from omeda_async._poller import TrackingResult
from omeda_async._status import Outcome, Stage, StatusCode
from omeda_async.models import OrderIssueHistory, Transaction

__all__ = [
    "MEANING",
    "OUTCOME_ORDER",
    "PIPELINE",
    "JsonLines",
    "TrimmedLines",
    "error_console",
    "history_json",
    "history_table",
    "make_consoles",
    "minutes",
    "outcome_table",
    "stage_label",
    "stage_table",
    "stage_times",
    "submission_table",
    "to_jsonable",
    "tracking_json",
    "tracking_table",
    "transaction_json",
    "transactions_table",
]

OUTCOME_ORDER: Final = (
    Outcome.SUCCEEDED,
    Outcome.PARTIAL,
    Outcome.FAILED,
    Outcome.HELD,
    Outcome.PENDING,
    Outcome.TIMED_OUT,
    Outcome.NOT_FOUND,
    Outcome.CANCELLED,
)
"""Outcomes in the order tables list them: good news first."""

_OUTCOME_STYLE: Final = {
    Outcome.SUCCEEDED: "green",
    Outcome.PARTIAL: "yellow",
    Outcome.FAILED: "red",
    Outcome.HELD: "magenta",
    Outcome.PENDING: "cyan",
    Outcome.TIMED_OUT: "red",
    Outcome.NOT_FOUND: "red",
    Outcome.CANCELLED: "dim",
}

MEANING: Final[Mapping[str, str]] = {
    Outcome.SUCCEEDED.value: "moved to ERD complete (100, 101)",
    Outcome.PARTIAL.value: "moved to ERD, partially (98, 99)",
    Outcome.FAILED.value: "errors, payment, validation or discard",
    Outcome.HELD.value: "waiting for a person at Omeda (1, 3, 20, 35-37)",
    Outcome.PENDING.value: "still in the pipeline",
    Outcome.TIMED_OUT.value: "no end before the deadline",
    Outcome.NOT_FOUND.value: "lookup answered 404: unknown or expired",
    Outcome.CANCELLED.value: "stopped before the end",
    "rejected": "never queued: broke a rule, or refused",
    "unknown": "may or may not be queued: reconcile",
}
"""What each outcome (and ``rejected``/``unknown``) means, short enough for 80 columns."""

_PIPED_WIDTH: Final = 100

PIPELINE: Final = (
    Stage.STAGING,
    Stage.PAYMENT,
    Stage.VALIDATION,
    Stage.OEC,
    Stage.DUPECHECK,
    Stage.SOURCE_PRIORITIZATION,
    Stage.MIGRATION,
)
"""The stages a record spends time in before it ends (ERD and DISCARD are ends)."""

_STAGE_LABEL: Final = {
    Stage.UNKNOWN: "unknown",
    Stage.STAGING: "staging",
    Stage.PAYMENT: "payment",
    Stage.VALIDATION: "validation",
    Stage.OEC: "OEC",
    Stage.DUPECHECK: "dupe check",
    Stage.SOURCE_PRIORITIZATION: "source prio.",
    Stage.MIGRATION: "migration",
    Stage.ERD: "ERD",
    Stage.DISCARD: "discard",
}


def stage_label(stage: Stage) -> str:
    """A short name of a pipeline stage for tables."""
    return _STAGE_LABEL.get(stage, stage.name.lower())


class TrimmedLines:
    """A text stream that drops the spaces rich pads each table line with, before its newline.

    On a terminal padding is invisible; in a file or a pipe it is trailing
    whitespace that diffs, ``grep`` and editors trip over. A line's last
    spaces are held back until the next write shows whether a newline follows.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._held = ""

    def write(self, text: str) -> int:
        """Write ``text`` without the spaces that end any of its lines."""
        text = self._held + text
        body = text.rstrip(" ")
        self._held = text[len(body) :]
        self._stream.write("\n".join(line.rstrip(" ") for line in body.split("\n")))
        return len(text)

    def flush(self) -> None:
        """Flush the stream (spaces still held wait for the rest of their line)."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Never a terminal: only files and pipes are wrapped."""
        return False

    def fileno(self) -> int:
        """The wrapped stream's descriptor (rich asks for it to size its output)."""
        return self._stream.fileno()


def _console(stream: IO[str], *, quiet: bool = False) -> Console:
    # markup=False: messages hold brackets (Products[1].Term) that are not rich markup.
    console = Console(file=stream, highlight=False, markup=False, quiet=quiet)
    if not console.is_terminal:
        console.file = cast("IO[str]", TrimmedLines(stream))
        if "COLUMNS" not in os.environ:
            # Piped or redirected tables get room for Omeda's descriptions (80 is rich's default).
            console.width = _PIPED_WIDTH
    return console


def make_consoles(out: IO[str] | None = None, *, quiet: bool = False) -> tuple[Console, Console]:
    """The console for results (stdout or ``out``) and the one for people (stderr).

    ``quiet`` (``-q``) silences the second: no progress and no summary. Errors
    are printed with :func:`error_console`, which ``-q`` leaves alone.
    """
    return _console(out if out is not None else sys.stdout), _console(sys.stderr, quiet=quiet)


def error_console() -> Console:
    """A console for error messages on stderr (shown even with ``-q``)."""
    return _console(sys.stderr)


# ------------------------------------------------------------------------- JSON


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: attrs classes as objects (``None`` fields and
    ``raw`` left out), enums as their values, dates in ISO 8601, decimals as strings.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if item is None or field.name == "raw":
                continue
            out[field.name] = to_jsonable(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [to_jsonable(v) for v in value]
    return str(value)


def _status_fields(status: StatusCode | None) -> dict[str, Any]:
    if status is None:
        return {"status": None}
    return {
        "status": int(status),
        "status_description": status.description,
        "stage": status.stage.name.lower(),
    }


def transaction_json(transaction: Transaction) -> dict[str, Any]:
    """One Transaction Lookup answer as a JSON object (``status`` command)."""
    status = transaction.status
    return {
        "transaction_id": transaction.transaction_id,
        **_status_fields(status),
        "outcome": status.outcome.value,
        "terminal": status.is_terminal,
        "omeda_customer_id": transaction.omeda_customer_id,
        "client_customer_id": transaction.client_customer_id,
        "errors": list(transaction.errors),
        "submission_id": transaction.submission_id,
    }


def tracking_json(result: TrackingResult) -> dict[str, Any]:
    """How tracking one transaction ended, as a JSON object (``track``, ``submit --track``)."""
    transaction = result.transaction
    errors = list(transaction.errors) if transaction is not None else []
    return {
        "transaction_id": result.transaction_id,
        "key": result.key,
        "outcome": result.outcome.value,
        **_status_fields(result.status),
        "omeda_customer_id": transaction.omeda_customer_id if transaction is not None else None,
        "errors": errors,
        "lookup_errors": list(result.lookup_errors),
        "anomalies": [
            {
                "transition": anomaly.transition.value,
                "previous": None if anomaly.previous is None else int(anomaly.previous),
                "status": int(anomaly.status),
            }
            for anomaly in result.anomalies
        ],
        "history": [[round(at, 3), int(code)] for at, code in result.history],
        "polls": result.polls,
        "elapsed": round(result.elapsed, 3),
    }


def history_json(customer_id: str, history: OrderIssueHistory) -> dict[str, Any]:
    """Order Issue History as a JSON object (``history`` command); empty when no purchases."""
    return {
        "customer_id": customer_id,
        "customer_url": history.customer_url,
        "submission_id": history.submission_id,
        "products": [
            {
                "product_id": product.product_id,
                "orders": [to_jsonable(order) for order in product.orders],
                "issues": [to_jsonable(issue) for issue in product.issues],
            }
            for product in history.products
        ],
    }


class JsonLines:
    """Writes one compact JSON object per line, flushed, so a pipe sees each at once."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.written = 0

    def write(self, obj: Mapping[str, Any]) -> None:
        """Write ``obj`` as one line."""
        self._stream.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
        self._stream.flush()
        self.written += 1


# ------------------------------------------------------------------------ tables


def _outcome_text(outcome: Outcome) -> Text:
    return Text(outcome.value, style=_OUTCOME_STYLE.get(outcome, ""))


def _details(status: StatusCode | None, errors: Sequence[str]) -> str:
    """A status's description, then the transaction's errors, one per line."""
    head = "" if status is None else status.description
    return "\n".join([head, *errors] if head else list(errors))


def transactions_table(rows: Sequence[Transaction | tuple[int, str]]) -> Table:
    """``status --format table``: one row per id (a lookup that failed shows its reason)."""
    table = Table(title="Transaction Lookup", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("TransactionId", justify="right", no_wrap=True)
    table.add_column("status", justify="right", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("customer", justify="right", no_wrap=True)
    table.add_column("description and errors", ratio=1)
    for row in rows:
        if isinstance(row, Transaction):
            status = row.status
            customer = row.omeda_customer_id
            table.add_row(
                str(row.transaction_id),
                str(int(status)),
                _outcome_text(status.outcome),
                "" if customer is None else str(customer),
                _details(status, row.errors),
            )
        else:
            table.add_row(str(row[0]), "-", Text("error", style="red"), "", row[1])
    return table


def tracking_table(results: Sequence[TrackingResult]) -> Table:
    """``track --format table``: how each tracked transaction ended, by TransactionId."""
    table = Table(title="Tracking results", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("TransactionId", justify="right", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("status", justify="right", no_wrap=True)
    table.add_column("customer", justify="right", no_wrap=True)
    table.add_column("polls", justify="right", no_wrap=True)
    table.add_column("description and errors", ratio=1)
    for result in sorted(results, key=lambda r: r.transaction_id):
        transaction = result.transaction
        customer = transaction.omeda_customer_id if transaction is not None else None
        errors = list(transaction.errors) if transaction is not None else []
        table.add_row(
            str(result.transaction_id),
            _outcome_text(result.outcome),
            "-" if result.status is None else str(int(result.status)),
            "" if customer is None else str(customer),
            str(result.polls),
            _details(result.status, errors + list(result.lookup_errors)),
        )
    return table


def submission_table(lines: Sequence[Mapping[str, Any]]) -> Table:
    """``submit --format table``: one row per input line, from its JSON object, in line order."""
    table = Table(title="Submission results", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("line", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("TransactionId", justify="right", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("status", justify="right", no_wrap=True)
    table.add_column("description and errors", ratio=1)
    for line in sorted(lines, key=lambda line: line.get("line") or 0):
        state = str(line["state"]) + (" (skipped)" if line.get("skipped") else "")
        ident = line.get("transaction_id", line.get("order_id"))
        outcome = line.get("outcome")
        status = line.get("status")
        details = [line["status_description"]] if line.get("status_description") else []
        details += list(line.get("errors", ()))
        table.add_row(
            "" if line.get("line") is None else str(line["line"]),
            Text(state, style="red" if line["state"] in ("rejected", "unknown") else ""),
            "" if ident is None else str(ident),
            Text("") if outcome is None else _outcome_text(Outcome(outcome)),
            "" if status is None else str(status),
            "\n".join(details),
        )
    return table


def history_table(customer_id: str, history: OrderIssueHistory) -> RenderableType:
    """``history --format table``: one row per order, then the issues sent."""
    if history.is_empty:
        return Text(f"No purchases found for customer {customer_id}.")
    orders = Table(
        title=f"Order history of customer {customer_id}", title_justify="left", box=box.SIMPLE_HEAD
    )
    for name in ("product", "ver.", "qty", "receive", "marketing class", "payment"):
        orders.add_column(name)
    orders.add_column("amount", justify="right")
    orders.add_column("term", justify="right")
    orders.add_column("changed")
    issues = Table(title="Issues", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("product", "issue", "description", "date"):
        issues.add_column(name)
    for product in history.products:
        for order in product.orders:
            payment = order.payment_status
            orders.add_row(
                str(product.product_id),
                order.requested_version or "",
                "" if order.quantity is None else str(order.quantity),
                "" if order.receive is None else ("yes" if order.receive else "no"),
                order.marketing_class_description or "",
                ""
                if payment is None
                else f"{int(payment)} {payment.name.lower().replace('_', ' ')}",
                "" if order.amount is None else str(order.amount),
                "" if order.term is None else str(order.term),
                "" if order.changed_date is None else order.changed_date.date().isoformat(),
            )
        for issue in product.issues:
            issues.add_row(
                str(product.product_id),
                issue.issue_name or "",
                issue.issue_description or "",
                "" if issue.issue_date is None else issue.issue_date.date().isoformat(),
            )
    if issues.row_count:
        return Group(orders, issues)
    return orders


# ------------------------------------------------------------------ summaries


def outcome_table(
    title: str,
    rows: Sequence[tuple[str, int, str]],
    *,
    total: int | None = None,
) -> Table:
    """A summary table: ``(label, count, what it means)`` rows and their share."""
    table = Table(title=title, title_justify="left")
    table.add_column("outcome")
    table.add_column("records", justify="right")
    table.add_column("share", justify="right")
    table.add_column("meaning")
    whole = total if total is not None else sum(count for _, count, _ in rows)
    for label, count, meaning in rows:
        share = f"{100.0 * count / whole:.1f}%" if whole else "-"
        style = ""
        try:
            style = _OUTCOME_STYLE.get(Outcome(label), "")
        except ValueError:
            style = "red" if label in ("rejected", "unknown") else ""
        table.add_row(Text(label, style=style), str(count), share, meaning)
    if total is not None:
        table.add_section()
        table.add_row("total", str(total), "100.0%" if total else "-", "")
    return table


def stage_times(
    histories: Iterable[Sequence[tuple[float, StatusCode]]],
) -> dict[Stage, list[float]]:
    """Seconds spent in each stage, per record, from observed status histories.

    A stage's time runs from the first lookup that showed it to the first that
    showed a later one, so it is as precise as the polling (the history's clock).
    """
    times: dict[Stage, list[float]] = {}
    for history in histories:
        spent: dict[Stage, float] = {}
        for (at, code), (next_at, _next_code) in itertools.pairwise(history):
            stage = code.stage
            spent[stage] = spent.get(stage, 0.0) + max(0.0, next_at - at)
        for stage, seconds in spent.items():
            times.setdefault(stage, []).append(seconds)
    return times


def minutes(seconds: float) -> str:
    """``754.2`` -> ``"12:34"`` (minutes and seconds, Omeda's time)."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def stage_table(times: Mapping[Stage, Sequence[float]], *, time_scale: float) -> Table:
    """The per-stage time breakdown: mean, p90 and max in Omeda time (and real seconds)."""
    table = Table(
        title="Time per stage (Omeda time, m:ss; observed by polling)", title_justify="left"
    )
    table.add_column("stage")
    table.add_column("records", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("p90", justify="right")
    table.add_column("max", justify="right")
    table.add_column("mean real", justify="right")
    for stage in PIPELINE:
        values = sorted(times.get(stage, ()))
        if not values:
            continue
        mean = statistics.fmean(values)
        p90 = values[min(len(values) - 1, math.ceil(0.9 * len(values)) - 1)]
        table.add_row(
            stage_label(stage),
            str(len(values)),
            minutes(mean),
            minutes(p90),
            minutes(values[-1]),
            f"{mean / time_scale:.2f}s",
        )
    return table
