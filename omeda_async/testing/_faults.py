"""Fault injection for FakeOmeda: the failures a client of Omeda must survive.

Faults are chosen per request, either from a scripted sequence (consumed one
entry per matching request, ``None`` meaning "answer normally") or, when the
script is empty, drawn at the configured rates from a seeded ``random.Random``.
``services``/``methods`` limit which requests faults apply to; the script and
the rates obey the same limits.

Some faults answer before the request is handled (nothing is queued): 429,
500, 503. The others happen after it was handled, as in real life: a dropped
connection after the body was read, a slow answer, an HTML page or a truncated
JSON body all leave a POSTed transaction queued.
"""

from __future__ import annotations

import enum
import random
from collections import Counter, deque
from collections.abc import Collection, Mapping

__all__ = ["SERVICES", "FaultKind", "Faults"]

SERVICES = frozenset(
    {"storecustomerandorder", "orderqueue", "transaction", "orderissuehistory", "runprocessor"}
)
"""The service names faults can be limited to (``transaction`` is Transaction Lookup)."""


class FaultKind(enum.StrEnum):
    """What can go wrong with one request."""

    RATE_LIMIT = "rate_limit"
    """429 with ``Retry-After``; the request is not handled."""
    SERVER_ERROR = "server_error"
    """500; the request is not handled."""
    UNAVAILABLE = "unavailable"
    """503 with ``Retry-After``; the request is not handled."""
    DROP = "drop"
    """The connection is dropped after the body was read; a POST IS queued first."""
    SLOW = "slow"
    """The answer is held ``slow_seconds`` real seconds (client timeouts fire); handled."""
    MALFORMED = "malformed"
    """200 with an HTML body instead of JSON; handled."""
    TRUNCATED = "truncated"
    """200 with the JSON answer cut in half; handled."""

    @property
    def before_handling(self) -> bool:
        """True for faults that answer instead of handling the request (429, 500, 503)."""
        return self in _BEFORE


_BEFORE = frozenset({FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE})


def _kind(value: str | FaultKind) -> FaultKind:
    try:
        return FaultKind(value)
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"unknown fault kind {value!r}; known: {known}") from None


class Faults:
    """Which faults FakeOmeda injects, and a count of those it did.

    ``rates`` maps a kind to the probability of injecting it on each matching
    request (their sum must be at most 1); ``services`` (names from
    :data:`SERVICES`) and ``methods`` (``"GET"``, ``"POST"``) limit the
    requests faults apply to (``None``: all). ``retry_after`` is the
    ``Retry-After`` seconds of 429/503 answers; ``slow_seconds`` how long a
    slow answer is held, in real seconds. ``injected`` counts injected faults
    per kind.
    """

    def __init__(
        self,
        *,
        rates: Mapping[str, float] | None = None,
        services: Collection[str] | None = None,
        methods: Collection[str] | None = None,
        retry_after: float = 1.0,
        slow_seconds: float = 5.0,
        seed: int | None = None,
    ) -> None:
        if not retry_after >= 0:
            raise ValueError(f"retry_after must be >= 0, not {retry_after!r}")
        if not slow_seconds >= 0:
            raise ValueError(f"slow_seconds must be >= 0, not {slow_seconds!r}")
        self.retry_after = float(retry_after)
        self.slow_seconds = float(slow_seconds)
        self.injected: Counter[FaultKind] = Counter()
        self._rng = random.Random(seed)
        self._script: deque[FaultKind | None] = deque()
        self._rates: tuple[tuple[FaultKind, float], ...] = ()
        self._services: frozenset[str] | None = None
        self._methods: frozenset[str] | None = None
        self.configure(rates=rates or {}, services=services, methods=methods)

    def __repr__(self) -> str:
        rates = {str(kind): rate for kind, rate in self._rates}
        return (
            f"Faults(rates={rates!r}, services={self._services and sorted(self._services)!r}, "
            f"methods={self._methods and sorted(self._methods)!r}, scripted={len(self._script)})"
        )

    def configure(
        self,
        *,
        rates: Mapping[str, float] | None = None,
        services: Collection[str] | None = None,
        methods: Collection[str] | None = None,
    ) -> None:
        """Replace the rates and the service/method limits (``None`` limits: all requests)."""
        parsed = tuple((_kind(kind), float(rate)) for kind, rate in (rates or {}).items())
        if any(not 0 <= rate <= 1 for _, rate in parsed) or sum(r for _, r in parsed) > 1:
            raise ValueError("fault rates must each be in [0, 1] and add up to at most 1")
        if services is not None:
            unknown = set(services) - SERVICES
            if unknown:
                raise ValueError(f"unknown services {sorted(unknown)}; known: {sorted(SERVICES)}")
        self._rates = tuple((kind, rate) for kind, rate in parsed if rate > 0)
        self._services = None if services is None else frozenset(services)
        self._methods = None if methods is None else frozenset(m.upper() for m in methods)

    def script(self, *kinds: str | FaultKind | None) -> None:
        """Queue faults for the next matching requests, one each; ``None`` answers normally.

        ``fake.faults.script("rate_limit", None, "server_error")``: the next
        matching request gets a 429, the one after it is answered normally,
        the third gets a 500. Scripted entries go before the rates.
        """
        self._script.extend(None if kind is None else _kind(kind) for kind in kinds)

    @property
    def rates(self) -> dict[FaultKind, float]:
        """The rate of each fault kind injected at random (kinds at 0 left out)."""
        return dict(self._rates)

    @property
    def scripted(self) -> int:
        """How many scripted entries are still waiting."""
        return len(self._script)

    def clear(self) -> None:
        """Drop the script and the rates (the injected counts stay)."""
        self._script.clear()
        self._rates = ()

    def choose(self, service: str, method: str) -> FaultKind | None:
        """The fault for one request to ``service`` with ``method``, counted if any."""
        if (self._services is not None and service not in self._services) or (
            self._methods is not None and method not in self._methods
        ):
            return None
        kind: FaultKind | None = None
        if self._script:
            kind = self._script.popleft()
        elif self._rates:
            point = self._rng.random()
            for candidate, rate in self._rates:
                if point < rate:
                    kind = candidate
                    break
                point -= rate
        if kind is not None:
            self.injected[kind] += 1
        return kind
