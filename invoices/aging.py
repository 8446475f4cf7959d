"""Receivables aging: what is outstanding, per currency, by days past due.

Days past due count from the due date, the issue date plus the connection's payment
terms; "not yet due" is zero days or fewer. The buckets split exactly the invoices the
list's Outstanding figure sums (unpaid; gone upstream only when the user counts them),
so their totals add up to it to the cent. Amounts are never added across currencies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _

from .models import Account, AccountSummary, Connection, Invoice, InvoiceStatus, InvoiceSummary
from .selectors import invoice_counter


@dataclass(frozen=True)
class Bucket:
    key: str
    label: Any
    first_day: int | None  # days past due, inclusive; None: however few (not yet due)
    last_day: int | None  # None: however many


BUCKETS = (
    Bucket("current", _("Not yet due"), None, 0),
    Bucket("1-30", _("1–30 days"), 1, 30),  # noqa: RUF001 (a range)
    Bucket("31-60", _("31–60 days"), 31, 60),  # noqa: RUF001 (a range)
    Bucket("61-90", _("61–90 days"), 61, 90),  # noqa: RUF001 (a range)
    Bucket("90+", _("Over 90 days"), 91, None),
)
BUCKET_KEYS = {bucket.key: bucket for bucket in BUCKETS}
TOP_CUSTOMERS = 10


def aging_bucket_q(key: str, *, connections: Iterable[Connection], today: dt.date) -> Q:
    """Unpaid invoices of `connections` that are `key`'s number of days past due today."""
    bucket = BUCKET_KEYS[key]
    matches = Q(pk__in=[])
    for connection in connections:
        # days past due = (today - terms) - issue date
        anchor = today - dt.timedelta(days=connection.payment_terms_days)
        dates = Q(connection_id=connection.pk)
        if bucket.first_day is not None:
            dates &= Q(issue_date__lte=anchor - dt.timedelta(days=bucket.first_day))
        if bucket.last_day is not None:
            dates &= Q(issue_date__gte=anchor - dt.timedelta(days=bucket.last_day))
        matches |= dates
    return Q(status=InvoiceStatus.UNPAID) & matches


@dataclass(frozen=True)
class BucketFigure:
    bucket: Bucket
    amount: Decimal
    count: int


@dataclass(frozen=True)
class CurrencyAging:
    currency: str
    buckets: list[BucketFigure]

    @property
    def amount(self) -> Decimal:
        return sum((figure.amount for figure in self.buckets), Decimal("0"))

    @property
    def count(self) -> int:
        return sum(figure.count for figure in self.buckets)

    @property
    def largest(self) -> Decimal:
        return max((figure.amount for figure in self.buckets), default=Decimal("0"))


@dataclass(frozen=True)
class TopCustomer:
    currency: str
    account_id: int
    name: str
    amount: Decimal
    count: int


def _counted(gone_counted: bool) -> Q:
    return Q(status=InvoiceStatus.UNPAID) & (Q() if gone_counted else Q(missing=False))


def receivables_aging(
    *,
    invoices: QuerySet[Invoice],
    connections: list[Connection],
    today: dt.date,
    gone_counted: bool = False,
    cache_key: str | None = None,
    summaries: QuerySet[InvoiceSummary] | None = None,
) -> list[CurrencyAging]:
    """Per currency, the outstanding amount and count in each bucket of `BUCKETS`, over
    `invoices` (already scoped and filtered; of `connections`), in one query: over their
    `summaries` when given (`InvoiceFilter.summaries`), which hold every field a bucket
    asks about.

    With a `cache_key` from `selectors.invoice_summary_key` the result is cached (the
    key changes with the data, the payment terms and the day)."""
    if cache_key is not None:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    counted = _counted(gone_counted)
    count = invoice_counter(summaries is not None)
    annotations: dict[str, Any] = {}
    for n, bucket in enumerate(BUCKETS):
        where = counted & aging_bucket_q(bucket.key, connections=connections, today=today)
        annotations[f"amount_{n}"] = Sum("amount_due", filter=where)
        annotations[f"count_{n}"] = count(where)
    source = invoices if summaries is None else summaries
    rows = (
        source.filter(counted)
        .order_by()
        .values("currency")
        .annotate(**annotations)
        .order_by("currency")
    )
    result = [
        CurrencyAging(
            currency=row["currency"],
            buckets=[
                BucketFigure(bucket, row[f"amount_{n}"] or Decimal("0"), row[f"count_{n}"])
                for n, bucket in enumerate(BUCKETS)
            ],
        )
        for row in rows
    ]
    if cache_key is not None:
        cache.set(cache_key, result, settings.SUMMARY_CACHE_SECONDS)
    return result


def aging_top_customers(
    *,
    invoices: QuerySet[Invoice],
    gone_counted: bool = False,
    limit: int = TOP_CUSTOMERS,
    cache_key: str | None = None,
    summaries: QuerySet[AccountSummary] | None = None,
) -> dict[str, list[TopCustomer]]:
    """Per currency, the `limit` customers (accounts) owing the most: one query ranks
    them within their currency (a window function), over their `summaries` when given
    (`InvoiceFilter.summaries(per_account=True)`: an account's few rows instead of its
    outstanding invoices), a second names the few it kept (naming every group before
    ranking joined each outstanding invoice to its account)."""
    if cache_key is not None:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    source = invoices if summaries is None else summaries
    rows = list(
        source.filter(_counted(gone_counted))
        .order_by()
        .values("currency", "account_id")
        .annotate(amount=Sum("amount_due"), count=invoice_counter(summaries is not None)(None))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("currency")],
                order_by=[F("amount").desc(), F("account_id").asc()],
            )
        )
        .filter(rank__lte=limit)
        .order_by("currency", "rank")
    )
    names = dict(
        Account.objects.filter(pk__in={row["account_id"] for row in rows}).values_list("pk", "name")
    )
    result: dict[str, list[TopCustomer]] = {}
    for row in rows:
        result.setdefault(row["currency"], []).append(
            TopCustomer(
                currency=row["currency"],
                account_id=row["account_id"],
                name=names[row["account_id"]],
                amount=row["amount"],
                count=row["count"],
            )
        )
    if cache_key is not None:
        cache.set(cache_key, result, settings.SUMMARY_CACHE_SECONDS)
    return result
