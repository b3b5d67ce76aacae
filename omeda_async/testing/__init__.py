"""A faithful local Omeda for tests, demos, benchmarks and users' own test suites.

``FakeOmeda`` serves Omeda's customer/order services on 127.0.0.1 as the pages
describe them, moves each queued transaction along a status path on a scaled
clock (``timing=Spread()`` or ``Batch(every=...)``: Omeda's processor running
in batches), injects faults and records what it received::

    from omeda_async.testing import FakeOmeda

    async with FakeOmeda(time_scale=1000, scenario="new_customer") as fake:
        async with fake.client() as client:
            receipt = await client.store_customer_and_order({"FirstName": "Jane"})
            result = await client.wait_for_transaction(receipt.transaction_id)

The pytest plugin (installed with the package) gives an ``omeda_fake``
fixture when pytest-asyncio is installed; ``python -m omeda_async.testing``
runs the fake for programs in other languages.
"""

from omeda_async.testing._faults import SERVICES, FaultKind, Faults
from omeda_async.testing._records import Duplicate, QueuedOrder, QueuedTransaction, RecordedRequest
from omeda_async.testing._scenarios import SCENARIOS, Mix, Scenario, ScenarioLike, Step, StepLike
from omeda_async.testing._server import FakeOmeda
from omeda_async.testing._timing import Batch, Spread, TimingModel

__all__ = [
    "SCENARIOS",
    "SERVICES",
    "Batch",
    "Duplicate",
    "FakeOmeda",
    "FaultKind",
    "Faults",
    "Mix",
    "QueuedOrder",
    "QueuedTransaction",
    "RecordedRequest",
    "Scenario",
    "ScenarioLike",
    "Spread",
    "Step",
    "StepLike",
    "TimingModel",
]
