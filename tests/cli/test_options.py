"""The command's own options, run as users run them: --version, -q, --allow-insecure,
--format where it means nothing, and output fit for files and pipes."""

from __future__ import annotations

from pathlib import Path

import pytest

import omeda_async
from omeda_async.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from omeda_async.cli._app import build_parser
from omeda_async.cli._config import settings_from

from .conftest import Cli, finish, valid_payloads, write_payloads


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the package's version and exits 0."""
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == f"omeda-async {omeda_async.__version__}"


@pytest.mark.parametrize("where", ["before", "after"])
async def test_quiet_leaves_only_results(cli: Cli, tmp_path: Path, where: str) -> None:
    """`-q` (before or after the command) prints no progress and no summary: stderr stays
    empty, the JSON lines are all there."""
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(3))
    argv = ["-q", "submit", str(path)] if where == "before" else ["submit", str(path), "-q"]
    result = await cli.run(*argv)
    assert result.code == EXIT_OK
    assert result.err == ""
    assert len(result.lines()) == 3


async def test_quiet_still_shows_errors(cli: Cli) -> None:
    """`-q` never hides an error: a refused app id is still explained."""
    result = await cli.run("-q", "status", "1", "--app-id", "wrong-app-id")
    assert result.code == EXIT_USAGE
    assert "Omeda refused the credentials" in result.err


def test_plain_http_elsewhere_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """A plain-http --base-url to another host is refused (exit 2, nothing sent), and the
    message names --allow-insecure, not a library keyword only."""
    argv = ["status", "1", "--brand", "ABC", "--app-id", "app-1"]
    assert main([*argv, "--base-url", "http://omeda.internal"]) == EXIT_USAGE
    assert "--allow-insecure" in capsys.readouterr().err


async def test_allow_insecure_lets_the_command_use_plain_http() -> None:
    """With --allow-insecure (before or after the command) the same settings make a client."""
    for argv in (
        ["--allow-insecure", "status", "1"],
        ["status", "1", "--allow-insecure"],
    ):
        args = build_parser().parse_args(
            [*argv, "--brand", "ABC", "--app-id", "app-1", "--base-url", "http://omeda.internal"]
        )
        async with settings_from(args).client() as client:
            assert client.base_url == "http://omeda.internal"


def test_demo_lists_no_option_it_ignores(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --help` shows no brand, credential or environment option; given before the
    command, one is refused with a reason instead of ignored."""
    assert main(["demo", "--help"]) == EXIT_OK
    shown = capsys.readouterr().out
    for flag in ("--brand", "--app-id", "--input-id", "--environment", "--base-url", "--format"):
        assert flag not in shown
    assert main(["--brand", "ABC", "demo"]) == EXIT_USAGE
    assert "demo runs on its own in-process FakeOmeda and uses no --brand" in (
        capsys.readouterr().err
    )


def test_format_where_it_means_nothing_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`--format` before `demo` is refused with the commands it applies to (exit 2)."""
    assert main(["--format", "table", "demo"]) == EXIT_USAGE
    assert "--format applies to submit, status, track, history, not demo" in (
        capsys.readouterr().err
    )


async def test_piped_tables_have_no_trailing_spaces(cli: Cli) -> None:
    """A table written to a pipe (results on stdout, the summary on stderr) ends no line
    with a space."""
    async with cli.fake.client() as client:
        receipt = await client.store_customer_and_order(valid_payloads(1)[0])
        await client.run_processor([receipt.transaction_id])
    tid = str(receipt.transaction_id)
    process = await cli.spawn("track", tid, "--format", "table", "--poll-interval", "0.05")
    result = await finish(process)
    assert result.code == EXIT_OK
    assert "Tracking results" in result.out
    assert "Outcomes" in result.err
    for line in (result.out + result.err).splitlines():
        assert line == line.rstrip(), repr(line)


async def test_a_wrong_brand_is_named_as_a_likely_cause(cli: Cli) -> None:
    """Under a brand Omeda does not know every lookup answers 404 (FakeOmeda: "No resource
    at ..."): `status` and `history` say the brand may be wrong, naming it and its flag."""
    status = await cli.run("status", "1", "2", "--brand", "WRONGBRAND")
    assert status.code == EXIT_FAILED
    said = " ".join(status.err.split())
    assert "Every lookup answered 404 (not found)" in said
    assert "the brand may be wrong: 'WRONGBRAND' (--brand / OMEDA_BRAND)" in said
    history = await cli.run("history", "12345", "--brand", "WRONGBRAND")
    assert history.code == EXIT_FAILED
    assert "the brand may be wrong: 'WRONGBRAND'" in " ".join(history.err.split())
    # Under the right brand, Omeda's documented answer for an unknown id: no such advice.
    known = await cli.run("status", "1")
    assert "No status found for transaction 1" in known.out
    assert "brand may be wrong" not in " ".join(known.err.split())


@pytest.mark.parametrize("where", ["before", "after"])
async def test_submit_format_table(cli: Cli, tmp_path: Path, where: str) -> None:
    """`submit --format table` (before or after the command) prints one table of every line,
    in line order, instead of JSON lines."""
    rows = [*valid_payloads(2), '{"FirstName": "Jane",']
    path = write_payloads(tmp_path / "in.jsonl", rows)
    flags = ["--format", "table"]
    argv = [*flags, "submit", str(path)] if where == "before" else ["submit", str(path), *flags]
    result = await cli.run(*argv)
    assert result.code == EXIT_FAILED
    assert result.out.startswith("Submission results")
    rows_shown = [line.split() for line in result.out.splitlines() if line[:6].strip().isdigit()]
    assert [(row[0], row[1]) for row in rows_shown] == [
        ("1", "accepted"),
        ("2", "accepted"),
        ("3", "rejected"),
    ]
    assert "line 3 is not valid JSON" in result.out
    assert {int(row[2]) for row in rows_shown[:2]} == set(cli.fake.transactions)


async def test_submit_under_a_wrong_brand_says_so(cli: Cli, tmp_path: Path) -> None:
    """When every POST answers a plain 404, the summary says the brand may be wrong."""
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(2))
    result = await cli.run("submit", str(path), "--brand", "WRONGBRAND")
    assert result.code == EXIT_FAILED
    assert [line["error_type"] for line in result.lines()] == ["NotFoundError"] * 2
    said = " ".join(result.err.split())
    assert "Every submission answered 404 (not found): the brand may be wrong: 'WRONGBRAND'" in (
        said
    )


async def test_submit_with_a_wrong_input_id_stops_with_advice(cli: Cli, tmp_path: Path) -> None:
    """Omeda's "x-omeda-inputid is not valid" stops the job: exit 2, the flag and variable
    named, no traceback, and the input id never printed."""
    path = write_payloads(tmp_path / "in.jsonl", valid_payloads(30))
    result = await cli.run("submit", str(path), "--input-id", "sekrit-wrong-input")
    assert result.code == EXIT_USAGE
    assert "Omeda refused the input id" in result.err
    assert "check --input-id / OMEDA_INPUT_ID" in result.err
    assert "Traceback" not in result.err
    assert "sekrit-wrong-input" not in result.out + result.err
    assert len(result.lines()) < 30  # it stopped, not every row was refused
    assert cli.fake.transactions == {}


async def test_summary_lines_are_not_hard_wrapped(cli: Cli) -> None:
    """Piped, the demo's closing sentences are one line each, however long, so a log or a
    grep sees each whole (tables are laid out to 100 columns)."""
    process = await cli.spawn("demo", "--count", "30", "--seed", "4", "--time-scale", "3000")
    result = await finish(process)
    assert result.code == EXIT_OK, result.err
    (closing,) = [line for line in result.out.splitlines() if line.startswith("30 records in")]
    assert closing.endswith("x faster here).")
    assert len(closing) > 100
    assert max(len(line) for line in result.out.splitlines() if "│" in line) <= 100
