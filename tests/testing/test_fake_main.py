"""``python -m omeda_async.testing``: serves in the foreground and stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp
import pytest

from omeda_async.testing._main import build_parser, main


async def test_module_serves_prints_credentials_and_stops_on_ctrl_c() -> None:
    """It prints the URL and credentials, answers requests, and exits 0 on SIGINT."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omeda_async.testing",
        "--port",
        "0",
        "--app-id",
        "cli-app",
        "--input-id",
        "cli-input",
        "--brand",
        "CLIBRAND",
        "--scenario",
        "held_customer",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, "the server exited early"
            lines.append(line.decode().strip())
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
    """Port 8080, new_customer and real time by default; only named scenarios are accepted."""
    args = build_parser().parse_args([])
    assert (args.port, args.scenario, args.time_scale, args.brand) == (
        8080,
        "new_customer",
        1.0,
        "TESTBRAND",
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--scenario", "nope"])


def test_bad_options_exit_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Options FakeOmeda refuses end with status 2 and a message, not a traceback."""
    assert main(["--brand", "A/B", "--port", "0"]) == 2
    assert "brand" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["serve"], []])
def test_both_serve_commands_choose_a_timing_model(command: list[str]) -> None:
    """`--timing` takes spread (the default) or batch[:SECONDS], and refuses anything else."""
    from omeda_async.cli._app import build_parser as cli_parser
    from omeda_async.testing import Batch, Spread

    parser = cli_parser() if command else build_parser()
    assert parser.parse_args(command).timing == Spread()
    assert parser.parse_args([*command, "--timing", "batch:600"]).timing == Batch(every=600)
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--timing", "sometimes"])
