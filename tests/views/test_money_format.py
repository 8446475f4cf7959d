"""money() writes an amount exactly as Babel's format_currency would (the CLDR pattern
of the active language), whichever way it gets there: its fast layout, read once per
language and currency, or Babel itself where the layout would differ."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.money import _money_layout, _quantum, money

LANGUAGES = ["en", "nl", "es", "de", "fr", "sv", "hi", "ar", "de-ch", "pt-br", "ja"]
CURRENCIES = ["EUR", "USD", "GBP", "JPY", "KWD", "CHF", "INR", "XYZ"]


def _babel(amount: Decimal, currency: str, language: str) -> str:
    rounded = amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)
    return format_currency(rounded, currency, locale=Locale.parse(translation.to_locale(language)))


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(
        min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False
    ),
    currency=st.sampled_from(CURRENCIES),
    language=st.sampled_from(LANGUAGES),
)
def test_money_is_what_babel_writes(amount: Decimal, currency: str, language: str):
    with translation.override(language):
        assert money(amount, currency) == _babel(amount, currency, language)


@pytest.mark.parametrize("language", ["en", "nl", "es"])
def test_the_apps_languages_take_the_fast_layout(language):
    # The languages the app ships: every list amount skips Babel's pattern machinery.
    assert all(_money_layout(language, code) is not None for code in ("EUR", "USD", "GBP"))


def test_a_grouping_the_layout_cannot_write_falls_back_to_babel():
    assert _money_layout("hi", "INR") is None  # 12,34,567.00: groups of two
    with translation.override("hi"):
        assert money(Decimal("1234567"), "INR") == _babel(Decimal("1234567"), "INR", "hi")
