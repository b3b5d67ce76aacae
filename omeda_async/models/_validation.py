"""PLACEHOLDER: validation (issue 2). Replaced by its owner."""

from typing import Any


class Violation:
    """Placeholder."""


def validate(payload: Any) -> list[Violation]:
    """Placeholder."""
    return []
