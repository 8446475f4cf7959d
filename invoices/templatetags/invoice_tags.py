from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils.timesince import timesince

from .. import money as formats

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return formats.money(amount, currency)


@register.filter
def number(value: int | Decimal | None) -> str:
    return formats.number(value)


@register.filter
def day(value: dt.date | None, length: str = "medium") -> str:
    return formats.day(value, length)


@register.filter
def moment(value: dt.datetime | None) -> str:
    return formats.moment(value)


@register.filter
def ago(value: dt.datetime | None) -> str:
    return formats.ago(value)


@register.filter
def get_group(groups: dict, key: int | None):
    return groups.get(key)


@register.filter
def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


@register.filter
def days_between(later: dt.date, earlier: dt.date) -> int:
    return (later - earlier).days


@register.filter
def duration(length: dt.timedelta) -> str:
    """A length of time in words, in the active language ("15 minutes")."""
    now = dt.datetime.now(dt.UTC)
    return timesince(now - length, now)


@register.simple_tag(takes_context=True)
def invoice_row(context, table, invoice):
    """One row of the invoice list (invoices/rows.py)."""
    from ..rows import invoice_row as render

    return render(table, invoice, context.get("request"))
