"""The README's "Testing your own integration" examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.testing.conftest import run_python, run_user_suite

README = Path(__file__).resolve().parents[2] / "README.md"


def _section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Testing your own integration")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def test_the_section_has_pytest_examples_and_scripts() -> None:
    """The examples this module runs are there (a rename would otherwise skip them)."""
    blocks = _section_blocks()
    assert sum("def test_" in block for block in blocks) >= 2
    assert any("asyncio.run(main())" in block for block in blocks)


def test_the_readme_pytest_examples_pass(tmp_path: Path) -> None:
    """Each pytest example, in a user's own directory with the installed plugin, passes."""
    tests = [block for block in _section_blocks() if "def test_" in block]
    for number, block in enumerate(tests):
        (tmp_path / f"test_readme_{number}.py").write_text(block, encoding="utf-8")
    expected = sum(len(re.findall(r"^async def test_", block, re.M)) for block in tests)
    result = run_user_suite(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{expected} passed" in result.stdout


@pytest.mark.parametrize(
    "block",
    [block for block in _section_blocks() if "def test_" not in block],
    ids=lambda block: block.strip().splitlines()[-1][:40],
)
def test_the_readme_scripts_run(block: str, tmp_path: Path) -> None:
    """Each example outside pytest runs, and prints what its comments say it prints."""
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    result = run_python(str(script), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for _, said in re.findall(r"print\((.*)\)\s*# (.+)$", block, flags=re.M):
        assert any(line.endswith(said.strip()) for line in lines), result.stdout
