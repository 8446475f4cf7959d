"""Stand-in for the Hostway billing API (seed 004, `docs/provider-apis.md` "Hostway").

Faithful to the documented paging, including its traps: `page` is 1-based and goes
with `pageSize`; links `self`/`first`/`previous`/`next`/`last` (no first/previous on
the first page, no next/last on the last); a long list asked without paging, a
`pageSize` over 400 and a page past the end are answered with a 303. Accounts use
different link styles (absolute, root-relative, query-only) so clients must resolve
every kind. Errors use the documented `{"itemNotFound": {...}}` wrapper shape.

GUESSES (undocumented): HTTP Basic auth; the wrapper keys other than
`itemNotFound`; statuses other than `invoice_paid`; account statuses; the
`createdDate` format; a 400 when only one of `page`/`pageSize` is given.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .core import Host, VendorSandbox, json_response, pdf_document

NO_PAGING_LIMIT = 100  # more items than this without paging -> 303 to page=1&pageSize=100
MAX_PAGE_SIZE = 400
LINK_STYLES = ("absolute", "root", "query")  # by account index, deterministic
LAST_DAY = dt.date(2025, 6, 30)  # fixed, so the same seed gives the same data on any day
SPECIAL_DESCRIPTION = 'Hosting für "Müller & Söhne" <b>'
ERROR_KEYS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    429: "overLimit",
}
STATUS_NAMES = {
    "invoice_paid": "Invoice Paid",
    "invoice_open": "Invoice Open",
    "invoice_overdue": "Invoice Overdue",
}


class HostwaySandbox(VendorSandbox):
    prefixes = ("/accounts",)

    def __init__(self, sandbox: Host) -> None:
        super().__init__(sandbox)
        rng = random.Random(f"hostway-{self.config.seed}")
        count = self.config.hostway_accounts
        #: the accounts as the API lists them, and their invoices (wire dicts)
        self.accounts: list[dict[str, Any]] = []
        self.invoices: dict[str, list[dict[str, Any]]] = {}
        self.link_style: dict[str, str] = {}
        ids = ["test731993"]  # the doc's example account
        while len(ids) < count:
            candidate = f"test{rng.randint(100000, 999999)}"
            if candidate not in ids:
                ids.append(candidate)
        #: the generated account numbers, in listing order
        self.account_ids: list[str] = ids[:count]
        #: the account with more than 100 invoices (303 rules, several pages)
        self.big_account = self.account_ids[min(1, count - 1)] if count else ""
        next_number = rng.randint(300000, 400000)
        special_done = False
        for index, account_id in enumerate(self.account_ids):
            currency = "USD" if index % 2 == 0 else "EUR"
            size = rng.randint(140, 160) if account_id == self.big_account else rng.randint(10, 60)
            days = sorted(rng.randint(0, 730) for _ in range(size))
            invoices = []
            for back in reversed(days):  # oldest first
                next_number += rng.randint(1, 40)
                invoice = _invoice(rng, f"SO-{next_number:06d}", LAST_DAY - dt.timedelta(back))
                invoice["currency"] = currency
                if currency == "EUR" and not special_done:
                    invoice["description"] = SPECIAL_DESCRIPTION
                    special_done = True
                invoices.append(invoice)
            created = LAST_DAY - dt.timedelta(days=731 + rng.randint(0, 1500))
            self.accounts.append(
                {
                    "accountNumber": account_id,
                    "status": "suspended" if index == count - 1 and count > 2 else "active",
                    "currency": currency,
                    "createdDate": created.isoformat(),
                }
            )
            self.invoices[account_id] = invoices
            self.link_style[account_id] = LINK_STYLES[index % len(LINK_STYLES)]
        #: how many invoices each account has
        self.invoice_counts: dict[str, int] = {
            account_id: len(items) for account_id, items in self.invoices.items()
        }
        self._pristine = copy.deepcopy(self.invoices)
        self.reset()

    def reset(self) -> None:
        #: test switch: the last page also gets a bad `next` link, to "past_end" (a page
        #: past the end, which the server 303s to the start) or to "start" (page 1).
        self.last_page_next: str | None = None
        # Tests may change the data (an invoice without a currency, an emptied account).
        self.invoices = copy.deepcopy(self._pristine)

    def rules(self) -> Iterable[Rule]:
        return [
            Rule("/accounts", endpoint=self._accounts, methods=["GET"]),
            Rule("/accounts/<account_id>/invoices", endpoint=self._invoice_list, methods=["GET"]),
            Rule(
                "/accounts/<account_id>/invoices/<number>",
                endpoint=self._invoice,
                methods=["GET"],
            ),
        ]

    def error(self, status: int, message: str) -> Response:
        key = ERROR_KEYS.get(status, "serviceUnavailable" if status >= 500 else "badRequest")
        body = {key: {"guid": "", "message": message, "code": status, "details": ""}}
        response = json_response(body, status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="Hostway API"'
        return response

    def connection(self, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"base_url": base_url}, {
            "username": self.config.hostway_username,
            "password": self.config.hostway_password,
        }

    # -- endpoints ----------------------------------------------------------------

    def _accounts(self, request: Request) -> Response:
        if refused := self._refuse(request):
            return refused
        accounts = self.accounts
        wanted = request.args.get("filterStatus")
        if wanted:
            accounts = [account for account in accounts if account["status"] == wanted]
        root = request.host_url.rstrip("/")
        items = [
            {
                **account,
                "links": [{"href": f"{root}/accounts/{account['accountNumber']}", "rel": "self"}],
            }
            for account in accounts
        ]
        return self._paged(request, items, style="absolute", keep=("filterStatus",))

    def _invoice_list(self, request: Request, account_id: str) -> Response:
        if refused := self._refuse(request):
            return refused
        if account_id not in self.invoices:
            return self.error(404, "Resource not found")
        items = self.invoices[account_id]
        field = request.args.get("sortField")
        order = request.args.get("sortOrder", "asc")
        if field is not None:
            if field != "status" or order not in ("asc", "desc"):
                return self.error(400, "Unsupported sortField or sortOrder")
            items = sorted(items, key=lambda item: item["status"], reverse=order == "desc")
        return self._paged(
            request, items, style=self.link_style[account_id], keep=("sortField", "sortOrder")
        )

    def _invoice(self, request: Request, account_id: str, number: str) -> Response:
        if refused := self._refuse(request):
            return refused
        found = [
            item for item in self.invoices.get(account_id, []) if item["invoiceNumber"] == number
        ]
        if not found:
            return self.error(404, "Resource not found")
        invoice = found[0]
        wanted = request.accept_mimetypes.best_match(
            ["application/json", "application/pdf"], default="application/json"
        )
        if wanted == "application/pdf":
            return Response(_pdf(account_id, invoice), mimetype="application/pdf")
        href = f"{request.host_url.rstrip('/')}{request.path}"
        return json_response({**invoice, "links": [{"href": href, "rel": "self"}]})

    # -- mechanics ----------------------------------------------------------------

    def _refuse(self, request: Request) -> Response | None:
        auth = request.authorization
        if (
            auth is not None
            and auth.type == "basic"
            and _same(auth.username, self.config.hostway_username)
            and _same(auth.password, self.config.hostway_password)
        ):
            return None
        return self.error(401, "The supplied credentials are invalid")

    def _paged(
        self, request: Request, items: list[dict[str, Any]], *, style: str, keep: tuple[str, ...]
    ) -> Response:
        """One page of `items` with its links, or the documented 303s."""
        extra = [(name, request.args[name]) for name in keep if name in request.args]
        page_arg, size_arg = request.args.get("page"), request.args.get("pageSize")
        if page_arg is None and size_arg is None:
            if len(items) > NO_PAGING_LIMIT:
                return self._see_other(request, style, 1, NO_PAGING_LIMIT, extra)
            self_href = _href(request, style, request.query_string.decode())
            return json_response({"list": items, "links": [{"href": self_href, "rel": "self"}]})
        if page_arg is None or size_arg is None:
            return self.error(400, "page and pageSize must be given together")
        try:
            page, size = int(page_arg), int(size_arg)
        except ValueError:
            return self.error(400, "page and pageSize must be integers")
        if page < 1 or size < 1:
            return self.error(400, "page and pageSize must be positive")
        if size > MAX_PAGE_SIZE:
            return self._see_other(request, style, page, MAX_PAGE_SIZE, extra)
        last = max(1, math.ceil(len(items) / size))
        if page > last:
            return self._see_other(request, style, 1, size, extra)

        def link(rel: str, number: int) -> dict[str, str]:
            query = urlencode([("page", number), ("pageSize", size), *extra])
            return {"href": _href(request, style, query), "rel": rel}

        links = [link("self", page)]
        if page > 1:
            links += [link("first", 1), link("previous", page - 1)]
        if page < last:
            links += [link("next", page + 1), link("last", last)]
        elif self.last_page_next is not None:
            links.append(link("next", last + 5 if self.last_page_next == "past_end" else 1))
        chunk = items[(page - 1) * size : page * size]
        return json_response({"list": chunk, "links": links})

    def _see_other(
        self, request: Request, style: str, page: int, size: int, extra: list[tuple[str, str]]
    ) -> Response:
        query = urlencode([("page", page), ("pageSize", size), *extra])
        return Response(status=303, headers={"Location": _href(request, style, query)})


def _href(request: Request, style: str, query: str) -> str:
    suffix = f"?{query}" if query else ""
    if style == "absolute":
        return f"{request.host_url.rstrip('/')}{request.path}{suffix}"
    if style == "root":
        return f"{request.path}{suffix}"
    return suffix or request.path


def _same(given: str | None, expected: str) -> bool:
    return secrets.compare_digest((given or "").encode(), expected.encode())


def _invoice(rng: random.Random, number: str, date: dt.date) -> dict[str, Any]:
    amount = Decimal(rng.randint(1500, 250000)) / 100
    age = (LAST_DAY - date).days
    if age <= 30:
        status = "invoice_open" if rng.random() < 0.7 else "invoice_paid"
    elif age <= 120:
        status = "invoice_overdue" if rng.random() < 0.25 else "invoice_paid"
    else:
        status = "invoice_overdue" if rng.random() < 0.03 else "invoice_paid"
    due = Decimal(0) if status == "invoice_paid" else amount
    if status == "invoice_overdue" and rng.random() < 0.3:
        due = (amount * Decimal(rng.randint(10, 90)) / 100).quantize(Decimal("0.01"))
    return {
        "status": status,
        "currency": "USD",
        "amount": f"{amount:.4f}",
        "amountDue": f"{due:.4f}",
        "description": f"Invoice #{number}",
        "date": date.isoformat(),
        "statusName": STATUS_NAMES[status],
        "invoiceNumber": number,
    }


def _pdf(account_id: str, invoice: dict[str, Any]) -> bytes:
    """A small, valid one-page PDF naming the invoice."""
    return pdf_document(
        [
            f"Hostway invoice {invoice['invoiceNumber']}",
            f"Account {account_id}",
            f"Date {invoice['date']}",
            f"Amount {invoice['amount']} {invoice['currency']}",
            invoice["description"],
        ]
    )
