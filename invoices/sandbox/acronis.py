"""Acronis Advanced Automation stand-in: platform token endpoint and invoice overview.

Data: one partner, `config.acronis_customers` customers and `config.acronis_months`
monthly batches (batch 1 the oldest, the newest dated the 1st of the current month, so
the data is deterministic per seed and per day). With `config.acronis_invoices` set,
exactly that many invoices spread over the same months with as many customers as one
invoice per customer per batch needs.

Invoice `i` (creation order) is a pure function of `(seed, i, today)`: a page is built
from its index range, so 100,000 invoices are never held in memory. Only filtered or
re-sorted listings generate every invoice, per request. Payment confirmations are
the only state, kept as a small overlay.

Payload quirks follow seed 003 exactly: field order, 7 fractional digits with an
offset on CreationDate, naive ScheduledAt/PaymentDate, `0001-01-01T00:00:00` for
"not set", all-zero GUIDs, Total as a JSON number, BatchNumber as a string.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import random
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .core import Host, VendorSandbox, bearer, json_response, pdf_document

API = "/api/advanced-automation/v1"
TOKEN_PATH = "/api/2/idp/token"  # noqa: S105 - a URL path, not a secret
NULL_GUID = "00000000-0000-0000-0000-000000000000"
NOT_SET = "0001-01-01T00:00:00"
NOT_SET_OFFSET = "0001-01-01T00:00:00+00:00"
MAX_PAGE_SIZE = 1000  # GUESS: larger PageSize values are capped, not refused
# GUESS: like the portal's "Show exported" switch, exported invoices are hidden
# unless ShowExported=true.
HIDE_EXPORTED_BY_DEFAULT = True
_GUID_SPACE = 1 << 48
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}

# Names that exercise escaping and non-ASCII rendering; the rest are "cstmr_NNN" like the seed.
CUSTOMER_NAMES = (
    "Müller & Söhne GmbH",
    'Café "Zoë" SARL',
    "Ørsted Øst A/S",
    "<script>alert('x')</script> Ltd",
    "O'Brien & Co",
    "Ιωάννης ΕΠΕ",
    "株式会社テスト",
    "Łódź Logistics Sp. z o.o.",
    "Señor Pérez y Asociados S.L.",
    "Ærø Fisk ApS",
    "Dvořák & Partneři s.r.o.",
    "İstanbul Bilişim A.Ş.",
    "Northwind Traders Ltd",
    "Contoso Backup Services",
    "Fabrikam Hosting B.V.",
    "Ångström Data AB",
)
BILLING_ENTITIES = (
    ("3c1f7d2e-5b8a-4e61-9f0d-2a7c4b9e8d10", "Default billing entity", 30),
    ("9a0b6c4d-1e2f-4a3b-8c5d-6e7f8a9b0c1d", "Sandbox Cloud Services B.V.", 14),
)
QUEUE_ERRORS = (
    "Customer not found in the external accounting system",
    "Ledger account 8000 is not mapped",
    "Timeout while sending the invoice to the accounting system",
)
# SortColumn -> payload field (the doc's names; ScheduleAt sorts ScheduledAt).
SORT_FIELDS = {
    "CustomerName": "CustomerName",
    "BatchNumber": "BatchNumber",
    "CreationDate": "CreationDate",
    "ScheduleAt": "ScheduledAt",
    "DeliveryMethod": "SendByEmail",
    "EmailSent": "SendByEmail",  # GUESS: no EmailSent field in the payload
    "PaymentConfirmed": "PaymentStatus",
    "PaidDate": "PaymentDate",
    "InvoicedBy": "InvoicedBy",
    "ExportDate": "ExportedDate",
    "Exported": "Exported",
    "InvoiceNumber": "InvoiceNumber",
    "BilledFor": "BillingEntityName",  # GUESS
    "PaymentMethod": "PaymentMethod",
    "InvoiceTotal": "Total",
}


class BadRequest(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    incasso: bool
    by_email: bool
    billing_entity: str
    monthly: Decimal


def _hash(*parts: object, size: int = 16) -> bytes:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=size).digest()


def _guid(hex32: str) -> str:
    """Format 32 hex digits as a version-4 GUID."""
    chars = list(hex32)
    chars[12] = "4"
    chars[16] = "89ab"[int(chars[16], 16) & 3]
    h = "".join(chars)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _naive(day: dt.date) -> str:
    return f"{day:%Y-%m-%d}T00:00:00"


def _instant(moment: dt.datetime, seventh: int) -> str:
    """`2024-10-10T07:55:09.3546699+00:00`: 7 fractional digits, like .NET's round-trip."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}{seventh}+00:00"


def _query_bool(request: Request, name: str) -> bool | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise BadRequest(f"The value '{value}' is not valid for {name}.")


def _query_int(request: Request, name: str) -> int:
    value = request.args.get(name)
    if value is None:
        raise BadRequest(f"The {name} field is required.")
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"The value '{value}' is not valid for {name}.") from None


class AcronisSandbox(VendorSandbox):
    prefixes = ("/api/",)

    def __init__(self, sandbox: Host, *, today: dt.date | None = None) -> None:
        super().__init__(sandbox)
        self._lock = threading.Lock()
        self.reset()
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.seed = self.config.seed
        self._customers: dict[int, Customer] = {}
        self._layout()
        key = int.from_bytes(_hash(self.seed, "acronis", "guid-key", size=12), "big")
        self._mult = (key % _GUID_SPACE) | 1  # odd: invertible modulo 2**48
        self._shift = (key >> 48) % _GUID_SPACE
        self._unmult = pow(self._mult, -1, _GUID_SPACE)
        self.partner_number = 10000 + int.from_bytes(_hash(self.seed, "partner", size=4)) % 90000

    def reset(self) -> None:
        with self._lock:
            # The only mutable data: index -> (paid, PaymentDate, PaymentType) confirmed
            # with `POST /InvoiceOverview`, and index -> ExportedDate from `/ExportInvoice`.
            self._payments: dict[int, tuple[bool, str, int]] = {}
            self._exports: dict[int, str] = {}
        #: True/False forces the wrapped (OpenAPI) / top-level (how-to) answer;
        #: None alternates by page: odd pages top-level with Batches, even pages wrapped.
        self.wrapped_shape: bool | None = None
        # Quirks a test may switch on (a real server might have any of them):
        #: serve at most this many invoices a page, whatever PageSize asked (silently)
        self.page_size_cap: int | None = None
        #: Paging fields left out of every answer (e.g. {"AmountOfPages"})
        self.paging_omitted: set[str] = set()
        #: pages answered with no invoices, the Paging as if they had them
        self.empty_pages: set[int] = set()
        #: invoice index -> payload fields replaced (e.g. {"Total": "n/a"}: unreadable)
        self.broken: dict[int, dict[str, Any]] = {}
        #: added to AmountRecordsFound from this page on (a total changing mid-listing)
        self.found_drift: tuple[int, int] | None = None
        #: what DownloadInvoice answers instead of the PDF (bytes or an iterable of them)
        self.document_body: bytes | Iterable[bytes] | None = None

    def _layout(self) -> None:
        """Batch sizes and first indexes: the few numbers that place invoice i in time."""
        config = self.config
        months = max(1, config.acronis_months)
        if config.acronis_invoices is None:
            self.customer_count = max(1, config.acronis_customers)
            rng = random.Random(f"{self.seed}/acronis/batches")
            # every customer once a month, plus a few one-off invoices
            sizes = [self.customer_count + rng.randint(0, 4) for _ in range(months)]
        else:
            total = max(0, config.acronis_invoices)
            batches = max(1, min(months, total))
            self.customer_count = max(1, config.acronis_customers, math.ceil(total / batches))
            base, rest = divmod(total, batches)
            sizes = [base + (1 if b >= batches - rest else 0) for b in range(batches)]
        self.batch_sizes = sizes
        self.batch_starts = [sum(sizes[:b]) for b in range(len(sizes))]
        self.total = sum(sizes)
        last = self.today.replace(day=1)
        self.batch_dates = [_add_months(last, b - len(sizes) + 1) for b in range(len(sizes))]

    # -- deterministic data --------------------------------------------------------

    def customer(self, k: int) -> Customer:
        cached = self._customers.get(k)
        if cached is not None:
            return cached
        rng = random.Random(f"{self.seed}/acronis/customer/{k}")
        name = CUSTOMER_NAMES[k] if k < len(CUSTOMER_NAMES) else f"cstmr_{k + 1:03d}"
        entity = BILLING_ENTITIES[0 if rng.random() < 0.8 else 1][1]
        customer = Customer(
            id=_guid(_hash(self.seed, "acronis", "customer", k).hex()),
            name=name,
            incasso=rng.random() < 0.2,
            by_email=rng.random() < 0.7,
            billing_entity=entity,
            monthly=Decimal(str(round(math.exp(rng.uniform(math.log(12), math.log(2500))), 2))),
        )
        self._customers[k] = customer
        return customer

    def invoice_id(self, i: int) -> str:
        tail = (i * self._mult + self._shift) % _GUID_SPACE
        return _guid(_hash(self.seed, "acronis", "invoice", i, size=10).hex() + f"{tail:012x}")

    def index_of(self, invoice_id: str) -> int | None:
        """The index of a GUID this sandbox issued (its last 48 bits encode it), else None."""
        text = invoice_id.strip().lower()
        try:
            tail = int(text[-12:], 16)
        except ValueError:
            return None
        i = ((tail - self._shift) * self._unmult) % _GUID_SPACE
        return i if i < self.total and self.invoice_id(i) == text else None

    def invoice(self, i: int) -> dict[str, Any]:
        """Invoice `i` as the wire payload, with any payment confirmed since."""
        b = bisect.bisect_right(self.batch_starts, i) - 1
        j = i - self.batch_starts[b]
        customer = self.customer(j % self.customer_count)
        batch_date = self.batch_dates[b]
        age = len(self.batch_dates) - 1 - b  # months
        rng = random.Random(f"{self.seed}/acronis/invoice/{i}")
        created = dt.datetime.combine(batch_date, dt.time(7), dt.UTC) + dt.timedelta(
            seconds=j * 4 + rng.random() * 3.9
        )
        created_text = _instant(created, rng.randrange(10))
        unpaid_share = {0: 0.9, 1: 0.6, 2: 0.4}.get(age, 0.3)
        if customer.incasso and age > 0:  # direct debit collects most of them
            unpaid_share /= 2
        paid = rng.random() >= unpaid_share
        paid_on = min(batch_date + dt.timedelta(days=rng.randint(2, 40)), self.today)
        if j < self.customer_count:
            total = customer.monthly * Decimal(str(round(rng.uniform(0.85, 1.15), 4)))
        else:  # a one-off invoice (extra licences, a service hour)
            total = Decimal(str(round(rng.uniform(9, 250), 2)))
        exported = age >= 3 and rng.random() < 0.06
        queue_error = rng.random() < 0.03
        error_message = rng.choice(QUEUE_ERRORS)
        payment_sent = not paid and rng.random() < 0.15
        invoiced_by = "Partner Administrator" if rng.random() < 0.7 else "Automatic billing"
        payment_type = 1 if customer.incasso else 3
        state = self._payments.get(i)
        if state is not None:
            paid, payment_date, payment_type = state
        else:
            payment_date = _naive(paid_on) if paid else NOT_SET
        exported_date = (
            _instant(created + dt.timedelta(days=1, hours=-5), 0) if exported else NOT_SET_OFFSET
        )
        if i in self._exports:
            exported, exported_date = True, self._exports[i]
        queue_time = created + dt.timedelta(hours=1)
        return {
            "Id": self.invoice_id(i),
            "Tenant": NULL_GUID,
            "Customer": customer.id,
            "CustomerName": customer.name,
            "BillingEntityName": customer.billing_entity,
            "CreationDate": created_text,
            "ScheduledAt": _naive(batch_date),
            "SendByEmail": customer.by_email,
            "InvoiceNumber": f"{b + 1}-{batch_date:%Y%m%d}-0-{self.partner_number}-{i + 1}",
            "BatchNumber": str(b + 1),
            "Exported": exported,
            "ExportedDate": exported_date,
            "PaymentSent": payment_sent and not paid,
            "PaymentStatus": paid,
            "InvoicedBy": invoiced_by,
            "InvoicerDeleted": False,
            "PaymentType": payment_type,
            "PaymentDate": payment_date,
            "Incasso": customer.incasso,
            "Total": total.quantize(Decimal("0.01")),
            "InvoiceXml": None,
            "InvoiceQueueId": (
                _guid(_hash(self.seed, "acronis", "queue", i).hex()) if queue_error else NULL_GUID
            ),
            "InvoiceQueueStatus": 2 if queue_error else 0,
            "InvoiceQueueLastUpdateTime": (
                f"{queue_time:%Y-%m-%dT%H:%M:%S}" if queue_error else NOT_SET
            ),
            "InvoiceQueueErrorCount": 1 + i % 3 if queue_error else 0,
            "InvoiceQueueErrorMessage": error_message if queue_error else None,
            "InvoiceQueueExternalInvoiceStatus": 0,
            "IsConsolidateBillingStructure": True,
            "PaymentMethod": "SEPA Direct Debit" if customer.incasso and paid else None,
        }

    # -- HTTP ----------------------------------------------------------------------

    def rules(self) -> Iterable[Rule]:
        return [
            Rule(TOKEN_PATH, endpoint=self.token, methods=["POST"]),
            Rule(f"{API}/InvoiceOverview", endpoint=self._authed(self.overview), methods=["GET"]),
            Rule(
                f"{API}/InvoiceOverview",
                endpoint=self._authed(self.confirm_payment),
                methods=["POST"],
            ),
            Rule(f"{API}/DownloadInvoice", endpoint=self._authed(self.download), methods=["GET"]),
            Rule(f"{API}/ExportInvoice", endpoint=self._authed(self.export), methods=["POST"]),
            Rule(
                f"{API}/BillingEntities",
                endpoint=self._authed(self.billing_entities),
                methods=["GET"],
            ),
        ]

    def error(self, status: int, message: str) -> Response:
        # GUESS: error bodies are undocumented; this is the platform API's shape.
        return json_response({"error": {"code": status, "message": message}}, status)

    def connection(self, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {"base_url": base_url, "currency": "EUR"},
            {
                "client_id": self.config.acronis_client_id,
                "client_secret": self.config.acronis_client_secret,
            },
        )

    def _authed(self, endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(request: Request) -> Response:
            subject = self.sandbox.tokens.subject(bearer(request))
            if subject is None or not subject.startswith("acronis:"):
                return self.error(401, "Unauthorized")
            try:
                return endpoint(request)
            except BadRequest as exc:
                return self.error(400, str(exc))

        return guarded

    def token(self, request: Request) -> Response:
        auth = request.authorization
        good = (
            auth is not None
            and auth.type == "basic"
            and secrets.compare_digest(auth.username or "", self.config.acronis_client_id)
            and secrets.compare_digest(auth.password or "", self.config.acronis_client_secret)
        )
        if not good:
            return json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                401,
            )
        if request.form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        token, expires_at = self.sandbox.tokens.issue(f"acronis:{auth.username}")
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_on": int(expires_at)}
        )

    def overview(self, request: Request) -> Response:
        page = _query_int(request, "Page")
        size = _query_int(request, "PageSize")
        if page < 1 or size < 1:
            raise BadRequest("Page and PageSize must be positive.")
        size = min(size, MAX_PAGE_SIZE, self.page_size_cap or MAX_PAGE_SIZE)
        indexes, found = self._select(request, page, size)
        invoices = [{**self.invoice(i), **self.broken.get(i, {})} for i in indexes]
        if page in self.empty_pages:
            invoices = []
        paging: dict[str, Any] = {
            "AmountTotalItems": self.total,
            "AmountRecordsFound": found,
            "AmountOfPages": math.ceil(found / size),
        }
        if self.found_drift is not None and page >= self.found_drift[0]:
            paging["AmountRecordsFound"] += self.found_drift[1]
        for name in self.paging_omitted:
            paging.pop(name, None)
        wrapped = self.wrapped_shape if self.wrapped_shape is not None else page % 2 == 0
        if wrapped:
            paging.pop("AmountTotalItems", None)  # the doc warns it can be absent
            return json_response(
                {"InvoicesPagedSearchResult": {"Invoices": invoices, "Paging": paging}}
            )
        batches: dict[str, int] = {}
        for invoice in invoices:
            number = invoice["BatchNumber"]
            batches.setdefault(number, self.batch_sizes[int(number) - 1])
        return json_response(
            {
                "Invoices": invoices,
                "Paging": paging,
                "Batches": [{"BatchNumber": n, "BatchLength": s} for n, s in batches.items()],
            }
        )

    def _select(self, request: Request, page: int, size: int) -> tuple[list[int], int]:
        """Indexes of the invoices on `page`, and how many match in all."""
        args = request.args
        show_exported = _query_bool(request, "ShowExported")
        hide_exported = HIDE_EXPORTED_BY_DEFAULT if show_exported is None else not show_exported
        confirmed = _query_bool(request, "PaymentStatusConfirmed")
        not_confirmed = _query_bool(request, "PaymentStatusNotConfirmed")
        sent = _query_bool(request, "PaymentSentSent")
        not_sent = _query_bool(request, "PaymentSentNotSent")
        by_email = _query_bool(request, "DeliveryMethodByEmail")
        by_post = _query_bool(request, "DeliveryMethodByPost")
        customer = args.get("Customer", "").strip().lower() or None
        if customer is not None and len(customer) != 36:
            raise BadRequest(f"The value '{customer}' is not valid for Customer.")
        number = args.get("InvoiceNumber", "").strip().lower() or None
        column = args.get("SortColumn") or None
        if column is not None and column not in SORT_FIELDS:
            raise BadRequest(f"The value '{column}' is not valid for SortColumn.")
        direction = args.get("SortDirection") or "Asc"
        if direction not in ("Asc", "Desc"):
            raise BadRequest(f"The value '{direction}' is not valid for SortDirection.")
        descending = direction == "Desc"
        start = (page - 1) * size

        filtered = (
            hide_exported
            or customer
            or number
            or bool(confirmed) != bool(not_confirmed)
            or bool(sent) != bool(not_sent)
            or bool(by_email) != bool(by_post)
        )
        if not filtered and column in (None, "CreationDate"):
            # Fast path: creation order is index order, so a page is an index range.
            stop = min(start + size, self.total)
            indexes = list(range(start, stop))
            if descending:
                indexes = [self.total - 1 - i for i in indexes]
            return indexes, self.total

        def wanted(invoice: dict[str, Any]) -> bool:
            checks = (
                (hide_exported and invoice["Exported"]),
                customer is not None and invoice["Customer"] != customer,
                # GUESS: InvoiceNumber matches the whole number (case-insensitively)
                number is not None and number != invoice["InvoiceNumber"].lower(),
                bool(confirmed) != bool(not_confirmed)
                and invoice["PaymentStatus"] != bool(confirmed),
                bool(sent) != bool(not_sent) and invoice["PaymentSent"] != bool(sent),
                bool(by_email) != bool(by_post) and invoice["SendByEmail"] != bool(by_email),
            )
            return not any(checks)

        matches = [(i, inv) for i in range(self.total) if wanted(inv := self.invoice(i))]
        if column not in (None, "CreationDate"):
            name = SORT_FIELDS[column]

            def key(item: tuple[int, dict[str, Any]]) -> tuple[Any, int]:
                value = item[1][name]
                if name == "BatchNumber":
                    value = int(value)
                elif isinstance(value, str):
                    value = value.casefold()
                elif value is None:
                    value = ""
                return (value, item[0])

            matches.sort(key=key, reverse=descending)
        elif descending:
            matches.reverse()
        return [i for i, _ in matches[start : start + size]], len(matches)

    def confirm_payment(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("invoice"), str):
            raise BadRequest("invoice is required.")
        confirmed = body.get("paymentConfirmed")
        payment_type = body.get("intPaymentType", 0)
        if not isinstance(confirmed, bool) or isinstance(payment_type, bool):
            raise BadRequest("paymentConfirmed must be a boolean.")
        if not isinstance(payment_type, int):
            raise BadRequest("intPaymentType must be an integer.")
        i = self.index_of(body["invoice"])
        if i is None:
            return self.error(404, "Invoice not found")
        today = dt.datetime.now(dt.UTC).date()
        with self._lock:
            self._payments[i] = (confirmed, _naive(today) if confirmed else NOT_SET, payment_type)
        return json_response({})

    def export(self, request: Request) -> Response:
        """The accounting file of the invoices in `ids` (0 = XML, 1 = CSV), marking them
        exported. GUESS: the file's columns; one unknown id refuses the whole call."""
        fmt = _query_int(request, "exportFormat")
        if fmt not in (0, 1):
            raise BadRequest(f"The value '{fmt}' is not valid for exportFormat.")
        ids = request.args.getlist("ids")
        if not ids:
            raise BadRequest("ids is required.")
        indexes = [self.index_of(guid) for guid in ids]
        if None in indexes:
            return self.error(404, "Invoice not found")
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            for i in indexes:
                self._exports[i] = _instant(now, 0)
        rows = [self.invoice(i) for i in indexes]
        fields = ("InvoiceNumber", "CustomerName", "ScheduledAt", "Total", "PaymentStatus")
        if fmt == 1:
            lines = [";".join(fields)] + [";".join(str(row[f]) for f in fields) for row in rows]
            return Response("\r\n".join(lines) + "\r\n", mimetype="text/csv")
        items = "".join(
            "<Invoice>"
            + "".join(f"<{f}>{escape(str(row[f]))}</{f}>" for f in fields)
            + "</Invoice>"
            for row in rows
        )
        return Response(f'<?xml version="1.0"?><Invoices>{items}</Invoices>', mimetype="text/xml")

    def download(self, request: Request) -> Response:
        i = self.index_of(request.args.get("id", ""))
        if i is None:
            return self.error(404, "Invoice not found")
        if self.document_body is not None:
            return Response(self.document_body, mimetype="application/pdf")
        invoice = self.invoice(i)
        lines = (
            f"Invoice {invoice['InvoiceNumber']}",
            f"Customer: {invoice['CustomerName']}",
            f"Date: {invoice['ScheduledAt'][:10]}",
            f"Total: EUR {invoice['Total']}",
        )
        return Response(
            pdf_document(lines),
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{invoice["InvoiceNumber"]}.pdf"'
            },
        )

    def billing_entities(self, request: Request) -> Response:
        return json_response(
            {
                "entities": [
                    {"Id": guid, "Name": name, "InvoiceDueDays": due}
                    for guid, name, due in BILLING_ENTITIES
                ]
            }
        )
