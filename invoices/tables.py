"""The invoice table (django-tables2): every data column sortable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from .models import Invoice
from .money import money


class MoneyColumn(tables.Column):
    attrs = {"td": {"class": "num"}, "th": {"class": "num"}}

    def render(self, value: Any, record: Invoice) -> str:
        return money(value, record.currency)


class InvoiceTable(tables.Table):
    number = tables.Column(verbose_name="Invoice", order_by=("number", "id"))
    customer_name = tables.Column(verbose_name="Customer", order_by=("customer_name", "id"))
    # Every order ends on the unique id: with ties, pages would repeat or skip rows.
    connection = tables.Column(
        accessor="connection__name", verbose_name="Connection", order_by=("connection__name", "id")
    )
    batch = tables.Column(
        accessor="batch__number",
        verbose_name="Batch",
        default="—",
        order_by=("batch__number", "id"),
    )
    issue_date = tables.DateColumn(
        verbose_name="Issued", format="Y-m-d", order_by=("issue_date", "id")
    )
    total = MoneyColumn(verbose_name="Total", order_by=("total", "id"))
    amount_due = MoneyColumn(verbose_name="Due", order_by=("amount_due", "id"))
    status = tables.TemplateColumn(
        template_name="invoices/cells/flags.html",
        verbose_name="Status",
        order_by=("status", "-issue_date", "-id"),
    )
    billing = tables.TemplateColumn(
        template_name="invoices/cells/billing.html",
        verbose_name="Next billing",
        orderable=False,
        empty_values=(),
    )
    link = tables.TemplateColumn(
        template_name="invoices/cells/link.html",
        verbose_name="Public link",
        orderable=False,
        empty_values=(),
    )

    class Meta:
        model = Invoice
        fields = ()
        sequence = (
            "number", "customer_name", "connection", "batch", "issue_date", "total",
            "amount_due", "status", "billing", "link",
        )  # fmt: skip
        template_name = "invoices/table.html"
        order_by = ("-issue_date",)
        attrs = {"class": "table invoices", "id": "invoice-table"}
        empty_text = "No invoices match these filters."

    def __init__(self, *args: Any, today: dt.date, live: dict[int, tuple[bool, bool]],
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        # Passed to cell templates: the overdue cut-off and which connections offer
        # live billing dates / public links (decided without any HTTP call).
        self.today = today
        # Set by the view when grouping by batch: {batch id: BatchGroup} for the page.
        # (render_table hands its template only the table, so the table carries them.)
        self.grouped = False
        self.groups: dict[int | None, Any] = {}
        self.link_connections = {pk for pk, (links, _) in live.items() if links}
        self.billing_connections = {pk for pk, (_, billing) in live.items() if billing}

    def render_customer_name(self, value: str, record: Invoice) -> str:
        url = reverse("invoices:account_detail", args=[record.account_id])
        return format_html('<a href="{}">{}</a>', url, value)

    def render_batch(self, value: str, record: Invoice) -> str:
        # Filter to this batch, keeping the other filters.
        params = self.request.GET.copy()
        params["batch"] = record.batch_id
        params.pop("page", None)
        query = params.urlencode()
        return format_html(
            '<a href="?{}" hx-get="?{}" hx-target="#results" hx-swap="outerHTML" '
            'hx-push-url="true" class="batch-link" title="Only batch {}">{}</a>',
            query, query, value, value,
        )  # fmt: skip

    def value_batch(self, value: str, record: Invoice) -> str:
        return value
