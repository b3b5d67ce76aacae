"""The pytest plugin, as a user's own test suite in another directory sees it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.testing.conftest import run_python, run_user_suite

USER_TESTS = """
import pytest

from omeda_async import Outcome, PollPolicy, ScaledClock, StatusCode
from omeda_async.testing import SCENARIOS, FakeOmeda

POLICY = PollPolicy(initial_delay=2.0, max_interval=30.0)


@pytest.mark.asyncio
async def test_default_fixture(omeda_fake):
    assert isinstance(omeda_fake, FakeOmeda)
    assert omeda_fake.url.startswith("http://127.0.0.1:")
    assert isinstance(omeda_fake.clock, ScaledClock) and omeda_fake.clock.scale == 3600
    async with omeda_fake.client() as client:
        receipt = await client.store_customer_and_order({"FirstName": "Jane"})
        transaction = await client.get_transaction(receipt.transaction_id)
    assert transaction.status in {step.status for step in SCENARIOS["new_customer"].steps}


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_plain_test_never_waits_on_omedas_minutes(omeda_fake):
    # No marker, the default policy and its 2-hour deadline: seconds, not hours.
    omeda_fake.script_next("held_customer")
    async with omeda_fake.client() as client:
        held = await client.store_customer_and_order({"FirstName": "Jane"})
        signup = await client.store_customer_and_order({"FirstName": "June"})
        result = await client.wait_for_transaction(signup.transaction_id)
        held_result = await client.wait_for_transaction(held.transaction_id)
    assert result.outcome is Outcome.SUCCEEDED
    assert held_result.outcome in (Outcome.HELD, Outcome.TIMED_OUT)


@pytest.mark.asyncio
@pytest.mark.omeda_fake(time_scale=10000, scenario="failed_validation", brand="MYBRAND")
async def test_marker_options(omeda_fake):
    assert omeda_fake.brand == "MYBRAND"
    async with omeda_fake.client() as client:
        receipt = await client.store_customer_and_order({"FirstName": "Jane"})
        result = await client.wait_for_transaction(receipt.transaction_id, policy=POLICY)
    assert result.outcome is Outcome.FAILED
    assert omeda_fake.lookups_after_terminal == {}


SEEN_APP_IDS = []


@pytest.mark.asyncio
@pytest.mark.parametrize("n", [1, 2])
async def test_each_test_gets_its_own_fake(omeda_fake, n):
    # Whatever order the two run in (pytest-randomly), the second sees a new fake.
    assert omeda_fake.transactions == {}
    assert omeda_fake.app_id not in SEEN_APP_IDS
    SEEN_APP_IDS.append(omeda_fake.app_id)
"""


def test_fixture_works_from_a_test_suite_in_another_directory(tmp_path: Path) -> None:
    """A user's suite elsewhere gets omeda_fake (and its marker) from the installed plugin."""
    (tmp_path / "test_user_integration.py").write_text(USER_TESTS)
    result = run_user_suite(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_plugin_imports_without_pytest_asyncio(tmp_path: Path) -> None:
    """Without pytest-asyncio the plugin still loads: marker registered, no fixture defined."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pytest_asyncio"] = None  # as if it were not installed
        import omeda_async.testing._plugin as plugin
        assert not hasattr(plugin, "omeda_fake"), "fixture defined without pytest_asyncio"
        assert plugin.__all__ == ["FIXTURE_TIME_SCALE", "pytest_configure"]
        print("ok")
        """
    )
    result = run_python("-c", code, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
