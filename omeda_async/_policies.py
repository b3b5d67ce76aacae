"""Retry and polling policies: frozen, keyword-only data, changed with ``attrs.evolve``.

The defaults suit production Omeda, whose queue processes a record in 15-30
minutes; tests and the fake server use shorter numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ._status import DEFAULT_TERMINAL, StatusCode

__all__ = ["RETRY_AFTER_CAP", "PollPolicy", "RetryPolicy"]

RETRY_AFTER_CAP = 120.0
"""A server's ``Retry-After`` wins over the computed delay, up to this many seconds."""


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def _to_terminal(value: Iterable[int] | None) -> frozenset[StatusCode] | None:
    if value is None:
        return None
    return frozenset(StatusCode(int(code)) for code in value)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How failed requests are retried.

    Exponential backoff with full jitter: attempt ``n`` waits a random time in
    ``[0, min(max_delay, base_delay * 2**n))``. A ``Retry-After`` header wins over
    the computed delay and over ``max_delay``, up to a cap of 120 s. At most
    ``max_attempts`` attempts in all (1 means no retry).

    Which failures are retried is not a policy: GETs retry on 429, 5xx and
    transport errors; a POST only when it surely was not queued (connect
    failure, 429, 503).
    """

    max_attempts: int = attrs.field(default=5)
    base_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)

    @max_attempts.validator
    def _check_attempts(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, not {value!r}")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How a transaction is followed with Transaction Lookup (seconds throughout).

    - ``initial_delay``: the first lookup, and the next one after a change of phase
      (queued, moving, held: see ``_schedule``).
    - ``multiplier``/``max_interval``: the interval grows geometrically up to the cap.
      A record that is moving (past the queue codes 0 and 7) is never left longer
      than ``max_interval``.
    - ``jitter``: each interval is drawn uniformly from ``[0.75, 1.25]`` times its
      nominal value (near mean-preserving, unlike full jitter), cut to
      ``[initial_delay, max_interval]`` (``hold_interval`` is the ceiling for held
      codes), so records queued together do not poll in lockstep.
    - ``deadline``: one transaction's tracking ends TIMED_OUT after this long.
    - ``hold_interval``: held codes (1, 3, 20, 35, 36, 37) are polled this slowly;
      ``stop_on_hold`` ends tracking with HELD at the first held code instead (the
      record stays unfinished in a store, for ``resume()`` once a person acted).
    - ``not_found_grace``: a 404 within this long of the start is "not visible yet";
      after it, tracking ends NOT_FOUND.
    - ``terminal``: replaces the set of codes that end tracking.
    - ``learn``: learn how the brand's queue is processed (whether records leave it
      in runs, the runs' period, how long a run takes) and poll by it: records
      waiting in the queue wait on one representative, a lone record looks near
      its run, a run's records are looked up when the run is usually done. The
      client shares what it learns with all its pollers, and a store that keeps
      notes (``SqliteStore``) keeps it across restarts. ``False``: every record
      follows its own backoff.
    - ``queue_interval``: a record waiting in the queue behind its representative,
      or for a predicted run, is still looked up at least this often.
    """

    initial_delay: float = attrs.field(default=2.0, validator=_positive)
    multiplier: float = attrs.field(default=1.5)
    max_interval: float = attrs.field(default=60.0, validator=_positive)
    jitter: bool = True
    deadline: float = attrs.field(default=7200.0, validator=_positive)
    hold_interval: float = attrs.field(default=300.0, validator=_positive)
    stop_on_hold: bool = False
    not_found_grace: float = attrs.field(default=60.0, validator=_non_negative)
    terminal: frozenset[StatusCode] | None = attrs.field(default=None, converter=_to_terminal)
    learn: bool = True
    queue_interval: float = attrs.field(default=1800.0, validator=_positive)

    @multiplier.validator
    def _check_multiplier(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if not value >= 1.0:
            raise ValueError(f"multiplier must be >= 1, not {value!r}")

    @max_interval.validator
    def _check_max_interval(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.initial_delay:
            raise ValueError(
                f"max_interval ({value!r}) must be >= initial_delay ({self.initial_delay!r})"
            )

    @classmethod
    def bulk(cls) -> PollPolicy:
        """Fewer lookups still, for bulk jobs, at the cost of later reports for quick records.

        ``initial_delay=20, multiplier=1.5`` (everything else as the defaults, the
        learning included). The defaults already meet the polling goals on both
        readings of Omeda's queue; starting at 20 s spends fewer lookups on records
        that move on their own (about a tenth of polling every 5 s instead of a
        fifth, same p95) and reports a quick record later (the median about 10 s
        later): ``benchmarks/README.md``, "Polling efficiency".
        Change any field with ``attrs.evolve(PollPolicy.bulk(), deadline=...)``.
        """
        return cls(initial_delay=20.0, multiplier=1.5)

    @property
    def terminal_codes(self) -> frozenset[StatusCode]:
        """The codes that end tracking: ``terminal`` if given, else 98-101, 2, 6, 9, 110."""
        return DEFAULT_TERMINAL if self.terminal is None else self.terminal
