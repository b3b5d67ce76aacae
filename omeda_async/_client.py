"""PLACEHOLDER: OmedaClient (issue 2). Replaced by its owner."""


class OmedaClient:
    """Placeholder."""
