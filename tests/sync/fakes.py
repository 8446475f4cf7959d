"""A scripted provider client for sync tests: pages in, failures where told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from invoices.providers import Account, Batch, Invoice, InvoicePage, ProviderUnavailable
from invoices.providers.base import ProviderClient
from invoices.providers.types import Coverage


def invoice(n: int, **changes) -> Invoice:
    values = {
        "provider_id": f"inv-{n}",
        "number": f"N-{n:05d}",
        "account_id": f"acc-{n % 3}",
        "account_name": f"Customer {n % 3}",
        "issue_date": dt.date(2024, 1, 1) + dt.timedelta(days=n),
        "total": Decimal("100.10") + n,
        "amount_due": Decimal("0"),
        "currency": "EUR",
        "paid": True,
        "raw_status": "paid",
        "batch": str(n % 4),
    }
    values.update(changes)
    return Invoice(**values)


class ScriptedClient(ProviderClient):
    name = "scripted"
    label = "Scripted"

    def __init__(self, pages: list[list[Invoice]], *, fail_at_page: int | None = None) -> None:
        self.pages = pages
        self.fail_at_page = fail_at_page
        self.closed = False

    @classmethod
    def from_config(cls, config, credentials, **http_options):  # pragma: no cover
        raise NotImplementedError

    def iter_invoice_pages(self) -> Iterator[InvoicePage]:
        for number, invoices in enumerate(self.pages, start=1):
            if number == self.fail_at_page:
                raise ProviderUnavailable("scripted: GET /invoices: HTTP 503")
            batches = tuple(
                Batch(b, sum(1 for i in invoices if i.batch == b))
                for b in sorted({i.batch for i in invoices if i.batch})
            )
            # Like a real client, the last page says the listing is complete.
            covers = (Coverage(),) if number == len(self.pages) else ()
            yield InvoicePage(
                tuple(invoices), number, len(self.pages), batches=batches, covers=covers
            )

    def list_accounts(self) -> list[Account]:  # pragma: no cover
        return []

    def close(self) -> None:
        self.closed = True


def paged(invoices: list[Invoice], size: int) -> list[list[Invoice]]:
    return [invoices[i : i + size] for i in range(0, len(invoices), size)]
