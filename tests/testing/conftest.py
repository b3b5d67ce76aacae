"""Helpers for testing FakeOmeda itself: a manual clock and a raw HTTP caller."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from omeda_async.testing import FakeOmeda


class ManualClock:
    """A clock that moves only when told to: ``advance()``, or ``sleep()`` advancing it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __repr__(self) -> str:
        return f"ManualClock(t={self.t})"

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


@attrs.frozen
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    def errors(self) -> list[str]:
        return [item["Error"] for item in self.json()["Errors"]]


class Raw:
    """Plain aiohttp requests to a fake, with its credentials unless told otherwise."""

    def __init__(self, fake: FakeOmeda, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    @property
    def base(self) -> str:
        return f"{self.fake.url}/webservices/rest/brand/{self.fake.brand}"

    def headers(self, *, app_id: str | None = "", input_id: str | None = "") -> dict[str, str]:
        headers = {"content-type": "application/json"}
        app = self.fake.app_id if app_id == "" else app_id
        inp = self.fake.input_id if input_id == "" else input_id
        if app is not None:
            headers["x-omeda-appid"] = app
        if inp is not None:
            headers["x-omeda-inputid"] = inp
        return headers

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        absolute: bool = False,
    ) -> Answer:
        url = path if absolute else self.base + path
        data = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        async with self.session.request(
            method, url, data=data, headers=dict(headers or self.headers())
        ) as response:
            return Answer(response.status, dict(response.headers), await response.text())

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return await self.request("POST", path, body, **kwargs)

    async def submit(self, body: Mapping[str, Any] | None = None, **kwargs: Any) -> int:
        answer = await self.post("/storecustomerandorder/*", dict(body or {"FirstName": "Jane"}))
        assert answer.status == 200, answer.text
        return int(answer.json()["ResponseInfo"][0]["TransactionId"])

    async def lookup(self, transaction_id: int) -> Answer:
        return await self.get(f"/transaction/{transaction_id}/*")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[FakeOmeda]:
    """A FakeOmeda on the manual clock; options from ``@pytest.mark.omeda_fake(...)``."""
    marker = request.node.get_closest_marker("omeda_fake")
    options: dict[str, Any] = {"clock": clock, "seed": 1}
    if marker is not None:
        options.update(marker.kwargs)
    async with FakeOmeda(**options) as started:
        yield started


@pytest.fixture
def raw(fake: FakeOmeda, session: aiohttp.ClientSession) -> Raw:
    return Raw(fake, session)


@pytest.fixture
def raw_for(session: aiohttp.ClientSession) -> Callable[[FakeOmeda], Raw]:
    """Raw callers for fakes a test starts itself."""
    return lambda fake: Raw(fake, session)


def run_python(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd``, as a user would run it: none of this run's pytest or
    OMEDA_ variables, output captured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OMEDA_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_user_suite(directory: Path) -> subprocess.CompletedProcess[str]:
    """pytest on a user's own test directory, with the installed plugin and strict markers."""
    return run_python(
        "-m", "pytest", "-p", "no:cacheprovider", "-q", "--strict-markers", cwd=directory
    )
