"""Money formatting per currency (Babel: CLDR symbols, decimals and grouping)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import UnknownCurrencyError, format_currency

LOCALE = "en_US"


def money(amount: Decimal | None, currency: str) -> str:
    """`€1,234.50`: formatted in the currency's own number of decimals, never mixed."""
    if amount is None:
        return ""
    try:
        return format_currency(amount, currency, locale=LOCALE)
    except (UnknownCurrencyError, ValueError):
        return f"{amount:,.2f} {currency}"
