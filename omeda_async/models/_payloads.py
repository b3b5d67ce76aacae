"""PLACEHOLDER: payload models (issue 2). Replaced by its owner."""


class Address:
    """Placeholder."""


class AddressContactType:
    """Placeholder."""


class BehaviorAttribute:
    """Placeholder."""


class BillingInformation:
    """Placeholder."""


class CustomerAndOrder:
    """Placeholder."""


class CustomerBehavior:
    """Placeholder."""


class CustomerDemographic:
    """Placeholder."""


class Email:
    """Placeholder."""


class EmailContactType:
    """Placeholder."""


class MarketingProduct:
    """Placeholder."""


class OptFilter:
    """Placeholder."""


class Order:
    """Placeholder."""


class OrderProduct:
    """Placeholder."""


class Phone:
    """Placeholder."""


class PhoneContactType:
    """Placeholder."""


class Product:
    """Placeholder."""


class ProductFieldResponse:
    """Placeholder."""


class ProductUpdate:
    """Placeholder."""


class Telemarketing:
    """Placeholder."""
