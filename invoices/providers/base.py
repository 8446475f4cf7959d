"""What a provider client must implement (Django pluggable-backend style).

A client is built from a connection's plain `config` (URLs, ids, currency) and its
`credentials` (secrets), talks HTTP through `http.HttpClient`, and returns the
domain objects of `types`. Views and the sync engine only ever see this surface.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

from .errors import ProviderBadPayload, ProviderNotSupported
from .http import HttpClient
from .types import Account, BillingDetails, Invoice, InvoicePage, PublicLink


class ProviderClient(abc.ABC):
    #: the registry name, e.g. "acronis"
    name: ClassVar[str]
    #: shown to people, e.g. "Acronis Advanced Automation"
    label: ClassVar[str]
    supports_public_links: ClassVar[bool] = False
    supports_billing_details: ClassVar[bool] = False

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

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared helpers ------------------------------------------------------

    def _pdf(self, path: str, **kwargs: Any) -> bytes:
        response = self.http.request("GET", path, headers={"Accept": "application/pdf"}, **kwargs)
        if not response.content.startswith(b"%PDF"):
            raise ProviderBadPayload(f"{self.name}: the invoice download is not a PDF")
        return response.content


def require(config: Mapping[str, Any], *keys: str) -> list[Any]:
    """Values of `keys` in a connection's config/credentials, or a clear configuration error."""
    missing = [key for key in keys if not config.get(key)]
    if missing:
        raise ProviderBadPayload(f"connection is missing {', '.join(missing)}")
    return [config[key] for key in keys]
