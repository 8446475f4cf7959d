"""Exports of the filtered invoice set: CSV streamed row by row, XLSX in write-only mode.

Neither holds the set in memory: rows come from a server-side iterator in chunks.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .models import Invoice

CHUNK = 2000

# (header, field) - the table's data columns, with the currency spelled out. The headers
# and the words in the cells (yes/no, paid/unpaid) are in the active language; dates and
# amounts are the stored values, for the spreadsheet to format.
COLUMNS: list[tuple[Any, str]] = [
    (gettext_lazy("Invoice"), "number"),
    (gettext_lazy("Customer"), "customer_name"),
    (gettext_lazy("Connection"), "connection__name"),
    (gettext_lazy("Batch"), "batch__number"),
    (gettext_lazy("Issued"), "issue_date"),
    (gettext_lazy("Total"), "total"),
    (gettext_lazy("Due"), "amount_due"),
    (gettext_lazy("Currency"), "currency"),
    (gettext_lazy("Status"), "status"),
    (gettext_lazy("Incasso"), "incasso"),
    (gettext_lazy("Exported"), "exported"),
    (gettext_lazy("Delivery error"), "delivery_error"),
    (gettext_lazy("Missing upstream"), "missing"),
]
STATUS_FIELD = "status"

# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _words() -> dict[Any, str]:
    """The words a cell may hold, in the active language (English: yes, no, paid, unpaid)."""
    return {
        True: pgettext("export cell", "yes"),
        False: pgettext("export cell", "no"),
        "paid": pgettext("export cell", "paid"),
        "unpaid": pgettext("export cell", "unpaid"),
    }


def _cell(value: Any, words: dict[Any, str]) -> Any:
    if isinstance(value, bool):
        return words[value]
    if isinstance(value, Decimal):
        return (
            value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) else value
        )
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if value is None:
        return ""
    return value


def export_probe(invoices: QuerySet[Invoice]) -> None:
    """Run the export's own query for one row: what fails on the database fails here,
    before a download starts (no cursor is left open: the stream makes its own)."""
    list(invoices.values_list(*(field for _header, field in COLUMNS))[:1])


def export_rows(invoices: QuerySet[Invoice]) -> Iterator[list[Any]]:
    """Header, then one list per invoice, in the queryset's order (words in the active
    language)."""
    yield [str(header) for header, _field in COLUMNS]
    fields = [field for _header, field in COLUMNS]
    words = _words()
    status = fields.index(STATUS_FIELD)
    for row in invoices.values_list(*fields).iterator(chunk_size=CHUNK):
        cells = [_cell(value, words) for value in row]
        cells[status] = words.get(row[status], cells[status])
        yield cells


@dataclass
class Tally:
    """How many invoice rows an export has written so far: what the audit trail records,
    counted as written (a count asked beforehand could differ from the file)."""

    rows: int = 0


class _Line:
    """A file-like object csv.writer writes into; returns each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_incomplete_line() -> str:
    """The last line of a CSV whose export failed part way: no file that stops short may
    look complete."""
    message = _("EXPORT INCOMPLETE: an error stopped it here; rows are missing. Export again.")
    return csv.writer(_Line()).writerow([message])


def csv_lines(invoices: QuerySet[Invoice], *, tally: Tally | None = None) -> Iterator[str]:
    writer = csv.writer(_Line())
    tally = tally if tally is not None else Tally()
    yield "\ufeff"  # BOM: Excel then reads the file as UTF-8 (names with ü, ø, 株)
    rows = export_rows(invoices)
    yield writer.writerow(next(rows))  # the header
    for row in rows:
        yield writer.writerow(row)
        tally.rows += 1


def xlsx_file(invoices: QuerySet[Invoice], *, tally: Tally | None = None) -> IO[bytes]:
    """The workbook in a temporary file (openpyxl write-only: rows go to disk as written)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Invoices"))
    tally = tally if tally is not None else Tally()
    rows = export_rows(invoices)
    sheet.append(next(rows))  # the header
    for row in rows:
        sheet.append(row)
        tally.rows += 1
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
