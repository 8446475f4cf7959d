"""Hostway billing API client (seed 004, `docs/provider-apis.md` "Hostway").

The vendor-specific part is paging: listings are followed through `rel=next` links
(absolute or relative), and the server answers some paging requests with a 303
(no paging on a long list, `pageSize` > 400, a page past the end -> back to the
start). Redirects are therefore handled here, not by `requests`: a 303 is followed
only to a URL not yet fetched in the same listing, at most `MAX_REDIRECT_HOPS`
times per page, and a 303 back to an already-read page ends the listing. Invoices
already yielded are never yielded again, and a listing has a hard page cap.

`InvoicePage.number` counts pages across the whole sync; `total_pages` is None:
each account's page count is only known once its first page is read, so a total
for the sync would be a guess that changes as it runs.

Each account is a unit of its own: an account the server refuses (404, 403, an answer
that cannot be read) is reported and skipped, and the next account is read; an invoice
that cannot be read (no currency, when neither the account nor the connection names
one) is reported and skipped. An account read to its end without contradiction
(`_LinkPaging`) is covered: its invoices the listing did not return are gone upstream.
Bad credentials (401) and an unavailable server end the whole listing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Generic, NamedTuple, Self, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests

from . import parsing
from .base import ProviderClient, require
from .errors import ProviderBadPayload, ProviderError, ProviderNotFound, ends_listing
from .http import HttpClient, error_field
from .types import Account, Coverage, Invoice, InvoicePage, Problem

logger = logging.getLogger(__name__)

T = TypeVar("T")
Links = dict[str, str]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 400  # the server answers larger sizes with a 303 to pageSize=400
MAX_REDIRECT_HOPS = 3  # per page: the documented 303s need one hop, two at most
MAX_PAGES_PER_LISTING = 1000  # 400,000 invoices at the largest page size
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PAID_STATUS = "invoice_paid"  # the only documented status; the set is open
# The doc's examples keep their template placeholder; treat it as the base URL.
BASE_URL_PLACEHOLDER = "{{APIBaseURL}}"


def make_auth(username: str, password: str) -> requests.auth.AuthBase:
    """GUESS: the doc only says "an Authorization header"; Basic is the likeliest scheme."""
    return requests.auth.HTTPBasicAuth(username, password)


# -- parsing (pure, no HTTP) ---------------------------------------------------


def parse_links(payload: Any, *, where: str = "links") -> Links:
    """`{"links": [{"href", "rel"}]}` -> `{rel: href}` (first of each rel wins).

    Hrefs are returned as sent (absolute, relative or with the doc's placeholder);
    `resolve_link` turns them into URLs.
    """
    links: Links = {}
    raw = parsing.field(payload, "links", default=None, where=where)
    if raw is None:
        return links
    for index, entry in enumerate(parsing.as_list(raw, where=where)):
        at = f"{where}[{index}]"
        rel = parsing.as_str(parsing.field(entry, "rel", where=at), where=f"{at}.rel")
        href = parsing.as_str(
            parsing.field(entry, "href", where=at), where=f"{at}.href", allow_empty=False
        )
        links.setdefault(rel.strip().lower(), href.strip())
    return links


def parse_invoice(payload: Any, *, account_id: str, default_currency: str | None = None) -> Invoice:
    """One invoice object of `GET /accounts/{id}/invoices[/{number}]`.

    The invoice has no id of its own and its number is only known to be unique per
    account, so `provider_id` is `"<account>/<number>"`. Unpaid means `amountDue` > 0;
    when `amountDue` is missing the (open) status decides.
    """
    where = f"hostway invoice of {account_id}"
    number = parsing.as_str(
        parsing.field(payload, "invoiceNumber", where=where),
        where=f"{where}: invoiceNumber",
        allow_empty=False,
    ).strip()
    where = f"hostway invoice {account_id}/{number}"
    issue_date = parsing.as_date(
        parsing.field(payload, "date", where=where), where=f"{where}: date"
    )
    if issue_date is None:
        raise ProviderBadPayload(f"{where} has no date")
    total = parsing.as_decimal(
        parsing.field(payload, "amount", where=where), where=f"{where}: amount"
    )
    status = parsing.as_opt_str(payload.get("status"), where=f"{where}: status") or ""
    status_name = parsing.as_opt_str(payload.get("statusName"), where=f"{where}: statusName")
    raw_due = payload.get("amountDue")
    if raw_due is None:
        amount_due = Decimal(0) if status.lower() == PAID_STATUS else total
    else:
        amount_due = parsing.as_decimal(raw_due, where=f"{where}: amountDue")
    currency = parsing.as_opt_str(payload.get("currency"), where=f"{where}: currency")
    currency = (currency or default_currency or "").upper()
    if not currency:
        raise ProviderBadPayload(f"{where} has no currency")
    description = parsing.as_opt_str(payload.get("description"), where=f"{where}: description")
    return Invoice(
        provider_id=f"{account_id}/{number}",
        number=number,
        account_id=account_id,
        account_name=account_id,
        issue_date=issue_date,
        total=total,
        amount_due=amount_due,
        currency=currency,
        paid=amount_due <= 0,
        raw_status=status_name or status,
        description=description or "",
        extra=(("status", status),) if status else (),
    )


class Listed(NamedTuple, Generic[T]):
    """One page of a listing: what could be read, its links, and what could not."""

    items: list[T]
    links: Links
    problems: list[Problem]


def parse_invoice_list(
    payload: Any, *, account_id: str, default_currency: str | None = None
) -> Listed[Invoice]:
    """A page of `GET /accounts/{id}/invoices`: its invoices, its links by rel, and a
    problem for each invoice that could not be read (skipped)."""
    where = f"hostway invoice list of {account_id}"
    items = parsing.as_list(parsing.field(payload, "list", where=where), where=f"{where}: list")
    invoices: list[Invoice] = []
    problems: list[Problem] = []
    for item in items:
        try:
            invoices.append(
                parse_invoice(item, account_id=account_id, default_currency=default_currency)
            )
        except ProviderBadPayload as exc:
            problems.append(
                parsing.unreadable_entry(
                    item, exc, vendor="Hostway", account_id=account_id, number_key="invoiceNumber"
                )
            )
    return Listed(invoices, parse_links(payload, where=f"{where}: links"), problems)


def parse_account(payload: Any) -> Account:
    """One account of `GET /accounts`; there is no name, so the number stands in."""
    where = "hostway account"
    number = parsing.as_str(
        parsing.field(payload, "accountNumber", where=where),
        where=f"{where}: accountNumber",
        allow_empty=False,
    ).strip()
    currency = parsing.as_opt_str(payload.get("currency"), where=f"{where} {number}: currency")
    status = parsing.as_opt_str(payload.get("status"), where=f"{where} {number}: status")
    return Account(
        id=number, name=number, currency=currency.upper() if currency else None, status=status or ""
    )


def parse_account_list(payload: Any) -> Listed[Account]:
    where = "hostway account list"
    items = parsing.as_list(parsing.field(payload, "list", where=where), where=f"{where}: list")
    return Listed(
        [parse_account(item) for item in items], parse_links(payload, where=f"{where}: links"), []
    )


def error_message(response: requests.Response) -> str | None:
    """The `message` of the first wrapper object (`{"itemNotFound": {"message": ...}}`)."""
    try:
        body = parsing.loads(response.content)
    except (ProviderBadPayload, requests.RequestException):
        return None
    if isinstance(body, Mapping):
        for key, value in body.items():
            if isinstance(value, Mapping) and "message" in value:
                return error_field(response, key, "message")
    return None


# -- URLs ----------------------------------------------------------------------


def resolve_link(href: str, current_url: str, base_url: str) -> str:
    """An absolute URL for a link/Location `href` read on `current_url`."""
    if href.startswith(BASE_URL_PLACEHOLDER):
        href = base_url.rstrip("/") + href[len(BASE_URL_PLACEHOLDER) :]
    return urljoin(current_url, href)


def canonical_url(url: str) -> str:
    """The same page whatever the link style or parameter order."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _page_number(url: str) -> int | None:
    values = [value for name, value in parse_qsl(urlsplit(url).query) if name == "page"]
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


class _LinkPaging:
    """Whether a link-paged listing agrees with what its links announced.

    Contradictions: the `last` page changing while reading, a page with fewer items than
    the pages before it (or none) followed by a page that brought new ones, a listing
    that ends before the page its `last` link named.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.number: int | None = None
        self.served = 0
        self.suspect: str | None = None  # a short page, a contradiction if more follows
        self.contradictions: list[str] = []

    def read(self, url: str, *, sent: int, new: int, has_next: bool, last_url: str | None) -> None:
        self.number = _page_number(url)
        if last_url is not None:
            announced = _page_number(last_url)
            if announced is not None:
                if self.last is not None and announced != self.last:
                    self.contradictions.append(
                        f"the last page changed from {self.last} to {announced} while reading"
                    )
                self.last = announced
        if new and self.suspect:
            self.contradictions.append(self.suspect)
            self.suspect = None
        if has_next and (sent == 0 or sent < self.served):
            self.suspect = (
                f"page {self.number} had {sent} invoices where the pages before it had "
                f"{self.served}, and more followed"
            )
        self.served = max(self.served, sent)

    def ended(self) -> None:
        if self.last is not None and self.number is not None and self.number < self.last:
            self.contradictions.append(
                f"the listing ended at page {self.number} of the {self.last} announced"
            )

    def problem(self, account_id: str) -> Problem | None:
        if not self.contradictions:
            return None
        reason = (
            "The listing contradicted itself ("
            + "; ".join(self.contradictions[:3])
            + "), so it may be incomplete: nothing of this account was marked gone upstream."
        )
        return Problem(what=f"Hostway account {account_id}", reason=reason, account_id=account_id)


# -- the client ----------------------------------------------------------------


class HostwayClient(ProviderClient):
    name = "hostway"
    label = "Hostway"
    supports_pdf = True

    def __init__(
        self,
        http: HttpClient,
        *,
        accounts: list[str] | None = None,
        currency: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int = MAX_PAGES_PER_LISTING,
    ) -> None:
        self.http = http
        self.accounts = list(accounts or [])
        # For invoices without a currency of their own whose account names none either.
        self.currency = currency
        self.page_size = page_size
        self.max_pages = max_pages

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], credentials: Mapping[str, Any], **http_options: Any
    ) -> Self:
        """config: `base_url`, optional `accounts` (empty = every account of the login),
        `currency` (for invoices that name none, on accounts that name none) and
        `page_size` (sent as is: the server redirects sizes above 400);
        credentials: `username`, `password`."""
        (base_url,) = require(config, "base_url")
        username, password = require(credentials, "username", "password")
        accounts = config.get("accounts") or []
        if not isinstance(accounts, list | tuple) or not all(
            isinstance(account, str) and account.strip() for account in accounts
        ):
            raise ProviderBadPayload("connection 'accounts' must be a list of account numbers")
        page_size = config.get("page_size") or DEFAULT_PAGE_SIZE
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ProviderBadPayload("connection 'page_size' must be a positive integer")
        currency = str(config.get("currency") or "").strip().upper() or None
        if currency is not None and (len(currency) != 3 or not currency.isalpha()):
            raise ProviderBadPayload("connection currency is not a 3-letter code")
        http = HttpClient(
            str(base_url),
            provider=cls.name,
            auth=make_auth(str(username), str(password)),
            error_message=error_message,
            **http_options,
        )
        return cls(
            http,
            accounts=[account.strip() for account in accounts],
            currency=currency,
            page_size=page_size,
        )

    # -- public surface ---------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        accounts: list[Account] = []
        start = self.http.url(f"accounts?page=1&pageSize={self.page_size}")
        for page in self._walk(start, parse_account_list, key=lambda account: account.id):
            accounts.extend(page.items)
        return accounts

    def iter_invoice_pages(self) -> Iterator[InvoicePage]:
        if self.accounts:
            targets = [(account, self.currency) for account in self.accounts]
        else:
            targets = [
                (account.id, account.currency or self.currency) for account in self.list_accounts()
            ]
        number = 0
        for account_id, currency in targets:
            paging = _LinkPaging()
            try:
                for page in self._account_pages(account_id, currency=currency, paging=paging):
                    number += 1
                    yield InvoicePage(
                        invoices=tuple(page.items), number=number, problems=tuple(page.problems)
                    )
            except ProviderError as exc:
                if ends_listing(exc):
                    raise
                problem = Problem(
                    what=f"Hostway account {account_id}", reason=str(exc), account_id=account_id
                )
                yield InvoicePage(invoices=(), number=number, problems=(problem,))
                continue
            problem = paging.problem(account_id)
            yield InvoicePage(
                invoices=(),
                number=number,
                covers=() if problem else (Coverage(account_id=account_id),),
                problems=(problem,) if problem else (),
            )

    def account_invoice_pages(
        self,
        account_id: str,
        *,
        start_url: str | None = None,
        default_currency: str | None = None,
    ) -> Iterator[list[Invoice]]:
        """The invoices of one account, page by page, from `start_url` (default page 1)."""
        for page in self._account_pages(
            account_id, currency=default_currency or self.currency, start_url=start_url
        ):
            yield page.items

    def _account_pages(
        self,
        account_id: str,
        *,
        currency: str | None,
        start_url: str | None = None,
        paging: _LinkPaging | None = None,
    ) -> Iterator[Listed[Invoice]]:
        start = start_url or self.http.url(
            f"{self._invoices_path(account_id)}?page=1&pageSize={self.page_size}"
        )

        def parse(payload: Any) -> Listed[Invoice]:
            return parse_invoice_list(payload, account_id=account_id, default_currency=currency)

        yield from self._walk(start, parse, key=lambda invoice: invoice.number, paging=paging)

    def invoice(self, invoice: Invoice) -> Invoice | None:
        """`GET /accounts/{id}/invoices/{number}` (None: the provider answers 404)."""
        path = f"{self._invoices_path(invoice.account_id)}/{quote(invoice.number, safe='')}"
        try:
            payload = self.http.get_json(path)
        except ProviderNotFound:
            return None
        return parse_invoice(payload, account_id=invoice.account_id, default_currency=self.currency)

    def download_pdf(self, invoice: Invoice) -> bytes:
        account_id = invoice.account_id
        return self._pdf(f"{self._invoices_path(account_id)}/{quote(invoice.number, safe='')}")

    # -- paging -----------------------------------------------------------------

    @staticmethod
    def _invoices_path(account_id: str) -> str:
        return f"accounts/{quote(account_id, safe='')}/invoices"

    def _walk(
        self,
        start: str,
        parse: Callable[[Any], Listed[T]],
        *,
        key: Callable[[T], str],
        paging: _LinkPaging | None = None,
    ) -> Iterator[Listed[T]]:
        """Pages of one listing: new items only, following `next` until it is absent,
        the server sends us back to a page already read, or a page holds nothing new.
        `paging` checks what the pages announced against what they held."""
        fetched: set[str] = set()
        keys: set[str] = set()
        url: str | None = self._follow(start, self.http.base_url)
        pages = 0
        paging = paging or _LinkPaging()
        while url is not None:
            if pages >= self.max_pages:
                raise ProviderBadPayload(
                    f"{self.name}: more than {self.max_pages} pages in one listing; "
                    "the server's paging seems to loop"
                )
            read = self._get_page(url, fetched)
            if read is None:
                break
            payload, url = read
            page = parse(payload)
            new = [item for item in page.items if key(item) not in keys]
            if page.items and not new:
                break  # the server went round to a page we already have
            sent = len(page.items) + len(page.problems)
            last = page.links.get("last")
            paging.read(
                url, sent=sent, new=len(new), has_next="next" in page.links,
                last_url=self._follow(last, url) if last else None,
            )  # fmt: skip
            keys.update(key(item) for item in new)
            pages += 1
            yield Listed(new, page.links, page.problems)
            href = page.links.get("next")
            url = self._follow(href, url) if href else None
        paging.ended()

    def _get_page(self, url: str, fetched: set[str]) -> tuple[Any, str] | None:
        """GET `url`, handling redirects ourselves; None when they lead back to a page
        already fetched in this listing (which is how the server says "past the end")."""
        for _hop in range(MAX_REDIRECT_HOPS + 1):
            marker = canonical_url(url)
            if marker in fetched:
                logger.debug("%s: paging led back to a page already read; done", self.name)
                return None
            fetched.add(marker)
            response = self.http.request("GET", url, allow_redirects=False)
            if not 300 <= response.status_code < 400:
                return self.http.json(response), url
            location = response.headers.get("Location")
            status = response.status_code
            response.close()
            if status not in REDIRECT_STATUSES or not location:
                raise ProviderBadPayload(f"{self.name}: unexpected HTTP {status} while paging")
            url = self._follow(location, url)
        raise ProviderBadPayload(f"{self.name}: too many redirects while paging")

    def _follow(self, href: str, current_url: str) -> str:
        url = resolve_link(href, current_url, self.http.base_url)
        # Credentials go with every request: never to another origin than the API's.
        if _origin(url) != _origin(self.http.base_url):
            raise ProviderBadPayload(f"{self.name}: a paging link leaves the API's origin")
        return url
