"""Where the command gets its brand and credentials: flags first, then the environment.

A missing value is named by BOTH its flag and its environment variable; a
credential's value is never printed, in an error, in ``--help`` or in a log.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Final

import attrs

from omeda_async._client import OmedaClient

__all__ = ["ENVIRONMENT_VARIABLES", "ConfigError", "Settings", "settings_from"]

ENVIRONMENT_VARIABLES: Final = {
    "brand": ("--brand", "OMEDA_BRAND"),
    "app_id": ("--app-id", "OMEDA_APP_ID"),
    "input_id": ("--input-id", "OMEDA_INPUT_ID"),
    "environment": ("--environment", "OMEDA_ENVIRONMENT"),
    "base_url": ("--base-url", "OMEDA_BASE_URL"),
}
"""Each setting's flag and environment variable."""

_WHAT: Final = {"brand": "brand", "app_id": "app id", "input_id": "input id"}


class ConfigError(Exception):
    """A usage or configuration problem: the command exits 2 and sends nothing."""


@attrs.frozen(kw_only=True)
class Settings:
    """The resolved configuration; credentials never appear in its repr."""

    brand: str
    app_id: str = attrs.field(repr=lambda _: "'***'")
    input_id: str | None = attrs.field(repr=lambda v: "None" if v is None else "'***'")
    environment: str
    base_url: str | None

    def client(self, *, rate_limit: float | None = None) -> OmedaClient:
        """An ``OmedaClient`` for these settings (ConfigError for values it refuses)."""
        try:
            return OmedaClient(
                brand=self.brand,
                app_id=self.app_id,
                input_id=self.input_id,
                environment=self.environment,
                base_url=self.base_url,
                rate_limit=rate_limit,
            )
        except (TypeError, ValueError) as exc:
            # The client's messages name an argument, never a credential's value.
            raise ConfigError(str(exc)) from exc


def _pick(args: argparse.Namespace, name: str, env: Mapping[str, str]) -> str | None:
    value = getattr(args, name, None)
    if isinstance(value, str) and value.strip():
        return value.strip()
    from_env = env.get(ENVIRONMENT_VARIABLES[name][1], "").strip()
    return from_env or None


def settings_from(
    args: argparse.Namespace,
    *,
    need_input_id: bool = False,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings from parsed flags and the environment.

    Raises ConfigError naming every missing value's flag and variable at once.
    """
    environ = os.environ if env is None else env
    values = {name: _pick(args, name, environ) for name in ENVIRONMENT_VARIABLES}
    required = ["brand", "app_id"] + (["input_id"] if need_input_id else [])
    missing = [name for name in required if values[name] is None]
    if missing:
        named = "; ".join(
            f"missing {_WHAT[name]}: pass {ENVIRONMENT_VARIABLES[name][0]} "
            f"or set {ENVIRONMENT_VARIABLES[name][1]}"
            for name in missing
        )
        raise ConfigError(named)
    environment = (values["environment"] or "staging").lower()
    if environment not in ("staging", "production"):
        raise ConfigError(
            f"environment must be 'staging' or 'production', not {environment!r} "
            "(--environment or OMEDA_ENVIRONMENT)"
        )
    brand, app_id = values["brand"], values["app_id"]
    assert brand is not None
    assert app_id is not None
    return Settings(
        brand=brand,
        app_id=app_id,
        input_id=values["input_id"],
        environment=environment,
        base_url=values["base_url"],
    )
