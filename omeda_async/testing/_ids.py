"""The ids FakeOmeda hands out and reads: TransactionIds, OrderIds, customer ids, SubmissionIds.

Ids come from their own seeded generator, apart from the one that draws status
paths, so that how many lookups happened never changes which paths are drawn.
"""

from __future__ import annotations

import random

__all__ = ["IdSource", "int_or_none"]


def int_or_none(value: object) -> int | None:
    """An id as Omeda may send it (a number or a digit string), or None."""
    if type(value) is str and value.isdigit():  # the lookup path's fast case
        return int(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class IdSource:
    """Increasing TransactionIds, OrderIds and customer ids, and random SubmissionIds.

    Each sequence starts at a seeded random point in the range Omeda's own
    examples use (8-digit transactions, 5-digit orders, 9-digit customers).
    """

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._transaction = self._rng.randint(10_000_000, 49_999_999)
        self._order = self._rng.randint(10_000, 99_999)
        self._customer = self._rng.randint(100_000_000, 499_999_999)

    def transaction(self) -> int:
        """The next TransactionId."""
        self._transaction += 1
        return self._transaction

    def order(self) -> int:
        """The next OrderId."""
        self._order += 1
        return self._order

    def customer(self) -> int:
        """The next new customer's OmedaCustomerId."""
        self._customer += 1
        return self._customer

    def submission(self) -> str:
        """A SubmissionId: a version-4 UUID from the seeded generator."""
        # Formatted by hand: it is on every answer, and uuid.UUID costs several times more.
        h = f"{self._rng.getrandbits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
