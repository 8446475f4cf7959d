"""Typed domain objects the provider clients return.

Raw payloads stop at the client: everything past it sees these frozen dataclasses.
Money is `Decimal` with its currency; business dates are `date`; instants are aware
UTC `datetime`s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Invoice:
    provider_id: str  # the provider's own id (Acronis GUID, Hostway/MasStack number)
    number: str
    account_id: str
    account_name: str
    issue_date: dt.date
    total: Decimal
    amount_due: Decimal
    currency: str
    paid: bool
    raw_status: str  # the provider's own status, kept verbatim for display and audit
    batch: str | None = None
    scheduled_date: dt.date | None = None
    created_at: dt.datetime | None = None
    payment_date: dt.date | None = None
    incasso: bool = False
    exported: bool = False
    exported_at: dt.datetime | None = None
    delivery_error: str | None = None
    description: str = ""
    # Provider-specific values we keep but do not interpret (e.g. Acronis PaymentType).
    extra: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Batch:
    number: str
    size: int


@dataclass(frozen=True, slots=True)
class InvoicePage:
    """One page of an invoice listing, as the sync engine consumes it."""

    invoices: tuple[Invoice, ...]
    number: int  # 1-based
    total_pages: int | None = None  # None when the provider does not say
    total_items: int | None = None
    batches: tuple[Batch, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    currency: str | None = None
    status: str = ""


@dataclass(frozen=True, slots=True)
class BillingDetails:
    account_id: str
    next_billing_date: dt.date | None


@dataclass(frozen=True, slots=True)
class PublicLink:
    url: str
    expires_at: dt.datetime | None = None

    @property
    def is_https(self) -> bool:
        return self.url.lower().startswith("https://")
