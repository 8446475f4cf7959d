"""The invoice list's rows, rendered in Python.

The template engine spent about half of a list request on the 25 rows (a few thousand
node renders, lookups and `{% with %}` scopes per page). The rows are the same few
shapes every time, so they are built here with `format_html` (every value escaped)
from what is worked out once per page (`RowKit`: the active language's words, URL
patterns, the list's query without its batch): the same markup `table.html` had,
cell for cell. The two live cells (next billing date, public link) keep their partial
templates: they are off by default and each is one include.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from . import money as formats

_PK = 987654321  # stands for the id in a reversed URL


def _pattern(name: str) -> str:
    return reverse(name, args=[_PK]).replace(str(_PK), "{}")


@dataclass(frozen=True)
class RowKit:
    """What every row of one page shares."""

    columns: tuple[tuple[str, str], ...]  # (name, header) of the visible columns
    invoice_url: str
    account_url: str
    batch_query: str  # the list's query without page and batch, "&"-terminated or ""
    words: dict[str, str]


def row_kit(table: Any, request: Any) -> RowKit:
    kit = getattr(table, "_row_kit", None)
    if kit is None:
        query = request.GET.copy() if request is not None else {}
        for key in ("page", "batch"):
            query.pop(key, None)
        rest = query.urlencode() if query else ""
        kit = RowKit(
            columns=tuple((column.name, str(column.header)) for column in table.columns),
            invoice_url=_pattern("invoices:invoice_detail"),
            account_url=_pattern("invoices:account_detail"),
            batch_query=f"{rest}&" if rest else "",
            words={
                "none": gettext("none"),
                "unpaid": gettext("Unpaid"),
                "paid": gettext("Paid"),
                "overdue": gettext("Overdue"),
                "incasso": gettext("Incasso"),
                "incasso_title": gettext("Collected by direct debit"),
                "delivery_error": gettext("Delivery error"),
                "follow_up_title": gettext("Follow-up date of the latest note"),
                "note": gettext("Note"),
                "missing": gettext("Gone upstream"),
                "missing_title": gettext("Not returned by the provider's last complete sync"),
                "not_offered": gettext("Not offered by this provider"),
            },
        )
        table._row_kit = kit
    return kit


def invoice_row(table: Any, invoice: Any, request: Any) -> SafeString:
    kit = row_kit(table, request)
    due = invoice.issue_date + dt.timedelta(days=invoice.connection.payment_terms_days)
    cells = [_cell(name, header, invoice, due, table, kit, request) for name, header in kit.columns]
    return format_html('<tr data-row tabindex="-1">{}</tr>', mark_safe("".join(cells)))  # noqa: S308 - built by format_html


def _time(value: dt.date | None, text: str, attr: str | None = None) -> SafeString | str:
    if value is None:
        return "—"
    return format_html('<time datetime="{}">{}</time>', attr or value.strftime("%Y-%m-%d"), text)


def _cell(
    name: str, header: str, invoice: Any, due: dt.date, table: Any, kit: RowKit, request: Any
) -> str:
    words = kit.words
    if name == "select":
        return format_html(
            '<td class="col-select"><input type="checkbox" data-pick name="pick" value="{}"'
            ' form="pick-form"{} aria-label="{}"><input type="hidden" name="shown" value="{}"'
            ' form="pick-form"></td>',
            invoice.pk,
            mark_safe(" checked") if invoice.pk in table.selected else "",
            gettext("Select invoice %(number)s") % {"number": invoice.number},
            invoice.pk,
        )
    if name == "number":
        url = kit.invoice_url.format(invoice.pk)
        return format_html(
            '<td data-label="{}" class="col-number nowrap"><a href="{}" hx-get="{}"'
            ' hx-target="#invoice-panel-body" hx-swap="innerHTML" hx-push-url="true"'
            " data-open-invoice data-primary>{}</a></td>",
            header,
            url,
            url,
            invoice.number,
        )
    if name == "customer_name":
        return format_html(
            '<td data-label="{}" class="col-customer_name clip">'
            '<a href="{}" title="{}">{}</a></td>',
            header,
            kit.account_url.format(invoice.account_id),
            invoice.customer_name,
            invoice.customer_name,
        )
    if name == "connection":
        return format_html(
            '<td data-label="{}" class="col-connection clip"><span title="{}">{}</span></td>',
            header,
            invoice.connection.name,
            invoice.connection.name,
        )
    if name == "batch":
        if not invoice.batch_id:
            inner = format_html('<span aria-label="{}">—</span>', words["none"])
        else:
            query = "?" + kit.batch_query + urlencode({"batch": invoice.batch_id})
            inner = format_html(
                '<a href="{}" hx-get="{}" hx-target="#results" hx-swap="outerHTML"'
                ' hx-push-url="true" hx-sync="#list-requests:replace" class="batch-link"'
                ' title="{}">{}</a>',
                query,
                query,
                gettext("Only batch %(number)s") % {"number": invoice.batch.number},
                invoice.batch.number,
            )
        return format_html('<td data-label="{}" class="col-batch">{}</td>', header, inner)
    if name in ("issue_date", "scheduled_date", "payment_date"):
        value = getattr(invoice, name)
        return format_html(
            '<td data-label="{}" class="col-{} nowrap">{}</td>',
            header,
            name,
            _time(value, formats.day(value)) if value else "—",
        )
    if name == "due_date":
        return format_html(
            '<td data-label="{}" class="col-due_date nowrap">{}</td>',
            header,
            _time(due, formats.day(due)),
        )
    if name == "days_overdue":
        overdue = invoice.status == "unpaid" and due < table.today
        return format_html(
            '<td data-label="{}" class="col-days_overdue num">{}</td>',
            header,
            formats.number((table.today - due).days) if overdue else "—",
        )
    if name == "exported_at":
        value = invoice.exported_at
        inner = _time(value, formats.moment(value), value.isoformat()) if value else "—"
        return format_html(
            '<td data-label="{}" class="col-exported_at nowrap">{}</td>', header, inner
        )
    if name in ("total", "amount_due"):
        return format_html(
            '<td class="col-{} num" data-label="{}">{}</td>',
            name,
            header,
            formats.money(getattr(invoice, name), invoice.currency),
        )
    if name == "currency":
        return format_html(
            '<td data-label="{}" class="col-currency">{}</td>', header, invoice.currency
        )
    if name == "status":
        return _status(header, invoice, due, table, words)
    if name in ("billing", "link"):
        offered = table.billing_connections if name == "billing" else table.link_connections
        if invoice.connection_id in offered:
            template = (
                "invoices/partials/billing_date_lazy.html"
                if name == "billing"
                else "invoices/partials/public_link_button.html"
            )
            inner = mark_safe(  # noqa: S308 - a template's escaped output
                render_to_string(
                    template, {"invoice": invoice, "account": invoice.account}, request=request
                )
            )
        else:
            inner = format_html('<span class="muted" title="{}">—</span>', words["not_offered"])
        return format_html('<td data-label="{}" class="col-{}">{}</td>', header, name, inner)
    return ""


def _status(header: str, invoice: Any, due: dt.date, table: Any, words: dict[str, str]) -> str:
    unpaid = invoice.status == "unpaid"
    badges = [
        format_html('<span class="badge unpaid">{}</span>', words["unpaid"])
        if unpaid
        else format_html('<span class="badge paid">{}</span>', words["paid"])
    ]
    if unpaid and due < table.today:
        badges.append(format_html('<span class="badge overdue">{}</span>', words["overdue"]))
    if invoice.incasso:
        badges.append(
            format_html(
                '<span class="badge incasso" title="{}">{}</span>',
                words["incasso_title"],
                words["incasso"],
            )
        )
    if invoice.delivery_error:
        badges.append(
            format_html(
                '<details class="badge-details"><summary class="badge error">{}</summary>'
                ' <span class="detail-text">{}</span></details>',
                words["delivery_error"],
                invoice.delivery_error,
            )
        )
    follow_up = getattr(invoice, "follow_up_on", None)
    if follow_up:
        due_now = follow_up <= table.today and unpaid
        badges.append(
            format_html(
                '<span class="badge {}" title="{}">{}</span>',
                "follow-up-due" if due_now else "note",
                words["follow_up_title"],
                gettext("Follow up %(day)s") % {"day": formats.day(follow_up)},
            )
        )
    elif getattr(invoice, "has_notes", False):
        badges.append(format_html('<span class="badge note">{}</span>', words["note"]))
    if invoice.missing:
        badges.append(
            format_html(
                '<span class="badge missing" title="{}">{}</span>',
                words["missing_title"],
                words["missing"],
            )
        )
    return format_html(
        '<td data-label="{}" class="col-status status">{}</td>',
        header,
        format_html_join(" ", "{}", ((badge,) for badge in badges)),
    )
