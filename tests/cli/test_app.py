"""The command line itself: help, usage errors, configuration, secrets, the optional extra."""

from __future__ import annotations

import subprocess
import sys

import attrs
import pytest

from omeda_async import PollPolicy
from omeda_async.cli import EXIT_USAGE, main
from omeda_async.cli._app import build_parser
from omeda_async.cli._commands import _poll_policy
from omeda_async.cli._config import Settings

from .conftest import Cli

COMMANDS = ("demo", "submit", "status", "track", "history", "serve")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`COMMAND --help` exits 0 and shows usage and at least one example of that command."""
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: omeda-async {command}")
    assert "examples:" in out
    assert f"omeda-async {command}" in out.split("examples:")[1]


def test_top_level_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` names every command, the environment variables and the exit statuses."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out
    for name in ("OMEDA_BRAND", "OMEDA_APP_ID", "OMEDA_INPUT_ID", "OMEDA_BASE_URL", "130"):
        assert name in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option or a non-numeric TransactionId is a usage error (exit 2), not a crash."""
    assert main(["status", "not-a-number"]) == EXIT_USAGE
    assert "not a whole number" in capsys.readouterr().err
    assert main(["frobnicate"]) == EXIT_USAGE


def test_missing_credentials_name_flag_and_variable(capsys: pytest.CaptureFixture[str]) -> None:
    """Without brand and app id, the error names both flags and both variables; exit 2."""
    assert main(["status", "123"]) == EXIT_USAGE
    err = capsys.readouterr().err
    for name in ("--brand", "OMEDA_BRAND", "--app-id", "OMEDA_APP_ID"):
        assert name in err


def test_submit_without_input_id_names_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Submitting customers needs an input id: the error names --input-id and OMEDA_INPUT_ID."""
    monkeypatch.setenv("OMEDA_BRAND", "ABC")
    monkeypatch.setenv("OMEDA_APP_ID", "app-123")
    assert main(["submit", "-"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--input-id" in err
    assert "OMEDA_INPUT_ID" in err
    assert "app-123" not in err


def test_global_options_work_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`status 1 --brand X --app-id Y` is as good as putting them first (no missing-brand error)."""
    assert main(["status", "1", "--brand", "ABC", "--base-url", "not a url", "--app-id", "y"]) == 2
    err = capsys.readouterr().err
    assert "missing" not in err
    assert "base_url" in err


def test_bulk_submit_polls_by_the_bulk_preset_and_track_by_the_defaults() -> None:
    """`submit --track` follows a whole file: PollPolicy.bulk()'s pace; `track` PollPolicy()'s."""
    parser = build_parser()
    submit = parser.parse_args(["submit", "rows.jsonl", "--track"])
    track = parser.parse_args(["track", "1"])
    assert submit.poll_interval == PollPolicy.bulk().initial_delay
    assert track.poll_interval == PollPolicy().initial_delay
    # Held records end tracking by default in both (a person at Omeda may take hours).
    assert _poll_policy(submit) == attrs.evolve(
        PollPolicy.bulk(), deadline=submit.deadline, stop_on_hold=True
    )
    assert _poll_policy(track) == PollPolicy(stop_on_hold=True)


def test_help_never_shows_a_credential(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials in the environment never appear in any --help text."""
    monkeypatch.setenv("OMEDA_APP_ID", "sekrit-app-id-9731")
    monkeypatch.setenv("OMEDA_INPUT_ID", "sekrit-input-4412")
    for command in (*COMMANDS, None):
        main([command, "--help"] if command else ["--help"])
        captured = capsys.readouterr()
        assert "sekrit" not in captured.out + captured.err


def test_settings_repr_masks_credentials() -> None:
    """The resolved settings never show the app id or the input id in their repr."""
    settings = Settings(
        options={"brand": "ABC", "app_id": "sekrit-app", "input_id": "sekrit-input"}
    )
    assert "sekrit" not in repr(settings)
    assert "ABC" in repr(settings)


async def test_wrong_app_id_is_reported_without_echoing_it(cli: Cli) -> None:
    """A 403 exits 2 with advice naming --app-id; neither the bad id nor the real one is printed,
    not even in the -vv log."""
    result = await cli.run("-vv", "status", "12345", "--app-id", "sekrit-wrong-app-id")
    assert result.code == EXIT_USAGE
    assert "--app-id" in result.err
    assert "sekrit-wrong-app-id" not in result.out + result.err
    assert cli.fake.app_id not in result.out + result.err


def test_without_rich_the_command_asks_for_the_extra() -> None:
    """When rich cannot be imported, omeda-async says to install omeda-async[cli] and exits 2."""
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from omeda_async.cli import main\n"
        "raise SystemExit(main(['demo']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "omeda-async[cli]" in done.stderr


def test_the_library_does_not_import_rich() -> None:
    """Importing omeda_async (the whole public API) loads neither rich nor the CLI."""
    code = (
        "import sys, omeda_async\n"
        "assert 'rich' not in sys.modules, 'rich'\n"
        "assert 'omeda_async.cli' not in sys.modules, 'cli'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
