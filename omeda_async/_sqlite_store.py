"""PLACEHOLDER: durable SQLite TrackingStore (issue 5). Replaced by its owner."""


class SqliteStore:
    """Placeholder."""
