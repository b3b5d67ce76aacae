"""pytest plugin: the ``omeda_fake`` fixture, a started ``FakeOmeda`` per test.

Installed with omeda_async (entry point ``pytest11``), so every pytest run of
anyone who installs the package loads this module. It therefore imports
nothing heavy at load time and does not need pytest-asyncio: the async
fixture is defined only when ``pytest_asyncio`` can be imported (it is made
with ``pytest_asyncio.fixture``). Without pytest-asyncio the
``omeda_fake`` marker is still registered, and the fixture is simply absent.

Use::

    @pytest.mark.omeda_fake(scenario="existing_customer", seed=7)
    async def test_signup(omeda_fake):
        async with omeda_fake.client() as client:
            ...

Any ``FakeOmeda`` keyword argument can go in the marker. Unless the marker
gives a ``time_scale`` or a ``clock``, the fixture's clock runs
:data:`FIXTURE_TIME_SCALE` times faster than real time (an hour a second), so a
test never waits on Omeda's minutes: a record's 15-30 minutes take a quarter
to half a second, and a record held for a person reaches the poller's 2-hour
deadline in 2 seconds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from omeda_async.testing._server import FakeOmeda

__all__ = ["FIXTURE_TIME_SCALE", "pytest_configure"]

FIXTURE_TIME_SCALE: Final = 3600.0
"""The ``omeda_fake`` fixture's clock when the marker sets none: an hour of Omeda a second."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``omeda_fake`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "omeda_fake(**options): FakeOmeda keyword arguments for the omeda_fake fixture",
    )


if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def omeda_fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeOmeda]:
        """A started ``FakeOmeda``, closed after the test.

        Options come from the closest ``@pytest.mark.omeda_fake(...)`` marker;
        its clock runs ``FIXTURE_TIME_SCALE`` (3600) times faster unless the
        marker says otherwise.
        """
        from omeda_async.testing._server import FakeOmeda

        marker = request.node.get_closest_marker("omeda_fake")
        options = dict(marker.kwargs) if marker is not None else {}
        if "time_scale" not in options and "clock" not in options:
            options["time_scale"] = FIXTURE_TIME_SCALE
        async with FakeOmeda(**options) as fake:
            yield fake

    __all__ += ["omeda_fake"]
