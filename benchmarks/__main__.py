"""Run the benchmarks, print their tables and goals, write benchmarks/results.json.

Exit status 0 unless a benchmark crashed: a missed goal is reported as MISS,
never as a failure (the machine is shared and noisy; CI runs ``--quick`` as a
smoke test).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from . import bulk, fake, fleet, payload, polling, scale, throughput
from ._common import Section, Table, machine

BENCHMARKS: dict[str, Callable[[bool], Section]] = {
    "payload": payload.run,
    "fake": fake.run,
    "throughput": throughput.run,
    "polling": polling.run,
    "scale": scale.run,
    "bulk": bulk.run,
    "fleet": fleet.run,
}
RESULTS = Path(__file__).with_name("results.json")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; 0 unless one crashed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, < 60 s")
    parser.add_argument(
        "--only",
        choices=sorted(BENCHMARKS),
        action="append",
        help="run only this benchmark (repeatable)",
    )
    args = parser.parse_args(argv)
    chosen = args.only or list(BENCHMARKS)
    host = machine()
    print(
        f"{'quick' if args.quick else 'full'} run on {host['nproc']} x {host['cpu']}, "
        f"Python {host['python']}\n",
        flush=True,
    )
    sections: list[Section] = []
    crashed: list[str] = []
    for name in chosen:
        started = time.perf_counter()
        try:
            section = BENCHMARKS[name](args.quick)
        except Exception:
            traceback.print_exc()
            crashed.append(name)
            continue
        elapsed = time.perf_counter() - started
        section = Section(section.name, section.tables, section.goals, section.data, elapsed)
        sections.append(section)
        for table in section.tables:
            print(table.markdown() + "\n", flush=True)
    goals = Table(
        "Goals",
        ["goal", "measured", "target", "result"],
        [goal.row() for s in sections for goal in s.goals],
    )
    print(goals.markdown())
    print(
        f"\n{'quick' if args.quick else 'full'} run: "
        + ", ".join(f"{s.name} {s.seconds:.0f} s" for s in sections)
    )
    RESULTS.write_text(
        json.dumps(
            {
                "machine": host,
                "quick": args.quick,
                "sections": {s.name: s.to_json() for s in sections},
                "crashed": crashed,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
