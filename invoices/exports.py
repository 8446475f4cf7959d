"""Exports of the filtered invoice set: CSV streamed row by row, XLSX in write-only mode.

Neither holds the set in memory: rows come from a server-side iterator in chunks.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Case, CharField, F, Func, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, NullIf
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


class _Repeated(Func):
    """A function whose template names its one expression more than once (its SQL
    parameters, if any, go in once for each)."""

    def as_sql(self, compiler: Any, connection: Any, template: str | None = None, **extra: Any):
        inner, params = compiler.compile(self.source_expressions[0])
        template = template or self.template
        return template % {"expressions": inner}, (*params,) * template.count("%(expressions)s")


class AmountText(_Repeated):
    """An amount as the CSV writes it: its 4 decimals, or 2 where the last two are 0
    (SQLite holds it as a float, which "%.4f" writes exactly for any amount an invoice
    may hold; PostgreSQL as numeric(19, 4))."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # "%%%%": "%%" once the template is filled in, a literal "%" to the driver.
        template = (
            "CASE WHEN ROUND(%(expressions)s, 2) = %(expressions)s "
            "THEN printf('%%%%.2f', %(expressions)s) ELSE printf('%%%%.4f', %(expressions)s) END"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "CASE WHEN %(expressions)s = ROUND(%(expressions)s, 2) "
            "THEN CAST(ROUND(%(expressions)s, 2) AS text) ELSE CAST(%(expressions)s AS text) END"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


class Guarded(_Repeated):
    """Text a spreadsheet would take for a formula, behind a quote (as `_cell` does)."""

    # The characters themselves (tab and carriage return too) as SQL string literals.
    template = (
        "CASE WHEN SUBSTR(%(expressions)s, 1, 1) IN ("
        + ", ".join(f"'{char}'" for char in _FORMULA_START)
        + ") THEN '''' || %(expressions)s ELSE %(expressions)s END"
    )
    output_field = CharField()


def _text_cells(words: dict[Any, str]) -> list[Any]:
    """Each column as the database writes its CSV text, by the rules of `_cell`: the
    words in the active language, amounts by `AmountText`, formulas by `Guarded`.
    Dates as ISO text, as both databases write them."""
    cells: list[Any] = []
    for _header, name in COLUMNS:
        field = Invoice._meta.get_field(name.split("__")[0])
        if name in ("total", "amount_due"):
            cells.append(AmountText(F(name)))
        elif name == STATUS_FIELD:
            paid_or_unpaid = (
                When(status=key, then=Value(words[key])) for key in ("paid", "unpaid")
            )
            cells.append(Case(*paid_or_unpaid, default=Guarded(F(name)), output_field=CharField()))
        elif field.get_internal_type() == "BooleanField":
            yes = When(**{name: True}, then=Value(words[True]))
            cells.append(Case(yes, default=Value(words[False]), output_field=CharField()))
        elif name == "issue_date":  # as text: no date is built per row to be written
            cells.append(Cast(F(name), CharField()))
        elif field.null:  # no batch: an empty cell
            cells.append(Guarded(Coalesce(F(name), Value(""))))
        else:
            cells.append(Guarded(F(name)))
    return cells


def _text_query(invoices: QuerySet[Invoice], *, empty_as_null: bool = False) -> tuple[str, Any]:
    """The SQL and parameters of the CSV's cells of `invoices` (EmptyResultSet for
    `none()`). `empty_as_null`: an empty cell as NULL, which PostgreSQL's COPY writes
    bare where it would quote an empty string (Python's csv writes it bare)."""
    cells = _text_cells(_words())
    if empty_as_null:
        cells = [NullIf(cell, Value("")) for cell in cells]
    names = [f"cell_{n}" for n in range(len(cells))]
    texts = invoices.annotate(**dict(zip(names, cells, strict=True))).values_list(*names)
    return texts.query.get_compiler(using=invoices.db).as_sql()


def export_text_blocks(invoices: QuerySet[Invoice]) -> Iterator[Sequence[Sequence[Any]]]:
    """`export_rows` as the CSV's text, worked out by the database and read straight
    from its cursor (a server-side one on PostgreSQL, as `iterator()` uses), in blocks
    of up to `CHUNK` rows after a first block holding the header. (A CSV of a million
    invoices spent most of its time in the fields' converters and the cell rules in
    Python, value by value.)"""
    yield [[str(header) for header, _field in COLUMNS]]
    try:
        sql, params = _text_query(invoices)
    except EmptyResultSet:  # `none()`: nothing the user may see
        return
    with connections[invoices.db].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows


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


def _copied_lines(invoices: QuerySet[Invoice], tally: Tally) -> Iterator[bytes]:
    """The CSV's rows of `invoices` as PostgreSQL's `COPY ... TO STDOUT` writes them,
    in blocks of up to `CHUNK` lines: no row becomes Python values on the way (a CSV of a
    million invoices took 8.9 s through the cursor). Its quoting is Python csv's minimal
    quoting; each row arrives alone, so the tally counts rows, not chunks."""
    try:
        sql, params = _text_query(invoices, empty_as_null=True)
    except EmptyResultSet:
        return
    block: list[bytes] = []
    with connections[invoices.db].cursor() as cursor:
        copy = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
        with cursor.cursor.copy(copy, params) as rows:
            for row in rows:
                block.append(bytes(row[:-1]) + b"\r\n")  # csv's line end, as the header's
                if len(block) == CHUNK:
                    tally.rows += CHUNK
                    yield b"".join(block)
                    block.clear()
    tally.rows += len(block)
    if block:
        yield b"".join(block)


def csv_blocks(invoices: QuerySet[Invoice], tally: Tally) -> Iterator[str | bytes]:
    """The CSV's header line, then its rows in blocks of up to `CHUNK` lines: UTF-8
    bytes straight from PostgreSQL's COPY there, text written by Python's csv from the
    cursor elsewhere (the same file either way)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if connections[invoices.db].vendor == "postgresql":
        writer.writerow([str(header) for header, _field in COLUMNS])
        yield buffer.getvalue()
        yield from _copied_lines(invoices, tally)
        return
    for number, rows in enumerate(export_text_blocks(invoices)):
        writer.writerows(rows)
        tally.rows += len(rows) if number else 0  # the first is the header
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_lines(invoices: QuerySet[Invoice], *, tally: Tally | None = None) -> Iterator[str | bytes]:
    """The CSV, a block of up to `CHUNK` lines at a time (a line at a time cost the
    response as much as the rows)."""
    yield "\ufeff"  # BOM: Excel then reads the file as UTF-8 (names with ü, ø, 株)
    yield from csv_blocks(invoices, tally if tally is not None else Tally())


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
