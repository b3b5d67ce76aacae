"""The secrets guard of tests/conftest.py, run on purpose-built tests in an inner session."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text()

LEAKY = """
import logging, warnings
import pytest
from omeda_async import OmedaClient
from omeda_async.testing import FakeOmeda

CARD_NUMBER = "4111111111111111"

def test_logs_a_fake_app_id():
    fake = FakeOmeda()
    logging.getLogger("omeda_async").debug("connecting with %s", fake.app_id)

def test_prints_a_client_input_id():
    client = OmedaClient(brand="B", app_id="guard-app-1234", input_id="guard-input-5678")
    print("input:", client._transport._input_id)

def test_raises_with_an_app_id():
    OmedaClient(brand="B", app_id="guard-app-raise")
    raise RuntimeError("bad app guard-app-raise")

def test_card_on_stderr():
    import sys
    print({"CreditCardNumber": CARD_NUMBER}, file=sys.stderr)

def test_security_code_in_a_log():
    logging.getLogger("x").info("body: {'CardSecurityCode': '999'}")

def test_clean():
    fake = FakeOmeda()
    logging.getLogger("omeda_async").debug("app_id=%s", "***")
    assert fake.app_id

@pytest.mark.shows_test_credentials
def test_exempt():
    print(FakeOmeda().app_id)
"""


# The inner session's report shows the planted secrets, so this test's output holds them.
@pytest.mark.shows_test_credentials
def test_guard_fails_each_leak_and_passes_clean_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logs, stdout, stderr and exception text with a test's secret fail; others pass."""
    # The copied conftest imports tests.support: the inner session needs the repository root.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[2]))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_leaky=LEAKY)
    # A subprocess: the inner tests' deliberate leaks stay out of this test's own capture.
    result = pytester.runpytest_subprocess(
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )
    result.assert_outcomes(passed=2, failed=5)
    text = result.stdout.str()
    for leak in (
        "a FakeOmeda's app id appears in captured log (call)",
        "a client's input id appears in captured stdout (call)",
        "a client's app id appears in the exception of call",
        "a page-001 test card number appears in captured stderr (call)",
        "a card security code appears in captured log (call)",
    ):
        assert leak in text
    # The verdict names what leaked and where, never the value.
    assert "secret leaked: a client's app id appears in the exception of call\n" in text
    assert "guard-app-raise" not in text
