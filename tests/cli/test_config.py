"""The command's configuration is the library's: flags as `from_env` keywords, one rule."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from omeda_async import OmedaClient
from omeda_async.cli import EXIT_USAGE, main
from omeda_async.cli._app import build_parser
from omeda_async.cli._config import settings_from

FAKE_URL = "http://127.0.0.1:8080"

CASES: list[tuple[Mapping[str, str], Mapping[str, str]]] = [
    ({"OMEDA_BRAND": "ENV"}, {}),
    ({"OMEDA_BRAND": "ENV"}, {"brand": "FLAG"}),
    ({"OMEDA_BRAND": " ENV\n", "OMEDA_BASE_URL": FAKE_URL}, {}),
    ({"OMEDA_BRAND": "ENV", "OMEDA_BASE_URL": FAKE_URL}, {"environment": "production"}),
    ({"OMEDA_ENVIRONMENT": "Production"}, {"brand": "FLAG"}),
    ({"OMEDA_ENVIRONMENT": "production", "OMEDA_BASE_URL": FAKE_URL}, {"brand": "B"}),
    ({"OMEDA_BRAND": "ENV", "OMEDA_BASE_URL": FAKE_URL}, {"base_url": "http://localhost:9"}),
    ({"OMEDA_BRAND": "", "OMEDA_INPUT_ID": "  "}, {"brand": "FLAG", "input_id": "flag-input"}),
]


def _flags(given: Mapping[str, str]) -> list[str]:
    argv: list[str] = []
    for name, value in given.items():
        argv += ["--" + name.replace("_", "-"), value]
    return argv


@pytest.mark.parametrize(("environ", "given"), CASES)
async def test_the_command_and_from_env_make_the_same_client(
    environ: Mapping[str, str], given: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """For each mix of variables and flags, `omeda-async` reaches the same Omeda with the
    same brand and credentials as `OmedaClient.from_env(**flags)`."""
    monkeypatch.setenv("OMEDA_APP_ID", "app-1")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # Flags before the command and after it are the same flags.
    for argv in (
        [*_flags(given), "status", "1"],
        ["status", "1", *_flags(given)],
    ):
        args = build_parser().parse_args(argv)
        async with (
            settings_from(args).client() as from_cli,
            OmedaClient.from_env(**given) as from_library,  # type: ignore[arg-type]
        ):
            assert repr(from_cli) == repr(from_library)
            assert from_cli.environment == from_library.environment


def test_a_blank_flag_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--brand ''` is no brand given, as a blank variable is none: the variable is used."""
    monkeypatch.setenv("OMEDA_APP_ID", "app-1")
    monkeypatch.setenv("OMEDA_BRAND", "ENV")
    args = build_parser().parse_args(["status", "1", "--brand", " "])
    assert settings_from(args).brand == "ENV"


def test_a_blank_variable_is_reported_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """OMEDA_BRAND set to nothing is a missing brand, named by flag and variable (exit 2)."""
    monkeypatch.setenv("OMEDA_APP_ID", "app-1")
    monkeypatch.setenv("OMEDA_BRAND", "")
    assert main(["status", "1"]) == EXIT_USAGE
    assert "missing brand: pass --brand or set OMEDA_BRAND" in capsys.readouterr().err
