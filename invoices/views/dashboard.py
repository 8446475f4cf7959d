"""The invoice list: filter, sort, page, group by batch, totals, freshness."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django_tables2 import RequestConfig

from ..filters import PER_PAGE_CHOICES, InvoiceFilter
from ..live import connection_live_features
from ..models import Connection, Invoice, Role
from ..selectors import (
    connection_overviews,
    connection_roles,
    connections_for_user,
    invoice_batch_groups,
    invoice_summary_key,
    invoice_totals,
    invoices_for_user,
)
from ..tables import InvoicePaginator, InvoiceTable


def per_page_from(request: HttpRequest) -> int:
    """The requested page size, clamped to the offered choices (default the smallest)."""
    try:
        wanted = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        return PER_PAGE_CHOICES[0]
    return min(PER_PAGE_CHOICES, key=lambda choice: (abs(choice - wanted), choice))


def paginate(table: InvoiceTable, page: str, per_page: int, *, count: int) -> None:
    """Page `page` ("last" or a number) of `count` rows; out of range shows the nearest
    page, never a 404."""
    options = {"paginator_class": InvoicePaginator, "per_page": per_page, "count": count}
    try:
        table.paginate(page=page, **options)
    except PageNotAnInteger:
        table.paginate(page=table.paginator.num_pages if page == "last" else 1, **options)
    except EmptyPage:
        number = 1 if page.lstrip("-").isdigit() and int(page) < 1 else table.paginator.num_pages
        table.paginate(page=number, **options)


def invoice_filter_for(
    request: HttpRequest, *, connections: list[Connection] | None = None
) -> InvoiceFilter:
    """The user's filters over the invoices they may see (export and list share it)."""
    invoices = invoices_for_user(request.user, connections=connections).select_related(
        "connection", "batch", "account"
    )
    return InvoiceFilter(request.GET, queryset=invoices, request=request, connections=connections)


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    connections = list(connections_for_user(request.user))
    filterset = invoice_filter_for(request, connections=connections)
    invoices: QuerySet[Invoice] = filterset.qs
    today = timezone.localdate()
    summary_key = invoice_summary_key(
        connections=connections, filters=filterset.form.cleaned_data, today=today
    )
    gone_counted = filterset.gone_counted
    totals = invoice_totals(invoices=invoices, gone_counted=gone_counted, cache_key=summary_key)
    count = sum(currency.listed for currency in totals)  # the rows listed, gone or not
    grouped = request.GET.get("group") == "batch"
    table = InvoiceTable(
        invoices,
        today=today,
        live={c.pk: connection_live_features(c) for c in connections},
    )
    per_page = per_page_from(request)
    # The request's sort (not django-tables2's own paging: `paginate` below, which
    # knows the count already).
    RequestConfig(request, paginate=False).configure(table)
    if grouped:
        # Batch first (newest batch first, no batch last), then the user's sort.
        ordered = table.data.data
        table.data.data = ordered.order_by(
            F("batch_id").desc(nulls_last=True), *ordered.query.order_by
        )
    paginate(table, request.GET.get("page", "1"), per_page, count=count)

    groups = {}
    if grouped:
        batch_ids = {row.record.batch_id for row in table.page.object_list}
        groups = invoice_batch_groups(
            invoices=invoices, batch_ids=batch_ids, gone_counted=gone_counted
        )
        table.grouped, table.groups = True, groups
    context: dict[str, Any] = {
        "filter": filterset,
        "table": table,
        "totals": totals,
        "grouped": grouped,
        "groups": groups,
        "per_page": per_page,
        "per_page_choices": PER_PAGE_CHOICES,
        "count": count,
        "gone_left_out": sum(currency.gone_left_out for currency in totals),
    }
    # htmx swaps only the results; a history restore (cache miss on Back) needs the page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "invoices/partials/results.html", context)
    else:
        roles = connection_roles(user=request.user)
        context["statuses"] = [
            (overview, roles.get(overview.connection.pk) == Role.PARTNER_ADMIN)
            for overview in connection_overviews(
                connections=connections_for_user(request.user), with_counts=False
            )
        ]
        response = render(request, "invoices/invoice_list.html", context)
    # One URL, two bodies: caches must key on the header that picks between them.
    patch_vary_headers(response, ["HX-Request"])
    return response
