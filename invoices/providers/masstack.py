"""MasStack (MasMovil) billing: a service-account JWT, the Billing API v1 and the Customers API v2.

Wire details marked GUESS are not publicly documented (see docs/provider-apis.md); each
is one constant or one mapping below, so a different real answer is a one-line change.

Business dates: MasStack sends RFC 3339 UTC instants (`2022-02-28T23:00:00Z`), but a
billing date is a *date* in Spain, where billing runs on local midnight. An instant is
therefore converted to `BILLING_TZ` before its date is taken: `2022-02-28T23:00:00Z` is
00:00 on 1 March in Madrid -> 1 March; `2022-02-28T22:59:59.999999999Z` is the last
instant of 28 February in Madrid -> 28 February. Plain `YYYY-MM-DD` (and naive
timestamps) are taken as written.

The invoice list is read per account in date windows from the connection's `since`
(default `DEFAULT_HISTORY_YEARS` back: a finance user expects an account's whole
history, and walking back until a window comes back empty would stop at the first quiet
year) to today. Each window overlaps the next by a day, so whether the API reads
`end_date` as inclusive or exclusive (undocumented), every day is asked for; invoices
answered twice are kept once. An account read through all its windows covers its
invoices issued since `since`: older ones are outside what was asked, never taken as
gone. An account the API refuses is reported and skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, NamedTuple, Self
from urllib.parse import quote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from .base import ProviderClient, require
from .errors import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderError,
    ProviderNotSupported,
    ends_listing,
)
from .http import HttpClient, TokenCache, error_field
from .parsing import (
    as_date,
    as_datetime,
    as_decimal,
    as_list,
    as_opt_str,
    as_str,
    field,
    unreadable_entry,
)
from .types import Account, BillingDetails, Coverage, Invoice, InvoicePage, Problem, PublicLink

BILLING_TZ = ZoneInfo("Europe/Madrid")

# -- auth (GUESS: RFC 7523 JWT bearer grant) ---------------------------------------
TOKEN_URL = "https://billing.masstack.com/oauth2/token"  # noqa: S105 - a URL; config wins
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_FIELD = "access_token"  # noqa: S105 - a field name
EXPIRES_IN_FIELD = "expires_in"
DEFAULT_TOKEN_LIFETIME = 300.0  # seconds, when the answer has no expires_in
ASSERTION_LIFETIME = 3600  # seconds; the assertion only has to survive the exchange

# -- paths (billing details documented; public-link path GUESS) --------------------
BILLING_DETAILS_PATH = "orgs/{org}/accounts/{account}/billing_details"
PUBLIC_LINK_PATH = "orgs/{org}/accounts/{account}/invoices/{invoice}"
INVOICES_PATH = "orgs/{org}/accounts/{account}/invoices"  # Customers API v2

# -- payload fields (GUESS) ---------------------------------------------------------
NEXT_BILLING_DATE_FIELD = "next_billing_date"
LINK_URL_FIELDS = ("url", "public_link", "link")
LINK_EXPIRY_FIELDS = ("expires_at", "expiration_date", "expires")
ERROR_MESSAGE_FIELDS = ("message", "error_description", "error")  # GenericResponseDTO first
PAID_STATUS = "PAGADO"  # other values ("PENDIENTE", "DEVUELTO", ...) are an open set

# -- listing ------------------------------------------------------------------------
WINDOW_MONTHS = 12  # GUESS: the API accepts a one-year start_date..end_date range
DEFAULT_HISTORY_YEARS = 10
DEFAULT_CURRENCY = "EUR"  # GUESS: the payload has no currency
ZERO = Decimal("0.00")


# -- pure parsing ---------------------------------------------------------------------


def business_date(value: Any, *, where: str) -> dt.date | None:
    """A MasStack business date: instants in `BILLING_TZ`, plain dates as written."""
    if value is None or value == "":
        return None
    text = as_str(value, where=where).strip()
    if len(text) == 10:
        return as_date(text, where=where)
    # A naive timestamp is read as local (as written); one with Z/offset is converted.
    instant = as_datetime(text, where=where, naive_tz=BILLING_TZ)
    if instant is None:
        return None
    try:
        return instant.astimezone(BILLING_TZ).date()
    except (OverflowError, ValueError) as exc:
        raise ProviderBadPayload(f"{where} is out of range") from exc


def _first(payload: Any, names: tuple[str, ...], *, where: str) -> Any:
    for name in names:
        value = field(payload, name, default=None, where=where)
        if value is not None:
            return value
    return None


def parse_invoice(payload: Any, *, account_id: str, currency: str) -> Invoice:
    """One entry of a v2 invoice list."""
    where = "invoice"
    number = as_str(field(payload, "number", where=where), where=f"{where} number").strip()
    if not number:
        raise ProviderBadPayload(f"{where} number is empty")
    where = f"invoice {number[:40]}"
    issue_date = business_date(field(payload, "date", where=where), where=f"{where} date")
    if issue_date is None:
        raise ProviderBadPayload(f"{where} has no date")
    total = as_decimal(field(payload, "value", where=where), where=f"{where} value")

    status = field(payload, "status", default=None, where=where)
    status_id = None
    if isinstance(status, Mapping):
        status_id = as_opt_str(status.get("id"), where=f"{where} status id")
        status = status.get("value")
    raw_status = as_opt_str(status, where=f"{where} status") or ""
    paid = raw_status.upper() == PAID_STATUS

    cycle = field(payload, "cycle", default=None, where=where)
    cycle_start = cycle_end = None
    if cycle is not None:
        cycle_start = business_date(
            field(cycle, "start_date", default=None, where=f"{where} cycle"),
            where=f"{where} cycle start",
        )
        cycle_end = business_date(
            field(cycle, "end_date", default=None, where=f"{where} cycle"),
            where=f"{where} cycle end",
        )
    description = ""
    if cycle_start or cycle_end:
        description = f"Cycle {cycle_start or '?'} \u2013 {cycle_end or '?'}"

    extra = {
        "delivery_mode": as_opt_str(
            field(payload, "delivery_mode", default=None, where=where),
            where=f"{where} delivery_mode",
        ),
        "path": as_opt_str(
            field(payload, "path", default=None, where=where), where=f"{where} path"
        ),
        "status_id": status_id,
        "cycle_start": cycle_start and cycle_start.isoformat(),
        "cycle_end": cycle_end and cycle_end.isoformat(),
    }
    return Invoice(
        provider_id=f"{account_id}/{number}",
        number=number,
        account_id=account_id,
        account_name=account_id,
        issue_date=issue_date,
        total=total,
        amount_due=ZERO if paid else total,
        currency=currency,
        paid=paid,
        raw_status=raw_status,
        payment_date=business_date(
            field(payload, "pay_date", default=None, where=where), where=f"{where} pay_date"
        ),
        description=description,
        extra=tuple((key, value) for key, value in extra.items() if value),
    )


class InvoiceList(NamedTuple):
    invoices: tuple[Invoice, ...]
    problems: tuple[Problem, ...]


def parse_invoice_list(
    payload: Any, *, currency: str, account_id: str | None = None
) -> InvoiceList:
    """A v2 invoice-list answer: its invoices, and a problem for each entry that could not
    be read (skipped). `account_id` (the one asked for) wins over the payload's."""
    where = "invoice list"
    if account_id is None:
        account_id = as_str(
            field(payload, "account_id", where=where), where=f"{where} account_id"
        ).strip()
        if not account_id:
            raise ProviderBadPayload(f"{where} account_id is empty")
    entries = field(payload, "invoices", default=None, where=where)
    if entries is None:
        return InvoiceList((), ())
    invoices: list[Invoice] = []
    problems: list[Problem] = []
    for item in as_list(entries, where=f"{where} invoices"):
        try:
            invoices.append(parse_invoice(item, account_id=account_id, currency=currency))
        except ProviderBadPayload as exc:
            problems.append(
                unreadable_entry(
                    item, exc, vendor="MasStack", account_id=account_id, number_key="number"
                )
            )
    return InvoiceList(tuple(invoices), tuple(problems))


def parse_billing_details(payload: Any, *, account_id: str) -> BillingDetails:
    value = field(payload, NEXT_BILLING_DATE_FIELD, default=None, where="billing details")
    return BillingDetails(
        account_id=account_id,
        next_billing_date=business_date(value, where="next billing date"),
    )


def parse_public_link(payload: Any) -> PublicLink:
    """The link as sent (the UI decides whether to render it: https only)."""
    where = "public link"
    url = _first(payload, LINK_URL_FIELDS, where=where)
    if not isinstance(url, str) or not url.strip():
        raise ProviderBadPayload(f"{where} has no url")
    expiry = _first(payload, LINK_EXPIRY_FIELDS, where=where)
    return PublicLink(url=url.strip(), expires_at=as_datetime(expiry, where=f"{where} expiry"))


# -- date windows ---------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month + 1, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"cannot move {day} by {months} months")  # pragma: no cover


def date_windows(
    since: dt.date, until: dt.date, *, months: int = WINDOW_MONTHS
) -> list[tuple[dt.date, dt.date]]:
    """`(start, end)` windows covering `since..until`, oldest first, each at most `months`
    long and starting on the day the one before it ends: read inclusive or exclusive,
    together they ask for every day."""
    windows: list[tuple[dt.date, dt.date]] = []
    start = since
    while start <= until:
        end = min(add_months(start, months) - dt.timedelta(days=1), until)
        windows.append((start, end))
        if end >= until:
            break
        start = end
    return windows


def madrid_today() -> dt.date:
    return dt.datetime.now(BILLING_TZ).date()


# -- the client -----------------------------------------------------------------------


def _error_message(response: requests.Response) -> str | None:
    for name in ERROR_MESSAGE_FIELDS:
        message = error_field(response, name)
        if message:
            return message
    return None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _base(url: Any, name: str) -> str:
    text = str(url).strip()
    if not text.startswith(("https://", "http://")):
        raise ProviderBadPayload(f"connection {name} is not an http(s) URL")
    return text if text.endswith("/") else text + "/"


class ServiceAccount:
    """The signing half of a MasStack service-account file. Its repr shows no key."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        missing = [
            key
            for key in ("private_key", "private_key_id", "client_email")
            if not isinstance(info.get(key), str) or not info[key].strip()
        ]
        if missing:
            raise ProviderBadPayload(f"service account is missing {', '.join(missing)}")
        pem = info["private_key"]
        self.key_id: str = info["private_key_id"].strip()
        self.client_email: str = info["client_email"].strip()
        self.token_uri: str | None = info.get("token_uri") or None
        try:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # `from None`: the parser's error must not drag key material along.
            raise ProviderBadPayload(
                "service account private_key is not an unencrypted PEM private key"
            ) from None
        if not isinstance(key, RSAPrivateKey):
            raise ProviderBadPayload("service account private_key is not an RSA key (RS256)")
        self._key = key

    def assertion(self, audience: str, *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.client_email,
            "sub": self.client_email,
            "aud": audience,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def __repr__(self) -> str:
        return f"ServiceAccount({self.client_email!r})"


def _service_account_info(credentials: Mapping[str, Any]) -> Mapping[str, Any]:
    (info,) = require(credentials, "service_account")
    if isinstance(info, str | bytes):
        try:
            info = json.loads(info)
        except ValueError:
            raise ProviderBadPayload("service account is not valid JSON") from None
    if not isinstance(info, Mapping):
        raise ProviderBadPayload("service account is not a JSON object")
    return info


class MasStackClient(ProviderClient):
    name = "masstack"
    label = "MasStack"
    supports_public_links = True
    supports_billing_details = True
    supports_pdf = True

    def __init__(
        self,
        *,
        billing_url: str,
        customers_url: str,
        token_url: str,
        org: str,
        accounts: list[str],
        service_account: ServiceAccount,
        since: dt.date | None = None,
        currency: str = DEFAULT_CURRENCY,
        today: Callable[[], dt.date] = madrid_today,
        **http_options: Any,
    ) -> None:
        # A test seam, not an HTTP option: the clock token lifetimes are measured by.
        self._clock = http_options.pop("clock", time.time)
        self.billing_url = _base(billing_url, "billing_url")
        self.customers_url = _base(customers_url, "customers_url")
        self.token_url = _base(token_url, "token_url").rstrip("/")
        self.org = org
        self.accounts = accounts
        self.currency = currency
        self._since = since
        self._today = today
        self._service_account = service_account
        # The token call goes through its own client: it must not carry (or wait for)
        # the bearer token it is fetching. Safe to retry: it only mints a token.
        self._auth_http = HttpClient(
            self.token_url, provider=self.name, error_message=_error_message, **http_options
        )
        self.tokens = TokenCache(self._fetch_token, clock=self._clock)
        # One client for both APIs (Customers calls use absolute URLs), one token cache.
        self.http = HttpClient(
            self.billing_url,
            provider=self.name,
            token_cache=self.tokens,
            error_message=_error_message,
            **http_options,
        )

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], credentials: Mapping[str, Any], **http_options: Any
    ) -> Self:
        billing_url, customers_url, org, accounts = require(
            config, "billing_url", "customers_url", "org", "accounts"
        )
        service_account = ServiceAccount(_service_account_info(credentials))
        if isinstance(accounts, str) or not isinstance(accounts, list | tuple):
            raise ProviderBadPayload("connection accounts is not a list of account ids")
        account_ids = list(dict.fromkeys(str(account).strip() for account in accounts))
        if not account_ids or not all(account_ids):
            raise ProviderBadPayload("connection accounts has an empty account id")
        since = config.get("since")
        if isinstance(since, dt.datetime):
            since = since.date()
        elif since is not None and not isinstance(since, dt.date):
            since = as_date(since, where="connection since")
        currency = str(config.get("currency") or DEFAULT_CURRENCY).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ProviderBadPayload("connection currency is not a 3-letter code")
        today = http_options.pop("today", madrid_today)  # a test seam, not an HTTP option
        return cls(
            billing_url=billing_url,
            customers_url=customers_url,
            token_url=config.get("token_url") or service_account.token_uri or TOKEN_URL,
            org=str(org).strip(),
            accounts=account_ids,
            service_account=service_account,
            since=since,
            currency=currency,
            today=today,
            **http_options,
        )

    def close(self) -> None:
        self.http.close()
        self._auth_http.close()

    # -- auth ------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, float]:
        data = {
            "grant_type": GRANT_TYPE,
            "assertion": self._service_account.assertion(self.token_url),
        }
        try:
            response = self._auth_http.request("POST", self.token_url, data=data, retry=True)
        except ProviderError as exc:
            if exc.status in (400, 401, 403):
                raise ProviderAuthError(
                    f"{exc} (the service account was refused: check its key and client_email)",
                    status=exc.status,
                ) from None
            raise
        body = self._auth_http.json(response)
        token = as_str(field(body, TOKEN_FIELD, where="token answer"), where="token")
        if not token.strip():
            raise ProviderAuthError(f"{self.name}: the token answer has an empty token")
        expires_in = field(body, EXPIRES_IN_FIELD, default=None, where="token answer")
        lifetime = (
            DEFAULT_TOKEN_LIFETIME
            if expires_in is None
            else float(as_decimal(expires_in, where="token expires_in"))
        )
        return token, self._clock() + max(lifetime, 0.0)

    # -- reads -----------------------------------------------------------------

    def _path(self, template: str, **values: str) -> str:
        return template.format(
            org=_segment(self.org), **{key: _segment(value) for key, value in values.items()}
        )

    def billing_details(self, account_id: str) -> BillingDetails:
        payload = self.http.get_json(self._path(BILLING_DETAILS_PATH, account=account_id))
        return parse_billing_details(payload, account_id=account_id)

    def public_link(self, *, account_id: str, invoice_id: str) -> PublicLink:
        # Accept our own provider_id ("<account>/<number>") as well as the bare number.
        invoice_id = invoice_id.removeprefix(f"{account_id}/")
        path = self._path(PUBLIC_LINK_PATH, account=account_id, invoice=invoice_id)
        return parse_public_link(self.http.get_json(path))

    def download_pdf(self, invoice: Invoice) -> bytes:
        """The invoice document at the `path` its listing gave (GUESS: root-relative to the
        Customers API, with the same bearer token). Chosen over the public link: the link
        is for customers, and a server fetching URLs a provider hands out could be sent
        anywhere; the path stays on the API's own host."""
        path = dict(invoice.extra).get("path")
        if not path:
            raise ProviderNotSupported(f"{self.label} gave no document for this invoice")
        url = urljoin(self.customers_url, path)
        if urlsplit(url)[:2] != urlsplit(self.customers_url)[:2]:
            raise ProviderBadPayload(f"{self.name}: the document path leaves the API's host")
        return self._pdf(url)

    def list_accounts(self) -> list[Account]:
        # The API has no account listing we know of: the connection names its accounts.
        return [
            Account(id=account, name=account, currency=self.currency) for account in self.accounts
        ]

    def check(self) -> None:
        self.billing_details(self.accounts[0])

    def since(self) -> dt.date:
        """The oldest issue date a listing asks for."""
        if self._since is not None:
            return self._since
        return add_months(self._today(), -12 * DEFAULT_HISTORY_YEARS) + dt.timedelta(days=1)

    def windows(self) -> list[tuple[dt.date, dt.date]]:
        """The `start_date..end_date` windows one listing walks, per account."""
        return date_windows(self.since(), self._today())

    def iter_invoice_pages(self) -> Iterator[InvoicePage]:
        since, windows = self.since(), self.windows()
        total_pages = len(windows) * len(self.accounts)
        number = 0
        if not windows:
            return
        self.tokens.get()  # a refused service account ends the listing, not one account
        for done, account in enumerate(self.accounts):
            url = self.customers_url + self._path(INVOICES_PATH, account=account)
            seen: set[str] = set()  # an invoice may be answered for two windows
            try:
                for index, (start, end) in enumerate(windows, start=1):
                    payload = self.http.get_json(
                        url, params={"start_date": start.isoformat(), "end_date": end.isoformat()}
                    )
                    listed = parse_invoice_list(payload, currency=self.currency, account_id=account)
                    invoices = [
                        invoice for invoice in listed.invoices if invoice.number not in seen
                    ]
                    seen.update(invoice.number for invoice in invoices)
                    number += 1
                    yield InvoicePage(
                        tuple(invoices),
                        number=number,
                        total_pages=total_pages,
                        problems=listed.problems,
                        covers=(
                            (Coverage(account_id=account, issued_from=since),)
                            if index == len(windows)
                            else ()
                        ),
                    )
            except ProviderError as exc:
                if ends_listing(exc):
                    raise
                problem = Problem(
                    what=f"MasStack account {account}", reason=str(exc), account_id=account
                )
                number = (done + 1) * len(windows)  # the account's windows are behind us
                yield InvoicePage((), number=number, total_pages=total_pages, problems=(problem,))
