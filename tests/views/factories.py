"""A small deterministic mirror, built straight with the ORM (no provider, no sync).

Connection A "Alpha" (Acronis, EUR, 14-day terms, two batches) and B "Bravo" (Hostway,
USD, 30-day terms, no batches). Dates are days before `timezone.localdate()`, so the
overdue flags hold whatever day the tests run; `pin_today` (autouse in conftest) keeps
that day the same for the whole test, even one that runs across midnight. Invoice
numbers are `INV-A01`… and `INV-B01`…; ids follow the numbers (created in order), which
the sort tests rely on.

Featured invoices (ago = days before today; err = has a delivery error):

    number   account  batch  ago  total    due      status  incasso  exported  err  cur
    INV-A01  Müller   100    5    100.00   100.00   unpaid  yes      no        -    EUR
    INV-A02  Müller   100    20   250.50   250.50   unpaid  no       no        yes  EUR  overdue
    INV-A03  Acme     100    40   1000.00  0        paid    yes      yes       -    EUR
    INV-A04  Acme     200    14   75.25    75.25    unpaid  yes      no        -    EUR  [1]
    INV-A05  Acme     200    15   19.99    19.99    unpaid  no       no        -    EUR  overdue
    INV-A06  Müller   -      60   500.00   0        paid    no       yes       -    EUR
    INV-A07  Acme     -      2    1234.50  1234.50  unpaid  no       no        yes  EUR
    INV-A08  Initech  100    10   99.00    99.00    unpaid  no       no        -    USD
    INV-A09  Initech  -      30   40.00    0        paid    no       yes       -    USD
    INV-A10  Müller   200    100  10.00    4.00     unpaid  yes      yes       -    EUR  overdue
    INV-B01  Globex   -      20   300.00   300.00   unpaid  no       no        -    USD  [2]
    INV-B02  Globex   -      31   45.00    45.00    unpaid  yes      no        -    USD  overdue
    INV-B03  Globex   -      3    12.34    0        paid    no       yes       yes  USD

    [1] issued exactly the payment terms ago: not overdue yet
    [2] as old as INV-A02, but Bravo gives 30 days: not overdue

Filler, all paid, exported, no batch, no flags: INV-A11…A20 (Acme, 70…79 days ago,
21.00…30.00 EUR) and INV-B04…B20 (Umbrella, 40…56 days ago, 1.00…17.00 USD).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from invoices.models import Access, Account, Batch, Connection, Invoice, Role

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: refused at once, never a real call


@dataclass
class Mirror:
    alpha: Connection
    bravo: Connection
    accounts: dict[str, Account]
    batches: dict[str, Batch]
    invoices: dict[str, Invoice] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)


def pin_today(monkeypatch: Any) -> None:
    """`timezone.localdate()` (no argument) answers the day of this instant, in the
    active zone, for the rest of the test: the mirror's dates, the views' "today" and
    the test's own expectations all agree even if the clock passes midnight meanwhile."""
    instant = timezone.now()
    real = timezone.localdate

    def localdate(value: dt.datetime | None = None, timezone: Any = None) -> dt.date:
        return real(instant if value is None else value, timezone)

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)


def days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def make_invoice(account: Account, number: str, **values: Any) -> Invoice:
    return Invoice.objects.create(**invoice_fields(account, number, **values))


def invoice_fields(account: Account, number: str, **values: Any) -> dict[str, Any]:
    return {
        "connection": account.connection,
        "account": account,
        "provider_id": number,
        "number": number,
        "customer_name": account.name,
        "issue_date": days_ago(50),
        "total": Decimal("10.00"),
        "amount_due": Decimal("0"),
        "currency": account.currency or "EUR",
        "status": "paid",
        "fingerprint": "x",
        **values,
    }


def _user(username: str, **extra: Any) -> Any:
    return get_user_model().objects.create_user(
        username=username, **extra
    )  # no password: no slow hashing


# (number, account, batch, days ago, total, due, status, incasso, exported, delivery error)
A_FEATURED = [
    ("INV-A01", "muller", "100", 5, "100.00", "100.00", "unpaid", True, False, ""),
    ("INV-A02", "muller", "100", 20, "250.50", "250.50", "unpaid", False, False, "Mailbox full"),
    ("INV-A03", "acme", "100", 40, "1000.00", "0", "paid", True, True, ""),
    ("INV-A04", "acme", "200", 14, "75.25", "75.25", "unpaid", True, False, ""),
    ("INV-A05", "acme", "200", 15, "19.99", "19.99", "unpaid", False, False, ""),
    ("INV-A06", "muller", None, 60, "500.00", "0", "paid", False, True, ""),
    ("INV-A07", "acme", None, 2, "1234.50", "1234.50", "unpaid", False, False, "Bounced"),
    ("INV-A08", "initech", "100", 10, "99.00", "99.00", "unpaid", False, False, ""),
    ("INV-A09", "initech", None, 30, "40.00", "0", "paid", False, True, ""),
    ("INV-A10", "muller", "200", 100, "10.00", "4.00", "unpaid", True, True, ""),
]
B_FEATURED = [
    ("INV-B01", "globex", None, 20, "300.00", "300.00", "unpaid", False, False, ""),
    ("INV-B02", "globex", None, 31, "45.00", "45.00", "unpaid", True, False, ""),
    ("INV-B03", "globex", None, 3, "12.34", "0", "paid", False, True, "Rejected by mail server"),
]


def _numbers(prefix: str, first: int, last: int) -> set[str]:
    return {f"INV-{prefix}{n:02d}" for n in range(first, last + 1)}


A_FILLER = _numbers("A", 11, 20)
B_FILLER = _numbers("B", 4, 20)
A_ALL = _numbers("A", 1, 20)
B_ALL = _numbers("B", 1, 20)


def build_mirror() -> Mirror:
    alpha = Connection.objects.create(
        provider="acronis", name="Alpha", payment_terms_days=14,
        config={"base_url": UNREACHABLE, "currency": "EUR"},
        credentials={"client_id": "alpha", "client_secret": "alpha-secret"},
    )  # fmt: skip
    bravo = Connection.objects.create(
        provider="hostway", name="Bravo", payment_terms_days=30,
        config={"base_url": UNREACHABLE}, credentials={"username": "b", "password": "b"},
    )  # fmt: skip
    accounts = {
        "muller": Account.objects.create(
            connection=alpha, provider_id="a-1", name="Müller GmbH", currency="EUR"
        ),
        "acme": Account.objects.create(
            connection=alpha, provider_id="a-2", name="Acme BV", currency="EUR"
        ),
        "initech": Account.objects.create(
            connection=alpha, provider_id="a-3", name="Initech Inc", currency="USD"
        ),
        "globex": Account.objects.create(
            connection=bravo, provider_id="b-1", name="Globex LLC", currency="USD"
        ),
        "umbrella": Account.objects.create(
            connection=bravo, provider_id="b-2", name="Umbrella Corp", currency="USD"
        ),
    }
    batches = {
        "100": Batch.objects.create(connection=alpha, number="2024-100", size=20),
        "200": Batch.objects.create(connection=alpha, number="2024-200"),
    }
    mirror = Mirror(alpha=alpha, bravo=bravo, accounts=accounts, batches=batches)

    specs = [
        *A_FEATURED,
        *((number, "acme", None, 70 + i, f"{21 + i}.00", "0", "paid", False, True, "")
          for i, number in enumerate(sorted(A_FILLER))),
        *B_FEATURED,
        *((number, "umbrella", None, 40 + i, f"{1 + i}.00", "0", "paid", False, True, "")
          for i, number in enumerate(sorted(B_FILLER))),
    ]  # fmt: skip
    invoices = [
        Invoice(**invoice_fields(
            accounts[account], number, batch=batches[batch] if batch else None,
            issue_date=days_ago(ago), total=Decimal(total), amount_due=Decimal(due),
            status=status, incasso=incasso, exported=exported, delivery_error=error,
        ))
        for number, account, batch, ago, total, due, status, incasso, exported, error in specs
    ]  # fmt: skip
    # One insert, in this order: ids follow the numbers.
    mirror.invoices = {invoice.number: invoice for invoice in Invoice.objects.bulk_create(invoices)}

    users = mirror.users
    users["finance"] = _user("finance")
    Access.objects.create(user=users["finance"], connection=alpha, role=Role.FINANCE)
    users["partner"] = _user("partner")
    Access.objects.create(user=users["partner"], connection=alpha, role=Role.PARTNER_ADMIN)
    Access.objects.create(user=users["partner"], connection=bravo, role=Role.PARTNER_ADMIN)
    users["superuser"] = _user("root", is_superuser=True, is_staff=True)
    users["stranger"] = _user("stranger")
    return mirror
