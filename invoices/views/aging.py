"""Receivables aging: per currency, what is outstanding by days past due, as a bar chart
(server-drawn SVG, no script) and a table, over the list's filters; the customers owing
the most beside it. Each bucket links to the list filtered to it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..aging import BUCKETS, aging_top_customers, receivables_aging
from ..selection import filter_query
from ..selectors import connections_for_user, invoice_summary_key
from .dashboard import filter_chips, invoice_filter_for

# The chart is HTML text around one stretched SVG bar per bucket: its words keep the
# page's size on any screen (an SVG with its text in it shrank to 6px on a phone).
# A bucket with invoices in it shows at least this much of a bar (percent).
MIN_BAR = 0.6


@login_required
@require_GET
def receivables_aging_page(request: HttpRequest) -> HttpResponse:
    connections = list(connections_for_user(request.user))
    # Aging is of what is outstanding: the list's own "paid" and bucket filters would only
    # empty or narrow it; the buckets are the columns.
    params = request.GET.copy()
    for name in ("aging", "page", "sort"):
        params.pop(name, None)
    filterset = invoice_filter_for(request, connections=connections, params=params)
    invoices = filterset.qs
    today = timezone.localdate()
    cleaned = filterset.form.cleaned_data
    gone_counted = filterset.gone_counted
    key = invoice_summary_key(connections=connections, filters=cleaned, today=today, kind="aging")
    top_key = invoice_summary_key(
        connections=connections, filters=cleaned, today=today, kind="aging-top"
    )
    aging = receivables_aging(
        invoices=invoices,
        connections=connections,
        today=today,
        gone_counted=gone_counted,
        cache_key=key,
        summaries=filterset.summaries(),
    )
    top = aging_top_customers(
        invoices=invoices, gone_counted=gone_counted, cache_key=top_key,
        summaries=filterset.summaries(per_account=True),
    )  # fmt: skip
    base = filter_query(params)
    currencies = [
        {
            "aging": row,
            "top": top.get(row.currency, []),
            "bars": _bars(row, base),
            "list_query": _join(base, {"status": "unpaid", "currency": row.currency}),
        }
        for row in aging
    ]
    context: dict[str, Any] = {
        "filter": filterset,
        "currencies": currencies,
        "buckets": BUCKETS,
        "chips": filter_chips(request, filterset),
        "today": today,
        "list_query": base,
    }
    return render(request, "invoices/aging.html", context)


def _join(base: str, changes: dict[str, str]) -> str:
    query = QueryDict(base, mutable=True)
    for name, value in changes.items():
        query[name] = value
    return query.urlencode()


def _bars(row: Any, base: str) -> list[dict[str, Any]]:
    """One bar per bucket, its length (percent) relative to the currency's largest."""
    largest = row.largest or Decimal("1")
    bars = []
    for n, figure in enumerate(row.buckets):
        share = float(100 * figure.amount / largest) if figure.amount > 0 else 0.0
        bars.append(
            {
                "figure": figure,
                "percent": f"{max(share, MIN_BAR if figure.count else 0.0):.1f}",
                "query": _join(
                    base,
                    {"aging": figure.bucket.key, "currency": row.currency, "status": "unpaid"},
                ),
                "severity": n,
            }
        )
    return bars
