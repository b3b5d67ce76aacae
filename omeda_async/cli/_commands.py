"""The operator commands: ``submit``, ``status``, ``track`` and ``history``.

Each takes the parsed arguments and returns the exit status. Results are JSON
lines on stdout (or ``--out``), or a table with ``--format table``; progress
and summaries go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import IO, Any, Final

from rich.console import Console
from rich.text import Text

from omeda_async._client import OmedaClient
from omeda_async._errors import (
    ApiError,
    AuthenticationError,
    CustomerMergedError,
    NotFoundError,
    OmedaError,
)
from omeda_async._policies import PollPolicy
from omeda_async._poller import TrackingResult, TransactionPoller
from omeda_async._sqlite_store import SqliteStore, StoreError
from omeda_async._status import Outcome
from omeda_async._store import CUSTOMER_SERVICE, RecordState, TrackingStore
from omeda_async.bulk import BulkSubmission, SubmissionOutcome, reasons
from omeda_async.bulk._decide import stops_the_job
from omeda_async.models import OrderReceipt, SubmissionReceipt, Transaction

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ._config import ConfigError, Settings, settings_from
from ._input import Line, PayloadSource, open_source
from ._observe import NullStore, ObservedStore
from ._progress import RECORD_MEANING, Board, Display, clock_time, held_advice, held_note
from ._render import (
    MEANING,
    OUTCOME_ORDER,
    JsonLines,
    error_console,
    history_json,
    history_table,
    make_consoles,
    outcome_table,
    submission_table,
    tracking_json,
    tracking_table,
    transaction_json,
    transactions_table,
)
from ._runtime import Interrupt, run_async

__all__ = ["history", "status", "submit", "track"]

_LOOKUP_CONCURRENCY = 8


def _error(message: str) -> None:
    # On a console of its own: -q silences progress and summaries, never an error.
    error_console().print(Text(f"omeda-async: error: {message}", style="red"), soft_wrap=True)


def _auth_message(exc: AuthenticationError) -> str:
    return (
        f"Omeda refused the credentials (HTTP 403: {exc}); "
        "check --app-id / OMEDA_APP_ID and --brand / OMEDA_BRAND"
    )


def _poll_policy(args: argparse.Namespace) -> PollPolicy:
    interval: float = args.poll_interval
    return PollPolicy(
        initial_delay=interval,
        max_interval=max(60.0, interval),
        deadline=args.deadline,
        stop_on_hold=not args.wait_on_hold,
    )


async def _open_journal(path: str, brand: str) -> SqliteStore:
    """The journal for ``brand`` (ConfigError if it is not one, or another brand's)."""
    store = SqliteStore(path, brand=brand)
    try:
        await store.open()
    except StoreError as exc:
        raise ConfigError(str(exc)) from exc
    return store


_UNKNOWN_TRANSACTION: Final = re.compile(r"no status found for transaction", re.IGNORECASE)
"""Omeda's documented 404 for a TransactionId it does not know (page 004)."""


def _brand_may_be_wrong(settings: Settings, why: str) -> str:
    """Said when every answer was 404: Omeda gives one for a brand it does not know, too."""
    return (
        f"{why}: the brand may be wrong: {settings.brand!r} (--brand / OMEDA_BRAND); "
        "Omeda answers 404 under a brand it does not know."
    )


def _wants_table(args: argparse.Namespace) -> bool:
    return getattr(args, "format", None) == "table"


# ------------------------------------------------------------------------ status


def status(args: argparse.Namespace) -> int:
    """``status TXID...``: one Transaction Lookup per id (exit 1 if any is missing or failed)."""
    settings = settings_from(args)
    return run_async(lambda interrupt: _status(args, settings, interrupt))


async def _status(args: argparse.Namespace, settings: Settings, interrupt: Interrupt) -> int:
    out, err = make_consoles(quiet=args.quiet)
    lines = JsonLines(sys.stdout)
    ids: list[int] = list(dict.fromkeys(args.transaction_ids))
    rows: dict[int, Transaction | tuple[int, str]] = {}
    unexplained: list[int] = []  # 404s without Omeda's answer for an unknown id
    limit = asyncio.Semaphore(_LOOKUP_CONCURRENCY)

    async def look_up(client: OmedaClient, transaction_id: int) -> None:
        async with limit:
            if interrupt.requested.is_set():
                return
            try:
                rows[transaction_id] = await client.get_transaction(transaction_id)
            except AuthenticationError:
                raise
            except NotFoundError as exc:
                reason = "; ".join(exc.errors) or "unknown or expired"
                rows[transaction_id] = (transaction_id, f"not found (404): {reason}")
                if not _UNKNOWN_TRANSACTION.search(reason):
                    unexplained.append(transaction_id)
            except OmedaError as exc:
                rows[transaction_id] = (transaction_id, f"{type(exc).__name__}: {exc}")

    refused: AuthenticationError | None = None
    try:
        async with settings.client() as client, asyncio.TaskGroup() as group:
            for transaction_id in ids:
                group.create_task(look_up(client, transaction_id))
    except* AuthenticationError as group_error:
        first = group_error.exceptions[0]
        refused = first if isinstance(first, AuthenticationError) else None
    if refused is not None:
        _error(_auth_message(refused))
        return EXIT_USAGE
    ordered = [rows[tid] for tid in ids if tid in rows]
    if _wants_table(args):
        out.print(transactions_table(ordered))
    else:
        for row in ordered:
            if isinstance(row, Transaction):
                lines.write(transaction_json(row))
            else:
                lines.write({"transaction_id": row[0], "error": row[1]})
    answered_404 = [row for row in ordered if isinstance(row, tuple) and "(404)" in row[1]]
    if unexplained and len(answered_404) == len(ids):
        err.print(
            _brand_may_be_wrong(
                settings,
                "Every lookup answered 404 (not found), none with Omeda's answer for an "
                "unknown TransactionId",
            ),
            soft_wrap=True,
        )
    bad = [
        row
        for row in ordered
        if not isinstance(row, Transaction) or row.status.outcome is Outcome.FAILED
    ]
    return EXIT_FAILED if bad or len(ordered) < len(ids) else EXIT_OK


# ------------------------------------------------------------------------- track


def track(args: argparse.Namespace) -> int:
    """``track TXID... | --resume PATH``: follow until each ends (exit 0 if all succeeded)."""
    if not args.transaction_ids and args.resume is None:
        raise ConfigError("track needs TransactionIds or --resume PATH")
    settings = settings_from(args)
    return run_async(lambda interrupt: _track(args, settings, interrupt))


async def _track(args: argparse.Namespace, settings: Settings, interrupt: Interrupt) -> int:
    interrupt.stopping = "unfinished transactions stay unfinished (in the journal, if any)"
    out, err = make_consoles(quiet=args.quiet)
    lines = JsonLines(sys.stdout)
    inner: TrackingStore = NullStore()
    if args.resume is not None:
        inner = await _open_journal(args.resume, settings.brand)
    board = Board(tracking=True, submitting=False)
    results: list[TrackingResult] = []
    outcomes: Counter[Outcome] = Counter()
    policy = _poll_policy(args)
    try:
        async with settings.client() as client:
            with Display(err, board, title="Tracking") as display:
                if not policy.stop_on_hold:
                    display.held_note = held_note(deadline=policy.deadline, journal=args.resume)
                store = ObservedStore(inner, board, display.refresh)
                poller = client.poller(policy=policy, store=store)
                feed = poller.results()
                async with poller:
                    for transaction_id in dict.fromkeys(args.transaction_ids):
                        poller.track(transaction_id)
                    if args.resume is not None:
                        await poller.resume()
                    if not len(poller):
                        err.print(
                            "Nothing to track: the journal has no unfinished transaction.",
                            soft_wrap=True,
                        )
                    stopper = asyncio.create_task(_close_on(interrupt, poller))
                    try:
                        async for result in feed:
                            outcomes[result.outcome] += 1
                            if result.outcome is Outcome.HELD:
                                # Left unfinished in the store (resumable): no finish to see.
                                board.on_finish(result.key, result.outcome)
                            if _wants_table(args):
                                results.append(result)
                            else:
                                lines.write(tracking_json(result))
                    finally:
                        stopper.cancel()
                        await asyncio.wait([stopper])
    except AuthenticationError as exc:
        _error(_auth_message(exc))
        return EXIT_USAGE
    finally:
        await inner.close()
    if _wants_table(args):
        out.print(tracking_table(results))
    _print_outcomes(err, outcomes)
    resume = (
        f"'omeda-async track --resume {args.resume}'"
        if args.resume is not None
        else "'omeda-async track' and their TransactionIds"
    )
    if outcomes[Outcome.HELD]:
        err.print(held_advice(outcomes[Outcome.HELD], resume=resume), soft_wrap=True)
    if outcomes[Outcome.CANCELLED]:
        err.print(
            f"{outcomes[Outcome.CANCELLED]} not finished when stopped: resume with {resume}",
            soft_wrap=True,
        )
    if outcomes and outcomes[Outcome.NOT_FOUND] == sum(outcomes.values()):
        err.print(
            _brand_may_be_wrong(
                settings, "Every transaction ended not found (404); if the ids are right"
            ),
            soft_wrap=True,
        )
    good = outcomes[Outcome.SUCCEEDED]
    return EXIT_OK if good == sum(outcomes.values()) else EXIT_FAILED


async def _close_on(interrupt: Interrupt, poller: TransactionPoller) -> None:
    """On Ctrl-C, stop tracking: unfinished ones stay unfinished in the journal."""
    await interrupt.wait()
    await poller.close()


def _print_outcomes(console: Console, outcomes: Counter[Outcome]) -> None:
    if not outcomes:
        return
    rows = [
        (outcome.value, outcomes[outcome], MEANING[outcome.value])
        for outcome in OUTCOME_ORDER
        if outcomes[outcome]
    ]
    console.print(outcome_table("Outcomes", rows, total=sum(outcomes.values())))


# ----------------------------------------------------------------------- history


def history(args: argparse.Namespace) -> int:
    """``history CUSTOMER_ID [--product ID]``: Order Issue History (exit 1 on an error)."""
    settings = settings_from(args)
    return run_async(lambda interrupt: _history(args, settings))


async def _history(args: argparse.Namespace, settings: Settings) -> int:
    out, err = make_consoles(quiet=args.quiet)
    raw: str = args.customer_id.strip()
    customer: int | str = int(raw) if raw.isdigit() else raw
    try:
        async with settings.client() as client:
            found = await client.get_order_issue_history(customer, product_id=args.product)
    except AuthenticationError as exc:
        _error(_auth_message(exc))
        return EXIT_USAGE
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    except NotFoundError as exc:
        _error(f"{type(exc).__name__}: {exc}")
        err.print(
            _brand_may_be_wrong(
                settings, "The lookup answered 404 (not found); if the customer id is right"
            ),
            soft_wrap=True,
        )
        return EXIT_FAILED
    except OmedaError as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    if _wants_table(args):
        out.print(history_table(raw, found))
    else:
        JsonLines(sys.stdout).write(history_json(raw, found))
    return EXIT_OK


# ------------------------------------------------------------------------ submit


def submit(args: argparse.Namespace) -> int:
    """``submit FILE``: every line submitted once; exit 0 only if every record succeeded."""
    settings = settings_from(args, need_input_id=args.kind == "customer")
    source = open_source(args.file)
    try:
        sink: IO[str] = sys.stdout
        if args.out is not None:
            try:
                sink = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise ConfigError(f"cannot write {args.out}: {exc.strerror}") from exc
        try:
            return run_async(lambda interrupt: _Submit(args, settings, source, sink).run(interrupt))
        finally:
            if sink is not sys.stdout:
                sink.close()
    finally:
        source.close()


class _Submit:
    """One ``submit`` run: input -> submit_many (tracking with ``--track``) -> JSON lines."""

    def __init__(
        self, args: argparse.Namespace, settings: Settings, source: PayloadSource, sink: IO[str]
    ) -> None:
        self.args = args
        self.settings = settings
        self.source = source
        self.lines = JsonLines(sink)
        self.out, self.err = make_consoles(sink, quiet=args.quiet)
        # --format table: each line's object is kept for one table at the end.
        self.table: list[dict[str, Any]] | None = [] if _wants_table(args) else None
        self.board = Board(tracking=args.track)
        # index in submit_many -> line number.
        self.line_of: dict[int, int] = {}
        self.yielded = 0
        self.malformed = 0
        self.bad = 0
        self.outcomes: Counter[Outcome] = Counter()
        self.stop_input = asyncio.Event()
        self.elapsed = 0.0
        # POSTs answered by a plain 404: Omeda's answer under a path it does not have.
        self.not_found = 0

    # -- the job -------------------------------------------------------------------

    async def run(self, interrupt: Interrupt) -> int:
        args = self.args
        inner: TrackingStore = NullStore()
        if args.journal is not None:
            inner = await _open_journal(args.journal, self.settings.brand)
        job: BulkSubmission | None = None
        forced = False
        try:
            async with self.settings.client(rate_limit=args.rate) as client:
                with Display(self.err, self.board, title="Submitting") as display:
                    policy = _poll_policy(args)
                    if args.track and not policy.stop_on_hold:
                        display.held_note = held_note(
                            deadline=policy.deadline, journal=args.journal
                        )
                    store = ObservedStore(inner, self.board, display.refresh)
                    job = client.submit_many(
                        self._payloads(display),
                        concurrency=args.concurrency,
                        store=store,
                        kind=args.kind,
                        resend_unknown=args.resend_unknown,
                        follow_merges=args.follow_merges,
                        track=args.track,
                        poll_policy=policy if args.track else None,
                    )
                    running = job
                    self.board.summary = lambda: running.summary
                    try:
                        await self._drive(job, interrupt, display)
                    except asyncio.CancelledError:
                        forced = True  # a second Ctrl-C: stop now, report what is known
                    finally:
                        await job.aclose()
                        # The last progress line shows the counts the summary shows.
                        self.board.settle(job.summary)
                self.elapsed = display.elapsed
        except AuthenticationError as exc:
            _error(_auth_message(exc))
            return EXIT_USAGE
        except ApiError as exc:
            if not stops_the_job(exc):
                raise
            # Every further record would be refused alike: the job stopped at the first.
            _error(
                f"Omeda refused the input id ({exc}); check --input-id / OMEDA_INPUT_ID. "
                "The job stopped: records refused so far are in the results, the rest "
                "were not sent."
            )
            return EXIT_USAGE
        except StoreError as exc:
            _error(f"the journal failed: {exc}")
            return EXIT_FAILED
        finally:
            await inner.close()
        self._summary(job, interrupted=interrupt.count > 0, forced=forced)
        return EXIT_FAILED if self.bad else EXIT_OK

    async def _payloads(self, display: Display) -> AsyncIterator[Any]:
        """The input's payloads for submit_many; malformed lines answered here."""
        async for line in self.source.lines(self.stop_input):
            self.board.read += 1
            if line.problem is not None:
                self._malformed(line)
                display.refresh()
                continue
            # submit_many numbers records in the order they are read: 0, 1, 2, ...
            self.line_of[self.yielded] = line.number
            self.yielded += 1
            yield line.payload

    def _malformed(self, line: Line) -> None:
        self.malformed += 1
        self.bad += 1
        self.board.malformed += 1
        assert line.problem is not None
        self._write(
            {
                "line": line.number,
                "key": None,
                "state": RecordState.REJECTED.value,
                "skipped": False,
                "errors": [line.problem],
                "error_type": "MalformedLine",
            }
        )

    async def _drive(self, job: BulkSubmission, interrupt: Interrupt, display: Display) -> None:
        stopper = asyncio.create_task(self._stop_on(interrupt, job))
        try:
            async for outcome in job:
                self._outcome(outcome)
                display.refresh()
        finally:
            if not stopper.done():
                stopper.cancel()
            await asyncio.wait([stopper])

    async def _stop_on(self, interrupt: Interrupt, job: BulkSubmission) -> None:
        """First Ctrl-C: read no more input and stop tracking; requests in flight finish.

        Records still tracked are written as accepted (unfinished in the journal:
        ``track --resume`` follows them).
        """
        await interrupt.wait()
        self.stop_input.set()
        await job.stop_tracking()

    # -- one record ------------------------------------------------------------------

    def _outcome(self, outcome: SubmissionOutcome) -> None:
        line = self.line_of.pop(outcome.index, None)
        data: dict[str, Any] = {
            "line": line,
            "key": outcome.key,
            "state": outcome.state.value,
            "service": outcome.service,
            "skipped": outcome.skipped,
        }
        receipt = outcome.receipt
        if isinstance(receipt, SubmissionReceipt):
            data["transaction_id"] = receipt.transaction_id
        elif isinstance(receipt, OrderReceipt):
            data["order_id"] = receipt.order_id
            if receipt.customer_id is not None:
                data["customer_id"] = receipt.customer_id
        elif outcome.stored is not None and outcome.stored.transaction_id is not None:
            id_name = "transaction_id" if outcome.service == CUSTOMER_SERVICE else "order_id"
            data[id_name] = outcome.stored.transaction_id
        elif outcome.result is not None:
            data["transaction_id"] = outcome.result.transaction_id
        if outcome.merged_into is not None:
            data["merged_into"] = outcome.merged_into
        if outcome.duplicate_of is not None:
            data["duplicate_of_line"] = self.line_of.get(outcome.duplicate_of)
        if outcome.error is not None:
            data["errors"] = reasons(outcome.error)
            data["error_type"] = type(outcome.error).__name__
            if isinstance(outcome.error, NotFoundError) and not isinstance(
                outcome.error, CustomerMergedError
            ):
                self.not_found += 1
        state = outcome.state
        if outcome.result is not None:
            self._tracked(data, outcome.result)
        elif state is RecordState.FINISHED:
            stored = outcome.stored
            final = outcome.outcome
            if final is not None:
                data["outcome"] = final.value
                if stored is not None and stored.status is not None:
                    data["status"] = int(stored.status)
                    data["status_description"] = stored.status.description
                if stored is not None and stored.errors:
                    data["errors"] = list(stored.errors)
            # An Add Order is stored as finished "pending": it cannot be tracked.
            if final is not Outcome.SUCCEEDED and outcome.service == CUSTOMER_SERVICE:
                self.bad += 1
            if final is not None:
                self.outcomes[final] += 1
        elif state in (RecordState.REJECTED, RecordState.UNKNOWN):
            self.bad += 1
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        if self.table is not None:
            self.table.append(data)
        else:
            self.lines.write(data)

    def _tracked(self, data: dict[str, Any], result: TrackingResult) -> None:
        """A tracked record's line: its final status (or unfinished, when stopped early)."""
        tracked = tracking_json(result)
        for name in ("outcome", "status", "status_description", "omeda_customer_id", "polls"):
            data[name] = tracked.get(name)
        if tracked["errors"] or tracked["lookup_errors"]:
            data["errors"] = tracked["errors"] + tracked["lookup_errors"]
        self.outcomes[result.outcome] += 1
        if result.outcome is Outcome.HELD:
            # Left unfinished in the journal (resumable): the store saw no finish.
            self.board.on_finish(result.key, result.outcome)
        if result.outcome is not Outcome.SUCCEEDED:
            self.bad += 1

    # -- the end ---------------------------------------------------------------------

    def _summary(self, job: BulkSubmission | None, *, interrupted: bool, forced: bool) -> None:
        err = self.err
        if self.table is not None:
            self.out.print(submission_table(self.table))
        summary = job.summary if job is not None else None
        counts = self.board.records()
        rows = [(name, counts[name], meaning) for name, meaning in RECORD_MEANING.items()]
        total = sum(count for _, count, _ in rows)
        table = outcome_table("Submission", [r for r in rows if r[1]], total=total)
        err.print(table)
        _print_outcomes(err, self.outcomes)
        if self.outcomes[Outcome.HELD]:
            resume = (
                f"'omeda-async track --resume {self.args.journal}'"
                if self.args.journal is not None
                else "'omeda-async track' and their TransactionIds (in the results)"
            )
            err.print(held_advice(self.outcomes[Outcome.HELD], resume=resume), soft_wrap=True)
        if summary is not None:
            # The run's own elapsed time: submitting and, with --track, tracking.
            elapsed = self.elapsed
            rate = f" ({total / elapsed:.1f} a second)" if elapsed > 0 else ""
            posts = summary.posts
            merges = summary.merges_followed
            err.print(
                f"{total} {'record' if total == 1 else 'records'} in {clock_time(elapsed)}{rate}: "
                f"{posts} {'POST' if posts == 1 else 'POSTs'}"
                + (f", {merges} merges followed" if merges else ""),
                soft_wrap=True,
            )
            if self.not_found and self.not_found == posts:
                err.print(
                    _brand_may_be_wrong(self.settings, "Every submission answered 404 (not found)"),
                    soft_wrap=True,
                )
            if summary.unknown_keys:
                shown = ", ".join(summary.unknown_keys[:5])
                more = len(summary.unknown_keys) - 5
                err.print(
                    Text(
                        f"unknown outcome (not resent; --resend-unknown resends them): {shown}"
                        + (f" (+{more} more)" if more > 0 else ""),
                        style="yellow",
                    ),
                    soft_wrap=True,
                )
        if interrupted:
            hint = ""
            if self.args.journal is not None:
                hint = f"; run the same command again to continue (journal {self.args.journal})"
            how = "stopped at once" if forced else "stopped cleanly"
            err.print(Text(f"Interrupted: {how}{hint}", style="yellow"), soft_wrap=True)
