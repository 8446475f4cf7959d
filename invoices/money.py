"""Money, counts and dates for people: in the active language (Babel: CLDR symbols,
decimals, grouping, month names), money in its currency's minor unit, rounded half away from zero.

Only display rounds: totals are summed on the stored values (four decimals) and rounded
once here; exports carry the stored value.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import (
    UnknownCurrencyError,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
)
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import naturaltime
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
    language = translation.get_language() or settings.LANGUAGE_CODE
    layout = _money_layout(language, currency)
    if layout is not None:
        return layout.format(rounded)
    try:
        return format_currency(rounded, currency, locale=_locale(language))
    except (UnknownCurrencyError, ValueError):
        return f"{rounded:,.{-quantum.as_tuple().exponent}f} {currency}"


@dataclass(frozen=True)
class _MoneyLayout:
    """How one language writes one currency, read once from Babel's pattern: a list
    formats 50 amounts, and Babel's general pattern machinery costs ~0.1 ms each."""

    positive: tuple[str, str]  # text before and after the digits
    negative: tuple[str, str]
    separators: dict[int, str]  # str.translate table: "," and "." to the locale's own
    digits: int

    def format(self, rounded: Decimal) -> str:
        before, after = self.negative if rounded.is_signed() else self.positive
        text = f"{abs(rounded):,.{self.digits}f}".translate(self.separators)
        return f"{before}{text}{after}"


# Amounts that exercise every part of a layout: sign, grouping (and a locale that
# groups only from five digits), decimals, zero and minus zero.
_PROBES = ("0", "-0", "0.5", "7", "-7.25", "999.99", "1234.5", "-1234.5", "12345.67",
           "1234567.891", "-98765432.1")  # fmt: skip


@functools.lru_cache(maxsize=512)
def _money_layout(language: str, currency: str) -> _MoneyLayout | None:
    """The fast layout of `currency` in `language`, or None where it would differ from
    Babel's own formatting in any probe (unusual grouping, a currency Babel does not know):
    money() then asks Babel every time."""
    locale = _locale(language)
    try:
        pattern = locale.currency_formats["standard"]
        symbol = get_currency_symbol(currency, locale=locale)
        group, decimal = get_group_symbol(locale=locale), get_decimal_symbol(locale=locale)
        minus = get_minus_sign_symbol(locale=locale)
    except (KeyError, UnknownCurrencyError, ValueError):
        return None
    if pattern.grouping != (3, 3) or any("¤¤" in part or "'" in part for part in
                                         (*pattern.prefix, *pattern.suffix)):  # fmt: skip
        return None

    def place(text: str) -> str:
        return text.replace("¤", symbol).replace("-", minus)

    layout = _MoneyLayout(
        positive=(place(pattern.prefix[0]), place(pattern.suffix[0])),
        negative=(place(pattern.prefix[1]), place(pattern.suffix[1])),
        separators=str.maketrans({",": group, ".": decimal}),
        digits=-_quantum(currency).as_tuple().exponent,
    )
    quantum = _quantum(currency)
    for probe in _PROBES:
        value = Decimal(probe).quantize(quantum, rounding=ROUND_HALF_UP)
        if layout.format(value) != format_currency(value, currency, locale=locale):
            return None
    return layout


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


# Below this age a past moment reads "just now" (see `ago`).
JUST_NOW_SECONDS = 60


def ago(value: dt.datetime | None) -> str:
    """How long ago `value` was, in words (humanize's `naturaltime`), with the first
    minute as "just now": a freshness line that counted seconds would read differently
    every second, and no list page could be answered from the page cache meanwhile."""
    if value is None:
        return ""
    age = (timezone.now() - value).total_seconds()
    if 0 <= age < JUST_NOW_SECONDS:
        return translation.gettext("just now")
    return naturaltime(value)


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
