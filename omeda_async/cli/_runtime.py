"""Running a command: its own event loop, and what Ctrl-C and SIGTERM do to it.

The first Ctrl-C (or SIGTERM) asks the command to stop cleanly: work in
flight finishes or is recorded and the summary so far is printed (exit 130).
A second one stops it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from . import EXIT_INTERRUPTED, EXIT_USAGE

__all__ = ["Interrupt", "run_async"]


class Interrupt:
    """Ctrl-C or SIGTERM while a command runs: the first asks for a clean stop, a second forces it.

    SIGTERM is what a service manager, a container runtime or ``kill`` sends: a
    job stopped that way finishes its requests in flight and journals them, as on
    Ctrl-C, instead of dying with records whose outcome is unknown.
    """

    def __init__(self, task: asyncio.Task[Any] | None = None) -> None:
        self.requested = asyncio.Event()
        self.count = 0
        self.stopping = "letting requests in flight finish"
        """What a clean stop does, said when it starts (each command sets its own)."""
        self._task = task

    def trigger(self, signal_name: str = "SIGINT") -> None:
        """Called on SIGINT and SIGTERM (and by tests)."""
        self.count += 1
        if self.count == 1:
            on, again = (
                ("", "Ctrl-C") if signal_name == "SIGINT" else (f" on {signal_name}", signal_name)
            )
            print(
                f"\nomeda-async: stopping{on}: {self.stopping} ({again} again to stop at once)",
                file=sys.stderr,
                flush=True,
            )
            self.requested.set()
        elif self._task is not None:
            self._task.cancel()

    async def wait(self) -> None:
        """Wait until a stop is requested."""
        await self.requested.wait()


def run_async(command: Callable[[Interrupt], Awaitable[int]]) -> int:
    """Run ``command`` in a fresh event loop with Ctrl-C handled; its exit status."""

    async def main() -> int:
        interrupt = Interrupt(asyncio.current_task())
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        # Unavailable off the main thread (and on Windows): Ctrl-C then raises
        # KeyboardInterrupt as usual, and SIGTERM ends the process.
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, interrupt.trigger, signum.name)
                installed.append(signum)
        try:
            code = await command(interrupt)
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
        if interrupt.count and code != EXIT_USAGE:
            return EXIT_INTERRUPTED
        return code

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_INTERRUPTED
