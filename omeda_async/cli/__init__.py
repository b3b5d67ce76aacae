"""The ``omeda-async`` command: demo, submit, status, track, history, serve.

Results go to stdout as JSON lines (or tables with ``--format table``); human
progress goes to stderr. Exit codes: 0 everything succeeded, 1 some records
failed or are unknown, 2 a usage or configuration error, 130 interrupted.

The terminal side needs rich, an optional extra (``pip install
'omeda-async[cli]'``): the library itself never imports it, and nothing in
``omeda_async/__init__.py`` imports this package.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
"""Every record succeeded (or every lookup answered)."""
EXIT_FAILED = 1
"""Some records failed, were rejected, or their outcome is unknown."""
EXIT_USAGE = 2
"""A usage or configuration error: nothing was sent."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C): the work done so far is recorded and summarized."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``omeda-async`` with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    if importlib.util.find_spec("rich") is None:
        print(
            "omeda-async: the command line needs the 'cli' extra: pip install 'omeda-async[cli]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from ._app import run

    return run(sys.argv[1:] if argv is None else list(argv))
