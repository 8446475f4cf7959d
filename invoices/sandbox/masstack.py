"""Stand-in for MasStack: the service-account token exchange, Billing v1 and Customers v2.

It verifies the RS256 assertion the way an RFC 7523 token endpoint would (signature
with the public half of `SERVICE_ACCOUNT_FILE`, `kid`, `aud` = its own token URL,
expiry), answers every error as a `GenericResponseDTO` `{"code", "message"}`, and
serves deterministic data per seed and day:

- `config.masstack_accounts` accounts (`ACC-######`, stable per seed); monthly
  invoices for two years (the last account is a new customer with three months);
- invoice `date`s are Madrid midnights sent as UTC instants (`...T23:00:00Z`), pay
  dates are instants, cycles plain dates; amounts are JSON numbers;
- next billing dates as a Madrid midnight (`...T23:00:00Z`) or as the last nanosecond
  of a Madrid day (`...T22:59:59.999999999Z`), alternating by account;
- public links `https://billing.sta.masstack.com/public/invoices/<token>.pdf`, except
  for one account (`http_link_account`) whose links are plain `http://`;
- an invoice is listed for every window its date *or its cycle* touches, so a client
  walking consecutive windows sees some invoices twice and must deduplicate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from cryptography.hazmat.primitives import serialization
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .core import VendorSandbox, bearer, json_response, pdf_document

SERVICE_ACCOUNT_FILE = Path(__file__).with_name("masstack_service_account.json")

MADRID = ZoneInfo("Europe/Madrid")
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600  # seconds between iat and exp, as Google-style IdPs require
MAX_WINDOW_DAYS = 366  # the GUESSed limit of one start_date..end_date query
SUBJECT_PREFIX = "masstack:"  # tokens the other stand-ins issued do not open MasStack
MONTHS = 24
NEW_CUSTOMER_MONTHS = 3
LINK_HOST = "billing.sta.masstack.com"
LINK_LIFETIME = dt.timedelta(hours=1)
STATUS_IDS = {"PENDIENTE": 1, "PAGADO": 2, "DEVUELTO": 3}

# The meanings the vendor's reference gives for each status (seed 002).
MESSAGES = {
    400: "The request could not be processed because it was malformed",
    401: "The user is not authorized",
    403: "The user does not have permission to access that resource",
    404: "The specified resource was not found",
    500: "The request failed to be processed by the server",
    502: "A third party connection is not responding",
    504: "The request timed out",
}


def service_account() -> dict[str, Any]:
    """The sandbox's demo service account (a fresh dict: callers may mutate it)."""
    return json.loads(SERVICE_ACCOUNT_FILE.read_text(encoding="utf-8"))


@functools.cache
def _public_key() -> Any:
    pem = service_account()["private_key"].encode()
    return serialization.load_pem_private_key(pem, password=None).public_key()


def _zulu(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def madrid_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=MADRID)


def _end_of_day_nanos(day: dt.date) -> str:
    """The last nanosecond of `day` in Madrid, as MasStack writes it."""
    last_second = madrid_midnight(day + dt.timedelta(days=1)) - dt.timedelta(seconds=1)
    return last_second.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.999999999Z")


def _month_start(day: dt.date, months_back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class SandboxInvoice:
    account_id: str
    number: str
    issue_date: dt.date  # the business date the wire `date` stands for
    cycle_start: dt.date
    cycle_end: dt.date
    value: Decimal
    status: str
    wire: dict[str, Any]


@dataclass(frozen=True)
class _Data:
    day: dt.date
    invoices: dict[str, list[SandboxInvoice]]
    next_billing: dict[str, tuple[dt.date, str]]  # business date, wire value


class MasStackSandbox(VendorSandbox):
    prefixes = ("/v1/", "/v2/", "/oauth2/", "/invoices/")

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        rng = random.Random(f"masstack-accounts:{self.config.seed}")
        ids: list[str] = []
        while len(ids) < self.config.masstack_accounts:
            candidate = f"ACC-{rng.randrange(100_000, 1_000_000)}"
            if candidate not in ids:
                ids.append(candidate)
        self.accounts = ids
        self.org = self.config.masstack_org
        #: the account whose public links are plain http (the UI must not link them)
        self.http_link_account = ids[min(3, len(ids) - 1)]
        self._lock = threading.Lock()
        self._data: _Data | None = None
        self.reset()

    def reset(self) -> None:
        #: GUESS switched: read end_date as exclusive, and list by issue date only (a
        #: vendor that does would never answer an invoice dated on a window's last day)
        self.end_exclusive = False
        #: the sandbox's own "today" (None: Madrid's real one)
        self.today_override: dt.date | None = None

    # -- data -------------------------------------------------------------------

    def today(self) -> dt.date:
        return self.today_override or dt.datetime.now(MADRID).date()

    def data(self) -> _Data:
        today = self.today()
        with self._lock:
            if self._data is None or self._data.day != today:
                self._data = self._generate(today)
            return self._data

    def invoices(self, account_id: str) -> list[SandboxInvoice]:
        return list(self.data().invoices.get(account_id, []))

    def next_billing_date(self, account_id: str) -> dt.date:
        return self.data().next_billing[account_id][0]

    def _generate(self, today: dt.date) -> _Data:
        seed = self.config.seed
        invoices: dict[str, list[SandboxInvoice]] = {}
        next_billing: dict[str, tuple[dt.date, str]] = {}
        for index, account in enumerate(self.accounts):
            profile = random.Random(f"masstack-profile:{seed}:{account}")
            base = Decimal(str(round(profile.uniform(19, 480), 2)))
            delivery = "POSTAL" if profile.random() < 0.25 else "EMAIL"
            months = NEW_CUSTOMER_MONTHS if index == len(self.accounts) - 1 else MONTHS
            rows = []
            for back in range(months, 0, -1):
                cycle_start = _month_start(today, back)
                cycle_end = _month_start(today, back - 1) - dt.timedelta(days=1)
                issue = cycle_end + dt.timedelta(days=1)
                rows.append(
                    self._invoice(account, index, delivery, base, cycle_start, cycle_end, issue)
                )
            invoices[account] = self._with_statuses(rows, index, today)
            if index % 2:
                day = _month_start(today, -1) - dt.timedelta(days=1)  # last day of this month
                next_billing[account] = (day, _end_of_day_nanos(day))
            else:
                day = _month_start(today, -1)  # first day of next month
                next_billing[account] = (day, _zulu(madrid_midnight(day)))
        return _Data(today, invoices, next_billing)

    def _invoice(
        self,
        account: str,
        index: int,
        delivery: str,
        base: Decimal,
        cycle_start: dt.date,
        cycle_end: dt.date,
        issue: dt.date,
    ) -> SandboxInvoice:
        # Seeded by account and cycle: an invoice stays the same from one day to the next.
        rng = random.Random(f"masstack-invoice:{self.config.seed}:{account}:{cycle_start}")
        value = (base * Decimal(str(round(rng.uniform(0.85, 1.15), 4)))).quantize(Decimal("0.01"))
        number = f"FA{issue.year}-{issue.month * 1000 + index + 1:06d}"
        paid_on = madrid_midnight(issue + dt.timedelta(days=rng.randrange(2, 20))) + dt.timedelta(
            minutes=rng.randrange(8 * 60, 20 * 60)
        )
        wire = {
            "value": value,
            "delivery_mode": delivery,
            "date": _zulu(madrid_midnight(issue)),
            "pay_date": _zulu(paid_on),
            "number": number,
            "path": f"/invoices/{number}.pdf",
            "status": {"id": STATUS_IDS["PAGADO"], "value": "PAGADO"},
            "cycle": {"start_date": cycle_start.isoformat(), "end_date": cycle_end.isoformat()},
        }
        return SandboxInvoice(account, number, issue, cycle_start, cycle_end, value, "PAGADO", wire)

    def _with_statuses(
        self, rows: list[SandboxInvoice], index: int, today: dt.date
    ) -> list[SandboxInvoice]:
        """Paid, except: not paid yet by today, the latest invoice of every third account
        pending, and a returned direct debit on every fourth."""
        result = []
        for position, row in enumerate(rows):
            status = "PAGADO"
            paid_on = dt.datetime.fromisoformat(row.wire["pay_date"].replace("Z", "+00:00"))
            # Payments land up to yesterday: the data only changes when the day does.
            if paid_on.astimezone(MADRID).date() >= today or (
                index % 3 == 2 and position == len(rows) - 1
            ):
                status = "PENDIENTE"
            elif index % 4 == 1 and position == len(rows) - 2:
                status = "DEVUELTO"
            if status != "PAGADO":
                wire = {
                    **row.wire,
                    "pay_date": None,
                    "status": {"id": STATUS_IDS[status], "value": status},
                }
                row = dataclasses.replace(row, status=status, wire=wire)
            result.append(row)
        return result

    # -- HTTP -------------------------------------------------------------------

    def rules(self) -> Iterable[Rule]:
        return [
            Rule("/oauth2/token", endpoint=self.token, methods=["POST"]),
            Rule(
                "/v1/orgs/<org>/accounts/<account>/billing_details",
                endpoint=self.billing_details,
                methods=["GET"],
            ),
            Rule(
                "/v1/orgs/<org>/accounts/<account>/invoices/<invoice>",
                endpoint=self.public_link,
                methods=["GET"],
            ),
            Rule(
                "/v2/orgs/<org>/accounts/<account>/invoices",
                endpoint=self.invoice_list,
                methods=["GET"],
            ),
            # GUESS: the listing's `path`, served by the Customers API host to a bearer.
            Rule("/invoices/<number>.pdf", endpoint=self.document, methods=["GET"]),
        ]

    def error(self, status: int, message: str) -> Response:
        if status >= 500 and status in MESSAGES:  # gateway errors carry the gateway's text
            message = MESSAGES[status]
        return json_response({"code": status, "message": message}, status)

    def connection(self, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        config = {
            "billing_url": f"{base_url}/v1/",
            "customers_url": f"{base_url}/v2/",
            "token_url": f"{base_url}/oauth2/token",
            "org": self.org,
            "accounts": list(self.accounts),
        }
        return config, {"service_account": service_account()}

    def token(self, request: Request) -> Response:
        if request.form.get("grant_type") != GRANT_TYPE:
            return self.error(400, f"grant_type must be {GRANT_TYPE}")
        assertion = request.form.get("assertion", "")
        if not assertion:
            return self.error(400, "assertion is required")
        account = service_account()
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            return self.error(400, "The assertion is not a JWT")
        if header.get("alg") != "RS256" or header.get("kid") != account["private_key_id"]:
            return self.error(401, "The assertion is not signed with a known RS256 key")
        try:
            claims = jwt.decode(
                assertion,
                _public_key(),
                algorithms=["RS256"],
                audience=request.base_url,
                issuer=account["client_email"],
                options={"require": ["iss", "aud", "iat", "exp"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            return self.error(401, "The assertion has expired")
        except jwt.InvalidAudienceError:
            return self.error(401, "The assertion's audience is not this token endpoint")
        except jwt.InvalidIssuerError:
            return self.error(401, "The assertion's issuer is not the service account")
        except jwt.InvalidTokenError:
            return self.error(401, "The assertion's signature is not valid")
        if claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME:
            return self.error(401, "The assertion lives longer than an hour")
        token, expires_at = self.sandbox.tokens.issue(SUBJECT_PREFIX + claims["iss"])
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": max(int(expires_at - time.time()), 0),
            }
        )

    def _account(self, request: Request, org: str, account: str) -> Response | None:
        """An error response unless the bearer is valid and org/account exist."""
        subject = self.sandbox.tokens.subject(bearer(request))
        if subject is None or not subject.startswith(SUBJECT_PREFIX):
            return self.error(401, MESSAGES[401])
        if org != self.org:
            return self.error(404, f"Organization {org} not found")
        if account not in self.accounts:
            return self.error(404, f"Account {account} not found")
        return None

    def billing_details(self, request: Request, org: str, account: str) -> Response:
        if refused := self._account(request, org, account):
            return refused
        return json_response({"next_billing_date": self.data().next_billing[account][1]})

    def public_link(self, request: Request, org: str, account: str, invoice: str) -> Response:
        if refused := self._account(request, org, account):
            return refused
        if not any(row.number == invoice for row in self.invoices(account)):
            return self.error(404, f"Invoice {invoice} not found")
        digest = hashlib.sha256(
            f"{self.config.seed}:{account}:{invoice}:{self.today()}".encode()
        ).hexdigest()[:32]
        scheme = "http" if account == self.http_link_account else "https"
        expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + LINK_LIFETIME
        return json_response(
            {
                "url": f"{scheme}://{LINK_HOST}/public/invoices/{digest}.pdf",
                "expires_at": _zulu(expires),
            }
        )

    def document(self, request: Request, number: str) -> Response:
        subject = self.sandbox.tokens.subject(bearer(request))
        if subject is None or not subject.startswith(SUBJECT_PREFIX):
            return self.error(401, MESSAGES[401])
        for account in self.accounts:
            for row in self.invoices(account):
                if row.number == number:
                    lines = [
                        f"MasStack factura {row.number}",
                        f"Cuenta {account}",
                        f"Fecha {row.issue_date}",
                        f"Importe {row.value} EUR",
                    ]
                    return Response(pdf_document(lines), mimetype="application/pdf")
        return self.error(404, f"Invoice {number} not found")

    def invoice_list(self, request: Request, org: str, account: str) -> Response:
        if refused := self._account(request, org, account):
            return refused
        bounds = []
        for name in ("start_date", "end_date"):
            value = request.args.get(name, "")
            try:
                if len(value) != 10:
                    raise ValueError(value)
                bounds.append(dt.date.fromisoformat(value))
            except ValueError:
                return self.error(400, f"{name} must be a date YYYY-MM-DD")
        start, end = bounds
        if end < start:
            return self.error(400, "end_date is before start_date")
        if (end - start).days >= MAX_WINDOW_DAYS:
            return self.error(400, f"the period is longer than {MAX_WINDOW_DAYS} days")
        if self.end_exclusive:
            rows = [row.wire for row in self.invoices(account) if start <= row.issue_date < end]
        else:
            rows = [
                row.wire
                for row in self.invoices(account)
                if start <= row.issue_date <= end
                or (row.cycle_start <= end and row.cycle_end >= start)
            ]
        return json_response(
            {
                "account_id": account,
                "period_date": {"start_date": start.isoformat(), "end_date": end.isoformat()},
                "invoices": rows,
            }
        )
