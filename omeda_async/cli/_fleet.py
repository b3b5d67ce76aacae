"""``enqueue`` and ``worker``: a job in PostgreSQL, worked by any number of hosts.

``omeda-async enqueue --dsn DSN --job J rows.jsonl`` puts records in a job's
queue; ``omeda-async worker --dsn DSN --job J`` (on as many hosts as you
like) submits them and follows every accepted transaction, sharing the work
through ``omeda_async.postgres``. Results are JSON lines on stdout, progress
on stderr; SIGTERM or Ctrl-C stops a worker cleanly (its leases released, so
the rest of the fleet takes over at once). Exit status as the other commands:
0 all good, 1 some records failed or are unknown (or the database failed
mid-run), 2 usage or configuration (a DSN that does not connect), 130 stopped.

asyncpg is imported only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from rich.text import Text

from omeda_async._errors import AuthenticationError, StoreError
from omeda_async._status import Outcome
from omeda_async._store import CUSTOMER_SERVICE, RecordState
from omeda_async.bulk import SubmissionOutcome
from omeda_async.bulk._outcome import reasons
from omeda_async.models._responses import OrderReceipt, SubmissionReceipt

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ._config import ConfigError, settings_from
from ._input import Line, add_payload_arguments, open_source
from ._render import JsonLines, make_consoles
from ._runtime import Interrupt, run_async

if TYPE_CHECKING:
    from omeda_async.postgres import PostgresStore
    from omeda_async.postgres._tracker import Followed

__all__ = ["add_commands", "enqueue", "worker"]

DSN_VARIABLE: Final = "OMEDA_POSTGRES_DSN"
_CHUNK: Final = 1000


# ----------------------------------------------------------------------- parsing


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    subparser: Callable[..., argparse.ArgumentParser],
    add_poll_options: Callable[..., None],
    positive_int: Callable[[str], int],
    positive_float: Callable[[str], float],
) -> None:
    """The ``enqueue`` and ``worker`` subcommands (the app's own helpers passed in)."""
    enqueue = subparser(
        commands,
        "enqueue",
        summary="put payloads in a PostgreSQL job's queue, for workers",
        description=(
            "Put one payload per line of FILE ('-' for stdin) in the queue of job J in\n"
            "PostgreSQL, for 'omeda-async worker' on any number of hosts. Each payload is\n"
            "checked as 'submit' checks it (an invalid one is reported, not queued) and\n"
            "keyed as 'submit' keys it (the SHA-256 of its request body): a record already\n"
            "in the job is not queued twice. Needs no Omeda credentials; --brand ties the\n"
            "job to one brand. A web backend can queue a record in its own transaction\n"
            "instead: SELECT omeda_async.enqueue('J', 'its key', '{...}'::jsonb).\n"
            f"\nThe DSN comes from --dsn or {DSN_VARIABLE}; keep its password in\n"
            "PGPASSWORD or ~/.pgpass rather than on the command line."
        ),
        examples=(
            "  omeda-async enqueue --dsn postgresql://omeda@db/omeda --job signups rows.jsonl\n"
            "  omeda-async enqueue --job orders-2024-06 --kind order orders.jsonl"
        ),
    )
    _add_database(enqueue)
    add_payload_arguments(enqueue)

    worker = subparser(
        commands,
        "worker",
        summary="submit and track a PostgreSQL job's records, with any number of workers",
        description=(
            "Work on job J in PostgreSQL with the rest of the fleet: submit its queued\n"
            "records (--submit) and follow every accepted TransactionId to its end\n"
            "(--track); both by default. Run it on as many hosts as you like: workers\n"
            "claim records with leases, so each record is sent once; a worker that dies\n"
            "is taken over after --lease seconds (what it was sending is reported\n"
            "unknown, never resent on its own). --rate is the brand's budget for the\n"
            "whole fleet, not per worker. SIGTERM or Ctrl-C stops cleanly: requests in\n"
            "flight finish and are recorded, and the leases are released.\n"
            "\n"
            "One JSON line per record submitted and per tracking ended goes to stdout.\n"
            "--drain stops once the job has nothing left (queued, in flight, followed)."
        ),
        examples=(
            "  omeda-async worker --dsn postgresql://omeda@db/omeda --job signups\n"
            "  omeda-async worker --job signups --track --rate 20\n"
            "  omeda-async worker --job backfill --submit --concurrency 32 --drain"
        ),
    )
    _add_database(worker)
    worker.add_argument(
        "--submit", action="store_true", help="submit queued records (default: both halves)"
    )
    worker.add_argument(
        "--track", action="store_true", help="follow accepted transactions (default: both halves)"
    )
    worker.add_argument(
        "--concurrency",
        type=positive_int,
        default=16,
        metavar="N",
        help="submissions in flight at once in this worker (default 16)",
    )
    worker.add_argument(
        "--lookups",
        type=positive_int,
        default=32,
        metavar="N",
        help="lookups in flight at once in this worker (default 32)",
    )
    worker.add_argument(
        "--rate",
        type=positive_float,
        default=None,
        metavar="R",
        help="at most R requests per second for the brand, across the whole fleet",
    )
    worker.add_argument(
        "--lease",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="how long a stopped worker's records wait before others take them (default 30)",
    )
    worker.add_argument(
        "--claim-interval",
        type=positive_float,
        default=1.0,
        metavar="SECONDS",
        help="how often an idle worker looks for work (default 1)",
    )
    worker.add_argument(
        "--drain", action="store_true", help="stop once the job has nothing left to do"
    )
    worker.add_argument(
        "--resend-unknown",
        action="store_true",
        help="resend records whose earlier POST may or may not have been queued",
    )
    worker.add_argument(
        "--follow-merges",
        action="store_true",
        help="resend once to the customer a merged customer id points to",
    )
    add_poll_options(worker, bulk=True)


def _add_database(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the job in PostgreSQL")
    group.add_argument(
        "--dsn",
        metavar="DSN",
        default=None,
        help=f"postgresql://user@host:port/database, never printed [{DSN_VARIABLE}]",
    )
    group.add_argument("--job", metavar="J", required=True, help="the job's name")
    group.add_argument(
        "--schema",
        metavar="NAME",
        default="omeda_async",
        help="the PostgreSQL schema of the journal (default omeda_async)",
    )


def _store(args: argparse.Namespace, *, brand: str | None, lease: float = 30.0) -> PostgresStore:
    dsn = args.dsn or os.environ.get(DSN_VARIABLE, "").strip()
    if not dsn:
        raise ConfigError(f"missing PostgreSQL DSN: pass --dsn or set {DSN_VARIABLE}")
    try:
        from omeda_async.postgres import PostgresStore
    except ImportError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        return PostgresStore(dsn, job=args.job, brand=brand, schema=args.schema, lease=lease)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc  # never quotes the DSN


async def _open(store: PostgresStore) -> None:
    try:
        await store.open()
    except StoreError as exc:
        raise ConfigError(str(exc)) from exc


def _error(message: str) -> None:
    from ._render import error_console

    error_console().print(Text(f"omeda-async: error: {message}", style="red"), soft_wrap=True)


# ----------------------------------------------------------------------- enqueue


def enqueue(args: argparse.Namespace) -> int:
    """``enqueue FILE``: every valid line queued once; exit 0 only if every line was."""
    brand = (args.brand or os.environ.get("OMEDA_BRAND", "")).strip() or None
    store = _store(args, brand=brand)
    source = open_source(args.file)
    try:
        return run_async(lambda interrupt: _enqueue(args, store, source, interrupt))
    finally:
        source.close()


async def _enqueue(
    args: argparse.Namespace, store: PostgresStore, source: Any, interrupt: Interrupt
) -> int:
    _, err = make_consoles(quiet=args.quiet)
    lines = JsonLines(sys.stdout)
    await _open(store)
    added = present = refused = 0
    chunk: list[Line] = []

    async def flush() -> None:
        nonlocal added, present, refused
        if not chunk:
            return
        done = await store.enqueue([line.payload for line in chunk], kind=args.kind)
        added += done.added
        present += done.present
        for index, error in done.invalid:
            refused += 1
            lines.write({"line": chunk[index].number, "queued": False, "errors": reasons(error)})
        chunk.clear()

    try:
        async for line in source.lines(interrupt.requested):
            if line.problem is not None:
                refused += 1
                lines.write({"line": line.number, "queued": False, "errors": [line.problem]})
                continue
            chunk.append(line)
            if len(chunk) >= _CHUNK:
                await flush()
        await flush()
    except StoreError as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        await store.close()
    err.print(
        f"queued {added} {'record' if added == 1 else 'records'} in job {args.job!r}"
        + (f"; {present} already in the job" if present else "")
        + (f"; {refused} refused (see the results)" if refused else ""),
        soft_wrap=True,
    )
    return EXIT_FAILED if refused else EXIT_OK


# ------------------------------------------------------------------------ worker


def worker(args: argparse.Namespace) -> int:
    """``worker``: submit and track a job's records until stopped (or drained)."""
    submit = args.submit or not args.track
    track = args.track or not args.submit
    settings = settings_from(args, need_input_id=submit)
    store = _store(args, brand=settings.brand, lease=args.lease)
    return run_async(lambda interrupt: _Work(args, settings, store, submit, track).run(interrupt))


class _Work:
    """One ``worker`` run: the fleet's Worker, its JSON lines and its progress line."""

    def __init__(
        self,
        args: argparse.Namespace,
        settings: Any,
        store: PostgresStore,
        submit: bool,
        track: bool,
    ) -> None:
        self.args = args
        self.settings = settings
        self.store = store
        self.halves = (submit, track)
        self.lines = JsonLines(sys.stdout)
        self.out, self.err = make_consoles(quiet=args.quiet)

    async def run(self, interrupt: Interrupt) -> int:
        from omeda_async.postgres._worker import Worker

        from ._commands import _poll_policy

        args = self.args
        store = self.store
        await _open(store)
        interrupt.stopping = "finishing requests in flight and releasing this worker's leases"
        submit, track = self.halves
        rate = None if args.rate is None else store.rate_limit(args.rate)
        try:
            async with self.settings.client(rate_limit=rate) as client:
                work = Worker(
                    client,
                    store,
                    submit=submit,
                    track=track,
                    policy=_poll_policy(args),
                    concurrency=args.concurrency,
                    max_in_flight=args.lookups,
                    claim_interval=args.claim_interval,
                    resend_unknown=args.resend_unknown,
                    follow_merges=args.follow_merges,
                    on_outcome=self._outcome,
                    on_result=self._result,
                )
                progress = asyncio.ensure_future(self._progress(work, interrupt))
                try:
                    summary = await work.run(interrupt.requested, drain=args.drain)
                finally:
                    progress.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await progress
        except AuthenticationError as exc:
            _error(f"Omeda refused the credentials (HTTP 403: {exc}); check --app-id and --brand")
            return EXIT_USAGE
        except StoreError as exc:
            _error(str(exc))
            return EXIT_FAILED
        finally:
            await store.close()
        self._line(work, final=True)
        return EXIT_FAILED if summary.failed else EXIT_OK

    def _outcome(self, outcome: SubmissionOutcome) -> None:
        data: dict[str, Any] = {
            "key": outcome.key,
            "state": outcome.state.value,
            "service": outcome.service,
            "skipped": outcome.skipped,
            "worker": self.store.owner,
        }
        receipt = outcome.receipt
        if isinstance(receipt, SubmissionReceipt):
            data["transaction_id"] = receipt.transaction_id
        elif isinstance(receipt, OrderReceipt):
            data["order_id"] = receipt.order_id
        elif outcome.stored is not None and outcome.stored.transaction_id is not None:
            id_name = "transaction_id" if outcome.service == CUSTOMER_SERVICE else "order_id"
            data[id_name] = outcome.stored.transaction_id
        if outcome.skipped and outcome.state is RecordState.PENDING:
            data["in_flight_elsewhere"] = True
        if outcome.error is not None:
            data["errors"] = reasons(outcome.error)
            data["error_type"] = type(outcome.error).__name__
        self.lines.write(data)

    def _result(self, followed: Followed) -> None:
        data: dict[str, Any] = {
            "key": followed.key,
            "transaction_id": followed.transaction_id,
            "state": RecordState.FINISHED.value,
            "outcome": followed.outcome.value,
            "worker": self.store.owner,
        }
        if followed.status is not None:
            data["status"] = int(followed.status)
            data["status_description"] = followed.status.description
        if followed.errors:
            data["errors"] = list(followed.errors)
        self.lines.write(data)

    async def _progress(self, work: Any, interrupt: Interrupt) -> None:
        every = 1.0 if self.err.is_terminal else 10.0
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(StoreError, RuntimeError):
                counts = await self.store.counts()
                self._line(work, counts=counts)

    def _line(self, work: Any, *, final: bool = False, counts: Any = None) -> None:
        summary = work.summary
        done = summary.submitted
        mine = (
            f"this worker: sent {sum(done.values())} (accepted "
            f"{done[RecordState.ACCEPTED]}, rejected {done[RecordState.REJECTED]}, unknown "
            f"{done[RecordState.UNKNOWN]}), skipped {summary.skipped}, "
            f"lookups {work.tracker.lookups if work.tracker else 0}, finished "
            f"{sum(summary.tracked.values())}"
        )
        if summary.reaped:
            mine += f", reaped {summary.reaped}"
        if counts is not None:
            mine += (
                f" | job: queued {counts.queued + counts.claimed}, sending {counts.pending}, "
                f"followed {counts.accepted}, finished {counts.finished}, "
                f"rejected {counts.rejected}, unknown {counts.unknown}"
            )
        if final:
            succeeded = summary.tracked[Outcome.SUCCEEDED]
            mine = (
                f"stopped after {summary.elapsed:.1f}s: {mine} ({succeeded} succeeded); "
                f"{summary.statements} database statements"
            )
        self.err.print(mine, soft_wrap=True, highlight=False)
