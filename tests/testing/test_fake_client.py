"""OmedaClient against FakeOmeda: every scenario and every fault, end to end.

The fakes here run their clock 10,000x faster than real time; waits go
through that clock (the client shares it), never through guessed sleeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from omeda_async import (
    AuthenticationError,
    CustomerMergedError,
    MalformedResponseError,
    MethodNotAllowedError,
    NotFoundError,
    Outcome,
    PendingDeactivationError,
    PollPolicy,
    RetryPolicy,
    ServerError,
    StatusCode,
    SubmissionOutcomeUnknown,
    TransportError,
)
from omeda_async.testing import SCENARIOS, FakeOmeda, Faults

if TYPE_CHECKING:
    from tests.testing.conftest import ManualClock

FAST = 10_000.0
POLL = PollPolicy(initial_delay=2.0, max_interval=30.0, deadline=7200.0, hold_interval=60.0)
SIGNUP = {"FirstName": "Jane", "Emails": [{"EmailAddress": "jane@example.com"}]}

EXPECTED = {
    "new_customer": (Outcome.SUCCEEDED, 100),
    "existing_customer": (Outcome.SUCCEEDED, 101),
    "partial": (Outcome.PARTIAL, 99),
    "failed_source_prioritization": (Outcome.PARTIAL, 98),
    "failed_validation": (Outcome.FAILED, 9),
    "discarded": (Outcome.FAILED, 110),
    "payment_failed": (Outcome.FAILED, 6),
    "excessive_errors": (Outcome.FAILED, 2),
    "held_customer": (Outcome.HELD, 1),
    "held_oec": (Outcome.HELD, 20),
    "held_dupecheck": (Outcome.HELD, 35),
}


def test_every_named_scenario_has_an_expected_outcome() -> None:
    """The table below covers exactly the named scenarios."""
    assert set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_submit_then_track_reaches_the_scenario_outcome(name: str) -> None:
    """Submit, then wait_for_transaction on the fake clock: the scenario's outcome and code."""
    outcome, code = EXPECTED[name]
    policy = PollPolicy(initial_delay=2.0, max_interval=30.0, stop_on_hold=True)
    async with FakeOmeda(time_scale=FAST, seed=3, scenario=name) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        result = await client.wait_for_transaction(receipt.transaction_id, policy=policy)
        assert (result.outcome, result.status) == (outcome, StatusCode(code))
        assert result.transaction is not None
        assert result.transaction.errors == SCENARIOS[name].final.errors
        assert fake.lookups_after_terminal == {}


@pytest.mark.parametrize("name", ["new_customer", "existing_customer"])
async def test_get_transaction_polled_on_the_clock_sees_every_step(
    name: str, clock: ManualClock
) -> None:
    """Looking up once per step, moving the shared clock by each step's length, sees the path."""
    scenario = SCENARIOS[name]
    async with FakeOmeda(clock=clock, scenario=name) as fake, fake.client() as client:
        payload = dict(SIGNUP, OmedaCustomerId=777) if name == "existing_customer" else SIGNUP
        receipt = await client.store_customer_and_order(payload)
        seen = []
        for step in scenario.steps:
            lookup = await client.get_transaction(receipt.transaction_id)
            seen.append(int(lookup.status))
            await fake.clock.sleep(step.seconds)
        assert seen == [int(s.status) for s in scenario.steps]
        assert lookup.omeda_customer_id == fake.transactions[receipt.transaction_id].customer_id
        if name == "existing_customer":
            assert lookup.omeda_customer_id == 777


async def test_a_mix_tracks_many_transactions_to_their_outcomes() -> None:
    """A seeded mix of scenarios, tracked by one poller: each ends with its drawn outcome."""
    mix = {"new_customer": 0.5, "failed_validation": 0.3, "discarded": 0.2}
    async with FakeOmeda(time_scale=FAST, seed=8, scenario=mix) as fake, fake.client() as client:
        receipts = [await client.store_customer_and_order(SIGNUP) for _ in range(30)]
        async with client.poller(policy=POLL) as poller:
            trackings = [poller.track(r.transaction_id) for r in receipts]
        for receipt, tracking in zip(receipts, trackings, strict=True):
            result = await tracking
            expected = fake.transactions[receipt.transaction_id].scenario.final.status
            assert result.status == expected
        names = {tx.scenario.name for tx in fake.transactions.values()}
        assert names == set(mix)
        assert fake.lookups_after_terminal == {}
        assert fake.max_in_flight_by_service["transaction"] <= 32


async def test_repeated_error_keys_reach_transaction_errors() -> None:
    """Both messages of the page's repeated-"Error" object reach Transaction.errors."""
    fake = FakeOmeda(time_scale=FAST, scenario="excessive_errors")
    async with fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        await fake.clock.sleep(SCENARIOS["excessive_errors"].total_seconds + 1)
        transaction = await client.get_transaction(receipt.transaction_id)
    assert transaction.status == StatusCode.CUSTOMER_HAS_EXCESSIVE_ERRORS
    assert transaction.errors == ("invalid email", "vulgarity")


# --- faults ------------------------------------------------------------------------


async def test_rate_limit_is_retried_after_retry_after() -> None:
    """A 429 with Retry-After is retried by the client, on the shared clock; one transaction."""
    faults = Faults(retry_after=30)
    async with FakeOmeda(time_scale=FAST, faults=faults) as fake, fake.client() as client:
        fake.faults.script("rate_limit")
        receipt = await client.store_customer_and_order(SIGNUP)
        first, second = fake.requests
        assert second.at - first.at >= 30
        assert list(fake.transactions) == [receipt.transaction_id]
        assert fake.faults.injected == {"rate_limit": 1}


async def test_unavailable_post_is_retried() -> None:
    """A 503 says the body was not taken: the client retries and one transaction is queued."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        fake.faults.script("unavailable")
        receipt = await client.store_customer_and_order(SIGNUP)
        assert list(fake.transactions) == [receipt.transaction_id]
        assert len(fake.requests) == 2


async def test_server_error_on_a_post_is_outcome_unknown() -> None:
    """A 500 to a POST is never resent: SubmissionOutcomeUnknown carries the payload."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        fake.faults.script("server_error")
        with pytest.raises(SubmissionOutcomeUnknown) as caught:
            await client.store_customer_and_order(SIGNUP)
        assert caught.value.payload == SIGNUP
        assert len(fake.requests) == 1


async def test_server_error_on_a_lookup_is_retried_or_raised() -> None:
    """A 500 to a lookup is retried; without retries it is a ServerError."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        fake.faults.script("server_error", "server_error")
        transaction = await client.get_transaction(receipt.transaction_id)
        assert transaction.transaction_id == receipt.transaction_id
        assert fake.lookups[receipt.transaction_id] == 3
        fake.faults.script("server_error")
        with pytest.raises(ServerError):
            await client.get_transaction(receipt.transaction_id, retry=RetryPolicy.none())


async def test_dropped_post_is_outcome_unknown_yet_queued() -> None:
    """A connection dropped after the body was read: outcome unknown, and the record IS queued."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        fake.faults.script("drop")
        with pytest.raises(SubmissionOutcomeUnknown) as caught:
            await client.store_customer_and_order(SIGNUP)
        assert caught.value.service == "storecustomerandorder"
        assert len(fake.transactions) == 1
        assert len(fake.requests) == 1
        assert fake.duplicates() == []


async def test_dropped_lookup_is_retried() -> None:
    """A dropped lookup is safe to resend; without retries it is a TransportError."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        fake.faults.script("drop")
        transaction = await client.get_transaction(receipt.transaction_id)
        assert transaction.transaction_id == receipt.transaction_id
        assert fake.lookups[receipt.transaction_id] == 2
        # aiohttp itself resends an idempotent request once when a reused
        # keep-alive connection drops, so it takes two drops to surface one.
        fake.faults.script("drop", "drop")
        with pytest.raises(TransportError):
            await client.get_transaction(receipt.transaction_id, retry=RetryPolicy.none())


async def test_slow_answers_trip_the_client_timeout() -> None:
    """A slow answer outlasts the client's timeout: unknown for a POST (yet queued)."""
    faults = Faults(slow_seconds=30)
    fake = FakeOmeda(time_scale=FAST, faults=faults)
    async with fake, fake.client(timeout=0.2) as client:
        fake.faults.script("slow")
        with pytest.raises(SubmissionOutcomeUnknown):
            await client.store_customer_and_order(SIGNUP)
        assert len(fake.transactions) == 1
        (transaction_id,) = fake.transactions
        fake.faults.script("slow")
        with pytest.raises(TransportError):
            await client.get_transaction(transaction_id, retry=RetryPolicy.none())


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_unreadable_answers(kind: str) -> None:
    """HTML or cut JSON: outcome unknown for a POST; a lookup asks again, as GETs do."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        fake.faults.script(kind)
        with pytest.raises(SubmissionOutcomeUnknown):
            await client.store_customer_and_order(SIGNUP)
        (transaction_id,) = fake.transactions
        fake.faults.script(kind)
        transaction = await client.get_transaction(transaction_id)
        assert transaction.transaction_id == transaction_id
        fake.faults.script(*[kind] * 5)
        with pytest.raises(MalformedResponseError):
            await client.get_transaction(transaction_id, retry=RetryPolicy(max_attempts=5))


async def test_faults_at_a_rate_do_not_lose_lookups() -> None:
    """With 30% retryable faults on lookups, a poller still tracks every transaction."""
    faults = Faults(
        rates={"rate_limit": 0.1, "server_error": 0.1, "drop": 0.1},
        services={"transaction"},
        retry_after=1,
        seed=4,
    )
    async with FakeOmeda(time_scale=FAST, faults=faults, seed=4) as fake, fake.client() as client:
        receipts = [await client.store_customer_and_order(SIGNUP) for _ in range(10)]
        async with client.poller(policy=POLL) as poller:
            trackings = [poller.track(r.transaction_id) for r in receipts]
        results = [await t for t in trackings]
        assert {r.outcome for r in results} == {Outcome.SUCCEEDED}
        assert sum(fake.faults.injected.values()) > 0


# --- documented errors -------------------------------------------------------------


async def test_merged_customer_is_customer_merged_error() -> None:
    """Both POST services report a merged customer as CustomerMergedError with both ids."""
    async with FakeOmeda(merged_customers={22: 99999}) as fake, fake.client() as client:
        with pytest.raises(CustomerMergedError) as caught:
            await client.store_customer_and_order({"OmedaCustomerId": 22, "FirstName": "J"})
        assert (caught.value.customer_id, caught.value.merged_into_customer_id) == (22, 99999)
        order = {"OmedaCustomerId": 22, "Products": [{"OmedaProductId": 5}]}
        with pytest.raises(CustomerMergedError):
            await client.add_order(order)
        assert fake.transactions == {}


async def test_pending_deactivation_is_its_own_error() -> None:
    """A customer pending deactivation raises PendingDeactivationError."""
    async with FakeOmeda(pending_deactivation={33}) as fake, fake.client() as client:
        with pytest.raises(PendingDeactivationError):
            await client.store_customer_and_order({"OmedaCustomerId": 33, "FirstName": "J"})


async def test_wrong_app_id_is_authentication_error() -> None:
    """A client with the wrong app id gets AuthenticationError, and its id is not echoed."""
    async with FakeOmeda() as fake, fake.client(app_id="not-the-app-id") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_transaction(1)
        assert "not-the-app-id" not in str(caught.value)


async def test_unknown_transaction_is_not_found() -> None:
    """A lookup of an id the fake never queued is NotFoundError with Omeda's message."""
    async with FakeOmeda() as fake, fake.client() as client:
        with pytest.raises(NotFoundError) as caught:
            await client.get_transaction(55973543453)
        assert caught.value.errors == ("No status found for transaction 55973543453.",)


async def test_wrong_method_is_method_not_allowed() -> None:
    """The fake's 405 maps to MethodNotAllowedError in the client's transport."""
    async with FakeOmeda() as fake, fake.client() as client:
        with pytest.raises(MethodNotAllowedError):
            await client._transport.request(
                "GET",
                f"/webservices/rest/brand/{fake.brand}/storecustomerandorder/*",
                parse=lambda answer: answer,
                service="storecustomerandorder",
                idempotent=True,
            )


async def test_expired_transaction_is_not_found() -> None:
    """After expire_after, lookups raise NotFoundError and tracking ends NOT_FOUND."""
    fake = FakeOmeda(time_scale=FAST, expire_after=60, scenario="held_customer")
    async with fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        await fake.clock.sleep(61)
        with pytest.raises(NotFoundError):
            await client.get_transaction(receipt.transaction_id)
        policy = PollPolicy(initial_delay=2.0, max_interval=30.0, not_found_grace=10.0)
        result = await client.wait_for_transaction(receipt.transaction_id, policy=policy)
        assert result.outcome is Outcome.NOT_FOUND


async def test_visibility_delay_is_waited_out_by_the_poller() -> None:
    """A transaction invisible at first (404) is still tracked to its end within the grace."""
    async with FakeOmeda(time_scale=FAST, visibility_delay=20) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        result = await client.wait_for_transaction(receipt.transaction_id, policy=POLL)
        assert result.outcome is Outcome.SUCCEEDED


# --- Add Order, history, Run Processor ---------------------------------------------


async def test_add_order_attached_to_a_transaction_with_run_processor() -> None:
    """An order naming a TransactionId with RunProcessor 1 answers the customer; the
    transaction is processed, and its products show in the customer's history."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        order = {
            "TransactionId": receipt.transaction_id,
            "RunProcessor": 1,
            "Products": [{"OmedaProductId": 101588, "Receive": 1}],
        }
        order_receipt = await client.add_order(order)
        customer_id = fake.transactions[receipt.transaction_id].customer_id
        assert order_receipt.customer_id == customer_id
        assert order_receipt.customer_url is not None
        transaction = await client.get_transaction(receipt.transaction_id)
        assert transaction.status == StatusCode.MOVED_TO_ERD_COMPLETE_NEW_CUSTOMER
        assert customer_id is not None
        history = await client.get_order_issue_history(customer_id)
        assert [p.product_id for p in history.products] == [101588]


async def test_order_issue_history_seeded_and_empty() -> None:
    """Seeded history reads back through the client; "No purchases" is an empty history."""
    async with FakeOmeda() as fake, fake.client() as client:
        fake.add_order_history(
            12345,
            6,
            orders=[{"RequestedVersion": "P", "Receive": 1, "PaymentStatus": 3}],
            issues=[{"IssueName": "ABCissue1", "IssueDate": "2014-08-02 00:00:00"}],
        )
        history = await client.get_order_issue_history(12345)
        (product,) = history.products
        assert product.product_id == 6
        assert len(product.orders) == 1
        assert len(product.issues) == 1
        assert (await client.get_order_issue_history(12345, product_id=7)).products == ()
        assert (await client.get_order_issue_history(999)).products == ()


async def test_run_processor_through_the_client() -> None:
    """run_processor finishes queued transactions; a bad id does not sink the batch."""
    async with FakeOmeda(time_scale=FAST) as fake, fake.client() as client:
        ids = [(await client.store_customer_and_order(SIGNUP)).transaction_id for _ in range(3)]
        results = await client.run_processor([*ids, 424242])
        assert [r.succeeded for r in results] == [True, True, True, False]
        for transaction_id in ids:
            assert fake.status_of(transaction_id) == 100
        again = await client.run_processor(ids[:1])
        assert again[0].already_processed


async def test_omeda_fake_fixture_gives_a_started_fake(omeda_fake: FakeOmeda) -> None:
    """The plugin's fixture is a started FakeOmeda whose client() works."""
    async with omeda_fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
    assert receipt.url == omeda_fake.transaction_url(receipt.transaction_id)


@pytest.mark.omeda_fake(scenario="held_oec", brand="OTHERBRAND", time_scale=FAST)
async def test_omeda_fake_marker_configures_the_fixture(omeda_fake: FakeOmeda) -> None:
    """@pytest.mark.omeda_fake(...) options reach the fixture's FakeOmeda."""
    assert omeda_fake.brand == "OTHERBRAND"
    async with omeda_fake.client() as client:
        receipt = await client.store_customer_and_order(SIGNUP)
        await omeda_fake.clock.sleep(SCENARIOS["held_oec"].total_seconds + 1)
        assert (await client.get_transaction(receipt.transaction_id)).status == 20
