"""The invoice table (django-tables2): every data column sortable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_tables2 as tables
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django_tables2.rows import BoundRows

from .models import Invoice

NUMERIC = {"th": {"class": "num"}}


class InvoicePaginator(Paginator):
    """Django's paginator, told the row count (the totals query already has it), that
    reads pages past the middle from the far end.

    An OFFSET costs as many rows as it skips: the last of 4,000 pages would step over
    99,975 index entries. Read backwards instead (every order ends on the unique id, so
    the reverse is exact), it skips at most half the list.
    """

    def __init__(self, object_list: BoundRows, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.count = count  # shadows the cached property that would run COUNT(*)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self.object_list
        queryset = getattr(rows.data, "data", None)
        if bottom > self.count - top and isinstance(queryset, QuerySet) and queryset.ordered:
            backwards = queryset.reverse()[self.count - top : self.count - bottom]
            records = list(backwards)[::-1]
            return self._get_page(BoundRows(records, rows.table, rows.pinned_data), number, self)
        return self._get_page(rows[bottom:top], number, self)


class InvoiceTable(tables.Table):
    """The columns' headers and sort orders; `invoices/table.html` draws their cells,
    one template per row, in this sequence."""

    # Every order ends on the unique id: with ties, pages would repeat or skip rows.
    number = tables.Column(verbose_name="Invoice", order_by=("number", "id"))
    customer_name = tables.Column(verbose_name="Customer", order_by=("customer_name", "id"))
    connection = tables.Column(verbose_name="Connection", order_by=("connection__name", "id"))
    # Batch numbers as people read them: "2" before "10" (see `models.batch_sort_key`).
    batch = tables.Column(verbose_name="Batch", order_by=("batch__sort_key", "id"))
    issue_date = tables.Column(verbose_name="Issued", order_by=("issue_date", "id"))
    total = tables.Column(verbose_name="Total", order_by=("total", "id"), attrs=NUMERIC)
    amount_due = tables.Column(verbose_name="Due", order_by=("amount_due", "id"), attrs=NUMERIC)
    status = tables.Column(verbose_name="Status", order_by=("status", "-issue_date", "-id"))
    billing = tables.Column(verbose_name="Next billing", orderable=False, empty_values=())
    link = tables.Column(verbose_name="Public link", orderable=False, empty_values=())

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
        # For the row template: the overdue cut-off and which connections offer
        # live billing dates / public links (decided without any HTTP call).
        self.today = today
        # Set by the view when grouping by batch: {batch id: BatchGroup} for the page.
        # (render_table hands its template only the table, so the table carries them.)
        self.grouped = False
        self.groups: dict[int | None, Any] = {}
        self.link_connections = {pk for pk, (links, _) in live.items() if links}
        self.billing_connections = {pk for pk, (_, billing) in live.items() if billing}
