"""``omeda-async serve``: FakeOmeda in the foreground for other programs, until Ctrl-C.

Its options are the testing kit's own (:func:`omeda_async.testing._main.add_serve_options`),
shared with ``python -m omeda_async.testing``; this module only adds the
command's exit codes (the global options it has no use for are refused
before it runs, with the other commands').
"""

from __future__ import annotations

import argparse
import asyncio

from . import EXIT_OK
from ._config import ConfigError

__all__ = ["command"]


def command(args: argparse.Namespace) -> int:
    """``serve``: run FakeOmeda until Ctrl-C (exit 0); bad options exit 2."""
    from omeda_async.testing._main import fake_from_args, serve

    try:
        fake = fake_from_args(args)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        asyncio.run(serve(fake))
    except OSError as exc:
        raise ConfigError(f"cannot listen on port {args.port}: {exc.strerror}") from exc
    except KeyboardInterrupt:
        pass
    return EXIT_OK
