"""``BulkOptions``: every option of a ``submit_many`` job, written once.

``submit_many(payloads, options=None, **overrides)`` takes one frozen
:class:`BulkOptions`; keyword overrides (typed by :class:`BulkOverrides`, as
``ClientOptions`` types ``OmedaClient.from_env``) replace some of its fields
with ``attrs.evolve``, so the same validators check both ways of passing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypedDict

import attrs

from omeda_async._policies import PollPolicy
from omeda_async._store import CUSTOMER_SERVICE, ORDER_SERVICE, TrackingStore

__all__ = ["SERVICE_OF_KIND", "BulkOptions", "BulkOverrides", "Kind"]

Kind = Literal["customer", "order"]

SERVICE_OF_KIND: Final = {"customer": CUSTOMER_SERVICE, "order": ORDER_SERVICE}


def _integer(minimum: int) -> Callable[[Any, attrs.Attribute[int], int], None]:
    def check(_instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{attribute.name} must be an integer >= {minimum}, not {value!r}")

    return check


def _seconds(value: Any) -> Any:
    """A number of seconds as a float (anything else is left for the validator to refuse)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _non_negative(_instance: Any, attribute: attrs.Attribute[float], value: object) -> None:
    if not isinstance(value, float):
        raise TypeError(f"{attribute.name} must be a number of seconds, not {value!r}")
    if not value >= 0:  # NaN too
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def _kind(_instance: Any, _attribute: attrs.Attribute[Kind | None], value: Kind | None) -> None:
    if value is not None and value not in SERVICE_OF_KIND:
        raise ValueError(f"kind must be 'customer' or 'order', not {value!r}")


def _store(
    _instance: Any, _attribute: attrs.Attribute[TrackingStore | None], value: object
) -> None:
    if value is not None and not isinstance(value, TrackingStore):
        raise TypeError(f"store must be a TrackingStore, not {type(value).__name__}")


def _input_id(_instance: Any, _attribute: attrs.Attribute[str | None], value: object) -> None:
    # The value is a secret: the message names its type, never the value. The
    # client checks its characters when the job starts (check_submission).
    if value is not None and not isinstance(value, str):
        raise TypeError(f"input_id must be a string, not {type(value).__name__}")


_callable = attrs.validators.optional(attrs.validators.is_callable())


@attrs.frozen(kw_only=True)
class BulkOptions:
    """Every option of a ``submit_many`` job (frozen; change one with ``attrs.evolve``).

    - ``concurrency``: at most this many POSTs at once.
    - ``track``: follow each accepted TransactionId with one shared poller
      (``poll_policy``); the ``TrackingResult`` rides on the outcome. At most
      ``max_tracked`` records are followed (or wait to be) at once; reading
      waits beyond that.
    - ``store``: the journal that makes re-runs safe (``SqliteStore`` for durable
      work). A store the job opens itself is closed when the job ends; one the
      caller opened stays open.
    - ``key(payload) -> str``: names a record across runs (default: ``record_key``,
      a hash of the exact body sent).
    - ``kind``: ``"customer"`` (storecustomerandorder) or ``"order"`` (orderqueue)
      for every record; by default an ``Order`` model is an order, anything else
      a customer.
    - ``ordered``: outcomes in input order (reading then waits behind the
      oldest unfinished record).
    - ``resend_unknown``: resend records whose outcome is unknown (they may be
      queued already: reconcile first).
    - ``follow_merges``: a record refused with ``CustomerMergedError`` is resent
      once with ``OmedaCustomerId`` = the id it was merged into.
    - ``pending_retries``/``pending_retry_delay``: a ``PendingDeactivationError``
      record is sent again after that many seconds (client clock), at most that
      many times.
    - ``run_processor``: accepted TransactionIds go through Omeda's Run
      Processor in batches of ``processor_batch`` (or after ``processor_wait``
      seconds), for brands whose input allows it.
    - ``input_id``: the ``x-omeda-inputid`` of every POST (default: the client's).
    - ``transaction_of(payload) -> key | None``: for an Add Order, the key of an
      earlier record of this job whose TransactionId it must carry; the order is
      sent once that record is accepted (rejected if it is not).
    """

    concurrency: int = attrs.field(default=16, validator=_integer(1))
    track: bool = False
    store: TrackingStore | None = attrs.field(default=None, validator=_store)
    key: Callable[[Any], str] | None = attrs.field(default=None, validator=_callable)
    kind: Kind | None = attrs.field(default=None, validator=_kind)
    ordered: bool = False
    resend_unknown: bool = False
    follow_merges: bool = False
    pending_retries: int = attrs.field(default=3, validator=_integer(0))
    pending_retry_delay: float = attrs.field(
        default=60.0, converter=_seconds, validator=_non_negative
    )
    run_processor: bool = False
    processor_batch: int = attrs.field(default=100, validator=_integer(1))
    processor_wait: float = attrs.field(default=1.0, converter=_seconds, validator=_non_negative)
    poll_policy: PollPolicy | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(PollPolicy))
    )
    max_tracked: int = attrs.field(default=10_000, validator=_integer(1))
    input_id: str | None = attrs.field(
        default=None, validator=_input_id, repr=lambda value: "'***'" if value else "None"
    )
    transaction_of: Callable[[Any], str | None] | None = attrs.field(
        default=None, validator=_callable
    )


class BulkOverrides(TypedDict, total=False):
    """Keyword overrides of :class:`BulkOptions` (``submit_many(rows, concurrency=64)``)."""

    concurrency: int
    track: bool
    store: TrackingStore | None
    key: Callable[[Any], str] | None
    kind: Kind | None
    ordered: bool
    resend_unknown: bool
    follow_merges: bool
    pending_retries: int
    pending_retry_delay: float
    run_processor: bool
    processor_batch: int
    processor_wait: float
    poll_policy: PollPolicy | None
    max_tracked: int
    input_id: str | None
    transaction_of: Callable[[Any], str | None] | None
