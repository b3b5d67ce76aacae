"""Test doubles shared by the suite: a virtual clock and aioresponses for aiohttp 3.14."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import aiohttp
from aioresponses import CallbackResult, aioresponses
from yarl import URL


class _Response(aiohttp.ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.14's ``stream_writer`` (aioresponses#289)."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class MockedHttp(aioresponses):  # type: ignore[misc]
    """aioresponses building responses aiohttp 3.14 accepts, plus call lookups."""

    def add(self, url: Any, method: str = "GET", *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _Response)
        super().add(url, method, *args, **kwargs)

    def calls(self, method: str, url: str) -> list[Any]:
        return list(self.requests.get((method, URL(url)), []))

    def total(self) -> int:
        return sum(len(calls) for calls in self.requests.values())


def reply(status: int = 200, payload: Any = None, **kwargs: Any) -> CallbackResult:
    """A callback answer built with the aiohttp-3.14-safe response class."""
    return CallbackResult(status=status, payload=payload, response_class=_Response, **kwargs)


class VirtualClock:
    """Virtual time that never really waits: ``sleep`` records the wait, yields once,
    then moves time to the wake-up (never backwards, so concurrent sleepers agree)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.t + max(0.0, seconds)
        await asyncio.sleep(0)
        self.t = max(self.t, wake)
