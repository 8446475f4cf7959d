"""Money, counts and dates for people: in the active language (Babel: CLDR symbols,
decimals, grouping, month names), money in its currency's minor unit, rounded half away from zero.

Only display rounds: totals are summed on the stored values (four decimals) and rounded
once here; exports carry the stored value.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import (
    UnknownCurrencyError,
    format_currency,
    format_decimal,
    get_currency_precision,
)
from django.conf import settings
from django.utils import timezone, translation


def current_locale() -> Locale:
    """The Babel locale of the active language ("nl" -> Dutch formats)."""
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


@functools.lru_cache(maxsize=32)
def _locale(language: str) -> Locale:
    # Parsed once per language: a page formats hundreds of amounts and dates.
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


@functools.lru_cache(maxsize=256)
def _quantum(currency: str) -> Decimal:
    """The currency's minor unit (Decimal("0.01"); two decimals for one Babel lacks)."""
    try:
        return Decimal(1).scaleb(-get_currency_precision(currency))
    except (UnknownCurrencyError, ValueError):
        return Decimal("0.01")


def money(amount: Decimal | None, currency: str) -> str:
    """`€1,234.50` (English), `€ 1.234,50` (Dutch): the currency's own number of decimals,
    rounded half away from zero (10.0050 GBP is £10.01), never mixed with another."""
    if amount is None:
        return ""
    quantum = _quantum(currency)
    rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    try:
        return format_currency(rounded, currency, locale=current_locale())
    except (UnknownCurrencyError, ValueError):
        return f"{rounded:,.{-quantum.as_tuple().exponent}f} {currency}"


def number(value: int | Decimal | None) -> str:
    """A count in the active language ("12,345" in English, "12.345" in Dutch)."""
    if value is None:
        return ""
    return format_decimal(value, locale=current_locale())


def day(value: dt.date | None, length: str = "medium") -> str:
    """A business date in the active language ("Dec 1, 2026", "1 dec 2026")."""
    if value is None:
        return ""
    return format_date(value, format=length, locale=current_locale())


def moment(value: dt.datetime | None) -> str:
    """An instant in the user's time zone and language, to the minute, with the zone's
    name ("Jan 15, 2025, 12:00 PM UTC", "15 jan 2025 12:00 CET")."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    locale = current_locale()
    # The locale's own way of joining a date and a time ("{1}, {0}", "{1} {0}").
    joined = str(locale.datetime_formats["medium"]).format(
        format_time(local, format="short", locale=locale),
        format_date(local.date(), format="medium", locale=locale),
    )
    return f"{joined} {local:%Z}"
