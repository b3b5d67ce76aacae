"""Test doubles and helpers shared by the suite.

A virtual clock, aioresponses for aiohttp 3.14, and the bulk-job helpers used by
the submit_many, crash/resume and cancellation tests.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from omeda_async import MemoryStore, RecordState
from omeda_async.bulk import BulkSummary, SubmissionOutcome
from omeda_async.testing import FakeOmeda, StepLike


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


# --- bulk jobs on FakeOmeda ---------------------------------------------------------

QUICK_PATH: list[StepLike] = [(7, 2.0), (29, 2.0), 100]
"""A status path that ends SUCCEEDED after 4 s of fake time."""


def reversed_keys(value: Any) -> Any:
    """``value`` with every object's keys in reverse order (arrays keep theirs)."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def customer(index: int, **extra: Any) -> dict[str, Any]:
    """A valid storecustomerandorder row, traceable by its FirstName."""
    return {
        "FirstName": f"P{index}",
        "Emails": [{"EmailAddress": f"p{index}@example.com"}],
        **extra,
    }


def queued_by_row(fake: FakeOmeda) -> dict[int, list[int]]:
    """Row index -> the TransactionIds the fake queued for it."""
    rows: dict[int, list[int]] = {}
    for tid, tx in fake.transactions.items():
        name = tx.body.get("FirstName", "")
        if isinstance(name, str) and name.startswith("P"):
            rows.setdefault(int(name[1:]), []).append(tid)
    return rows


def posts(fake: FakeOmeda, service: str = "storecustomerandorder") -> int:
    """POSTs the fake received for ``service``."""
    return sum(1 for r in fake.requests if r.method == "POST" and r.service == service)


async def collect(job: AsyncIterator[SubmissionOutcome]) -> list[SubmissionOutcome]:
    """Every outcome of a job."""
    return [outcome async for outcome in job]


async def drain(job: AsyncIterator[SubmissionOutcome], into: list[SubmissionOutcome]) -> None:
    """Append every outcome of ``job`` to ``into`` (kept when the job raises)."""
    async for outcome in job:
        into.append(outcome)


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], seconds: float = 60.0
) -> None:
    """Wait (real time, bounded) until ``condition()`` holds: an observed state, not a guess."""
    async with asyncio.timeout(seconds):
        while True:
            held = condition()
            if held if isinstance(held, bool) else await held:
                return
            await asyncio.sleep(0.005)


async def accepted_at_least(store: MemoryStore, count: int) -> bool:
    """True once ``store`` holds ``count`` accepted, unfinished records."""
    return len(await store.unfinished()) >= count


def check_accounted(
    outcomes: Sequence[SubmissionOutcome], total: int, summary: BulkSummary
) -> None:
    """One outcome per row, and the summary adds up."""
    assert sorted(o.index for o in outcomes) == list(range(total))
    assert summary.finished
    assert summary.total == total
    assert summary.accepted + summary.skipped + summary.rejected + summary.unknown == total
    assert Counter(o.state for o in outcomes)[RecordState.UNKNOWN] == summary.unknown


CHILD_JOB = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from omeda_async import OmedaClient, SqliteStore

    def rows(path):
        with open(path) as lines:
            for line in lines:
                yield json.loads(line)

    async def main() -> None:
        journal, rows_path = sys.argv[1:]
        async with (
            OmedaClient(brand=os.environ["OMEDA_BRAND"], base_url=os.environ["OMEDA_BASE_URL"])
            as client,
            SqliteStore(journal) as store,
        ):
            async for outcome in client.submit_many(rows(rows_path), concurrency=8, store=store):
                print(outcome.index, outcome.state.value, flush=True)

    asyncio.run(main())
    """
)


def rows_from(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as lines:
        for line in lines:
            yield json.loads(line)
