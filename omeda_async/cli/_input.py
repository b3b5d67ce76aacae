"""Reading ``submit``'s input: one JSON payload per line, lazily, from a file or stdin.

A file (or stdin redirected from one) is read in 64 KiB batches; a pipe or a
terminal on stdin through an asyncio stream, so waiting for input never
blocks the event loop (progress, requests in flight and Ctrl-C go on).
A line that is not JSON, or not a JSON object, is reported with its number,
never fatal; blank lines are skipped but keep the numbering.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import stat
import sys
from collections.abc import AsyncIterator
from typing import IO, Any, Final

import attrs

from ._config import ConfigError

__all__ = ["Line", "PayloadSource", "add_payload_arguments", "open_source"]


def add_payload_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE and ``--kind``: what ``submit`` and ``enqueue`` read, and which service it is for."""
    parser.add_argument("file", metavar="FILE", help="JSON-lines file of payloads, '-' for stdin")
    parser.add_argument(
        "--kind",
        choices=("customer", "order"),
        default="customer",
        help="customer: storecustomerandorder (default); order: orderqueue (Add Order)",
    )


_BATCH: Final = 1 << 16
_MAX_LINE: Final = 1 << 24
"""The longest line a pipe may send (16 MiB): far beyond any Omeda payload."""


@attrs.frozen
class Line:
    """One non-blank input line: its ``payload``, or why it is not one (``problem``)."""

    number: int
    payload: Any = None
    problem: str | None = None


def parse_line(number: int, raw: bytes) -> Line | None:
    """``raw`` as a :class:`Line` (None for a blank line)."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(number, problem=f"line {number} is not UTF-8 (byte {exc.start + 1})")
    try:
        # Stripped, so an error's column counts within the line, not after its newline.
        payload = json.loads(text.strip())
    except json.JSONDecodeError as exc:
        return Line(
            number, problem=f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
        )
    except RecursionError:
        return Line(number, problem=f"line {number} is nested too deeply")
    if not isinstance(payload, dict):
        kind = "a list" if isinstance(payload, list) else type(payload).__name__
        return Line(number, problem=f"line {number} is {kind}, not a JSON object (one payload)")
    return Line(number, payload=payload)


class PayloadSource:
    """The lines of ``submit``'s input; iterate :meth:`lines`, then :meth:`close`."""

    def __init__(self, name: str, stream: IO[bytes], *, owned: bool) -> None:
        self.name = name
        self._stream = stream
        self._owned = owned
        self._transport: asyncio.BaseTransport | None = None

    def __repr__(self) -> str:
        return f"PayloadSource({self.name!r})"

    def _is_regular(self) -> bool:
        try:
            return stat.S_ISREG(os.fstat(self._stream.fileno()).st_mode)
        except (OSError, ValueError):
            return True  # not a real descriptor (an in-memory stream): read it directly

    async def lines(self, stop: asyncio.Event) -> AsyncIterator[Line]:
        """Each non-blank line in order, until the input ends or ``stop`` is set."""
        number = 0
        if self._is_regular():
            while not stop.is_set():
                # A local file answers at once: a 64 KiB read does not hold up the loop.
                batch = self._stream.readlines(_BATCH)
                if not batch:
                    return
                for raw in batch:
                    number += 1
                    line = parse_line(number, raw)
                    if line is not None:
                        yield line
                    if stop.is_set():
                        return
            return
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_MAX_LINE)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self._stream
        )
        self._transport = transport
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                reading = asyncio.ensure_future(reader.readline())
                await asyncio.wait([reading, stopped], return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    await asyncio.wait([reading])
                    return
                try:
                    raw = reading.result()
                except ValueError:
                    # Longer than _MAX_LINE: that line is lost, the ones after it are not.
                    number += 1
                    yield Line(number, problem=f"line {number} is longer than {_MAX_LINE} bytes")
                    continue
                if not raw:
                    return
                number += 1
                line = parse_line(number, raw)
                if line is not None:
                    yield line
        finally:
            stopped.cancel()
            await asyncio.wait([stopped])

    def close(self) -> None:
        """Close what this source opened."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._owned:
            self._stream.close()


def open_source(path: str) -> PayloadSource:
    """``path`` (or ``-`` for stdin) opened for reading; ConfigError if it cannot be."""
    if path == "-":
        return PayloadSource("<stdin>", sys.stdin.buffer, owned=False)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by PayloadSource.close
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return PayloadSource(path, stream, owned=True)
