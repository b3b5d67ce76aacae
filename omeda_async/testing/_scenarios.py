"""Status paths for FakeOmeda: how a queued transaction moves through Omeda's codes.

Omeda's Transaction Lookup page lists the codes a record passes through
(``StatusCode``); a real queue takes 15-30 minutes. A :class:`Scenario` is a
sequence of :class:`Step` (a code and how many fake-clock seconds it lasts); its
last step is final and lasts forever. A transaction's status at time ``t`` is a
pure function of its creation time and its path (a binary search over the
cumulative step ends), so the fake needs no timer or task per transaction.

Named scenarios (:data:`SCENARIOS`) cover every outcome the page allows; a
:class:`Mix` draws one per submission with a seeded ``random.Random``, with
realistic per-step durations.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeAlias

import attrs

from omeda_async._status import DEFAULT_TERMINAL, Stage, StatusCode

__all__ = [
    "SCENARIOS",
    "Mix",
    "Scenario",
    "ScenarioLike",
    "Step",
    "StepLike",
]


_CUSTOMER_KNOWN = frozenset({30, 31, 36, 37})
_CUSTOMER_KNOWN_STAGES = frozenset({Stage.SOURCE_PRIORITIZATION, Stage.MIGRATION, Stage.ERD})


def _to_status(value: int | StatusCode) -> StatusCode:
    return StatusCode(int(value))


def _to_errors(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


@attrs.frozen
class Step:
    """One status on a path: ``status`` shown for ``seconds`` of fake-clock time.

    ``errors`` are the transaction errors the lookup shows while this step is
    current (Transaction Lookup: "an error found in the transaction").
    """

    status: StatusCode = attrs.field(converter=_to_status)
    seconds: float = attrs.field(default=0.0, converter=float, validator=_non_negative)
    errors: tuple[str, ...] = attrs.field(default=(), converter=_to_errors)


StepLike: TypeAlias = Step | StatusCode | int | tuple[int, float] | tuple[int, float, Iterable[str]]
"""A step as a ``Step``, a bare code (lasting 0 s), or ``(code, seconds[, errors])``."""


def _to_step(value: StepLike) -> Step:
    if isinstance(value, Step):
        return value
    if isinstance(value, int):
        return Step(value)
    if len(value) == 2:
        return Step(value[0], value[1])
    return Step(value[0], value[1], value[2])


def _to_steps(value: Iterable[StepLike]) -> tuple[Step, ...]:
    steps = tuple(_to_step(item) for item in value)
    if not steps:
        raise ValueError("a scenario needs at least one step")
    return steps


@attrs.frozen
class Scenario:
    """A status path: ``steps`` in order; the last one is final and lasts forever.

    ``repeat_error_keys`` renders a step's errors the way Transaction Lookup's
    own example does, as ONE object repeating the ``"Error"`` key
    (``{"Error": "invalid email", "Error": "vulgarity"}``); otherwise each
    error is its own ``{"Error": ...}`` object.
    """

    name: str
    steps: tuple[Step, ...] = attrs.field(converter=_to_steps)
    repeat_error_keys: bool = False
    # Derived once so a lookup is one bisect: where each step ends on the clock.
    _ends: tuple[float, ...] = attrs.field(init=False, repr=False, eq=False)
    _terminal: tuple[bool, ...] = attrs.field(init=False, repr=False, eq=False)
    _customer_from: int | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        ends: list[float] = []
        total = 0.0
        for step in self.steps[:-1]:
            total += step.seconds
            ends.append(total)
        object.__setattr__(self, "_ends", tuple(ends))
        object.__setattr__(
            self, "_terminal", tuple(step.status in DEFAULT_TERMINAL for step in self.steps)
        )
        # Omeda knows the customer once dupe check has decided (30/31/36/37) or
        # any later stage is reached; failure paths never get that far.
        customer_from = next(
            (
                i
                for i, step in enumerate(self.steps)
                if int(step.status) in _CUSTOMER_KNOWN
                or step.status.stage in _CUSTOMER_KNOWN_STAGES
            ),
            None,
        )
        object.__setattr__(self, "_customer_from", customer_from)

    @classmethod
    def named(cls, name: str) -> Scenario:
        """The named scenario ``name`` (a key of :data:`SCENARIOS`)."""
        try:
            return SCENARIOS[name]
        except KeyError:
            known = ", ".join(sorted(SCENARIOS))
            raise ValueError(f"unknown scenario {name!r}; known: {known}") from None

    @classmethod
    def from_steps(
        cls, steps: Iterable[StepLike], *, name: str = "custom", repeat_error_keys: bool = False
    ) -> Scenario:
        """A scenario from ``Step``s, bare codes or ``(code, seconds[, errors])`` tuples."""
        return cls(name, _to_steps(steps), repeat_error_keys=repeat_error_keys)

    @property
    def final(self) -> Step:
        """The last step: where the transaction stays."""
        return self.steps[-1]

    @property
    def total_seconds(self) -> float:
        """Fake-clock seconds from queuing until the final step."""
        return self._ends[-1] if self._ends else 0.0

    @property
    def customer_from(self) -> int | None:
        """Index of the first step at which Omeda knows the customer (None: never)."""
        return self._customer_from

    @property
    def makes_new_customer(self) -> bool:
        """True if the path passes a new-customer code (30, 36, 90, 100)."""
        return any(step.status.is_new_customer for step in self.steps)

    def index_at(self, elapsed: float) -> int:
        """The index of the step current ``elapsed`` seconds after queuing (O(log steps))."""
        return bisect.bisect_right(self._ends, elapsed)

    def status_at(self, elapsed: float) -> StatusCode:
        """The status ``elapsed`` seconds after queuing."""
        return self.steps[bisect.bisect_right(self._ends, elapsed)].status

    def is_terminal_index(self, index: int) -> bool:
        """True if step ``index`` has a terminal code (98-101, 2, 6, 9, 110)."""
        return self._terminal[index]

    def scaled(self, total_seconds: float) -> Scenario:
        """The same path with its durations stretched to ``total_seconds`` in all."""
        if not total_seconds >= 0:
            raise ValueError(f"total_seconds must be >= 0, not {total_seconds!r}")
        current = self.total_seconds
        factor = total_seconds / current if current else 0.0
        steps = [attrs.evolve(s, seconds=s.seconds * factor) for s in self.steps[:-1]]
        return attrs.evolve(self, steps=(*steps, self.final))

    def jittered(self, rng: random.Random, total_seconds: float) -> Scenario:
        """A copy whose step durations vary (0.5x-1.5x each) and add up to ``total_seconds``."""
        weights = [s.seconds * rng.uniform(0.5, 1.5) for s in self.steps[:-1]]
        weight_sum = sum(weights)
        if not weight_sum:
            return self
        steps = [
            attrs.evolve(s, seconds=total_seconds * w / weight_sum)
            for s, w in zip(self.steps[:-1], weights, strict=True)
        ]
        return attrs.evolve(self, steps=(*steps, self.final))


def _resolve(value: str | Scenario) -> Scenario:
    return value if isinstance(value, Scenario) else Scenario.named(value)


def _to_weights(
    value: Mapping[str, float] | Mapping[Scenario, float],
) -> tuple[tuple[Scenario, float], ...]:
    pairs = tuple((_resolve(key), float(weight)) for key, weight in value.items())
    if not pairs:
        raise ValueError("a Mix needs at least one scenario")
    if any(not weight >= 0 for _, weight in pairs) or not sum(w for _, w in pairs) > 0:
        raise ValueError("Mix weights must be >= 0 and add up to more than 0")
    return pairs


def _to_spread(value: tuple[float, float]) -> tuple[float, float]:
    low, high = float(value[0]), float(value[1])
    if not 0 <= low <= high:
        raise ValueError(f"spread must be (min, max) with 0 <= min <= max, not {value!r}")
    return (low, high)


@attrs.frozen(repr=False)
class Mix:
    """A weighted random choice of scenarios, one draw per submission.

    ``Mix({"new_customer": 0.6, "existing_customer": 0.3, "failed_validation": 0.1})``;
    each draw also picks a total processing time uniformly in ``spread``
    (fake-clock seconds; Omeda's queue takes 15-30 minutes) and spreads it
    over the steps with some jitter. Draws come from the fake's seeded
    ``random.Random``, so a seed reproduces the same transactions.
    """

    weights: tuple[tuple[Scenario, float], ...] = attrs.field(converter=_to_weights)
    spread: tuple[float, float] = attrs.field(default=(60.0, 1800.0), converter=_to_spread)

    def __repr__(self) -> str:
        weights = {scenario.name: weight for scenario, weight in self.weights}
        return f"Mix({weights!r}, spread={self.spread!r})"

    def draw(self, rng: random.Random) -> Scenario:
        """Pick a scenario by weight and give it random, realistic step durations."""
        total_weight = sum(weight for _, weight in self.weights)
        point = rng.random() * total_weight
        chosen = self.weights[-1][0]
        for scenario, weight in self.weights:
            if point < weight:
                chosen = scenario
                break
            point -= weight
        return chosen.jittered(rng, rng.uniform(*self.spread))


ScenarioLike: TypeAlias = str | Scenario | Mix | Mapping[str, float] | Sequence[StepLike]
"""A scenario name, a ``Scenario``, a ``Mix`` (or a ``{name: weight}`` mapping), or steps."""


def to_source(value: ScenarioLike) -> Scenario | Mix:
    """Turn what a caller passes as ``scenario=`` into a ``Scenario`` or a ``Mix``."""
    if isinstance(value, Scenario | Mix):
        return value
    if isinstance(value, str):
        return Scenario.named(value)
    if isinstance(value, Mapping):
        return Mix(value)
    return Scenario.from_steps(value)


# Nominal seconds per code: a pipeline of about 13 fake minutes, in line with
# Omeda's "15-30 minutes" for a record; a Mix rescales and jitters them.
_NOMINAL: Mapping[int, float] = MappingProxyType(
    {
        0: 20.0,
        7: 20.0,
        4: 60.0,
        5: 30.0,
        8: 30.0,
        10: 30.0,
        19: 30.0,
        21: 30.0,
        28: 60.0,
        29: 120.0,
        30: 60.0,
        31: 60.0,
        49: 60.0,
        50: 60.0,
        51: 60.0,
        52: 60.0,
        90: 300.0,
        91: 300.0,
    }
)


def _path(
    name: str, codes: Sequence[int], *, errors: Sequence[str] = (), repeat: bool = False
) -> Scenario:
    steps = [Step(code, _NOMINAL.get(code, 30.0)) for code in codes[:-1]]
    steps.append(Step(codes[-1], 0.0, errors))
    return Scenario(name, steps, repeat_error_keys=repeat)


_PIPELINE_HEAD = (7, 8, 10, 19, 21, 28, 29)

SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        s.name: s
        for s in (
            _path("new_customer", (*_PIPELINE_HEAD, 30, 49, 50, 90, 100)),
            _path("existing_customer", (*_PIPELINE_HEAD, 31, 49, 50, 91, 101)),
            _path("partial", (*_PIPELINE_HEAD, 30, 49, 52, 99)),
            _path("failed_source_prioritization", (*_PIPELINE_HEAD, 30, 49, 51, 98)),
            _path(
                "failed_validation",
                (7, 8, 9),
                errors=(
                    "EmailAddress is not valid jsmith@",
                    "The submission contained an invalid PhoneContactType 999",
                ),
            ),
            _path("discarded", (7, 8, 10, 110)),
            _path("payment_failed", (7, 4, 6)),
            # Transaction Lookup's own example: status 2 with one object that
            # repeats "Error".
            _path("excessive_errors", (7, 2), errors=("invalid email", "vulgarity"), repeat=True),
            _path("held_customer", (7, 1)),
            _path("held_oec", (7, 8, 10, 19, 20)),
            _path("held_dupecheck", (*_PIPELINE_HEAD, 35)),
        )
    }
)
"""The named scenarios, by name. Each ends on the code its name says:

- ``new_customer``: 7 ... 10 ... 21 ... 28, 29, 30 ... 49, 50, 90, 100
- ``existing_customer``: ... 31 ... 91, 101
- ``partial``: ... 52, 99; ``failed_source_prioritization``: ... 51, 98
- ``failed_validation``: 7, 8, 9 (with errors); ``discarded``: ... 110
- ``payment_failed``: 7, 4, 6; ``excessive_errors``: 7, 2 (errors in one object)
- ``held_customer``: ... 1; ``held_oec``: ... 20; ``held_dupecheck``: ... 35
"""
