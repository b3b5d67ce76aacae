"""``omeda-async demo``: the whole flow, on a FakeOmeda started in this process.

Generate realistic records (a few invalid, a few naming merged customers),
submit them concurrently with ``submit_many(track=True)``, follow every
TransactionId to its end on a scaled clock (Omeda's 15-30 minutes become a
few seconds), and print what happened: a live display while it runs, then
the outcomes, the time each pipeline stage took, a few failures with their
reasons, and a check of all of it against FakeOmeda's own records.
"""

from __future__ import annotations

import argparse
import asyncio
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Final

import attrs
from rich.console import Console
from rich.text import Text

from omeda_async._errors import PayloadValidationError
from omeda_async._policies import PollPolicy
from omeda_async._poller import TrackingResult
from omeda_async._status import Outcome
from omeda_async._store import RecordState
from omeda_async.bulk import BulkSubmission, SubmissionOutcome
from omeda_async.testing import FakeOmeda, Mix

from . import EXIT_FAILED, EXIT_OK
from ._observe import NullStore, ObservedStore
from ._progress import HELD_CODES, Board, Display, clock_time
from ._render import (
    MEANING,
    OUTCOME_ORDER,
    make_consoles,
    minutes,
    outcome_table,
    stage_table,
    stage_times,
)
from ._runtime import Interrupt, run_async
from ._sample import MERGED_CUSTOMERS, SampleRecord, sample_records

__all__ = [
    "DEMO_MIX",
    "DEMO_POLICY",
    "DemoReport",
    "check_against",
    "command",
    "demo_fake",
    "run_demo",
]

DEMO_MIX: Final[Mapping[str, float]] = {
    "new_customer": 0.55,
    "existing_customer": 0.25,
    "partial": 0.04,
    "failed_source_prioritization": 0.02,
    "failed_validation": 0.04,
    "discarded": 0.02,
    "payment_failed": 0.02,
    "excessive_errors": 0.02,
    "held_customer": 0.01,
    "held_oec": 0.01,
    "held_dupecheck": 0.02,
}
"""How often FakeOmeda takes each status path in the demo."""

DEMO_SPREAD: Final = (900.0, 1800.0)
"""Omeda time a record takes to process, in seconds: "15-30 minutes"."""

DEMO_POLICY: Final = PollPolicy(
    initial_delay=30.0,
    multiplier=2.0,
    max_interval=240.0,
    deadline=4 * 3600.0,
    stop_on_hold=True,
)
"""Polling for the demo, in Omeda time: gentle (a record moves every minute or two),
and a held record ends as HELD instead of waiting for a person."""

_EXAMPLES: Final = 6


@attrs.frozen(kw_only=True)
class DemoReport:
    """What a demo run did, for its summary and for tests.

    ``outcomes`` counts every record by tracking outcome, or ``rejected`` /
    ``unknown``; ``transactions`` maps each queued TransactionId to its
    ``TrackingResult``; ``problems`` lists disagreements with FakeOmeda's records.
    """

    count: int
    outcomes: Mapping[str, int]
    transactions: Mapping[int, TrackingResult]
    merges_followed: int
    posts: int
    problems: tuple[str, ...]
    elapsed: float
    lookups: int
    interrupted: bool


def demo_fake(*, seed: int, time_scale: float) -> FakeOmeda:
    """The FakeOmeda the demo runs against: the demo's mix of paths and merged customers."""
    return FakeOmeda(
        brand="DEMO",
        time_scale=time_scale,
        scenario=Mix(DEMO_MIX, spread=DEMO_SPREAD),
        seed=seed,
        merged_customers=MERGED_CUSTOMERS,
        record_bodies=False,
    )


def command(args: argparse.Namespace) -> int:
    """``demo [--count N] [--seed S]``: exit 0 when the run agrees with FakeOmeda's records."""
    return run_async(lambda interrupt: _main(args, interrupt))


async def _main(args: argparse.Namespace, interrupt: Interrupt) -> int:
    interrupt.stopping = "summarizing what has finished so far"
    out, err = make_consoles(quiet=args.quiet)
    async with demo_fake(seed=args.seed, time_scale=args.time_scale) as fake:
        report = await run_demo(
            fake,
            count=args.count,
            seed=args.seed,
            concurrency=args.concurrency,
            out=out,
            err=err,
            interrupt=interrupt,
        )
    return EXIT_FAILED if report.problems else EXIT_OK


async def run_demo(
    fake: FakeOmeda,
    *,
    count: int,
    seed: int,
    concurrency: int = 32,
    out: Console,
    err: Console,
    interrupt: Interrupt | None = None,
) -> DemoReport:
    """Run the demo against a started ``fake``; print the summary to ``out``."""
    board = Board(total=count, tracking=True)
    records: dict[int, SampleRecord] = {}
    outcomes: list[SubmissionOutcome] = []
    scale = getattr(fake.clock, "scale", 1.0)
    out.print(
        f"Starting FakeOmeda on {fake.url} (brand {fake.brand}; Omeda's 15-30 minutes "
        f"of processing run {scale:g}x faster) and submitting {count} records ...",
        soft_wrap=True,
    )

    async def payloads() -> AsyncIterator[object]:
        for record in sample_records(count, seed=seed):
            records[record.number - 1] = record
            board.read += 1
            yield record.payload

    job: BulkSubmission | None = None
    interrupted = False
    async with fake.client() as client:
        with Display(err, board, title=f"Demo: {count} records") as display:
            store = ObservedStore(NullStore(), board, display.refresh)
            job = client.submit_many(
                payloads(),
                concurrency=concurrency,
                track=True,
                store=store,
                follow_merges=True,
                poll_policy=DEMO_POLICY,
            )
            running = job
            board.summary = lambda: running.summary

            async def consume() -> None:
                async for outcome in running:
                    outcomes.append(outcome)
                    if outcome.result is not None and outcome.result.outcome is Outcome.HELD:
                        # Left unfinished in the store (resumable): no finish to see.
                        board.on_finish(outcome.result.key, Outcome.HELD)
                    display.refresh()

            consuming = asyncio.ensure_future(consume())
            waiting = asyncio.ensure_future(interrupt.wait()) if interrupt is not None else None
            try:
                await asyncio.wait(
                    [task for task in (consuming, waiting) if task is not None],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                interrupted = not consuming.done()
                if consuming.done():
                    consuming.result()
            finally:
                for task in (consuming, waiting):
                    if task is not None and not task.done():
                        task.cancel()
                        await asyncio.wait([task])
                await job.aclose()
                # The last progress line shows the counts the summary shows.
                board.settle(job.summary)
            elapsed = display.elapsed
    summary = job.summary
    tracked = {o.result.transaction_id: o.result for o in outcomes if o.result is not None}
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.result is not None:
            counts[outcome.result.outcome.value] += 1
        else:
            counts[outcome.state.value] += 1
    if interrupted:
        # Read and sent, but stopped before an outcome: the summary shows them too.
        counts[Outcome.CANCELLED.value] += board.read - sum(counts.values())
    problems: tuple[str, ...] = ()
    if not interrupted:
        problems = tuple(check_against(fake, tracked, outcomes, posts=summary.posts))
    report = DemoReport(
        count=count,
        outcomes=dict(counts),
        transactions=tracked,
        merges_followed=summary.merges_followed,
        posts=summary.posts,
        problems=problems,
        elapsed=elapsed,
        lookups=sum(fake.lookups.values()),
        interrupted=interrupted,
    )
    _print_summary(out, report, outcomes, records, scale=scale)
    return report


def check_against(
    fake: FakeOmeda,
    tracked: Mapping[int, TrackingResult],
    outcomes: list[SubmissionOutcome],
    *,
    posts: int,
) -> list[str]:
    """Where the demo's account disagrees with what FakeOmeda itself recorded."""
    problems: list[str] = []
    # Invalid records are never sent: the job's count of POSTs is what the fake received.
    received = sum(1 for request in fake.requests if request.method == "POST")
    if posts != received:
        problems.append(f"the job counted {posts} POSTs; FakeOmeda received {received}")
    queued = set(fake.transactions)
    accepted = {o.transaction_id for o in outcomes if o.transaction_id is not None}
    if queued != accepted:
        problems.append(
            f"FakeOmeda queued {len(queued)} transactions; the demo accounted for "
            f"{len(accepted)} ({len(queued - accepted)} unaccounted, "
            f"{len(accepted - queued)} unknown to the fake)"
        )
    duplicates = fake.duplicates()
    if duplicates:
        problems.append(f"{len(duplicates)} records were queued more than once")
    untracked = accepted - set(tracked)
    if untracked:
        problems.append(f"{len(untracked)} accepted records were not followed to an end")
    mismatched = [
        tid
        for tid, result in tracked.items()
        if tid in fake.transactions
        and result.status != fake.transactions[tid].scenario.final.status
    ]
    if mismatched:
        problems.append(
            f"{len(mismatched)} final statuses differ from FakeOmeda's "
            f"(e.g. TransactionId {mismatched[0]})"
        )
    rejected_sent = [
        o.index
        for o in outcomes
        if o.state is RecordState.REJECTED
        and isinstance(o.error, PayloadValidationError)
        and o.attempts > 1
    ]
    if rejected_sent:
        problems.append(f"{len(rejected_sent)} invalid records were sent more than once")
    return problems


def _print_summary(
    out: Console,
    report: DemoReport,
    outcomes: list[SubmissionOutcome],
    records: Mapping[int, SampleRecord],
    *,
    scale: float,
) -> None:
    counts = report.outcomes
    labels = [o.value for o in OUTCOME_ORDER] + ["rejected", "unknown"]
    rows = [(label, counts[label], MEANING.get(label, "")) for label in labels if counts.get(label)]
    rows += [(label, n, "") for label, n in counts.items() if label not in labels and n]
    out.print()
    title = "Outcomes" + (" so far (interrupted)" if report.interrupted else "")
    out.print(outcome_table(title, rows, total=sum(counts.values())))
    histories = [result.history for result in report.transactions.values()]
    times = stage_times(histories)
    if times:
        out.print()
        out.print(stage_table(times, time_scale=scale))
    examples = _examples(outcomes, records)
    if examples:
        out.print()
        out.print("Example failures")
        # A terminal gets indented paragraphs; a file or a pipe one line per item.
        width = max(40, out.width) if out.is_terminal else None
        for head, reasons in examples:
            out.print(_indented(head, 2, width), soft_wrap=True)
            for reason in reasons:
                out.print(Text(_indented(reason, 6, width), style="dim"), soft_wrap=True)
    out.print()
    queued = len(report.transactions)
    per = report.lookups / queued if queued else 0.0
    longest = max((r.elapsed for r in report.transactions.values()), default=0.0)
    out.print(
        f"{report.count} records in {clock_time(report.elapsed)}: {report.posts} POSTs, "
        f"{queued} transactions followed with {report.lookups} lookups ({per:.1f} each) until "
        f"each finished or was held; the longest took {minutes(longest)} of Omeda time "
        f"({scale:g}x faster here).",
        soft_wrap=True,
    )
    held = counts.get(Outcome.HELD.value, 0)
    if held:
        out.print(
            f"{_records(held)} {'is' if held == 1 else 'are'} held: waiting for a person at "
            f"Omeda (codes {HELD_CODES}). The demo stops tracking a record there, as the "
            "commands do by default (--stop-on-hold): a person may take hours.",
            soft_wrap=True,
        )
    if report.merges_followed:
        out.print(
            f"{_records(report.merges_followed)} named a customer Omeda had merged into "
            "another: resent once to the customer it was merged into.",
            soft_wrap=True,
        )
    if report.interrupted:
        out.print(
            Text("Interrupted: the summary covers the records finished so far.", "yellow"),
            soft_wrap=True,
        )
    elif report.problems:
        for problem in report.problems:
            out.print(Text(f"Mismatch with FakeOmeda's records: {problem}", "red"), soft_wrap=True)
    else:
        out.print(
            Text(
                f"Checked against FakeOmeda's own records: {report.posts} POSTs received, "
                f"{queued} transactions, each queued once, every final status matches.",
                style="green",
            ),
            soft_wrap=True,
        )


def _indented(text: str, indent: int, width: int | None) -> str:
    """``text`` indented; wrapped to ``width`` with a deeper indent (None: one line)."""
    if width is None:
        return " " * indent + text
    return textwrap.fill(
        text, width, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2)
    )


def _records(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


def _examples(
    outcomes: list[SubmissionOutcome], records: Mapping[int, SampleRecord]
) -> list[tuple[str, list[str]]]:
    """A few failures with their reasons: refused before sending, then failed in Omeda.

    One per distinct final status first, so the examples show different reasons.
    """
    rejected = [o for o in outcomes if o.state is RecordState.REJECTED and o.error is not None]
    failed: list[SubmissionOutcome] = []
    seen: set[object] = set()
    ended = [
        o
        for o in outcomes
        if o.result is not None and o.result.outcome in (Outcome.FAILED, Outcome.PARTIAL)
    ]
    for outcome in sorted(ended, key=lambda o: o.result is None or o.result.outcome.value):
        assert outcome.result is not None
        if outcome.result.status not in seen:
            seen.add(outcome.result.status)
            failed.append(outcome)
    picked = rejected[:2] + failed[: _EXAMPLES - min(2, len(rejected))]
    lines: list[tuple[str, list[str]]] = []
    for outcome in sorted(picked, key=lambda o: o.index):
        record = records.get(outcome.index)
        who = f"#{outcome.index + 1}" + (f" {record.name}" if record is not None else "")
        if outcome.result is None:
            error = outcome.error
            reasons = (
                [str(v) for v in error.violations]
                if isinstance(error, PayloadValidationError)
                else [str(error)]
            )
            lines.append((f"{who}: refused before sending", reasons))
            continue
        result = outcome.result
        status = result.status
        code = "" if status is None else f" with {int(status)} {status.description}"
        transaction = result.transaction
        errors = list(transaction.errors) if transaction is not None else []
        lines.append(
            (f"{who}: TransactionId {result.transaction_id} {result.outcome.value}{code}", errors)
        )
    return lines
