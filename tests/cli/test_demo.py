"""`demo`: the whole flow on an in-process FakeOmeda, checked against the fake's records."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

from rich.console import Console

from omeda_async import Outcome, validate
from omeda_async.cli import EXIT_OK
from omeda_async.cli._demo import demo_fake, run_demo
from omeda_async.cli._sample import MERGED_CUSTOMERS, TEST_CARD, sample_records

from .conftest import Cli, finish


def _consoles() -> tuple[Console, Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=100), Console(file=io.StringIO()), text


async def test_demo_summary_matches_fakeomedas_records() -> None:
    """Every record is accounted for once, and each queued one's outcome is the final status
    FakeOmeda itself gave it; invalid rows were never sent."""
    count = 60
    async with demo_fake(seed=5, time_scale=3000) as fake:
        out, err, text = _consoles()
        report = await run_demo(fake, count=count, seed=5, out=out, err=err)
        expected = Counter(
            tx.scenario.final.status.outcome.value for tx in fake.transactions.values()
        )
        assert report.problems == ()
        assert sum(report.outcomes.values()) == count
        tracked = {k: v for k, v in report.outcomes.items() if k not in ("rejected", "unknown")}
        assert tracked == dict(expected)
        assert set(report.transactions) == set(fake.transactions)
        for tid, result in report.transactions.items():
            assert result.status == fake.transactions[tid].scenario.final.status
        assert fake.duplicates() == []
        invalid = sum(1 for r in sample_records(count, seed=5) if r.broken is not None)
        assert report.outcomes["rejected"] == invalid
        merged = sum(1 for r in sample_records(count, seed=5) if r.merged)
        assert report.merges_followed == merged
    printed = text.getvalue()
    for heading in ("Outcomes", "Time per stage", "Example failures", "Checked against FakeOmeda"):
        assert heading in printed
    assert str(report.outcomes[Outcome.SUCCEEDED.value]) in printed


async def test_demo_command_exits_0_with_its_summary(cli: Cli) -> None:
    """`omeda-async demo` as a user runs it: exit 0, the tables on stdout, progress on stderr,
    and no card number anywhere."""
    process = await cli.spawn("demo", "--count", "40", "--seed", "3", "--time-scale", "3000")
    result = await finish(process)
    assert result.code == EXIT_OK, result.err
    for heading in ("Outcomes", "Time per stage", "Example failures"):
        assert heading in result.out
    assert "every final status matches" in " ".join(result.out.split())
    assert "read 40/40" in result.err
    assert TEST_CARD not in result.out + result.err


def test_sample_records_are_realistic_and_broken_on_purpose() -> None:
    """The generator is deterministic; valid records pass validation, broken ones fail it,
    some pay by the documented test card, some name merged customers."""
    today = dt.date(2025, 1, 15)
    first = list(sample_records(200, seed=9, today=today))
    again = list(sample_records(200, seed=9, today=today))
    assert [r.payload for r in first] == [r.payload for r in again]
    broken = [r for r in first if r.broken is not None]
    merged = [r for r in first if r.merged]
    assert len(broken) == 6
    assert len(merged) == 4
    for record in first:
        violations = validate(record.payload)
        assert bool(violations) == (record.broken is not None), (record.broken, violations)
    assert all(r.payload.omeda_customer_id in MERGED_CUSTOMERS for r in merged)
    billing = [r.payload.billing_information for r in first if r.payload.billing_information]
    assert any(b.credit_card_number == TEST_CARD for b in billing)
    assert any(b.credit_card_number is None for b in billing)  # "bill me"
    assert all(TEST_CARD not in repr(b) for b in billing)
