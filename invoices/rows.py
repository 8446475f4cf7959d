"""The invoice list's rows, rendered in Python.

The template engine spent about half of a list request on the 25 rows (a few thousand
node renders, lookups and `{% with %}` scopes per page). The rows are the same few
shapes every time, so they are built here as f-strings with every value escaped
(`html.escape`, as Django's `escape` does; `format_html`'s per-argument machinery
cost more than the markup) from what is worked out once per page (`RowKit`: the active
language's words, URL patterns, the list's query without its batch): the same markup
`table.html` had, cell for cell. The two live cells (next billing date, public link)
keep their partial templates: they are off by default and each is one include.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape as _escape
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
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


def _e(value: Any) -> str:
    return _escape(str(value), quote=True)


def invoice_row(table: Any, invoice: Any, request: Any) -> SafeString:
    kit = row_kit(table, request)
    due = invoice.issue_date + dt.timedelta(days=invoice.connection.payment_terms_days)
    cells = "".join(
        _cell(name, _e(header), invoice, due, table, kit, request) for name, header in kit.columns
    )
    return mark_safe(f'<tr data-row tabindex="-1">{cells}</tr>')  # noqa: S308 - every value escaped


def _time(value: dt.date, text: str, attr: str | None = None) -> str:
    return f'<time datetime="{_e(attr or value.strftime("%Y-%m-%d"))}">{_e(text)}</time>'


def _cell(
    name: str, header: str, invoice: Any, due: dt.date, table: Any, kit: RowKit, request: Any
) -> str:
    """One cell; `header` is escaped already."""
    words = kit.words
    if name == "select":
        checked = " checked" if invoice.pk in table.selected else ""
        label = _e(gettext("Select invoice %(number)s") % {"number": invoice.number})
        return (
            f'<td class="col-select"><input type="checkbox" data-pick name="pick" '
            f'value="{invoice.pk}" form="pick-form"{checked} aria-label="{label}">'
            f'<input type="hidden" name="shown" value="{invoice.pk}" form="pick-form"></td>'
        )
    if name == "number":
        url = _e(kit.invoice_url.format(invoice.pk))
        return (
            f'<td data-label="{header}" class="col-number nowrap"><a href="{url}" '
            f'hx-get="{url}" hx-target="#invoice-panel-body" hx-swap="innerHTML" '
            f'hx-push-url="true" data-open-invoice data-primary>{_e(invoice.number)}</a></td>'
        )
    if name == "customer_name":
        customer = _e(invoice.customer_name)
        url = _e(kit.account_url.format(invoice.account_id))
        return (
            f'<td data-label="{header}" class="col-customer_name clip">'
            f'<a href="{url}" title="{customer}">{customer}</a></td>'
        )
    if name == "connection":
        connection = _e(invoice.connection.name)
        return (
            f'<td data-label="{header}" class="col-connection clip">'
            f'<span title="{connection}">{connection}</span></td>'
        )
    if name == "batch":
        if not invoice.batch_id:
            inner = f'<span aria-label="{_e(words["none"])}">—</span>'
        else:
            number = invoice.batch.number
            query = _e("?" + kit.batch_query + urlencode({"batch": invoice.batch_id}))
            title = _e(gettext("Only batch %(number)s") % {"number": number})
            inner = (
                f'<a href="{query}" hx-get="{query}" hx-target="#results" hx-swap="outerHTML" '
                f'hx-push-url="true" hx-sync="#list-requests:replace" class="batch-link" '
                f'title="{title}">{_e(number)}</a>'
            )
        return f'<td data-label="{header}" class="col-batch">{inner}</td>'
    if name in ("issue_date", "scheduled_date", "payment_date"):
        value = getattr(invoice, name)
        inner = _time(value, formats.day(value)) if value else "—"
        return f'<td data-label="{header}" class="col-{name} nowrap">{inner}</td>'
    if name == "due_date":
        inner = _time(due, formats.day(due))
        return f'<td data-label="{header}" class="col-due_date nowrap">{inner}</td>'
    if name == "days_overdue":
        overdue = invoice.status == "unpaid" and due < table.today
        inner = _e(formats.number((table.today - due).days)) if overdue else "—"
        return f'<td data-label="{header}" class="col-days_overdue num">{inner}</td>'
    if name == "exported_at":
        value = invoice.exported_at
        inner = _time(value, formats.moment(value), value.isoformat()) if value else "—"
        return f'<td data-label="{header}" class="col-exported_at nowrap">{inner}</td>'
    if name in ("total", "amount_due"):
        amount = _e(formats.money(getattr(invoice, name), invoice.currency))
        return f'<td class="col-{name} num" data-label="{header}">{amount}</td>'
    if name == "currency":
        return f'<td data-label="{header}" class="col-currency">{_e(invoice.currency)}</td>'
    if name == "status":
        inner = _status(invoice, due, table, words)
        return f'<td data-label="{header}" class="col-status status">{inner}</td>'
    if name in ("billing", "link"):
        offered = table.billing_connections if name == "billing" else table.link_connections
        if invoice.connection_id in offered:
            template = (
                "invoices/partials/billing_date_lazy.html"
                if name == "billing"
                else "invoices/partials/public_link_button.html"
            )
            inner = render_to_string(
                template, {"invoice": invoice, "account": invoice.account}, request=request
            )
        else:
            inner = f'<span class="muted" title="{_e(words["not_offered"])}">—</span>'
        return f'<td data-label="{header}" class="col-{name}">{inner}</td>'
    return ""


def _status(invoice: Any, due: dt.date, table: Any, words: dict[str, str]) -> str:
    unpaid = invoice.status == "unpaid"
    if unpaid:
        badges = [f'<span class="badge unpaid">{_e(words["unpaid"])}</span>']
    else:
        badges = [f'<span class="badge paid">{_e(words["paid"])}</span>']
    if unpaid and due < table.today:
        badges.append(f'<span class="badge overdue">{_e(words["overdue"])}</span>')
    if invoice.incasso:
        badges.append(
            f'<span class="badge incasso" title="{_e(words["incasso_title"])}">'
            f"{_e(words['incasso'])}</span>"
        )
    if invoice.delivery_error:
        badges.append(
            f'<details class="badge-details"><summary class="badge error">'
            f"{_e(words['delivery_error'])}</summary> "
            f'<span class="detail-text">{_e(invoice.delivery_error)}</span></details>'
        )
    follow_up = getattr(invoice, "follow_up_on", None)
    if follow_up:
        kind = "follow-up-due" if follow_up <= table.today and unpaid else "note"
        text = gettext("Follow up %(day)s") % {"day": formats.day(follow_up)}
        badges.append(
            f'<span class="badge {kind}" title="{_e(words["follow_up_title"])}">{_e(text)}</span>'
        )
    elif getattr(invoice, "has_notes", False):
        badges.append(f'<span class="badge note">{_e(words["note"])}</span>')
    if invoice.missing:
        badges.append(
            f'<span class="badge missing" title="{_e(words["missing_title"])}">'
            f"{_e(words['missing'])}</span>"
        )
    return " ".join(badges)
