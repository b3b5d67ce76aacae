"""``Submitter``: what a bulk job needs from a client (``OmedaClient`` is one).

The job never reaches into the client: it sends through these members only,
so a test can hand it any object that has them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from omeda_async._clock import Clock
    from omeda_async._policies import PollPolicy
    from omeda_async._poller import TransactionPoller
    from omeda_async._store import TrackingStore
    from omeda_async.models._responses import OrderReceipt, ProcessorResult, SubmissionReceipt

__all__ = ["Submitter"]


class Submitter(Protocol):
    """Sends records to Omeda's two POST services, runs the processor, follows ids."""

    @property
    def clock(self) -> Clock:
        """Times the job's waits (pending-deactivation retries, processor batches)."""
        ...

    def check_submission(self, service: str, *, input_id: str | None = None) -> str | None:
        """The input id a POST to ``service`` goes with; raises if it cannot be sent.

        Raises before anything is sent (a closed client, no input id where Omeda
        requires one): a failure here proves the record never left.
        """
        ...

    def post_submission(
        self, service: str, payload: Any, body: bytes | None, *, input_id: str | None
    ) -> Awaitable[SubmissionReceipt | OrderReceipt]:
        """POST one record: ``body`` as built for ``payload`` (None: build it here)."""
        ...

    async def run_processor(self, transaction_ids: Iterable[int]) -> list[ProcessorResult]:
        """Omeda's Run Processor for these TransactionIds, one result per id."""
        ...

    def poller(
        self,
        *,
        policy: PollPolicy | None = None,
        store: TrackingStore | None = None,
        max_in_flight: int = 32,
    ) -> TransactionPoller:
        """A poller that follows TransactionIds (``track=True``)."""
        ...
