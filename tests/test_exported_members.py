"""The public API: `omeda_async.__all__` is pinned, sorted, and every name resolves."""

from __future__ import annotations

import omeda_async

EXPECTED = {
    # Client, stores, policies, clock
    "OmedaClient", "MemoryStore", "SqliteStore", "TrackingStore", "StoredRecord", "Begun",
    "RecordState", "PollPolicy", "RetryPolicy", "Clock", "SystemClock", "ScaledClock",
    "RateLimiter",
    # Status state machine
    "StatusCode", "Stage", "Outcome", "Transition", "classify_transition",
    # Poller and bulk
    "TransactionPoller", "Tracking", "TrackingResult", "TrackingCounts", "StatusEvent", "Anomaly",
    "SubmissionOutcome", "BulkSummary", "BulkSubmission", "BulkOptions",
    "StoreError", "IncompatibleStoreError", "StoreWriteError",
    # Payload models and validation
    "CustomerAndOrder", "Address", "Email", "Phone", "CustomerDemographic", "Product",
    "ProductUpdate", "MarketingProduct", "ProductFieldResponse", "BillingInformation",
    "Telemarketing", "CustomerBehavior", "BehaviorAttribute", "Order", "OrderProduct",
    "OptFilter", "AddressContactType", "EmailContactType", "PhoneContactType",
    "Violation", "validate",
    # Responses
    "SubmissionReceipt", "OrderReceipt", "Transaction", "OrderIssueHistory",
    "ProductOrderHistory", "OrderRecord", "IssueRecord", "PaymentStatus",
    "MarketingClass", "ProcessorResult",
    # Errors
    "OmedaError", "PayloadValidationError", "ApiError", "BadRequestError",
    "CustomerMergedError", "PendingDeactivationError", "AuthenticationError",
    "NotFoundError", "MethodNotAllowedError", "RateLimitedError", "ServerError",
    "MalformedResponseError", "TransportError", "SubmissionOutcomeUnknown",
    "__version__",
}  # fmt: skip


def test_all_is_exactly_the_contract() -> None:
    """Adding or removing a public name is a deliberate change to this list."""
    assert set(omeda_async.__all__) == EXPECTED


def test_the_postgres_package_is_apart() -> None:
    """omeda_async.postgres (the extra) exports the fleet's names; the root never imports it."""
    import subprocess
    import sys

    imported = subprocess.run(
        [sys.executable, "-c", "import sys, omeda_async, omeda_async.cli._app; "
         "print('asyncpg' in sys.modules, 'omeda_async.postgres' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert imported.stdout.split() == ["False", "False"]
    from omeda_async import postgres

    assert set(postgres.__all__) == {
        "PostgresStore", "StoreCounts", "Enqueued", "LeaseLostError",
        "Worker", "WorkerSummary", "FleetTracker", "Followed",
    }  # fmt: skip


def test_all_is_sorted_and_unique() -> None:
    """__all__ is kept sorted (as httpx does) so diffs stay readable."""
    assert omeda_async.__all__ == sorted(set(omeda_async.__all__))


def test_every_exported_name_resolves_and_is_documented() -> None:
    """Each public name exists and carries a docstring."""
    for name in omeda_async.__all__:
        obj = getattr(omeda_async, name)
        if name != "__version__":
            assert obj.__doc__, f"{name} has no docstring"


def test_public_classes_claim_the_public_module() -> None:
    """Public classes live in private modules but are documented from the package."""
    assert omeda_async.OmedaClient.__module__.startswith("omeda_async")
