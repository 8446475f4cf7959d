"""The invoice table (django-tables2): the columns a user may choose, and how each sorts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import django_tables2 as tables
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_tables2.rows import BoundRows

from .models import Invoice
from .selectors import SORT_GROUPS

NUMERIC = {"th": {"class": "num"}}


class InvoicePaginator(Paginator):
    """Django's paginator, told the row count (the totals query already has it), that
    reads pages past the middle from the far end.

    An OFFSET costs as many rows as it skips: the last of 4,000 pages would step over
    99,975 index entries. Read backwards instead (every order ends on the unique id, so
    the reverse is exact), it skips at most half the list; and a deep page skips ids
    only (`_rows`).
    """

    def __init__(
        self,
        object_list: BoundRows,
        per_page: int,
        *,
        count: int,
        groups: Callable[[str], list[tuple[Any, int]]] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.count = count  # shadows the cached property that would run COUNT(*)
        # For the sorts by another table's column: `selectors.invoice_sort_groups`.
        self.groups = groups

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self.object_list
        queryset = getattr(rows.data, "data", None)
        if not isinstance(queryset, QuerySet) or not queryset.ordered:
            return self._get_page(rows[bottom:top], number, self)
        read = _rows
        sort = str(queryset.query.order_by[0]).lstrip("-")
        if sort in SORT_GROUPS and self.groups is not None:
            groups = self.groups(sort)

            def read(queryset: QuerySet, start: int, stop: int) -> list[Any]:
                return _grouped_rows(queryset, groups, start, stop)

        if bottom > self.count - top:
            records = read(queryset.reverse(), self.count - top, self.count - bottom)[::-1]
        else:
            records = read(queryset, bottom, top)
        return self._get_page(BoundRows(records, rows.table, rows.pinned_data), number, self)


# From this many rows skipped on, a page reads its ids first (the skipped rows cost an
# index entry each, not their joins and annotations), then those rows by id.
SKIP_IDS_FROM = 500


def _rows(queryset: QuerySet, start: int, stop: int) -> list[Any]:
    """Rows `start`..`stop` of `queryset`, in its order."""
    if start < SKIP_IDS_FROM:
        return list(queryset[start:stop])
    ids = list(queryset.values_list("pk", flat=True)[start:stop])
    found = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


# A page that spans groups holding at most this many rows together is read in one
# query sorted by the database (sorting them costs less than a query per group).
SMALL_GROUPS = 20_000


def _grouped_rows(
    queryset: QuerySet, groups: list[tuple[Any, int]], start: int, stop: int
) -> list[Any]:
    """Rows `start`..`stop` of `queryset`, sorted by another table's column (connection
    name, batch number; `SORT_GROUPS`), read a group at a time.

    No index of the invoices holds that order, so the database would sort the whole
    scope for every page. The groups are few; `groups`, their ids and sizes in
    ascending order, tell which ones the page spans and where in each. Within one
    group, the rows walk its own index in the order that follows the group (newest
    first); a page across small groups is one query over just those groups.
    """
    order = queryset.query.order_by
    field = SORT_GROUPS[str(order[0]).lstrip("-")][0]
    descending = str(order[0]).startswith("-") == queryset.query.standard_ordering
    spanned, offset = [], 0  # (group, size, where the page starts in it, where it stops)
    for key, size in reversed(groups) if descending else groups:
        if offset + size > start:
            spanned.append((key, size, max(start - offset, 0), min(stop - offset, size)))
        offset += size
        if offset >= stop:
            break

    def of(keys: list[Any]) -> Q:
        wanted = Q(**{f"{field}__in": [key for key in keys if key is not None]})
        return wanted | Q(**{f"{field}__isnull": True}) if None in keys else wanted

    if len(spanned) > 1 and sum(size for _, size, _, _ in spanned) <= SMALL_GROUPS:
        first = spanned[0][2]
        return _rows(queryset.filter(of([key for key, *_ in spanned])), first, first + stop - start)
    within = queryset.order_by(*order[2:])  # keeps a `reverse()`
    rows: list[Any] = []
    for key, _size, low, high in spanned:
        rows += _rows(within.filter(of([key])), low, high)
    return rows


# The columns a user may choose (`UserPreference.columns`), in the table's order, and the
# ones shown until they choose: the defaults fit a 1280 px screen on one line per row.
COLUMNS: dict[str, Any] = {
    "number": _("Invoice"),
    "customer_name": _("Customer"),
    "connection": _("Connection"),
    "batch": _("Batch"),
    "issue_date": _("Issued"),
    "scheduled_date": _("Scheduled"),
    "due_date": _("Due date"),
    "days_overdue": _("Days overdue"),
    "payment_date": _("Paid on"),
    "exported_at": _("Exported on"),
    "total": _("Total"),
    "amount_due": _("Amount due"),
    "currency": _("Currency"),
    "status": _("Status"),
    "billing": _("Next billing"),
    "link": _("Public link"),
}
DEFAULT_COLUMNS = (
    "number", "customer_name", "connection", "batch", "issue_date", "due_date", "total",
    "amount_due", "status",
)  # fmt: skip
# Amounts of different currencies are never ordered against each other as if comparable:
# by currency, then amount (the header says so).
BY_CURRENCY = _("Sorted by currency, then amount")


class InvoiceTable(tables.Table):
    """The columns' headers and sort orders; `invoices/table.html` draws their cells,
    one template per row, in this sequence (only the `visible` ones)."""

    # The selection's tick box (always shown; the header's ticks the page).
    select = tables.Column(
        verbose_name=_("Select"),
        orderable=False,
        empty_values=(),
        attrs={"th": {"class": "col-select"}},
    )
    # Every order ends on the unique id: with ties, pages would repeat or skip rows.
    number = tables.Column(verbose_name=COLUMNS["number"], order_by=("number", "id"))
    customer_name = tables.Column(
        verbose_name=COLUMNS["customer_name"], order_by=("customer_name", "id")
    )
    # By another table's column: a group at a time, newest first within it (the pair
    # of the name and the group's id is what `InvoicePaginator` reads; see SORT_GROUPS).
    connection = tables.Column(
        verbose_name=COLUMNS["connection"],
        order_by=("connection__name", "connection_id", "-issue_date", "-id"),
    )
    # Batch numbers as people read them: "2" before "10" (see `models.batch_sort_key`).
    batch = tables.Column(
        verbose_name=COLUMNS["batch"],
        order_by=("batch__sort_key", "batch_id", "-issue_date", "-id"),
    )
    issue_date = tables.Column(verbose_name=COLUMNS["issue_date"], order_by=("issue_date", "id"))
    scheduled_date = tables.Column(
        verbose_name=COLUMNS["scheduled_date"], order_by=("scheduled_date", "id")
    )
    # Computed from each connection's payment terms: not sorted (the issue date is).
    due_date = tables.Column(verbose_name=COLUMNS["due_date"], orderable=False, empty_values=())
    days_overdue = tables.Column(
        verbose_name=COLUMNS["days_overdue"], orderable=False, empty_values=(), attrs=NUMERIC
    )
    payment_date = tables.Column(
        verbose_name=COLUMNS["payment_date"], order_by=("payment_date", "id")
    )
    exported_at = tables.Column(verbose_name=COLUMNS["exported_at"], order_by=("exported_at", "id"))
    total = tables.Column(
        verbose_name=COLUMNS["total"], order_by=("currency", "total", "id"),
        attrs={"th": {"class": "num", "title": BY_CURRENCY}},
    )  # fmt: skip
    amount_due = tables.Column(
        verbose_name=COLUMNS["amount_due"], order_by=("currency", "amount_due", "id"),
        attrs={"th": {"class": "num", "title": BY_CURRENCY}},
    )  # fmt: skip
    # Within a currency by amount: the index the amount sorts walk serves this one too.
    currency = tables.Column(verbose_name=COLUMNS["currency"], order_by=("currency", "total", "id"))
    status = tables.Column(
        verbose_name=COLUMNS["status"], order_by=("status", "-issue_date", "-id")
    )
    billing = tables.Column(verbose_name=COLUMNS["billing"], orderable=False, empty_values=())
    link = tables.Column(verbose_name=COLUMNS["link"], orderable=False, empty_values=())

    class Meta:
        model = Invoice
        fields = ()
        sequence = ("select", *COLUMNS)
        template_name = "invoices/table.html"
        order_by = ("-issue_date",)
        attrs = {"class": "table invoices", "id": "invoice-table"}
        empty_text = _("No invoices match these filters.")

    def __init__(
        self,
        *args: Any,
        today: dt.date,
        live: dict[int, tuple[bool, bool]],
        visible: tuple[str, ...] = DEFAULT_COLUMNS,
        **kwargs: Any,
    ) -> None:
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
        self.visible = frozenset(visible)
        # Set by the view: the ids of this page's rows that are selected.
        self.selected: set[int] = set()
        for name in COLUMNS:
            if name not in self.visible:
                self.columns.hide(name)
