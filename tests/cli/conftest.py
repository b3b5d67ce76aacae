"""Helpers for running ``omeda-async`` as a user would, against a FakeOmeda in the test.

``Cli.run`` calls the entry point ``main([...])`` in a worker thread (the
command runs its own event loop there while the test's loop serves the
fake) with its output captured; ``Cli.spawn`` starts ``python -m
omeda_async.cli`` as a subprocess. Both get the fake's brand and credentials
through the environment, as an operator would set them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_asyncio

from omeda_async.cli import main
from omeda_async.cli._sample import sample_records
from omeda_async.testing import FakeOmeda

ENV_NAMES = ("OMEDA_BRAND", "OMEDA_APP_ID", "OMEDA_INPUT_ID", "OMEDA_ENVIRONMENT", "OMEDA_BASE_URL")


@attrs.frozen
class Result:
    """What one run of the command printed, and its exit status."""

    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, Any]]:
        """stdout as JSON lines."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


class Cli:
    """Runs ``omeda-async`` against ``fake`` with credentials from the environment."""

    def __init__(self, fake: FakeOmeda, capsys: pytest.CaptureFixture[str]) -> None:
        self.fake = fake
        self.capsys = capsys

    def env(self) -> dict[str, str]:
        return {
            "OMEDA_BRAND": self.fake.brand,
            "OMEDA_APP_ID": self.fake.app_id,
            "OMEDA_INPUT_ID": self.fake.input_id,
            "OMEDA_BASE_URL": self.fake.url,
        }

    async def run(self, *argv: str) -> Result:
        """``main(argv)`` in a worker thread; stdout and stderr captured."""
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    async def spawn(
        self, *argv: str, env: Mapping[str, str] | None = None, stdin: int | None = None
    ) -> asyncio.subprocess.Process:
        """``python -m omeda_async.cli argv`` with the fake's settings in its environment."""
        environment = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
        environment.update(self.env() if env is None else env)
        environment["PYTHONUNBUFFERED"] = "1"
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "omeda_async.cli",
            *argv,
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
        )


async def finish(process: asyncio.subprocess.Process, *, within: float = 60.0) -> Result:
    """Wait for ``process`` (at most ``within`` seconds); its exit status and output."""
    out, err = await asyncio.wait_for(process.communicate(), within)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def write_payloads(path: Path, payloads: Iterable[Any]) -> Path:
    """A JSON-lines file: dicts as JSON, strings as they are (for broken lines)."""
    with path.open("w", encoding="utf-8") as file:
        for payload in payloads:
            file.write((payload if isinstance(payload, str) else json.dumps(payload)) + "\n")
    return path


def valid_payloads(count: int, *, seed: int = 1) -> list[dict[str, Any]]:
    """``count`` valid storecustomerandorder wire dicts (the demo's generator, unbroken)."""
    out: list[dict[str, Any]] = []
    for record in sample_records(count * 2 + 10, seed=seed):
        if record.broken is None and not record.merged:
            out.append(record.payload.to_dict())
        if len(out) == count:
            return out
    raise AssertionError("not enough valid sample records")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OMEDA_* variable of the developer's shell leaks into a test."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOmeda]:
    """A FakeOmeda whose transactions finish in under a real second."""
    async with FakeOmeda(time_scale=2000, seed=11, scenario="new_customer") as server:
        yield server


@pytest.fixture
def cli(
    fake: FakeOmeda, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """The command wired to ``fake`` through OMEDA_* variables."""
    runner = Cli(fake, capsys)
    for name, value in runner.env().items():
        monkeypatch.setenv(name, value)
    return runner
