"""What a provider client must implement (Django pluggable-backend style).

A client is built from a connection's plain `config` (URLs, ids, currency) and its
`credentials` (secrets), talks HTTP through `http.HttpClient`, and returns the
domain objects of `types`. Views and the sync engine only ever see this surface.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

import requests

from .errors import ProviderBadPayload, ProviderNotSupported
from .http import HttpClient
from .types import Account, BillingDetails, Invoice, InvoicePage, PublicLink

# The largest invoice PDF the app passes on (invoices are a few hundred kilobytes).
MAX_PDF_BYTES = 20_000_000


class ProviderClient(abc.ABC):
    #: the registry name, e.g. "acronis"
    name: ClassVar[str]
    #: shown to people, e.g. "Acronis Advanced Automation"
    label: ClassVar[str]
    supports_public_links: ClassVar[bool] = False
    supports_billing_details: ClassVar[bool] = False
    supports_pdf: ClassVar[bool] = False
    # An accounting export the provider makes and then marks its invoices exported.
    supports_accounting_export: ClassVar[bool] = False
    # Why a connection cannot confirm payments, or None when it can (`confirm_payment`).
    payments_unsupported: ClassVar[str | None] = (
        "the provider's documented API has no payment write"
    )

    http: HttpClient

    @classmethod
    @abc.abstractmethod
    def from_config(
        cls, config: Mapping[str, Any], credentials: Mapping[str, Any], **http_options: Any
    ) -> Self:
        """Build a client; `http_options` go to `HttpClient` (timeouts, retries, sleep)."""

    @abc.abstractmethod
    def iter_invoice_pages(self) -> Iterator[InvoicePage]:
        """Every invoice the connection can see, one page at a time, then stop."""

    @abc.abstractmethod
    def list_accounts(self) -> list[Account]:
        """The customer/billing accounts of the connection."""

    def check(self) -> None:
        """Prove the URL and credentials work (raises a `ProviderError` if not)."""
        self.list_accounts()

    def iter_invoices(self) -> Iterator[Invoice]:
        for page in self.iter_invoice_pages():
            yield from page.invoices

    def billing_details(self, account_id: str) -> BillingDetails:
        raise ProviderNotSupported(f"{self.label} has no next billing date")

    def public_link(self, *, account_id: str, invoice_id: str) -> PublicLink:
        raise ProviderNotSupported(f"{self.label} has no public invoice links")

    def download_pdf(self, invoice: Invoice) -> bytes:
        raise ProviderNotSupported(f"{self.label} offers no PDF download")

    def invoice(self, invoice: Invoice) -> Invoice | None:
        """`invoice` read again from the provider (None: it no longer has it)."""
        raise ProviderNotSupported(f"{self.label} cannot read one invoice")

    def confirm_payment(self, invoice: Invoice) -> None:
        """Tell the provider `invoice` is paid. Never retried: see `payments_unsupported`."""
        raise ProviderNotSupported(f"{self.label}: {self.payments_unsupported}")

    def export_invoices(self, invoices: list[Invoice], *, fmt: str) -> bytes:
        """The provider's accounting file of `invoices`; it marks them exported."""
        raise ProviderNotSupported(f"{self.label} offers no accounting export")

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared helpers ------------------------------------------------------

    def _pdf(self, path: str, **kwargs: Any) -> bytes:
        """GET an invoice's PDF: read up to `MAX_PDF_BYTES`, and only if it is one."""
        response = self.http.request(
            "GET", path, headers={"Accept": "application/pdf"}, stream=True, **kwargs
        )
        try:
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_PDF_BYTES:
                    raise ProviderBadPayload(
                        f"{self.name}: the invoice document is larger than "
                        f"{MAX_PDF_BYTES // 1_000_000} MB"
                    )
        except requests.RequestException as exc:
            raise ProviderBadPayload(f"{self.name}: the invoice document was cut off") from exc
        finally:
            response.close()
        if not body.startswith(b"%PDF-"):
            raise ProviderBadPayload(f"{self.name}: the invoice document is not a PDF")
        return bytes(body)


def require(config: Mapping[str, Any], *keys: str) -> list[Any]:
    """Values of `keys` in a connection's config/credentials, or a clear configuration error."""
    missing = [key for key in keys if not config.get(key)]
    if missing:
        raise ProviderBadPayload(f"connection is missing {', '.join(missing)}")
    return [config[key] for key in keys]
