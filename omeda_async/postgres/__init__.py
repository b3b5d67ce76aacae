"""``omeda_async.postgres``: a journal in PostgreSQL, shared by a fleet of workers.

Install with ``pip install "omeda-async[postgres]"`` (asyncpg). Nothing else
in ``omeda_async`` imports this package or asyncpg.

- :class:`PostgresStore`: a ``TrackingStore`` every process and host naming
  the same ``job`` shares (atomic begin, leases with fencing, the queue, the
  fleet's rate budget, ``wait_finished``).
- :class:`Worker`: what ``omeda-async worker`` runs: submit queued records
  and follow accepted transactions, with any number of workers on one job.
"""

from __future__ import annotations

try:
    import asyncpg  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        'omeda_async.postgres needs asyncpg: pip install "omeda-async[postgres]"'
    ) from exc

from ._errors import LeaseLostError
from ._queue import Enqueued
from ._store import PostgresStore, StoreCounts
from ._tracker import FleetTracker, Followed
from ._worker import Worker, WorkerSummary

__all__ = [
    "Enqueued",
    "FleetTracker",
    "Followed",
    "LeaseLostError",
    "PostgresStore",
    "StoreCounts",
    "Worker",
    "WorkerSummary",
]
