"""PLACEHOLDER: submit_many pipeline (issue 5). Replaced by its owner."""


class SubmissionOutcome:
    """Placeholder."""


class BulkSummary:
    """Placeholder."""
