"""Serving FakeOmeda to other programs: ``omeda-async serve`` and ``python -m omeda_async.testing``.

Both commands are built from one option list (:func:`add_serve_options`) and
one constructor (:func:`fake_from_args`), so they stage the same things: what
the pages describe (merged and pending-deactivation customers, expiring
transaction data, a queue that shows new records late, Omatch inputs), fixed
credentials that survive a restart, faults and status-path mixes, and the
timing model. :func:`serve` prints the URL and the test credentials to use,
serves until Ctrl-C (or SIGTERM), then stops cleanly. The app id printed is
the fake's own test credential.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Final, TextIO

from omeda_async.testing._faults import FaultKind, Faults
from omeda_async.testing._scenarios import SCENARIOS, Mix, ScenarioLike, to_source
from omeda_async.testing._server import FakeOmeda
from omeda_async.testing._timing import Batch, TimingModel, parse_timing

__all__ = [
    "DESCRIPTION",
    "add_serve_options",
    "build_parser",
    "epilog",
    "fake_from_args",
    "main",
    "serve",
]

DESCRIPTION: Final = """\
Run FakeOmeda, a local stand-in for Omeda's customer/order API, on 127.0.0.1
until Ctrl-C. It prints its URL and the test credentials to use. Paths are
Omeda's own, ending with /* (/webservices/rest/brand/{brand}/transaction/{id}/*);
a path without the trailing /* is a 404, as on Omeda."""

_EPILOG: Final = """\
examples:
  {prog} --port 8080 --app-id test-app --input-id test-input
  {prog} --time-scale 600 \\
      --scenario new_customer=0.85,failed_validation=0.1,held_oec=0.05
  {prog} --timing batch:900 --time-scale 60    # runs every 15 min
  {prog} --faults rate_limit=0.05,unavailable=0.02 --retry-after 2
  {prog} --merged 22=99999 --merged-status 404 --pending-deactivation 33
  {prog} --expire-after 86400 --visibility-delay 30

{names}"""


def _scenario(text: str) -> ScenarioLike:
    """A scenario name, or ``name=weight,...`` for a mix."""
    scenario: ScenarioLike = text.strip()
    if "=" in text:
        scenario = _weights(text)
    try:
        to_source(scenario)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return scenario


def _weights(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected name=number,..., not {text!r}")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    return weights


def _faults(text: str) -> dict[str, float]:
    rates = _weights(text)
    try:
        Faults(rates=rates)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return rates


def _timing(text: str) -> TimingModel:
    try:
        return parse_timing(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(text: str, *, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 if positive else value >= 0) or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a {'positive' if positive else 'non-negative'} number, not {text!r}"
        )
    return value


def _positive(text: str) -> float:
    return _number(text, positive=True)


def _non_negative(text: str) -> float:
    return _number(text, positive=False)


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected customer ids, e.g. 33,34, not {text!r}"
        ) from None


def _merges(text: str) -> dict[int, int]:
    merges: dict[int, int] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        merged, sep, into = part.partition("=")
        try:
            merges[int(merged)] = int(into)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected ID=MERGED_INTO_ID,..., e.g. 22=99999, not {text!r}"
            ) from None
        if not sep:
            raise argparse.ArgumentTypeError(f"expected ID=MERGED_INTO_ID, not {part!r}")
    return merges


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """Every option of the serve commands, in groups (one list for both commands).

    ``--brand``, ``--app-id`` and ``--input-id`` default to "not given"
    (``argparse.SUPPRESS``), so the same flags given before ``omeda-async``'s
    command name are not reset; :func:`fake_from_args` fills them in.
    """
    where = parser.add_argument_group("where and who")
    where.add_argument(
        "--port", type=int, default=8080, metavar="N", help="port (default 8080; 0: any free one)"
    )
    where.add_argument(
        "--brand",
        metavar="ABBR",
        default=argparse.SUPPRESS,
        help="brand abbreviation in every path (default: $OMEDA_BRAND, else TESTBRAND)",
    )
    where.add_argument(
        "--app-id",
        metavar="ID",
        default=argparse.SUPPRESS,
        help="the x-omeda-appid to accept: fixed, so a restart keeps working with it "
        "(default: a fresh random test id each start)",
    )
    where.add_argument(
        "--input-id",
        metavar="ID",
        default=argparse.SUPPRESS,
        help="the x-omeda-inputid to accept (default: a fresh random test id each start)",
    )

    queue = parser.add_argument_group("the queue")
    queue.add_argument(
        "--scenario",
        type=_scenario,
        default="new_customer",
        metavar="NAME|NAME=W,...",
        help="status path of every submission, or a weighted mix (default new_customer)",
    )
    queue.add_argument(
        "--timing",
        type=_timing,
        default="spread",
        metavar="MODEL",
        help="spread: each code after its own pause (default); batch[:SECONDS]: Omeda's "
        "processor runs every SECONDS of fake time (default 900), records wait at 0 until "
        "a run, then pass through their codes within a minute",
    )
    queue.add_argument(
        "--time-scale",
        type=_positive,
        default=1.0,
        metavar="X",
        help="fake seconds per real second (default 1: Omeda's own pace)",
    )
    queue.add_argument(
        "--seed", type=int, default=None, metavar="S", help="random seed: same seed, same paths"
    )
    queue.add_argument(
        "--expire-after",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="fake seconds after which a transaction's lookup answers 404 (default: never)",
    )
    queue.add_argument(
        "--visibility-delay",
        type=_non_negative,
        default=0.0,
        metavar="SECONDS",
        help="fake seconds a new transaction answers 404 before it shows (default 0)",
    )

    customers = parser.add_argument_group("customers and inputs")
    customers.add_argument(
        "--merged",
        type=_merges,
        action="append",
        default=[],
        metavar="ID=INTO,...",
        help="customers merged into others: posting for ID answers MergedIntoCustomerId INTO",
    )
    customers.add_argument(
        "--merged-status",
        type=int,
        choices=(400, 404),
        default=400,
        help="HTTP status of the merged-customer answer (default 400; Omeda's production "
        "clients meet 404)",
    )
    customers.add_argument(
        "--pending-deactivation",
        type=_ids,
        action="append",
        default=[],
        metavar="ID,...",
        help='customer ids whose posts answer "pending deactivation"',
    )
    customers.add_argument(
        "--omatch-input",
        action="append",
        default=[],
        metavar="ID",
        help="another valid input id, whose flow includes Omatch (Run Processor refuses it)",
    )

    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--faults",
        type=_faults,
        default=None,
        metavar="KIND=RATE,...",
        help="faults to inject at these rates, e.g. rate_limit=0.05,server_error=0.01",
    )
    faults.add_argument(
        "--retry-after",
        type=_non_negative,
        default=1.0,
        metavar="SECONDS",
        help="Retry-After of injected 429 and 503 answers (default 1)",
    )


def fake_from_args(
    args: argparse.Namespace, *, environ: Mapping[str, str] | None = None
) -> FakeOmeda:
    """The FakeOmeda the parsed options describe (``ValueError`` for settings it refuses)."""
    environ = os.environ if environ is None else environ
    brand = getattr(args, "brand", None) or environ.get("OMEDA_BRAND", "").strip() or "TESTBRAND"
    merged: dict[int, int] = {}
    for group in args.merged:
        merged.update(group)
    faults = Faults(
        rates=args.faults or {},
        retry_after=args.retry_after,
        seed=None if args.seed is None else args.seed + 2,
    )
    return FakeOmeda(
        brand=brand,
        app_id=getattr(args, "app_id", None),
        input_id=getattr(args, "input_id", None),
        port=args.port,
        time_scale=args.time_scale,
        scenario=args.scenario,
        timing=args.timing,
        seed=args.seed,
        expire_after=args.expire_after,
        visibility_delay=args.visibility_delay,
        merged_customers=merged,
        merged_status=args.merged_status,
        pending_deactivation={i for group in args.pending_deactivation for i in group},
        omatch_inputs=args.omatch_input,
        faults=faults,
        # Nobody reads them here, and a long-running server would only grow.
        record_bodies=False,
    )


def epilog(prog: str) -> str:
    """The examples and the names both serve commands list, for ``prog``."""
    names = "\n".join(
        textwrap.fill(f"{what}: {', '.join(items)}", width=79, subsequent_indent="  ")
        for what, items in (
            ("scenarios", list(SCENARIOS)),
            ("fault kinds", [kind.value for kind in FaultKind]),
        )
    )
    return _EPILOG.format(prog=prog, names=names)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m omeda_async.testing``."""
    prog = "python -m omeda_async.testing"
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=epilog(prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_options(parser)
    return parser


def _staged(fake: FakeOmeda) -> list[tuple[str, str]]:
    """What the banner says is staged, beyond the credentials."""
    source = fake.scenario
    scenario = source.name if not isinstance(source, Mix) else ""
    if isinstance(source, Mix):
        low, high = source.spread
        weights = ",".join(f"{path.name}={weight:g}" for path, weight in source.weights)
        scenario = f"{weights} (each record {low:g}-{high:g} s)"
    timing = fake.timing
    lines = [
        ("scenario", scenario),
        (
            "timing",
            f"batch: a run every {timing.every:g} s (phase {timing.phase:g})"
            if isinstance(timing, Batch)
            else "spread: each code after its own pause",
        ),
        ("time scale", f"{getattr(fake.clock, 'scale', 1.0):g}x"),
    ]
    if fake.merged_customers:
        merged = ", ".join(f"{a} -> {b}" for a, b in sorted(fake.merged_customers.items()))
        lines.append(("merged", f"{merged} (answered {fake.merged_status})"))
    if fake.pending_deactivation:
        lines.append(("pending deact.", ", ".join(map(str, sorted(fake.pending_deactivation)))))
    if fake.omatch_inputs:
        lines.append(("omatch inputs", ", ".join(sorted(fake.omatch_inputs))))
    if fake.expire_after is not None:
        lines.append(("expire after", f"{fake.expire_after:g} s"))
    if fake.visibility_delay:
        lines.append(("visible after", f"{fake.visibility_delay:g} s"))
    if fake.faults.rates:
        rates = ", ".join(f"{kind}={rate:g}" for kind, rate in fake.faults.rates.items())
        lines.append(("faults", f"{rates} (Retry-After {fake.faults.retry_after:g} s)"))
    return lines


async def serve(
    fake: FakeOmeda, *, stop: asyncio.Event | None = None, out: TextIO | None = None
) -> None:
    """Start ``fake``, print where and how to reach it, and serve until ``stop`` is set.

    Without ``stop``, serves until SIGINT/SIGTERM (or cancellation).
    """
    out = out if out is not None else sys.stdout
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # add_signal_handler is unavailable on Windows and off the main thread.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        async with fake:
            lookup = f"/webservices/rest/brand/{fake.brand}/transaction/{{id}}/*"
            print(f"FakeOmeda listening on {fake.url}", file=out)
            print(f"  base URL:        {fake.url}", file=out)
            print(f"  brand:           {fake.brand}", file=out)
            print(f"  x-omeda-appid:   {fake.app_id}", file=out)
            print(f"  x-omeda-inputid: {fake.input_id}", file=out)
            print(f"  lookup path:     {lookup}", file=out)
            for name, value in _staged(fake):
                print(f"  {name + ':':<17}{value}", file=out)
            print("Press Ctrl-C to stop.", file=out, flush=True)
            await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    print("FakeOmeda stopped.", file=out, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the fake until Ctrl-C; the exit status."""
    args = build_parser().parse_args(argv)
    try:
        fake = fake_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(fake))
    except OSError as exc:
        print(f"error: cannot listen on port {args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
