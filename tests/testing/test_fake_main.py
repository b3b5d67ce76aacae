"""``python -m omeda_async.testing``: serves in the foreground and stops on Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import aiohttp
import pytest

from omeda_async import ScaledClock
from omeda_async.cli import main as cli_main
from omeda_async.cli._app import build_parser as cli_parser
from omeda_async.testing import Batch, FaultKind, Mix, Spread
from omeda_async.testing._main import build_parser, fake_from_args, main


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    """``python ARGS`` as another program would run a serve command."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OMEDA_"))},
    )


async def _banner(process: asyncio.subprocess.Process) -> list[str]:
    """The lines a serve command prints before it waits for Ctrl-C."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl-C"):
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "the server exited early"
        lines.append(line.decode().strip())
    return lines


async def test_module_serves_prints_credentials_and_stops_on_ctrl_c() -> None:
    """It prints the URL and credentials, answers requests, and exits 0 on SIGINT."""
    process = await _spawn(
        "-m", "omeda_async.testing", "--port", "0", "--app-id", "cli-app",
        "--input-id", "cli-input", "--brand", "CLIBRAND", "--scenario", "held_customer",
    )  # fmt: skip
    try:
        lines = await _banner(process)
        banner = "\n".join(lines)
        assert "x-omeda-appid:   cli-app" in banner
        assert "x-omeda-inputid: cli-input" in banner
        url = lines[0].rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        base = f"{url}/webservices/rest/brand/CLIBRAND"
        headers = {"x-omeda-appid": "cli-app", "x-omeda-inputid": "cli-input"}
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{base}/storecustomerandorder/*", json={"FirstName": "J"}, headers=headers
            ) as response:
                assert response.status == 200
                transaction_id = (await response.json())["ResponseInfo"][0]["TransactionId"]
            async with session.get(
                f"{base}/transaction/{transaction_id}/*", headers=headers
            ) as response:
                assert (await response.json())["Status"] == 7
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert "FakeOmeda stopped." in out.decode()
        assert "Traceback" not in err.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_parser_defaults_and_choices() -> None:
    """Port 8080, new_customer, spread timing and real time by default; TESTBRAND without
    $OMEDA_BRAND; fresh random credentials; only known scenarios are accepted."""
    args = build_parser().parse_args([])
    assert (args.port, args.scenario, args.time_scale) == (8080, "new_customer", 1.0)
    fake = fake_from_args(args, environ={})
    assert (fake.brand, fake.timing, fake.expire_after, fake.visibility_delay) == (
        "TESTBRAND",
        Spread(),
        None,
        0.0,
    )
    assert fake_from_args(args, environ={"OMEDA_BRAND": "ENVBRAND"}).brand == "ENVBRAND"
    assert fake_from_args(args, environ={}).app_id != fake.app_id
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--scenario", "nope"])


def test_bad_options_exit_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Options FakeOmeda refuses end with status 2 and a message, not a traceback."""
    assert main(["--brand", "A/B", "--port", "0"]) == 2
    assert "brand" in capsys.readouterr().err


def _serve_subparser() -> argparse.ArgumentParser:
    parser = cli_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve: argparse.ArgumentParser = commands.choices["serve"]
    return serve


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def test_both_serve_commands_have_one_option_set() -> None:
    """`omeda-async serve` and `python -m omeda_async.testing` take exactly the same options."""
    assert _options(_serve_subparser()) == _options(build_parser())


def test_serve_help_shows_what_it_stages_and_not_the_global_flags_it_ignores(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--help lists every staging option, and no --environment, --base-url, -v or --format."""
    assert cli_main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--app-id",
        "--input-id",
        "--merged",
        "--merged-status",
        "--pending-deactivation",
        "--omatch-input",
        "--expire-after",
        "--visibility-delay",
        "--faults",
        "--retry-after",
        "--scenario",
        "--timing",
        "--time-scale",
    ):
        assert flag in out
    for flag in ("--environment", "--base-url", "--verbose", "--format"):
        assert flag not in out
    assert "held_dupecheck" in out
    assert "truncated" in out


FULL = [
    "--port", "0", "--brand", "STAGED", "--app-id", "fixed-app", "--input-id", "fixed-input",
    "--scenario", "new_customer=0.8,held_oec=0.2", "--timing", "batch:600",
    "--time-scale", "60", "--seed", "4", "--expire-after", "86400", "--visibility-delay", "30",
    "--merged", "22=99999,23=100", "--merged", "24=101", "--merged-status", "404",
    "--pending-deactivation", "33,34", "--pending-deactivation", "35",
    "--omatch-input", "omatch-1", "--faults", "rate_limit=0.05,unavailable=0.02",
    "--retry-after", "2",
]  # fmt: skip


@pytest.mark.parametrize("command", [["serve"], []])
def test_every_staging_option_reaches_the_fake(command: list[str]) -> None:
    """Credentials, paths, timing, clock, expiry, visibility, customers, inputs and faults."""
    parser = _serve_subparser() if command else build_parser()
    fake = fake_from_args(parser.parse_args(FULL), environ={"OMEDA_BRAND": "IGNORED"})
    assert (fake.brand, fake.app_id, fake.input_id) == ("STAGED", "fixed-app", "fixed-input")
    assert isinstance(fake.scenario, Mix)
    assert {s.name: w for s, w in fake.scenario.weights} == {"new_customer": 0.8, "held_oec": 0.2}
    assert isinstance(fake.timing, Batch)
    assert fake.timing.every == 600
    assert isinstance(fake.clock, ScaledClock)
    assert fake.clock.scale == 60
    assert (fake.seed, fake.expire_after, fake.visibility_delay) == (4, 86400, 30)
    assert fake.merged_customers == {22: 99999, 23: 100, 24: 101}
    assert fake.merged_status == 404
    assert fake.pending_deactivation == {33, 34, 35}
    assert fake.omatch_inputs == {"omatch-1"}
    assert fake.faults.rates == {FaultKind.RATE_LIMIT: 0.05, FaultKind.UNAVAILABLE: 0.02}
    assert fake.faults.retry_after == 2


def test_fixed_credentials_survive_a_restart() -> None:
    """Two fakes from one command line accept the same exported credentials."""
    args = build_parser().parse_args(["--app-id", "keep-app", "--input-id", "keep-input"])
    first, second = fake_from_args(args), fake_from_args(args)
    assert (first.app_id, first.input_id) == (second.app_id, second.input_id)
    assert first.app_id == "keep-app"


@pytest.mark.parametrize(
    "argv",
    [
        ["--merged", "22"],
        ["--merged", "a=b"],
        ["--merged-status", "500"],
        ["--pending-deactivation", "x"],
        ["--timing", "hourly"],
        ["--scenario", "nope=1"],
        ["--faults", "gremlins=0.5"],
        ["--faults", "rate_limit=2"],
        ["--time-scale", "0"],
        ["--visibility-delay", "-1"],
    ],
)
@pytest.mark.parametrize("command", [["serve"], []])
def test_both_commands_refuse_what_they_cannot_stage(argv: list[str], command: list[str]) -> None:
    """A malformed staging option is a usage error (exit 2) in both commands."""
    parser = _serve_subparser() if command else build_parser()
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(argv)
    assert caught.value.code == 2


@pytest.mark.parametrize(
    "flag", [["--environment", "production"], ["--base-url", "http://x"], ["--allow-insecure"]]
)
def test_serve_refuses_global_flags_it_would_ignore(
    flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`omeda-async --base-url X serve` is an error that says serve does not use it."""
    assert cli_main([*flag, "serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert flag[0] in err
    assert "does not use" in err


async def test_omeda_async_serve_stages_a_merged_customer_for_another_program() -> None:
    """The CLI's serve, in its own process: fixed credentials, a 404 merged answer, batch
    timing, all printed in its banner and answered over HTTP."""
    process = await _spawn(
        "-m", "omeda_async.cli", "serve", "--port", "0",
        "--app-id", "cli-app", "--input-id", "cli-input", "--merged", "22=99999",
        "--merged-status", "404", "--timing", "batch:3600", "--pending-deactivation", "33",
    )  # fmt: skip
    try:
        lines = await _banner(process)
        banner = "\n".join(lines)
        assert "22 -> 99999 (answered 404)" in banner
        assert "batch: a run every 3600 s" in banner
        url = lines[0].rsplit(" ", 1)[-1]
        base = f"{url}/webservices/rest/brand/TESTBRAND"
        headers = {"x-omeda-appid": "cli-app", "x-omeda-inputid": "cli-input"}
        async with aiohttp.ClientSession() as session:
            merged = {"OmedaCustomerId": 22, "FirstName": "J"}
            async with session.post(
                f"{base}/storecustomerandorder/*", json=merged, headers=headers
            ) as response:
                assert response.status == 404
                (error,) = (await response.json())["Errors"]
                assert error["MergedIntoCustomerId"] == 99999
            async with session.post(
                f"{base}/storecustomerandorder/*", json={"FirstName": "J"}, headers=headers
            ) as response:
                transaction_id = (await response.json())["ResponseInfo"][0]["TransactionId"]
            async with session.get(
                f"{base}/transaction/{transaction_id}/*", headers=headers
            ) as response:
                assert (await response.json())["Status"] == 0  # waits for the hourly run
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert "FakeOmeda stopped." in out.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
