"""FakeOmeda in a separate process, so its CPU does not steal from the client under test.

On two cores an in-process server would take half of the client's event loop:
every contender would then measure the server as much as itself. The child
process runs ``FakeOmeda(record_bodies=False)`` on port 0 and tells the parent
where it listens; the parent sends anything down the pipe to stop it.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import multiprocessing.connection
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from omeda_async.testing import FakeOmeda

__all__ = ["Remote", "remote_fake"]


@attrs.frozen
class Remote:
    """Where the fake in the other process listens, its credentials and its clock's scale."""

    url: str
    brand: str
    app_id: str
    input_id: str
    time_scale: float = 1.0


# Young collections still run; only the automatic full ones are put off.
_NO_FULL_COLLECTIONS = 1_000_000_000


async def _serve(conn: multiprocessing.connection.Connection) -> None:
    # The fake keeps a few objects per queued record: hundreds of thousands in a
    # benchmark run. CPython's full collections over that store paused the
    # server for up to 0.5 s at a time (2.3 s in a 35 s run, growing with the
    # store), noise that fell on whichever client happened to be running. The
    # server is the measuring instrument, not the subject: it does without them.
    first, second, _ = gc.get_threshold()
    gc.set_threshold(first, second, _NO_FULL_COLLECTIONS)
    # A year of fake time per real second is irrelevant here: throughput only
    # needs each POST queued and answered, never a status moving on.
    async with FakeOmeda(record_bodies=False, seed=1) as fake:
        conn.send(Remote(fake.url, fake.brand, fake.app_id, fake.input_id))
        await asyncio.to_thread(conn.recv)
        conn.send(len(fake.transactions))


def _main(conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(conn))


@contextmanager
def remote_fake() -> Iterator[Remote]:
    """Run FakeOmeda in a child process for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_main, args=(child,), daemon=True)
    process.start()
    child.close()  # so that recv() ends with EOFError if the child dies early
    try:
        remote = parent.recv()
        if not isinstance(remote, Remote):
            raise RuntimeError(f"the FakeOmeda process answered {remote!r}")
        yield remote
    finally:
        if process.is_alive():
            parent.send("stop")
            if parent.poll(30):
                parent.recv()
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join()
