"""``omeda-async serve``: FakeOmeda in the foreground for other programs, until Ctrl-C.

Its options are the testing kit's own (:func:`omeda_async.testing._main.add_serve_options`),
shared with ``python -m omeda_async.testing``; this module only adds the
command's exit codes and refuses the global options it has no use for.
"""

from __future__ import annotations

import argparse
import asyncio

from . import EXIT_OK
from ._config import ConfigError

__all__ = ["command"]

# Global options that mean nothing to a local fake: given, they are refused
# rather than silently ignored.
_UNUSED = (("--environment", "environment"), ("--base-url", "base_url"), ("--format", "format"))


def command(args: argparse.Namespace) -> int:
    """``serve``: run FakeOmeda until Ctrl-C (exit 0); bad options exit 2."""
    from omeda_async.testing._main import fake_from_args, serve

    unused = [flag for flag, dest in _UNUSED if getattr(args, dest, None) is not None]
    if unused:
        raise ConfigError(
            f"serve runs its own Omeda on 127.0.0.1 and does not use {', '.join(unused)}"
        )
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
