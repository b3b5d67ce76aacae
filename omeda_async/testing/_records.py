"""What FakeOmeda keeps: the requests it received and what they queued.

Plain attrs records for tests to assert on. Bodies and input ids are kept but
never shown in a ``repr``; recorded requests have their secrets masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from omeda_async._status import StatusCode
from omeda_async.testing._scenarios import Scenario

__all__ = ["Duplicate", "QueuedOrder", "QueuedTransaction", "RecordedRequest"]


@attrs.frozen
class RecordedRequest:
    """One request FakeOmeda received.

    ``headers`` has ``x-omeda-appid`` and ``x-omeda-inputid`` masked as ``"***"``;
    ``body`` is the parsed JSON (card number, security code and expiry masked),
    or the raw text if it was not JSON; both are empty when the fake was made
    with ``record_bodies=False``. ``service`` is None for an unknown path;
    ``at`` is the time on the fake's clock.
    """

    method: str
    path: str
    service: str | None
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: Any = attrs.field(repr=False)
    at: float


@attrs.define(eq=False)
class QueuedTransaction:
    """A transaction queued by ``storecustomerandorder``.

    ``scenario`` is its status path, ``created_at`` the fake-clock time it was
    queued, ``customer_id`` the OmedaCustomerId its path ends with (None when
    the path never gets that far), ``processed_at`` when Run Processor (or
    ``"RunProcessor": 1`` in its own body or an Add Order's) jumped it to its
    final status.
    ``body`` and ``input_id`` are kept but never shown in ``repr``.
    """

    transaction_id: int
    body: dict[str, Any] = attrs.field(repr=False)
    input_id: str = attrs.field(repr=False)
    scenario: Scenario = attrs.field(repr=lambda scenario: repr(scenario.name))
    created_at: float
    customer_id: int | None
    client_customer_id: Any
    customer_from: int | None = attrs.field(repr=False)
    processed_at: float | None = None
    answered_terminal: bool = attrs.field(default=False, repr=False)
    order_ids: list[int] = attrs.field(factory=list, repr=False)

    @property
    def path(self) -> Scenario:
        """The status path it follows (the same as ``scenario``)."""
        return self.scenario

    def index_at(self, now: float) -> int:
        """The index of the current step of ``scenario`` at fake-clock time ``now``."""
        if self.processed_at is not None and now >= self.processed_at:
            return len(self.scenario.steps) - 1
        return self.scenario.index_at(now - self.created_at)

    def status_at(self, now: float) -> StatusCode:
        """The status Transaction Lookup shows at fake-clock time ``now``."""
        return self.scenario.steps[self.index_at(now)].status

    def finished_at(self) -> float:
        """The fake-clock time the final status is (or will be) reached."""
        natural = self.created_at + self.scenario.total_seconds
        return natural if self.processed_at is None else min(natural, self.processed_at)


@attrs.define(eq=False)
class QueuedOrder:
    """An order queued by ``orderqueue`` (Add Order).

    ``customer_id`` is the customer it resolved to (None until known: an
    order naming a ``TransactionId`` gets its customer when that transaction
    is processed); ``transaction_id`` the transaction it is attached to.
    """

    order_id: int
    body: dict[str, Any] = attrs.field(repr=False)
    input_id: str = attrs.field(repr=False)
    created_at: float
    customer_id: int | None
    transaction_id: int | None
    run_processor: bool


@attrs.frozen
class Duplicate:
    """Identical bodies queued more than once on ``service``: the ids they got."""

    service: str
    ids: tuple[int, ...]
    body: dict[str, Any] = attrs.field(repr=False)
