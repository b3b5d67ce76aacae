"""Progress while a command runs: the counts of a :class:`Board`, shown by a :class:`Display`.

Each number means one thing wherever it appears (a progress line, the live
display, the summary tables, the final line):

records (``submit``, ``demo``), each counted once:

- ``read``: records read from the input (``/N`` when the total is known);
- ``accepted``: queued by Omeda in this run (a TransactionId came back);
- ``rejected``: never queued (broke a documented rule, or Omeda refused it);
- ``malformed``: input lines that are not one JSON object (never sent);
- ``unknown``: may or may not have been queued (the answer was lost);
- ``skipped``: nothing sent (done before, per the journal, or a duplicate);
- ``sending``: read, with no answer yet (the rest of ``read``).

transactions being followed (``--track``, ``track``, ``demo``):

- ``waiting for first lookup``: queued, not looked up yet;
- a pipeline stage: last seen in that stage;
- ``held``: last seen waiting for a person at Omeda (codes 1, 3, 20, 35-37);
- ``finished``: tracking ended, with its outcome.

``rejected``, ``unknown`` and ``skipped`` are the job's own counts
(``BulkSummary``, whose counting rule lives in one place); ``accepted`` and the
tracking counts come from the store the job writes to (through
:class:`~._observe.ObservedStore`), as soon as each write is made, and the
final ``accepted`` is the job's count too.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from omeda_async import BulkSummary
from omeda_async._status import Outcome, Stage, StatusCode
from omeda_async._store import StoredRecord

from ._render import MEANING, PIPELINE, stage_label

__all__ = [
    "HELD_CODES",
    "RECORD_MEANING",
    "WAITING",
    "Board",
    "Display",
    "clock_time",
    "held_advice",
    "held_note",
]

WAITING: Final = "waiting for first lookup"
"""A tracked transaction that has not been looked up yet."""

HELD_CODES: Final = "1, 3, 20, 35-37"
"""The codes at which a record waits for a person at Omeda."""

_HELD: Final = "held"

RECORD_MEANING: Final = {
    "accepted": "queued by Omeda in this run",
    "rejected": MEANING["rejected"],
    "malformed": "lines that are not one JSON object",
    "unknown": MEANING["unknown"],
    "skipped": "nothing sent: done before (journal) or a duplicate",
}
"""What each record count means, as the summary table says it (in this order)."""

_SHORT: Final = {
    WAITING: "waiting",
    Stage.STAGING: "staging",
    Stage.PAYMENT: "payment",
    Stage.VALIDATION: "valid.",
    Stage.OEC: "OEC",
    Stage.DUPECHECK: "dupe chk",
    Stage.SOURCE_PRIORITIZATION: "src prio",
    Stage.MIGRATION: "migrate",
    Stage.UNKNOWN: "unknown",
    _HELD: "held",
}
"""Column labels of the live display, short enough for 80 columns."""

_ORDER: Final[tuple[str | Stage, ...]] = (WAITING, *PIPELINE, Stage.UNKNOWN, _HELD)

Place = str | Stage
"""Where a tracked transaction is: WAITING, a pipeline stage, or "held"."""


def _place(status: StatusCode | None) -> Place:
    if status is None:
        return WAITING
    if status.outcome is Outcome.HELD:
        return _HELD
    stage = status.stage
    return stage if stage in PIPELINE else Stage.UNKNOWN


def clock_time(seconds: float) -> str:
    """``83.4`` -> ``"83.4s"``; from ten minutes on, ``"12m05s"`` or ``"2h01m"``."""
    if seconds < 600:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _records(count: int, noun: str = "record") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def held_advice(count: int, *, resume: str) -> str:
    """What the summary says of ``count`` records that ended held (the default stop).

    ``resume`` says how to follow them later (a command to run).
    """
    verb = "is" if count == 1 else "are"
    return (
        f"{_records(count)} {verb} held: waiting for a person at Omeda (codes {HELD_CODES}). "
        f"Tracking stops there by default (--stop-on-hold); follow them later with {resume}, "
        "or keep polling them now with --wait-on-hold (until --deadline)."
    )


def held_note(*, deadline: float, journal: str | None) -> str:
    """What is said, once, when a record is first held while ``--wait-on-hold`` polls on."""
    where = f" in the journal {journal}" if journal is not None else ""
    return (
        f"A record is held: waiting for a person at Omeda (codes {HELD_CODES}). With "
        f"--wait-on-hold it is polled until --deadline ({clock_time(deadline)} after "
        f"tracking began); Ctrl-C stops, and held records stay unfinished{where}."
    )


class Board:
    """The live counts of one run (see the module's docstring for what each means).

    Only transactions being tracked are remembered (where each is), so
    memory follows the work in flight, not the size of the input.
    """

    def __init__(
        self, *, total: int | None = None, tracking: bool = False, submitting: bool = True
    ) -> None:
        self.total = total
        self.tracking = tracking
        self.submitting = submitting
        self.read = 0
        self.malformed = 0
        self.summary: Callable[[], BulkSummary] | None = None
        """The job's own counts (set once the job exists)."""
        self._accepted = 0
        self.finished: Counter[Outcome] = Counter()
        self.places: Counter[Place] = Counter()
        self._live: dict[str, Place] = {}
        self._settled: BulkSummary | None = None

    # -- fed by the store observer -----------------------------------------------

    def on_accept(self, key: str) -> None:
        """A record was queued (a TransactionId is stored); tracked from now on, if tracking."""
        if key in self._live:
            return  # the poller registering a record the job has just accepted
        self._accepted += 1
        self._follow(key, None)

    def on_known(self, record: StoredRecord) -> None:
        """An accepted, unfinished record read back from a journal: it is tracked again."""
        if self.tracking and record.key not in self._live:
            self._follow(record.key, record.status)

    def on_status(self, key: str, status: StatusCode) -> None:
        """A tracked transaction's status changed (a terminal one is about to finish)."""
        if not self.tracking or status.is_terminal:
            return
        self._move(key, _place(status))

    def on_finish(self, key: str, outcome: Outcome) -> None:
        """A tracked transaction reached its outcome."""
        previous = self._live.pop(key, None)
        if previous is not None:
            self.places[previous] -= 1
        self.finished[outcome] += 1

    def _follow(self, key: str, status: StatusCode | None) -> None:
        if self.tracking and key not in self._live:
            place = _place(status)
            self._live[key] = place
            self.places[place] += 1

    def _move(self, key: str, place: Place) -> None:
        previous = self._live.get(key)
        if previous is not None:
            self.places[previous] -= 1
        self._live[key] = place
        self.places[place] += 1

    def settle(self, summary: BulkSummary) -> None:
        """The job ended: from now on its final counts are the board's."""
        self._settled = summary

    # -- the numbers ---------------------------------------------------------------

    def _summary(self) -> BulkSummary | None:
        if self._settled is not None:
            return self._settled
        return self.summary() if self.summary is not None else None

    @property
    def accepted(self) -> int:
        """Queued by Omeda in this run."""
        if self._settled is not None:
            return self._settled.accepted
        return self._accepted

    def records(self) -> dict[str, int]:
        """The record counts, in the order they are shown."""
        summary = self._summary()
        rejected = summary.rejected if summary is not None else 0
        unknown = summary.unknown if summary is not None else 0
        skipped = summary.skipped if summary is not None else 0
        accepted = self.accepted
        answered = accepted + rejected + self.malformed + unknown + skipped
        return {
            "read": self.read,
            "accepted": accepted,
            "rejected": rejected,
            "malformed": self.malformed,
            "unknown": unknown,
            "skipped": skipped,
            "sending": max(0, self.read - answered),
        }

    @property
    def answered(self) -> int:
        """Records with an answer: every record count but ``read`` and ``sending``."""
        counts = self.records()
        return counts["read"] - counts["sending"]

    @property
    def held(self) -> int:
        """Tracked transactions last seen waiting for a person at Omeda."""
        return self.places[_HELD]

    @property
    def tracked(self) -> int:
        """Transactions followed in this run: still followed, or finished."""
        return len(self._live) + sum(self.finished.values())

    # -- rendering -----------------------------------------------------------------

    def line(self, elapsed: float) -> str:
        """One plain progress line (for a stderr that is not a terminal)."""
        return f"[{elapsed:6.1f}s] {self.counts()}"

    def counts(self) -> str:
        """The counts as text (a progress line without its time)."""
        sections = []
        if self.submitting:
            counts = self.records()
            total = "" if self.total is None else f"/{self.total}"
            parts = [f"read {counts['read']}{total}", f"accepted {counts['accepted']}"]
            parts += [f"{name} {counts[name]}" for name in list(counts)[2:] if counts[name]]
            sections.append(", ".join(parts))
        if self.tracking:
            where = ", ".join(
                f"{place if isinstance(place, str) else stage_label(place)} {self.places[place]}"
                for place in _ORDER
                if self.places[place]
            )
            sections.append(f"tracking {len(self._live)}" + (f": {where}" if where else ""))
            finished = sum(self.finished.values())
            held = self.finished[Outcome.HELD]
            sections.append(f"finished {finished}" + (f" (held {held})" if held else ""))
        return " | ".join(sections)

    def table(self) -> RenderableType:
        """The counts as small tables, records then tracking (the live display's body)."""

        def grid(columns: list[tuple[str, int]]) -> Table:
            # One space between columns: the pipeline, held and finished fit 80 columns.
            table = Table(box=None, show_header=True, pad_edge=False, padding=(0, 0, 0, 1))
            for name, _ in columns:
                table.add_column(name, justify="right", no_wrap=True)
            table.add_row(*(str(count) for _, count in columns))
            return table

        parts: list[RenderableType] = []
        if self.submitting:
            counts = self.records()
            total = "" if self.total is None else f"/{self.total}"
            columns = [(f"read{total}", counts["read"])]
            columns += [
                (name, count)
                for name, count in list(counts.items())[1:]
                if count or name in ("accepted", "rejected", "sending")
            ]
            parts.append(grid(columns))
        if self.tracking:
            places = [
                (_SHORT[place], self.places[place])
                for place in _ORDER
                if self.places[place] or place not in (Stage.UNKNOWN, _HELD)
            ]
            places.append(("finished", sum(self.finished.values())))
            parts.append(grid(places))
            notes = []
            if self.places[WAITING]:
                notes.append("waiting: queued, not looked up yet")
            if self.held:
                notes.append(f"held: waiting for a person at Omeda ({HELD_CODES})")
            if self.finished[Outcome.HELD]:
                notes.append(
                    f"finished held {self.finished[Outcome.HELD]}: "
                    f"ended waiting for a person at Omeda ({HELD_CODES})"
                )
            if notes:
                parts.append(Text("\n".join(notes), style="dim"))
        return Group(*parts)


class Display:
    """Shows a :class:`Board` on stderr while a job runs.

    On a terminal: a rich ``Live`` with the bars of what the user waits for
    (records submitted; transactions finished) and the counts. Otherwise: a
    plain line when the counts changed (at most every ``interval`` seconds), at
    least every ``heartbeat`` seconds while nothing changes (a record held for a
    person can take hours), and one at the end. Nothing with ``-q`` (a quiet
    console). Use as a context manager inside the event loop; call
    :meth:`refresh` when counts change, :meth:`note` for a line worth saying once.
    """

    def __init__(
        self,
        console: Console,
        board: Board,
        *,
        title: str,
        interval: float = 2.0,
        heartbeat: float = 60.0,
    ) -> None:
        self._console = console
        self._board = board
        self._title = title
        self._interval = interval
        self._heartbeat = heartbeat
        self._started = time.monotonic()
        self._last_line = -math.inf
        self._last_counts = ""
        self._live: Live | None = None
        self._progress: Progress | None = None
        self._bars: dict[str, Any] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.held_note: str | None = None
        """Said once, when a tracked record is first seen held (``--wait-on-hold``)."""

    @property
    def elapsed(self) -> float:
        """Real seconds since the display started: the run's elapsed time."""
        return time.monotonic() - self._started

    def __enter__(self) -> Display:
        self._started = time.monotonic()
        if self._console.quiet:
            return self
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
            )
            if self._board.submitting:
                self._bars["submitted"] = self._progress.add_task("submitted", total=None)
            if self._board.tracking:
                self._bars["finished"] = self._progress.add_task("finished", total=None)
            self._live = Live(
                self._renderable(),
                console=self._console,
                refresh_per_second=8,
                transient=False,
                get_renderable=self._renderable,
            )
            self._live.__enter__()
        else:
            self._console.print(f"{self._title} ...", soft_wrap=True)
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        elif not self._console.quiet and self._board.counts() != self._last_counts:
            self._print(self.elapsed)

    def _renderable(self) -> RenderableType:
        board = self._board
        if self._progress is None:
            return board.table()
        if "submitted" in self._bars:
            # Until the input's size is known, what was read so far is the whole.
            total = board.total if board.total is not None else board.read
            self._progress.update(self._bars["submitted"], completed=board.answered, total=total)
        if "finished" in self._bars:
            self._progress.update(
                self._bars["finished"],
                completed=sum(board.finished.values()),
                total=board.tracked,
            )
        return Group(self._progress, board.table())

    async def _tick(self) -> None:
        # Lines come from events; this catches the changes after the last one
        # and keeps a quiet job visibly alive. Twice an interval, so a change
        # just after a line is shown one interval later, not two.
        while True:
            await asyncio.sleep(self._interval / 2)
            self.refresh()

    def _print(self, elapsed: float) -> None:
        self._last_line = elapsed
        self._last_counts = self._board.counts()
        self._console.print(self._board.line(elapsed), soft_wrap=True)

    def refresh(self) -> None:
        """Counts may have changed: a plain line if one is due (a live display redraws itself)."""
        if self.held_note is not None and self._board.held:
            self.note(self.held_note)
            self.held_note = None
        if self._live is not None or self._console.quiet:
            return
        elapsed = self.elapsed
        since = elapsed - self._last_line
        if since >= self._heartbeat or (
            since >= self._interval and self._board.counts() != self._last_counts
        ):
            self._print(elapsed)

    def note(self, text: str) -> None:
        """Say ``text`` once, above a live display or between progress lines."""
        if self._console.quiet:
            return
        self._console.print(Text(text, style="yellow"), soft_wrap=True)
