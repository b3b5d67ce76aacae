"""Chaos soak: a tracked bulk job against a FakeOmeda that fails in every documented way.

Rates per request (POSTs and lookups alike): 5% 503, 3% 429 with Retry-After,
2% 500, 1% connection dropped after the body was read (a POST is queued), 1%
answered slower than the client's timeout (queued too). Each transaction takes
a random path (success, partial, failures, holds). At the end every record is
accounted for, with FakeOmeda's queue as the judge: accepted exactly once (and
tracked to a final outcome), rejected with a reason and never queued, or
reported unknown and queued at most once. Nothing is duplicated, nothing lost.

The default run uses 500 records; ``pytest -m soak -p no:randomly`` runs 20,000.
Both print their figures (records, faults by kind, accepted once, rejected,
unknown, duplicates, lost) to the terminal.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from omeda_async import (
    OmedaError,
    Outcome,
    PollPolicy,
    RecordState,
    SqliteStore,
    SubmissionOutcomeUnknown,
    SubmissionReceipt,
)
from omeda_async.bulk import SubmissionOutcome
from omeda_async.testing import FakeOmeda, Faults, Mix

RATES = {"unavailable": 0.05, "rate_limit": 0.03, "server_error": 0.02, "drop": 0.01, "slow": 0.01}
PATHS = Mix(
    {
        "new_customer": 0.35,
        "existing_customer": 0.2,
        "partial": 0.08,
        "failed_source_prioritization": 0.05,
        "failed_validation": 0.08,
        "discarded": 0.06,
        "payment_failed": 0.05,
        "excessive_errors": 0.04,
        "held_customer": 0.03,
        "held_oec": 0.03,
        "held_dupecheck": 0.03,
    },
    spread=(60.0, 600.0),
)
# Fake seconds; the fake's clock runs TIME_SCALE times faster than real time.
POLICY = PollPolicy(
    initial_delay=5.0,
    multiplier=2.0,
    max_interval=60.0,
    hold_interval=60.0,
    stop_on_hold=True,
    # Far beyond the longest path (600 s): with 10,000 records followed at once the
    # lookups queue up behind each other, and a TIMED_OUT would only measure that.
    deadline=100_000.0,
    not_found_grace=120.0,
)
TIME_SCALE = 500.0
CLIENT_TIMEOUT = 0.5  # real seconds: a slow answer (held SLOW_SECONDS) times out
SLOW_SECONDS = 1.5
FINAL = frozenset(
    {Outcome.SUCCEEDED, Outcome.PARTIAL, Outcome.FAILED, Outcome.HELD, Outcome.TIMED_OUT}
)


def customer(index: int) -> dict[str, Any]:
    """A valid record traceable to its row by FirstName."""
    return {"FirstName": f"S{index}", "Emails": [{"EmailAddress": f"s{index}@example.com"}]}


async def run_soak(records: int, journal: Path, *, seed: int) -> dict[str, Any]:
    """Run the job, check every record, and return the figures."""
    faults = Faults(rates=RATES, retry_after=2.0, slow_seconds=SLOW_SECONDS, seed=seed)
    started = time.perf_counter()
    async with (
        FakeOmeda(
            time_scale=TIME_SCALE, seed=seed, scenario=PATHS, faults=faults, record_bodies=False
        ) as fake,
        fake.client(timeout=CLIENT_TIMEOUT) as client,
        SqliteStore(journal, brand=fake.brand) as store,
    ):
        job = client.submit_many(
            (customer(i) for i in range(records)),
            concurrency=32,
            track=True,
            store=store,
            poll_policy=POLICY,
        )
        outcomes: dict[int, SubmissionOutcome] = {}
        async for outcome in job:
            assert outcome.index not in outcomes, "a record reported twice"
            outcomes[outcome.index] = outcome
        summary = job.summary

        queued: dict[int, list[int]] = {}
        for tid, tx in fake.transactions.items():
            queued.setdefault(int(tx.body["FirstName"][1:]), []).append(tid)
        states: Counter[str] = Counter()
        lost: list[int] = []
        for index in range(records):
            ids = queued.get(index, [])
            if index not in outcomes:
                lost.append(index)
                continue
            outcome = outcomes[index]
            if outcome.state in (RecordState.ACCEPTED, RecordState.FINISHED):
                states["accepted once"] += 1
                assert isinstance(outcome.receipt, SubmissionReceipt)
                assert ids == [outcome.receipt.transaction_id], f"row {index}: {ids}"
                assert outcome.result is not None, f"row {index} has no final outcome"
                assert outcome.result.outcome in FINAL, f"row {index}: {outcome.result.outcome}"
                stored = await store.get(outcome.key) if outcome.key else None
                assert stored is not None
                assert stored.transaction_id == outcome.receipt.transaction_id
            elif outcome.state is RecordState.REJECTED:
                states["rejected"] += 1
                assert isinstance(outcome.error, OmedaError)
                assert str(outcome.error), "rejected without a reason"
                if ids:
                    lost.append(index)  # queued but reported as never queued
            elif outcome.state is RecordState.UNKNOWN:
                states["unknown"] += 1
                assert isinstance(outcome.error, SubmissionOutcomeUnknown)
                assert outcome.error.payload is not None
                assert len(ids) <= 1
            else:
                lost.append(index)
        duplicates = fake.duplicates()
        twice = [index for index, ids in queued.items() if len(ids) > 1]
        assert summary.total == records
        assert summary.accepted + summary.rejected + summary.unknown == records
        # Only records held for a person stay unfinished: resumable once a person acts.
        held = {o.key for o in outcomes.values() if o.result and o.result.outcome is Outcome.HELD}
        assert {record.key for record in await store.unfinished()} == held
        figures: dict[str, Any] = {
            "records": records,
            "faults injected": {str(k): v for k, v in sorted(fake.faults.injected.items())},
            "requests": len(fake.requests),
            "accepted once": states["accepted once"],
            "rejected": states["rejected"],
            "unknown": states["unknown"],
            "unknown but queued": sum(
                1 for i, o in outcomes.items() if o.state is RecordState.UNKNOWN and queued.get(i)
            ),
            "duplicates": len(duplicates) + len(twice),
            "lost": len(lost),
            "tracking outcomes": {str(k): v for k, v in sorted(summary.outcomes.items())},
            "seconds": round(time.perf_counter() - started, 1),
        }
        assert figures["duplicates"] == 0, duplicates[:3]
        assert lost == [], lost[:10]
        assert set(RATES) <= set(figures["faults injected"]), "every fault kind must happen"
        return figures


def report(figures: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """Show the figures even when output is captured."""
    with capsys.disabled():
        print("\nchaos soak:", json.dumps(figures, indent=None, sort_keys=False))


async def test_chaos_soak_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """500 records under every fault: each accepted once, rejected or unknown; none lost."""
    figures = await run_soak(500, tmp_path / "soak.db", seed=8)
    report(figures, capsys)
    assert figures["accepted once"] > 400


@pytest.mark.soak
@pytest.mark.timeout(1800)
async def test_chaos_soak_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """20,000 records under every fault: each accepted once, rejected or unknown; none lost."""
    figures = await run_soak(20_000, tmp_path / "soak.db", seed=20_000)
    report(figures, capsys)
    assert figures["accepted once"] > 19_000
