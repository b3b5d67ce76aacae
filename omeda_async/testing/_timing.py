"""Timing models for FakeOmeda: when a queued record passes through its codes.

A status path (:class:`~._scenarios.Scenario`) says which codes a record shows
and, through its step durations, how long each lasts. A timing model turns the
path drawn for a submission into the path that record actually follows, from
the fake-clock time it was queued. Omeda's pages only say the data is queued
and processed "through a decoupled processing layer" (15-30 minutes, as its
Run Processor page puts it); they give no per-step timing, so two plausible
readings are offered:

- :class:`Spread` (the default): each code after its own pause, as the path's
  durations say (a ``Mix`` jitters them over its ``spread``). Records move
  independently and steadily.
- :class:`Batch`: Omeda's processor runs every ``every`` seconds and takes what
  was queued before the run, in queue order. A record waits at status 0
  (Loaded into Staging) until its run, then passes through its codes within a
  minute. Records queued together move together.

Both are frozen values; a model's choices are a pure function of the queuing
time and the fake's seeded ``random.Random``, so a seed reproduces a run.
"""

from __future__ import annotations

import math
import random
from typing import Any, TypeAlias

import attrs

from omeda_async._status import StatusCode
from omeda_async.testing._scenarios import Scenario, Step

__all__ = ["Batch", "Spread", "TimingModel", "parse_timing"]

_STAGING = StatusCode(0)


@attrs.frozen
class Spread:
    """Each code after its own pause: the drawn path's step durations, unchanged.

    FakeOmeda's default. With a ``Mix`` every record's total processing time is
    drawn from the mix's ``spread`` (60 s to 30 minutes by default) and jittered
    over its steps; a plain ``Scenario`` keeps its nominal durations (about 13
    minutes for ``new_customer``).
    """

    def resolved(self, rng: random.Random) -> Spread:
        """This model with nothing left to draw (a ``Spread`` has nothing to draw)."""
        return self

    def path(self, scenario: Scenario, *, queued_at: float, rng: random.Random) -> Scenario:
        """The path a record queued at ``queued_at`` follows: ``scenario`` itself."""
        return scenario


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"Batch.{attribute.name} must be a positive number, not {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"Batch.{attribute.name} must be >= 0, not {value!r}")


def _finite_or_none(_inst: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is not None and not (isinstance(value, float) and math.isfinite(value)):
        raise ValueError(f"Batch.{attribute.name} must be a number or None, not {value!r}")


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _to_duration(value: tuple[float, float]) -> tuple[float, float]:
    low, high = float(value[0]), float(value[1])
    if not (0 <= low <= high and math.isfinite(high)):
        raise ValueError(f"Batch.duration must be (min, max) with 0 <= min <= max, not {value!r}")
    return (low, high)


@attrs.frozen(kw_only=True)
class Batch:
    """Omeda's queue processed in runs: records wait at 0, then move within a minute.

    - ``every``: fake-clock seconds between processor runs (default 900: every
      15 minutes).
    - ``phase``: the fake-clock time of one run; runs happen at
      ``phase + k * every``. ``None`` (the default): FakeOmeda draws it from
      its seed, uniformly within one period, so a client cannot know it.
    - ``ramp``: a run starts its records in queue order over its first
      ``ramp`` seconds (default 10): the earliest queued starts first.
    - ``duration``: ``(min, max)`` seconds a record takes, once started, to
      pass through the codes of its path (default 5 to 45): with the ramp, a
      run's records all reach their final code within a minute of the run.

    A record queued at ``t`` belongs to the first run strictly after ``t``
    (:meth:`run_after`); until it starts it shows status 0 (Loaded into
    Staging), then its path's codes in their proportions. Run Processor still
    processes a record at once, whatever the model.
    """

    every: float = attrs.field(default=900.0, converter=float, validator=_positive)
    phase: float | None = attrs.field(
        default=None, converter=_optional_float, validator=_finite_or_none
    )
    ramp: float = attrs.field(default=10.0, converter=float, validator=_non_negative)
    duration: tuple[float, float] = attrs.field(default=(5.0, 45.0), converter=_to_duration)

    def resolved(self, rng: random.Random) -> Batch:
        """This model with its ``phase`` drawn from ``rng`` if it was None."""
        if self.phase is not None:
            return self
        return attrs.evolve(self, phase=rng.uniform(0.0, self.every))

    def run_after(self, queued_at: float) -> float:
        """The time of the run that takes a record queued at ``queued_at`` (strictly later)."""
        phase = self.phase if self.phase is not None else 0.0
        return phase + (math.floor((queued_at - phase) / self.every) + 1) * self.every

    def starts_at(self, queued_at: float) -> float:
        """When a record queued at ``queued_at`` leaves status 0: its run, plus its place in it."""
        run = self.run_after(queued_at)
        # Where the record stands in the run's queue, as a fraction of one period:
        # records are taken in the order they were queued.
        place = (queued_at - (run - self.every)) / self.every
        return run + self.ramp * min(max(place, 0.0), 1.0)

    def path(self, scenario: Scenario, *, queued_at: float, rng: random.Random) -> Scenario:
        """The path of a record queued at ``queued_at``: status 0, then ``scenario`` quickly."""
        wait = self.starts_at(queued_at) - queued_at
        quick = scenario.scaled(rng.uniform(*self.duration))
        first, rest = quick.steps[0], quick.steps[1:]
        if first.status == _STAGING:
            steps = (attrs.evolve(first, seconds=first.seconds + wait), *rest)
        else:
            steps = (Step(_STAGING, wait), first, *rest)
        return attrs.evolve(quick, steps=steps)


TimingModel: TypeAlias = Spread | Batch
"""A FakeOmeda timing model: :class:`Spread` or :class:`Batch`."""

_BATCH_FIELDS = ("every", "phase", "ramp", "duration")


def parse_timing(text: str) -> TimingModel:
    """A timing model from its command-line form.

    ``spread``; ``batch``; ``batch:600`` (a run every 600 fake seconds); or
    ``batch:every=600,phase=0,ramp=10,duration=5-45``. Raises ``ValueError``.
    """
    name, _, rest = text.strip().partition(":")
    name = name.strip().lower()
    if name == "spread" and not rest.strip():
        return Spread()
    if name != "batch":
        raise ValueError(f"unknown timing model {text!r}; use spread, batch or batch:SECONDS")
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            key, value = "every", item
        key = key.strip()
        if key not in _BATCH_FIELDS:
            raise ValueError(f"unknown batch option {key!r}; known: {', '.join(_BATCH_FIELDS)}")
        try:
            if key == "duration":
                low, sep, high = value.partition("-")
                options[key] = (float(low), float(high if sep else low))
            else:
                options[key] = float(value)
        except ValueError:
            raise ValueError(f"batch option {key} is not a number: {value!r}") from None
    return Batch(**options)
