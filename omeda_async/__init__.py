"""omeda_async: an asyncio client for Omeda's customer and order data queue.

Build payloads as typed models (or dicts) checked against every documented
rule, submit them with retries that never queue a record twice, and follow
each TransactionId through Omeda's status codes to a clear outcome.

Quick taste::

    async with OmedaClient(brand="ABC") as client:        # OMEDA_APP_ID, OMEDA_INPUT_ID
        receipt = await client.store_customer_and_order(
            CustomerAndOrder(first_name="Jane", emails=[Email(email_address="j@x.com")])
        )
        result = await client.wait_for_transaction(receipt.transaction_id)
        print(result.outcome)
"""

from ._client import OmedaClient
from ._clock import Clock, ScaledClock, SystemClock
from ._errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    CustomerMergedError,
    IncompatibleStoreError,
    MalformedResponseError,
    MethodNotAllowedError,
    NotFoundError,
    OmedaError,
    PayloadValidationError,
    PendingDeactivationError,
    RateLimitedError,
    ServerError,
    StoreError,
    StoreWriteError,
    SubmissionOutcomeUnknown,
    TransportError,
)
from ._policies import PollPolicy, RetryPolicy
from ._poller import (
    Anomaly,
    StatusEvent,
    Tracking,
    TrackingCounts,
    TrackingResult,
    TransactionPoller,
)
from ._ratelimit import RateLimiter
from ._sqlite_store import SqliteStore
from ._status import Outcome, Stage, StatusCode, Transition, classify_transition
from ._store import Begun, MemoryStore, RecordState, StoredRecord, TrackingStore
from .bulk import BulkOptions, BulkSubmission, BulkSummary, SubmissionOutcome
from .models import (
    Address,
    AddressContactType,
    BehaviorAttribute,
    BillingInformation,
    CustomerAndOrder,
    CustomerBehavior,
    CustomerDemographic,
    Email,
    EmailContactType,
    IssueRecord,
    MarketingClass,
    MarketingProduct,
    OptFilter,
    Order,
    OrderIssueHistory,
    OrderProduct,
    OrderReceipt,
    OrderRecord,
    PaymentStatus,
    Phone,
    PhoneContactType,
    ProcessorResult,
    Product,
    ProductFieldResponse,
    ProductOrderHistory,
    ProductUpdate,
    SubmissionReceipt,
    Telemarketing,
    Transaction,
    Violation,
    validate,
)

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AddressContactType",
    "Anomaly",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "Begun",
    "BehaviorAttribute",
    "BillingInformation",
    "BulkOptions",
    "BulkSubmission",
    "BulkSummary",
    "Clock",
    "CustomerAndOrder",
    "CustomerBehavior",
    "CustomerDemographic",
    "CustomerMergedError",
    "Email",
    "EmailContactType",
    "IncompatibleStoreError",
    "IssueRecord",
    "MalformedResponseError",
    "MarketingClass",
    "MarketingProduct",
    "MemoryStore",
    "MethodNotAllowedError",
    "NotFoundError",
    "OmedaClient",
    "OmedaError",
    "OptFilter",
    "Order",
    "OrderIssueHistory",
    "OrderProduct",
    "OrderReceipt",
    "OrderRecord",
    "Outcome",
    "PayloadValidationError",
    "PaymentStatus",
    "PendingDeactivationError",
    "Phone",
    "PhoneContactType",
    "PollPolicy",
    "ProcessorResult",
    "Product",
    "ProductFieldResponse",
    "ProductOrderHistory",
    "ProductUpdate",
    "RateLimitedError",
    "RateLimiter",
    "RecordState",
    "RetryPolicy",
    "ScaledClock",
    "ServerError",
    "SqliteStore",
    "Stage",
    "StatusCode",
    "StatusEvent",
    "StoreError",
    "StoreWriteError",
    "StoredRecord",
    "SubmissionOutcome",
    "SubmissionOutcomeUnknown",
    "SubmissionReceipt",
    "SystemClock",
    "Telemarketing",
    "Tracking",
    "TrackingCounts",
    "TrackingResult",
    "TrackingStore",
    "Transaction",
    "TransactionPoller",
    "Transition",
    "TransportError",
    "Violation",
    "__version__",
    "classify_transition",
    "validate",
]
