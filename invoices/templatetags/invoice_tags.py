from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils.timesince import timesince

from ..money import money as format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def get_group(groups: dict, key: int | None):
    return groups.get(key)


@register.filter
def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


@register.filter
def duration(length: dt.timedelta) -> str:
    """A length of time in words, in the active language ("15 minutes")."""
    now = dt.datetime.now(dt.UTC)
    return timesince(now - length, now)
