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
class Problem:
    """Something a listing could not read and skipped, so that the rest could be read.

    What it keeps from being taken as gone upstream in this run: the invoice
    `provider_id` names; else every invoice of the account `account_id` names; else,
    with `whole_listing`, every invoice. A problem naming none of them (a batch size that
    could not be read) only reports.
    """

    what: str  # e.g. "invoice 1-20241010-0-11111-4", "account test731993"
    reason: str  # plain words, no secret
    provider_id: str | None = None
    account_id: str | None = None
    whole_listing: bool = False


@dataclass(frozen=True, slots=True)
class Coverage:
    """A part of the provider's invoices that a listing has returned completely.

    An invoice the mirror holds inside it that the run did not see is gone upstream;
    one outside every coverage of a run is not evidence of anything (an account that
    could not be read, a date window the client did not ask for).
    """

    account_id: str | None = None  # None: every account
    issued_from: dt.date | None = None  # None: however old


@dataclass(frozen=True, slots=True)
class InvoicePage:
    """One page of an invoice listing, as the sync engine consumes it.

    `number` counts the pages of the whole listing (1-based); a page that only carries
    `covers` or `problems` (no invoices) repeats the number of the page before it.
    `covers` and `problems` are what the listing knows once this page is read.
    """

    invoices: tuple[Invoice, ...]
    number: int  # 1-based
    total_pages: int | None = None  # None when the provider does not say
    total_items: int | None = None
    batches: tuple[Batch, ...] = ()
    covers: tuple[Coverage, ...] = ()
    problems: tuple[Problem, ...] = ()
    # How many entries the provider sent on this page, read or not (None: `invoices`).
    entries: int | None = None

    @property
    def sent(self) -> int:
        return len(self.invoices) if self.entries is None else self.entries


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
