"""The README's Python examples run as written, against a FakeOmeda named by OMEDA_* variables.

Every ```python block outside "Testing your own integration" (run by
``tests/testing/test_readme_fake.py``), and other than a file of ``examples/``
(``tests/test_examples.py``), is a whole program: it runs in a
fresh interpreter, in a directory of its own, with the variables a user sets
after ``omeda-async serve`` (so ``OmedaClient.from_env()`` reaches the fake),
and must exit 0. What it says it prints is checked: ``# text`` lines at the
start of a line right after a ``print(`` line are lines of its output, and
``print(...)  # text`` means a line ends with ``text``. A program that reads ``sys.argv`` gets what
its README text says it takes: TransactionIds, or a JSON-lines file of rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import attrs
import pytest

from omeda_async.testing import FakeOmeda
from tests.postgres.support import postgres_dsn

README = Path(__file__).resolve().parents[1] / "README.md"
RUN_ELSEWHERE = "## Testing your own integration"


@attrs.frozen
class Block:
    """One ```python block of the README and the heading it is under."""

    heading: str
    code: str


def readme_blocks() -> list[Block]:
    """The README's Python blocks, outside the section another test runs."""
    blocks: list[Block] = []
    heading = ""
    section = ""
    lines: Iterator[str] = iter(README.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line
        if line.startswith("#"):
            heading = line.lstrip("# ")
        if line.strip() == "```python":
            code = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                code.append(inner)
            # A file of examples/ (its first line names it) is run by a test of its own.
            if section != RUN_ELSEWHERE and not code[0].startswith("# examples/"):
                blocks.append(Block(heading, "\n".join(code) + "\n"))
    return blocks


def expected_output(code: str) -> tuple[list[str], list[str]]:
    """Whole lines of output (``# text`` after a print) and line endings (inline ``# text``)."""
    whole: list[str] = []
    lines = code.splitlines()
    for number, line in enumerate(lines):
        if "print(" not in line:
            continue
        for after in lines[number + 1 :]:
            if not after.startswith("# "):
                break
            whole.append(after[2:])
    endings = [said.strip() for said in re.findall(r"print\(.*\)[ \t]*# (.+)$", code, flags=re.M)]
    return whole, endings


def test_the_readme_has_the_library_examples() -> None:
    """The blocks this module runs are found (a changed heading would otherwise skip them)."""
    headings = {block.heading for block in readme_blocks()}
    assert {"Using the library", "Following many transactions"} <= headings
    assert any("OmedaClient.from_env()" in block.code for block in readme_blocks())


@pytest.fixture
async def served() -> Iterator[FakeOmeda]:  # type: ignore[misc]
    async with FakeOmeda(time_scale=1000, scenario="new_customer", seed=19) as fake:
        yield fake


def _rows() -> list[dict[str, object]]:
    good = [
        {"FirstName": f"Jane{n}", "Emails": [{"EmailAddress": f"jane{n}@example.com"}]}
        for n in range(3)
    ]
    return [*good, {"FirstName": "Broken", "Emails": [{"EmailAddress": "broken@"}]}]


async def _arguments(block: Block, fake: FakeOmeda, workdir: Path) -> list[str]:
    if "sys.argv" not in block.code:
        return []
    if "transaction_ids" in block.code:
        async with fake.client() as client:
            return [
                str((await client.store_customer_and_order(row)).transaction_id)
                for row in _rows()[:3]
            ]
    rows = workdir / "rows.jsonl"
    rows.write_text("".join(json.dumps(row) + "\n" for row in _rows()), encoding="utf-8")
    return [str(rows)]


@pytest.mark.parametrize(
    "block", readme_blocks(), ids=lambda block: re.sub(r"\W+", "-", block.heading).strip("-")
)
async def test_the_readme_example_runs(block: Block, served: FakeOmeda, tmp_path: Path) -> None:
    """The example, saved as a file and run with the fake's settings in the environment,
    exits 0 and prints what it says it prints."""
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OMEDA_"))}
    env.update(
        OMEDA_BASE_URL=served.url,
        OMEDA_BRAND=served.brand,
        OMEDA_APP_ID=served.app_id,
        OMEDA_INPUT_ID=served.input_id,
    )
    async with _database_for(block) as dsn:
        if dsn is not None:
            env["OMEDA_POSTGRES_DSN"] = dsn
        await _run_example(block, served, tmp_path, script, env)


@contextlib.asynccontextmanager
async def _database_for(block: Block) -> AsyncIterator[str | None]:
    """A database of its own for an example of "Scaling out" (it uses the default schema)."""
    if "OMEDA_POSTGRES_DSN" not in block.code:
        yield None
        return
    dsn = postgres_dsn()
    import asyncpg

    name = f"readme_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
        try:
            yield dsn.rsplit("/", 1)[0] + "/" + name
        finally:
            await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await conn.close()


async def _run_example(
    block: Block, served: FakeOmeda, tmp_path: Path, script: Path, env: dict[str, str]
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        *await _arguments(block, served, tmp_path),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    printed = out.decode().splitlines()
    whole, endings = expected_output(block.code)
    for line in whole:
        assert line in printed, out.decode()
    for ending in endings:
        assert any(line.endswith(ending) for line in printed), out.decode()
