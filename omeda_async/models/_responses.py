"""PLACEHOLDER: response models (issue 2). Replaced by its owner."""


class IssueRecord:
    """Placeholder."""


class MarketingClass:
    """Placeholder."""


class OrderIssueHistory:
    """Placeholder."""


class OrderReceipt:
    """Placeholder."""


class OrderRecord:
    """Placeholder."""


class PaymentStatus:
    """Placeholder."""


class ProcessorResult:
    """Placeholder."""


class ProductOrderHistory:
    """Placeholder."""


class SubmissionReceipt:
    """Placeholder."""


class Transaction:
    """Placeholder."""
