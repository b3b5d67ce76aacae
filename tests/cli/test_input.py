"""Reading submit's input: one payload per line, problems reported with their line number."""

from __future__ import annotations

import asyncio
import io

from omeda_async.cli._input import PayloadSource, parse_line


def test_parse_line_accepts_one_object_and_explains_the_rest() -> None:
    """An object is a payload; blank is skipped; broken JSON, non-objects and bad UTF-8 are
    problems naming the line."""
    line = parse_line(3, b'{"FirstName": "Jane"}\n')
    assert line is not None
    assert line.payload == {"FirstName": "Jane"}
    assert parse_line(4, b"   \n") is None
    broken = parse_line(5, b'{"FirstName": }\n')
    assert broken is not None
    assert broken.problem is not None
    assert broken.problem.startswith("line 5 is not valid JSON")
    listed = parse_line(6, b"[1]\n")
    assert listed is not None
    assert listed.problem == "line 6 is a list, not a JSON object (one payload)"
    latin = parse_line(7, b'{"FirstName": "J\xe9r\xf4me"}\n')
    assert latin is not None
    assert latin.problem is not None
    assert "line 7 is not UTF-8" in latin.problem


async def test_source_keeps_line_numbers_and_stops_when_asked() -> None:
    """Numbers count every line (blank ones too); setting ``stop`` ends the reading."""
    stream = io.BytesIO(b'{"A": 1}\n\n{"B": 2}\n{"C": 3}\n')
    source = PayloadSource("test", stream, owned=False)
    stop = asyncio.Event()
    seen = []
    async for line in source.lines(stop):
        seen.append((line.number, line.payload))
        if line.number == 3:
            stop.set()
    assert seen == [(1, {"A": 1}), (3, {"B": 2})]
