"""Integer enums that tolerate numbers Omeda adds later."""

from __future__ import annotations

import enum
from typing import TypeVar

__all__ = ["pseudo_member"]

_E = TypeVar("_E", bound=enum.IntEnum)


def pseudo_member(cls: type[_E], value: object) -> _E | None:
    """An ``UNKNOWN_<n>`` member of ``cls`` that keeps ``n``, for use in ``_missing_``.

    A code Omeda documents later (a status, a payment status, a marketing class)
    must never crash a reader: it keeps its number and the enum's properties
    treat it as undocumented. Only real ints qualify (``True`` is no code).
    """
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    pseudo = int.__new__(cls, value)
    pseudo._name_ = f"UNKNOWN_{value}"
    pseudo._value_ = value
    return pseudo
