"""Where the command gets its brand and credentials: flags first, then the environment.

The rule is the library's (``omeda_async._environment``): a flag wins, then
its ``OMEDA_*`` variable when set and not blank, then the default; choosing
which Omeda with ``--environment`` or ``--base-url`` ignores both
``OMEDA_ENVIRONMENT`` and ``OMEDA_BASE_URL``. The client itself is made by
``OmedaClient.from_env`` with the flags as its keyword arguments, so the
command and the library can never disagree.

A missing value is named by BOTH its flag and its environment variable; a
credential's value is never printed, in an error, in ``--help`` or in a log.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Final

import attrs

from omeda_async._client import OmedaClient
from omeda_async._environment import ENVIRONMENT_VARIABLES as _VARIABLES
from omeda_async._environment import with_environment
from omeda_async._ratelimit import RateLimiter

__all__ = ["ENVIRONMENT_VARIABLES", "ConfigError", "Settings", "settings_from"]

ENVIRONMENT_VARIABLES: Final = {
    name: ("--" + name.replace("_", "-"), variable) for name, variable in _VARIABLES.items()
}
"""Each setting's flag and environment variable."""

_WHAT: Final = {"brand": "brand", "app_id": "app id", "input_id": "input id"}
_SECRETS: Final = frozenset({"app_id", "input_id"})


class ConfigError(Exception):
    """A usage or configuration problem: the command exits 2 and sends nothing."""


def _masked(options: Mapping[str, Any]) -> str:
    shown = {name: "***" if name in _SECRETS else value for name, value in options.items()}
    return repr(shown)


@attrs.frozen(kw_only=True)
class Settings:
    """What the flags and the environment say; credentials never appear in its repr.

    ``options`` are ``OmedaClient`` keyword arguments, already completed from
    the environment by the library's rule.
    """

    options: Mapping[str, Any] = attrs.field(repr=_masked)
    allow_insecure: bool = False

    @property
    def brand(self) -> str:
        """The brand abbreviation (journals are kept per brand)."""
        brand: str = self.options["brand"]
        return brand

    def client(self, *, rate_limit: float | RateLimiter | None = None) -> OmedaClient:
        """An ``OmedaClient`` for these settings (ConfigError for values it refuses)."""
        try:
            return OmedaClient.from_env(
                **self.options, rate_limit=rate_limit, allow_insecure=self.allow_insecure
            )
        except (TypeError, ValueError) as exc:
            # The client's messages name an argument, never a credential's value.
            raise ConfigError(str(exc)) from exc


def _flag(args: argparse.Namespace, name: str) -> str | None:
    value = getattr(args, name, None)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def settings_from(args: argparse.Namespace, *, need_input_id: bool = False) -> Settings:
    """Resolve the settings from parsed flags and the environment.

    Raises ConfigError naming every missing value's flag and variable at once.
    """
    flags = {name: _flag(args, name) for name in ENVIRONMENT_VARIABLES}
    options = with_environment(flags)
    required = ["brand", "app_id"] + (["input_id"] if need_input_id else [])
    missing = [name for name in required if name not in options]
    if missing:
        named = "; ".join(
            f"missing {_WHAT[name]}: pass {ENVIRONMENT_VARIABLES[name][0]} "
            f"or set {ENVIRONMENT_VARIABLES[name][1]}"
            for name in missing
        )
        raise ConfigError(named)
    environment = options.get("environment", "staging")
    if environment not in ("staging", "production"):
        raise ConfigError(
            f"environment must be 'staging' or 'production', not {environment!r} "
            "(--environment or OMEDA_ENVIRONMENT)"
        )
    return Settings(options=options, allow_insecure=bool(getattr(args, "allow_insecure", False)))
