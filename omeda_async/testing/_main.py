"""``python -m omeda_async.testing``: run FakeOmeda in the foreground.

For programs in other languages (and ``omeda-async serve``): prints the URL and
the test credentials to use, serves until Ctrl-C (or SIGTERM), then stops
cleanly. The app id printed here is the fake's own test credential.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from omeda_async.testing._scenarios import SCENARIOS
from omeda_async.testing._server import FakeOmeda
from omeda_async.testing._timing import TimingModel, parse_timing

__all__ = ["build_parser", "main", "serve"]


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m omeda_async.testing``."""
    parser = argparse.ArgumentParser(
        prog="python -m omeda_async.testing",
        description="Run FakeOmeda, a local stand-in for Omeda's customer/order API, on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free one)")
    parser.add_argument(
        "--scenario",
        default="new_customer",
        choices=sorted(SCENARIOS),
        help="status path of every submission (default: new_customer)",
    )
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="fake seconds per real second"
    )
    parser.add_argument(
        "--timing",
        type=_timing,
        default="spread",
        metavar="MODEL",
        help="spread (each code after its own pause; default) or batch[:SECONDS] "
        "(the processor runs every SECONDS, default 900)",
    )
    parser.add_argument("--brand", default="TESTBRAND")
    parser.add_argument("--app-id", default=None, help="x-omeda-appid to accept (default: random)")
    parser.add_argument(
        "--input-id", default=None, help="x-omeda-inputid to accept (default: random)"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--expire-after", type=float, default=None, help="fake seconds until lookups answer 404"
    )
    return parser


def _timing(text: str) -> TimingModel:
    try:
        return parse_timing(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        fake = FakeOmeda(
            brand=args.brand,
            app_id=args.app_id,
            input_id=args.input_id,
            port=args.port,
            time_scale=args.time_scale,
            scenario=args.scenario,
            timing=args.timing,
            seed=args.seed,
            expire_after=args.expire_after,
        )
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
