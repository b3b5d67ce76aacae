"""The argument parser, the dispatch to each command and exit codes.

Global options (``--brand``, ``--app-id``, ... ``-v``) are accepted before or
after the command name. Every command runs in one ``asyncio.run``, with Ctrl-C
handled as ``_runtime`` says.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from omeda_async import PollPolicy, __version__

from . import EXIT_INTERRUPTED, EXIT_USAGE
from ._config import ConfigError
from ._input import add_payload_arguments

__all__ = ["build_parser", "run"]

_PROG: Final = "omeda-async"

_DESCRIPTION: Final = """\
Submit customers and orders to Omeda's data queue and follow every
TransactionId to its end, from the command line.

Results are JSON lines on stdout (or tables with --format table); progress
goes to stderr. Configuration comes from flags, then the environment
(OMEDA_BRAND, OMEDA_APP_ID, OMEDA_INPUT_ID, OMEDA_ENVIRONMENT, OMEDA_BASE_URL;
blank counts as unset), by the same rule as OmedaClient.from_env(): a flag
wins, and --environment or --base-url ignores both OMEDA_ENVIRONMENT and
OMEDA_BASE_URL.

exit status: 0 all succeeded, 1 some records failed or are unknown,
2 usage or configuration error, 130 interrupted (Ctrl-C)."""

_EPILOG: Final = """\
examples:
  omeda-async demo                          # the whole flow on a local fake Omeda
  export OMEDA_BRAND=ABC OMEDA_APP_ID=... OMEDA_INPUT_ID=...
  omeda-async submit customers.jsonl --track --journal job.db > results.jsonl
  omeda-async status 8907512 8907513 --format table
  omeda-async track --resume job.db
  omeda-async history 12345 --product 6
  omeda-async serve --port 8080

'omeda-async COMMAND --help' shows each command's options and examples."""


# ----------------------------------------------------------------------- parsing


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def _add_configuration(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options; on a subcommand they must not reset what came before it."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("configuration (flags win over the environment)")
    group.add_argument(
        "--brand", metavar="ABBR", default=default, help="Omeda brand abbreviation [OMEDA_BRAND]"
    )
    group.add_argument(
        "--app-id",
        metavar="ID",
        default=default,
        help="x-omeda-appid, never printed [OMEDA_APP_ID]",
    )
    group.add_argument(
        "--input-id",
        metavar="ID",
        default=default,
        help="x-omeda-inputid, needed to submit customers, never printed [OMEDA_INPUT_ID]",
    )
    group.add_argument(
        "--environment",
        choices=("staging", "production"),
        default=default,
        help="which Omeda to use (default staging) [OMEDA_ENVIRONMENT]",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="another base URL: a proxy, or a FakeOmeda from 'serve' [OMEDA_BASE_URL]",
    )
    group.add_argument(
        "--allow-insecure",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help=(
            "allow a plain-http --base-url to another host (the app id then "
            "travels unencrypted); loopback needs no flag"
        ),
    )
    _add_output_level(parser, suppress=suppress)


def _add_output_level(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """-v and -q: accepted before or after the command name, by every command."""
    group = parser.add_argument_group("output")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log what the library does to stderr (-vv: debug)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="no progress and no summary on stderr: only results and errors",
    )


def _add_format(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    parser.add_argument(
        "--format",
        choices=("json", "table"),
        default=argparse.SUPPRESS if suppress else None,
        help="json lines (default) or a table",
    )


def _add_poll_options(parser: argparse.ArgumentParser, *, bulk: bool) -> None:
    # A bulk job polls by PollPolicy.bulk() (fewer lookups per record), a few
    # transactions by PollPolicy() (quick reports): what each is for.
    base = PollPolicy.bulk() if bulk else PollPolicy()
    preset = "PollPolicy.bulk()" if bulk else "PollPolicy()"
    group = parser.add_argument_group("tracking")
    group.add_argument(
        "--deadline",
        type=_positive_float,
        default=7200.0,
        metavar="SECONDS",
        help="give up on one transaction after this long, as timed_out (default 7200: 2 hours)",
    )
    group.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=base.initial_delay,
        metavar="SECONDS",
        help=(
            "first lookup delay, and again after each status change "
            f"(default {base.initial_delay:g}, as {preset})"
        ),
    )
    hold = group.add_mutually_exclusive_group()
    hold.add_argument(
        "--stop-on-hold",
        dest="wait_on_hold",
        action="store_false",
        default=False,
        help=(
            "the default: a record that waits for a person at Omeda (codes 1, 3, 20, "
            "35-37) ends as 'held' at once, and stays unfinished in a journal for "
            "'track --resume' later"
        ),
    )
    hold.add_argument(
        "--wait-on-hold",
        dest="wait_on_hold",
        action="store_true",
        default=False,
        help="keep polling held records (slowly) until they move on or --deadline passes",
    )


def _subparser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    summary: str,
    description: str,
    examples: str,
    configuration: bool = True,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if configuration:
        _add_configuration(parser, suppress=True)
    else:
        _add_output_level(parser, suppress=True)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``omeda-async`` argument parser, every command with its options and examples."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_configuration(parser, suppress=False)
    _add_format(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = _subparser(
        commands,
        "demo",
        summary="the whole flow against a local fake Omeda (no credentials needed)",
        description=(
            "Start FakeOmeda in this process (Omeda's 15-30 minutes of processing run in\n"
            "seconds), generate realistic customer-and-order payloads (a few invalid\n"
            "rows and merged customers on purpose), submit them concurrently, follow\n"
            "every TransactionId to its end, and summarize what happened. It needs no\n"
            "brand or credentials (the fake's own are used) and prints its summary\n"
            "tables to stdout."
        ),
        examples=(
            "  omeda-async demo\n"
            "  omeda-async demo --count 1000 --seed 42\n"
            "  omeda-async demo --count 10000 --concurrency 64"
        ),
        configuration=False,
    )
    demo.add_argument(
        "--count", type=_positive_int, default=200, metavar="N", help="records (default 200)"
    )
    demo.add_argument(
        "--seed", type=int, default=7, metavar="S", help="random seed: same seed, same run"
    )
    demo.add_argument(
        "--concurrency",
        type=_positive_int,
        default=32,
        metavar="N",
        help="submissions in flight at once (default 32)",
    )
    demo.add_argument(
        "--time-scale",
        type=_positive_float,
        default=240.0,
        metavar="X",
        help="how much faster than real time the fake runs (default 240: 30 min = 7.5 s)",
    )

    submit = _subparser(
        commands,
        "submit",
        summary="submit payloads from a JSON-lines file",
        description=(
            "Submit one payload per line of FILE ('-' for stdin), in Omeda's own JSON\n"
            "(PascalCase keys, as on the Save Customer and Order / Add Order pages).\n"
            "One result object per line goes to stdout (or --out; --format table: one\n"
            "table at the end); a line that is not JSON is a rejected row with its\n"
            "line number. With --journal, every accepted TransactionId is written to a\n"
            "SQLite file before it is reported: re-running the same command continues\n"
            "where it stopped, sending nothing twice. Ctrl-C stops cleanly: requests\n"
            "in flight finish and are recorded.\n"
            "\n"
            "With --track, a record held for a person at Omeda (codes 1, 3, 20, 35-37)\n"
            "ends as 'held' by default instead of being polled for hours; the journal\n"
            "keeps it for 'track --resume' later (--wait-on-hold polls on instead)."
        ),
        examples=(
            "  omeda-async submit customers.jsonl > results.jsonl\n"
            "  omeda-async submit customers.jsonl --track --journal job.db --out results.jsonl\n"
            "  omeda-async submit orders.jsonl --kind order --concurrency 8 --rate 20\n"
            "  omeda-async submit customers.jsonl --track --format table\n"
            "  cat customers.jsonl | omeda-async submit - --follow-merges"
        ),
    )
    add_payload_arguments(submit)
    submit.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        metavar="N",
        help="submissions in flight at once (default 16)",
    )
    submit.add_argument(
        "--rate",
        type=_positive_float,
        default=None,
        metavar="R",
        help="at most R requests per second, lookups included",
    )
    submit.add_argument(
        "--track",
        action="store_true",
        help="follow each TransactionId until it ends (or is held for a person)",
    )
    submit.add_argument(
        "--journal",
        metavar="PATH",
        default=None,
        help="SQLite journal: makes the job resumable and duplicate-free",
    )
    submit.add_argument(
        "--resend-unknown",
        action="store_true",
        help="resend records whose earlier POST may or may not have been queued",
    )
    submit.add_argument(
        "--follow-merges",
        action="store_true",
        help="resend once to the customer a merged customer id points to",
    )
    submit.add_argument(
        "--out", metavar="FILE", default=None, help="write the JSON lines here, not stdout"
    )
    _add_poll_options(submit, bulk=True)
    _add_format(submit, suppress=True)

    status = _subparser(
        commands,
        "status",
        summary="look up transactions once (Transaction Lookup)",
        description="Look up each TransactionId once and print its status code and outcome.",
        examples=(
            "  omeda-async status 8907512\n  omeda-async status 8907512 8907513 --format table"
        ),
    )
    status.add_argument(
        "transaction_ids", type=_positive_int, nargs="+", metavar="TXID", help="TransactionIds"
    )
    _add_format(status, suppress=True)

    track = _subparser(
        commands,
        "track",
        summary="follow transactions until each one ends",
        description=(
            "Poll each TransactionId until Omeda has processed it (or --deadline\n"
            "passes), printing each result as it ends. --resume PATH picks up every\n"
            "unfinished transaction of a journal written by 'submit --journal'.\n"
            "\n"
            "A record held for a person at Omeda (codes 1, 3, 20, 35-37) can wait for\n"
            "hours or days, so by default its tracking ends there, as 'held'; a\n"
            "journal keeps it unfinished for a later --resume. --wait-on-hold polls\n"
            "held records until --deadline instead."
        ),
        examples=(
            "  omeda-async track 8907512 8907513\n"
            "  omeda-async track --resume job.db --format table\n"
            "  omeda-async track 8907512 --deadline 3600 --wait-on-hold"
        ),
    )
    track.add_argument(
        "transaction_ids", type=_positive_int, nargs="*", metavar="TXID", help="TransactionIds"
    )
    track.add_argument(
        "--resume", metavar="PATH", default=None, help="the journal whose unfinished ids to track"
    )
    _add_poll_options(track, bulk=False)
    _add_format(track, suppress=True)

    history = _subparser(
        commands,
        "history",
        summary="a customer's orders and issues (Order Issue History)",
        description=(
            "Order Issue History Lookup by customer id (Omeda's id, or an encrypted\n"
            "customer id), optionally for one product. No purchases is an empty history."
        ),
        examples=(
            "  omeda-async history 12345\n  omeda-async history 12345 --product 6 --format table"
        ),
    )
    history.add_argument("customer_id", metavar="CUSTOMER_ID", help="Omeda customer id")
    history.add_argument(
        "--product", type=_positive_int, default=None, metavar="ID", help="only this product"
    )
    _add_format(history, suppress=True)

    from . import _fleet

    _fleet.add_commands(commands, _subparser, _add_poll_options, _positive_int, _positive_float)

    from omeda_async.testing._main import DESCRIPTION, add_serve_options, epilog

    serve = commands.add_parser(
        "serve",
        help="run FakeOmeda for other programs (no credentials needed)",
        description=DESCRIPTION,
        epilog=epilog(f"{_PROG} serve"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Its own --brand/--app-id/--input-id (the credentials it accepts), and
    # none of the global options it would ignore.
    add_serve_options(serve)
    return parser


# ------------------------------------------------------------------------ running


@contextlib.contextmanager
def _logging(verbosity: int) -> Iterator[None]:
    """``-v``: the library's log on stderr for the command's duration."""
    if verbosity <= 0:
        yield
        return
    logger = logging.getLogger("omeda_async")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = logging.DEBUG if verbosity > 1 else logging.INFO
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _fail(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


_FORMATTED: Final = ("submit", "status", "track", "history")
"""The commands whose results --format shapes."""
_CONFIGURATION: Final = ("brand", "app_id", "input_id", "environment", "base_url", "allow_insecure")
_SERVE_IGNORES: Final = ("environment", "base_url", "allow_insecure")


def _ignored_option(args: argparse.Namespace) -> str | None:
    """Why an option given before the command name means nothing to it (None: all fine).

    Options placed after the name are checked by the command's own parser;
    before it, the top-level parser accepts every global option, so a
    command that would ignore one says so instead.
    """
    if getattr(args, "format", None) is not None and args.command not in _FORMATTED:
        return f"--format applies to {', '.join(_FORMATTED)}, not {args.command}" + (
            " (demo prints its summary tables to stdout)" if args.command == "demo" else ""
        )
    if args.command == "demo":
        given = [name for name in _CONFIGURATION if getattr(args, name, None)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            return f"demo runs on its own in-process FakeOmeda and uses no {flags}"
    if args.command == "serve":
        # Its own --brand/--app-id/--input-id are what it accepts; these mean nothing to it.
        given = [name for name in _SERVE_IGNORES if getattr(args, name, None)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            return f"serve runs its own Omeda on 127.0.0.1 and does not use {flags}"
    return None


def run(argv: Sequence[str]) -> int:
    """Parse ``argv`` and run the command; the exit status (never raises SystemExit)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # --help exits 0, a usage error 2; main() returns either instead of exiting.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    refused = _ignored_option(args)
    if refused is not None:
        return _fail(refused)
    from . import _commands, _demo, _fleet, _serve

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "demo": _demo.command,
        "submit": _commands.submit,
        "status": _commands.status,
        "track": _commands.track,
        "history": _commands.history,
        "serve": _serve.command,
        "enqueue": _fleet.enqueue,
        "worker": _fleet.worker,
    }
    try:
        with _logging(args.verbose):
            return handlers[args.command](args)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
