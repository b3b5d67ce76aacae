"""The one rule for configuration from the environment, shared by the library and the CLI.

A setting given in code (a keyword of ``OmedaClient.from_env``) or on the
command line (a flag) wins; otherwise its ``OMEDA_*`` variable, when set and
not blank (surrounding whitespace dropped); otherwise the client's default.
Choosing which Omeda to call (``environment`` or ``base_url``) ignores both
``OMEDA_ENVIRONMENT`` and ``OMEDA_BASE_URL``: an explicit choice is never
redirected by a variable left over in the shell (a FakeOmeda's URL, say).

``OmedaClient(...)`` itself reads only the credentials this way; where it
sends is always what its arguments say. ``from_env`` and the ``omeda-async``
command both complete their settings with :func:`with_environment`, so the
two cannot disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ENVIRONMENT_VARIABLES", "variable", "with_environment"]

ENVIRONMENT_VARIABLES: Final[Mapping[str, str]] = {
    "brand": "OMEDA_BRAND",
    "app_id": "OMEDA_APP_ID",
    "input_id": "OMEDA_INPUT_ID",
    "environment": "OMEDA_ENVIRONMENT",
    "base_url": "OMEDA_BASE_URL",
}
"""Each setting the environment can supply, and its variable."""

_WHERE: Final = ("environment", "base_url")


def variable(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of setting ``name``'s variable, stripped; None when unset or blank."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLES[name], "")
    return value.strip() or None


def with_environment(
    given: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``given`` (``OmedaClient`` keyword arguments) completed from the environment.

    A setting counts as given unless it is None. Settings neither given nor in
    the environment are left out, for the client's defaults (or its error,
    for a missing brand or app id). ``OMEDA_ENVIRONMENT`` is read in any case.
    """
    options = {name: value for name, value in given.items() if value is not None}
    explicit_where = any(name in options for name in _WHERE)
    for name in ENVIRONMENT_VARIABLES:
        if name in options or (explicit_where and name in _WHERE):
            continue
        value = variable(name, environ)
        if value is not None:
            options[name] = value.lower() if name == "environment" else value
    return options
