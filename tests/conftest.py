"""Suite-wide guard: no test may let a secret it used reach logs, output, warnings or errors.

Every test runs with logging at DEBUG (so the transport's per-request lines
are produced and inspected), and the credentials of every ``OmedaClient`` and
``FakeOmeda`` built during the test are registered as that test's secrets,
together with the page-001 test card numbers and any string constant of the
test's module named like a credential or a card. After each phase (setup,
call, teardown) the captured log, stdout and stderr of the phase and the text
of the exception it raised (with its chain) are searched; a hit turns the
phase into a failure that says which secret leaked where, never the secret.

Security codes are three or four digits, too short to search for alone
("999" is also a customer id); they count as leaked when they appear as the
value of a security-code key or attribute.

A test that shows a test credential on purpose (``omeda-async serve`` prints
the fake's own app id so other programs can connect) says so with
``@pytest.mark.shows_test_credentials``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from omeda_async import OmedaClient
from omeda_async.testing import FakeOmeda
from tests.support import MockedHttp, VirtualClock

# Omeda's page 001 ("Test credit cards"): every number tests may send.
PAGE_001_CARDS = frozenset(
    {
        "5454545454545454",
        "4111111111111111",
        "5555555555554444",
        "5105105105105100",
        "4012888888881881",
        "378282246310005",
        "371449635398431",
        "6011111111111117",
        "6011000990139424",
        "5424000000000015",
        "6011000000000012",
        "370000000000002",
        "38000000000006",
        "3088000000000017",
    }
)
# Shorter values ("app", "a") are words of ordinary text; a test credential
# that short cannot be told apart from them, so it is not searched for.
MIN_SECRET_LENGTH = 6
_CONSTANT_NAME = re.compile(r"APP_?ID|INPUT_?ID|CARD|SECRET|CREDENTIAL", re.IGNORECASE)
# A security code shown as a value: CardSecurityCode: 999, card_security_code='999', ...
_SECURITY_CODE = re.compile(
    r"""(?ix) (?:card_?security_?code|security_?code|cvv)
        ["']? \s* [:=] \s* ["']? (?P<code>\d{3,4}) (?!\d)"""
)

_SECRETS = pytest.StashKey[dict[str, str]]()

# The guard's own tests (tests/reliability/test_secrets_guard.py) run it in an inner session.
pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shows_test_credentials: the test prints a fake's own test credential on purpose "
        "(exempt from the secrets guard)",
    )


def _register(secrets: dict[str, str], value: object, what: str) -> None:
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        secrets.setdefault(value, what)


def _module_constants(item: pytest.Item) -> Iterator[tuple[str, str]]:
    module = getattr(item, "module", None)
    for name, value in vars(module).items() if module is not None else ():
        if isinstance(value, str) and _CONSTANT_NAME.search(name):
            yield value, f"the test constant {name}"


@pytest.fixture(autouse=True)
def _secrets_never_leak(
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run at DEBUG and register the secrets this test uses (checked by the report hook)."""
    caplog.set_level(logging.DEBUG)
    secrets: dict[str, str] = dict.fromkeys(PAGE_001_CARDS, "a page-001 test card number")
    for value, what in _module_constants(request.node):
        _register(secrets, value, what)
    request.node.stash[_SECRETS] = secrets

    # The one seam for "the credentials of this test": wrap the two constructors
    # for the test's duration (monkeypatch undoes it), reading what they kept.
    client_init: Callable[..., None] = OmedaClient.__init__
    fake_init: Callable[..., None] = FakeOmeda.__init__

    @functools.wraps(client_init)  # keeps the signature for anything that inspects it
    def recording_client_init(self: OmedaClient, *args: Any, **kwargs: Any) -> None:
        client_init(self, *args, **kwargs)
        transport = self._transport
        _register(secrets, transport._app_id, "a client's app id")
        _register(secrets, transport._input_id, "a client's input id")

    @functools.wraps(fake_init)
    def recording_fake_init(self: FakeOmeda, *args: Any, **kwargs: Any) -> None:
        fake_init(self, *args, **kwargs)
        _register(secrets, self.app_id, "a FakeOmeda's app id")
        _register(secrets, self.input_id, "a FakeOmeda's input id")
        for input_id in self.omatch_inputs:
            _register(secrets, input_id, "a FakeOmeda's input id")

    monkeypatch.setattr(OmedaClient, "__init__", recording_client_init)
    monkeypatch.setattr(FakeOmeda, "__init__", recording_fake_init)


def _exception_text(error: BaseException | None) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        parts += [type(error).__name__, str(error), repr(error)]
        parts += [str(note) for note in getattr(error, "__notes__", ())]
        if isinstance(error, BaseExceptionGroup):
            parts += [_exception_text(inner) for inner in error.exceptions]
        error = error.__cause__ or error.__context__
    return "\n".join(parts)


def find_leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """Which secret (described, never quoted) appears in which captured text."""
    leaks: list[str] = []
    for where, text in texts.items():
        if not text:
            continue
        leaks += [f"{what} appears in {where}" for value, what in secrets.items() if value in text]
        if _SECURITY_CODE.search(text):
            leaks.append(f"a card security code appears in {where}")
    return leaks


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    secrets = item.stash.get(_SECRETS, None)
    if secrets is None or item.get_closest_marker("shows_test_credentials") is not None:
        return report
    texts = {
        f"captured {key} ({when})": content
        for when, key, content in item._report_sections
        if when == call.when
    }
    if call.excinfo is not None:
        texts[f"the exception of {call.when}"] = _exception_text(call.excinfo.value)
    leaks = find_leaks(texts, secrets)
    if leaks:
        report.outcome = "failed"
        report.longrepr = "secret leaked: " + "; ".join(dict.fromkeys(leaks))
    return report


# --- fixtures shared by the client and transport tests -------------------------------


@pytest.fixture(autouse=True)
def _no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the developer's own OMEDA_* variables."""
    for name in (
        "OMEDA_APP_ID",
        "OMEDA_INPUT_ID",
        "OMEDA_BRAND",
        "OMEDA_ENVIRONMENT",
        "OMEDA_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def http() -> Iterator[MockedHttp]:
    """aioresponses (aiohttp-3.14-safe) intercepting every request of the test."""
    mocked = MockedHttp()
    with mocked:
        yield mocked


@pytest.fixture
def clock() -> VirtualClock:
    """Virtual time: sleeps are recorded and never really wait."""
    return VirtualClock()
