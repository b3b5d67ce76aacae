"""PLACEHOLDER: TransactionPoller (issue 4). Replaced by its owner."""


class TransactionPoller:
    """Placeholder."""


class Tracking:
    """Placeholder."""


class TrackingResult:
    """Placeholder."""


class StatusEvent:
    """Placeholder."""
