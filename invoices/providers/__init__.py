"""Provider service layer: one client per billing vendor, typed results, domain errors."""

from .errors import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderError,
    ProviderNotFound,
    ProviderNotSupported,
    ProviderUnavailable,
)
from .types import Account, Batch, BillingDetails, Invoice, InvoicePage, PublicLink

__all__ = [
    "Account",
    "Batch",
    "BillingDetails",
    "Invoice",
    "InvoicePage",
    "ProviderAuthError",
    "ProviderBadPayload",
    "ProviderError",
    "ProviderNotFound",
    "ProviderNotSupported",
    "ProviderUnavailable",
    "PublicLink",
]
