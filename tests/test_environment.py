"""The one rule for the environment: a keyword, then a non-blank OMEDA_* variable, then defaults."""

from __future__ import annotations

import pytest

from omeda_async import OmedaClient
from omeda_async._environment import ENVIRONMENT_VARIABLES, with_environment

FAKE_URL = "http://127.0.0.1:8080"


@pytest.fixture(autouse=True)
def _no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)


def test_a_keyword_wins_over_its_variable() -> None:
    """Given settings are kept; the rest come from their variables."""
    environ = {"OMEDA_BRAND": "ENV", "OMEDA_APP_ID": "env-app", "OMEDA_INPUT_ID": "env-input"}
    assert with_environment({"brand": "KW", "input_id": None}, environ) == {
        "brand": "KW",
        "app_id": "env-app",
        "input_id": "env-input",
    }


def test_blank_variables_are_unset_and_values_are_stripped() -> None:
    """`export OMEDA_BRAND=` means no brand; a value read from a file loses its newline."""
    environ = {"OMEDA_BRAND": "  ", "OMEDA_APP_ID": " app-1\n", "OMEDA_ENVIRONMENT": "Production "}
    assert with_environment({}, environ) == {"app_id": "app-1", "environment": "production"}


@pytest.mark.parametrize("where", [{"environment": "production"}, {"base_url": FAKE_URL}])
def test_choosing_omeda_explicitly_ignores_both_where_variables(where: dict[str, str]) -> None:
    """A keyword for environment or base_url is never redirected by OMEDA_BASE_URL (or
    OMEDA_ENVIRONMENT) left over in the shell."""
    environ = {"OMEDA_BASE_URL": "http://127.0.0.1:1", "OMEDA_ENVIRONMENT": "staging"}
    assert with_environment(where, environ) == where


async def test_from_env_follows_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env: variables fill in what is not passed; an explicit environment beats
    OMEDA_BASE_URL; blank variables are unset."""
    monkeypatch.setenv("OMEDA_BRAND", "ENVBRAND")
    monkeypatch.setenv("OMEDA_APP_ID", " env-app\n")
    monkeypatch.setenv("OMEDA_INPUT_ID", "")
    monkeypatch.setenv("OMEDA_BASE_URL", FAKE_URL)
    async with OmedaClient.from_env() as to_fake:
        assert (to_fake.brand, to_fake.base_url) == ("ENVBRAND", FAKE_URL)
        assert "input_id=None" in repr(to_fake)
    async with OmedaClient.from_env(environment="production") as to_omeda:
        assert to_omeda.base_url == "https://ows.omeda.com"


async def test_the_constructor_reads_only_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """OmedaClient(...) sends where its arguments say, whatever OMEDA_BASE_URL says;
    its credentials still fall back to the environment."""
    monkeypatch.setenv("OMEDA_APP_ID", "env-app")
    monkeypatch.setenv("OMEDA_BASE_URL", FAKE_URL)
    monkeypatch.setenv("OMEDA_BRAND", "ENVBRAND")
    async with OmedaClient(brand="ABC") as client:
        assert (client.brand, client.base_url) == ("ABC", "https://ows.omedastaging.com")


def test_a_blank_app_id_variable_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """OMEDA_APP_ID set to spaces is no app id: the error names the variable."""
    monkeypatch.setenv("OMEDA_APP_ID", "   ")
    with pytest.raises(ValueError, match="OMEDA_APP_ID"):
        OmedaClient(brand="ABC")
