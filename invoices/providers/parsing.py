"""Tolerant parsing of the wire formats, written once for all clients.

Every helper raises `ProviderBadPayload` (never `ValueError`/`KeyError`) so clients
can parse a payload straight through and let the error surface as a domain error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ProviderBadPayload
from .types import Problem

NULL_GUID = "00000000-0000-0000-0000-000000000000"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# ISO 8601 with any number of fractional digits (Acronis sends 7, MasStack up to 9).
_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:\.(?P<frac>\d+))?(?P<tz>Z|z|[+-]\d{2}:?\d{2})?)?$"
)


def loads(text: str | bytes) -> Any:
    """JSON with numbers as `Decimal`, so money never passes through float."""
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ProviderBadPayload(f"response is not valid JSON ({exc.__class__.__name__})") from exc


def field(payload: Any, name: str, *, default: Any = ..., where: str = "payload") -> Any:
    """`payload[name]`, with a domain error when the payload is not an object or lacks it."""
    if not isinstance(payload, Mapping):
        raise ProviderBadPayload(f"{where} is not a JSON object")
    if name in payload:
        return payload[name]
    if default is ...:
        raise ProviderBadPayload(f"{where} has no '{name}'")
    return default


def as_list(value: Any, *, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProviderBadPayload(f"{where} is not a list")
    return value


def as_str(value: Any, *, where: str, allow_empty: bool = True) -> str:
    if type(value) is str:  # the common case first: this runs for most fields of every invoice
        text = value
    elif isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ProviderBadPayload(f"{where} is not a string")
    else:
        text = str(value)
    if not allow_empty and not text.strip():
        raise ProviderBadPayload(f"{where} is empty")
    return text


def as_opt_str(value: Any, *, where: str) -> str | None:
    if value is None:
        return None
    text = as_str(value, where=where).strip()
    return text or None


def as_bool(value: Any, *, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ProviderBadPayload(f"{where} is not a boolean")


def as_int(value: Any, *, where: str) -> int:
    if isinstance(value, bool):
        raise ProviderBadPayload(f"{where} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str | Decimal):
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError):
            pass
        else:
            # adjusted() bounds the size first: int(Decimal("1e999999999")) would hang.
            if (
                number.is_finite()
                and number.adjusted() < 19
                and number == number.to_integral_value()
            ):
                return int(number)
    raise ProviderBadPayload(f"{where} is not an integer")


def as_decimal(value: Any, *, where: str) -> Decimal:
    """A JSON number (already `Decimal`/`int` via `loads`) or a numeric string."""
    if isinstance(value, bool) or value is None:
        raise ProviderBadPayload(f"{where} is not an amount")
    if isinstance(value, float):  # only if a caller bypassed `loads`; go via repr, not binary
        value = repr(value)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ProviderBadPayload(f"{where} is not an amount") from exc
    if not amount.is_finite():
        raise ProviderBadPayload(f"{where} is not a finite amount")
    # copy_abs(), not abs(): abs() rounds in the context and raises Overflow on "1e9999999999".
    if amount.copy_abs() >= Decimal("1e15"):
        raise ProviderBadPayload(f"{where} is out of range")
    return amount


def as_guid(value: Any, *, where: str) -> str | None:
    """A GUID string, lower-cased; the all-zero GUID and null mean "none"."""
    if value is None:
        return None
    text = as_str(value, where=where).strip()
    if not _GUID.match(text):
        raise ProviderBadPayload(f"{where} is not a GUID")
    text = text.lower()
    return None if text == NULL_GUID else text


def as_datetime(value: Any, *, where: str, naive_tz: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """An ISO 8601 instant as an aware UTC datetime.

    Tolerates 0-9+ fractional digits (truncated to microseconds), `Z` or an offset,
    and naive values (taken in `naive_tz`). Year 1 (`0001-01-01...`) and null mean
    "not set".
    """
    return as_datetime_and_date(value, where=where, naive_tz=naive_tz)[0]


def as_datetime_and_date(
    value: Any, *, where: str, naive_tz: dt.tzinfo = dt.UTC
) -> tuple[dt.datetime | None, dt.date | None]:
    """`as_datetime(value)` and `as_date(value)` at once: the instant, and the date as
    written (in the value's own offset, not shifted through UTC)."""
    match = _matched(value, where=where, what="a date/time")
    if match is None:
        return None, None
    text = match.string
    try:
        # The pattern matched: Python 3.11+ reads such text itself (any number of
        # fractional digits, truncated; `Z`). What it refuses (a lower-case `z`) is
        # spelled out in full first.
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = _datetime_spelled_out(match, where)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    try:
        return parsed.astimezone(dt.UTC), parsed.date()
    except (OverflowError, ValueError) as exc:
        raise ProviderBadPayload(f"{where} is out of range") from exc


def _matched(value: Any, *, where: str, what: str) -> re.Match[str] | None:
    """`value` read by `_DATETIME`; None for "not set" (null, "", year 1)."""
    if value is None or value == "":
        return None
    text = as_str(value, where=where).strip()
    match = _DATETIME.match(text)
    if not match:
        raise ProviderBadPayload(f"{where} is not {what}")
    if text.startswith("0001-"):
        return None
    return match


def _datetime_spelled_out(match: re.Match[str], where: str) -> dt.datetime:
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    time = match["time"] or "00:00:00"
    if len(time) == 5:
        time += ":00"
    tz = match["tz"] or ""
    if tz in ("Z", "z"):
        tz = "+00:00"
    try:
        return dt.datetime.fromisoformat(f"{match['date']}T{time}.{frac}{tz}")
    except ValueError as exc:
        raise ProviderBadPayload(f"{where} is not a valid date/time") from exc


def as_date(value: Any, *, where: str) -> dt.date | None:
    """A business date: `YYYY-MM-DD`, or the date part of a naive timestamp.

    The date is taken as written (no time-zone shift): `2024-10-10T00:00:00` is
    10 October whatever the server's zone. Year 1 and null mean "not set".
    """
    match = _matched(value, where=where, what="a date")
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match["date"])
    except ValueError as exc:
        raise ProviderBadPayload(f"{where} is not a valid date") from exc


def unreadable_entry(
    item: Any, error: ProviderBadPayload, *, vendor: str, account_id: str, number_key: str
) -> Problem:
    """The problem for an invoice entry of `account_id` that could not be read, where the
    invoice's provider id is "<account>/<number>": it names the invoice when the entry
    has a number (kept from being taken as gone), else the account (none of its invoices
    is then taken as gone)."""
    number = item.get(number_key) if isinstance(item, Mapping) else None
    number = number.strip()[:60] if isinstance(number, str) and number.strip() else None
    return Problem(
        what=f"{vendor} invoice {account_id}/{number or '(without a number)'}",
        reason=str(error),
        provider_id=f"{account_id}/{number}" if number else None,
        account_id=None if number else account_id,
    )
