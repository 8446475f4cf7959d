"""CSV and XLSX downloads of the filtered list, in the table's order."""

from __future__ import annotations

import contextlib
import csv
import io
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from invoices.models import Account

from .factories import A_ALL, Mirror, make_invoice
from .pages import numbers, parse

HEADER = ["Invoice", "Customer", "Connection", "Batch", "Issued", "Total", "Due", "Currency",
          "Status", "Incasso", "Exported", "Delivery error", "Missing upstream"]  # fmt: skip
CSV_URL = reverse("invoices:invoice_export", args=["csv"])
XLSX_URL = reverse("invoices:invoice_export", args=["xlsx"])


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(response))))


def csv_text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def by_number(table: list[list]) -> dict[str, dict[str, object]]:
    return {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}


def xlsx_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# -- CSV ------------------------------------------------------------------------------


def test_csv_is_streamed_as_an_attachment(as_finance: Client):
    response = as_finance.get(CSV_URL)

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="invoices-{timezone.localdate():%Y%m%d}.csv"'
    )


def test_csv_starts_with_a_byte_order_mark_then_the_header(as_finance: Client):
    body = b"".join(as_finance.get(CSV_URL).streaming_content)

    assert body.startswith(b"\xef\xbb\xbf" + ",".join(HEADER).encode() + b"\r\n")


def test_csv_holds_exactly_the_filtered_rows_in_the_tables_sort_order(as_finance: Client):
    response = as_finance.get(CSV_URL, {"status": "unpaid", "sort": "-total"})

    # By currency, then amount (going down: USD, then EUR).
    assert [row[0] for row in csv_rows(response)[1:]] == [
        "INV-A08", "INV-A07", "INV-A02", "INV-A01", "INV-A04", "INV-A05", "INV-A10",
    ]  # fmt: skip


def test_csv_default_order_is_the_lists(as_finance: Client):
    listed = numbers(as_finance.get(reverse("invoices:invoice_list"), {"per_page": "100"}))

    exported = [row[0] for row in csv_rows(as_finance.get(CSV_URL))[1:]]

    assert exported == listed
    assert set(exported) == A_ALL


def test_csv_amounts_are_plain_decimals_next_to_their_currency(as_finance: Client, mirror):
    rows = by_number(csv_rows(as_finance.get(CSV_URL)))

    assert rows["INV-A07"] == {
        "Invoice": "INV-A07", "Customer": "Acme BV", "Connection": "Alpha", "Batch": "",
        "Issued": mirror.invoices["INV-A07"].issue_date.isoformat(), "Total": "1234.50",
        "Due": "1234.50", "Currency": "EUR", "Status": "unpaid", "Incasso": "no",
        "Exported": "no", "Delivery error": "Bounced", "Missing upstream": "no",
    }  # fmt: skip
    assert (rows["INV-A10"]["Total"], rows["INV-A10"]["Due"]) == ("10.00", "4.00")
    assert (rows["INV-A08"]["Total"], rows["INV-A08"]["Currency"]) == ("99.00", "USD")
    assert rows["INV-A01"]["Batch"] == "2024-100"


def test_csv_keeps_sub_cent_amounts_exact(as_finance: Client, mirror: Mirror):
    make_invoice(mirror.accounts["acme"], "INV-TINY", total=Decimal("0.0050"))

    rows = by_number(csv_rows(as_finance.get(CSV_URL, {"q": "INV-TINY"})))

    assert rows["INV-TINY"]["Total"] == "0.0050"


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@x", "\t=1"]
)
def test_csv_defuses_a_formula_looking_customer_name(as_finance: Client, mirror, name):
    account = Account.objects.create(connection=mirror.alpha, provider_id="f", name=name)
    make_invoice(account, "INV-FORMULA")

    rows = by_number(csv_rows(as_finance.get(CSV_URL, {"q": "INV-FORMULA"})))

    assert rows["INV-FORMULA"]["Customer"] == "'" + name


def test_csv_keeps_markup_as_plain_text(as_finance: Client, mirror: Mirror):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    account = Account.objects.create(connection=mirror.alpha, provider_id="x", name=payload)
    make_invoice(account, f"X-{payload}")

    rows = by_number(csv_rows(as_finance.get(CSV_URL, {"q": "X-<script>"})))

    assert rows[f"X-{payload}"]["Customer"] == payload


def test_csv_keeps_non_ascii_names(as_finance: Client):
    rows = by_number(csv_rows(as_finance.get(CSV_URL, {"q": "müller"})))

    assert {row["Customer"] for row in rows.values()} == {"Müller GmbH"}


def test_csv_follows_every_filter(as_root: Client, mirror: Mirror):
    response = as_root.get(
        CSV_URL, {"currency": "USD", "status": "unpaid", "connection": mirror.bravo.pk}
    )

    assert [row[0] for row in csv_rows(response)[1:]] == ["INV-B01", "INV-B02"]


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ({"amount_min": "abc"}, "Amount from: Enter a number."),
        ({"status": "bogus"}, "Payment: Select a valid choice."),
        ({"q": "x" * 101}, "Search: Ensure this value has at most 100 characters (it has 101)."),
    ],
    ids=str,
)
@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL], ids=["csv", "xlsx"])
def test_an_export_with_an_invalid_filter_is_refused_in_plain_words(as_finance, bad, said, url):
    # The list shows a notice and ignores the filter; a file would silently hold more.
    response = as_finance.get(url, {"status": "unpaid", **bad})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert said in parse(response).find("ul").text()


def test_an_export_filtered_by_another_connection_is_not_found(as_finance):
    response = as_finance.get(CSV_URL, {"connection": "999999"})

    assert response.status_code == 404


@pytest.mark.parametrize("fmt", ["pdf", "json", "CSV", "xls"])
def test_an_unknown_format_is_not_found(as_finance: Client, fmt: str):
    response = as_finance.get(reverse("invoices:invoice_export", args=[fmt]))

    assert response.status_code == 404


# -- XLSX -----------------------------------------------------------------------------


def test_xlsx_is_a_workbook_download(as_finance: Client):
    response = as_finance.get(XLSX_URL)

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="invoices-{timezone.localdate():%Y%m%d}.xlsx"'
    )


def test_xlsx_has_the_same_rows_as_the_csv(as_finance: Client):
    params = {"status": "unpaid", "sort": "customer_name"}
    from_csv = csv_rows(as_finance.get(CSV_URL, params))

    from_xlsx = xlsx_rows(as_finance.get(XLSX_URL, params))

    def normal(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, int | float):
            return str(Decimal(str(value)).quantize(Decimal("0.01")))
        if hasattr(value, "date"):
            return value.date().isoformat()
        return str(value)

    assert from_xlsx[0] == HEADER
    assert [[normal(value) for value in row] for row in from_xlsx] == from_csv
    assert len(from_xlsx) == 1 + 7


def test_xlsx_amounts_are_numbers(as_finance: Client):
    rows = by_number(xlsx_rows(as_finance.get(XLSX_URL, {"q": "INV-A07"})))

    assert rows["INV-A07"]["Total"] == 1234.5
    assert rows["INV-A07"]["Currency"] == "EUR"


def test_xlsx_never_holds_a_formula(as_finance: Client, mirror: Mirror):
    account = Account.objects.create(connection=mirror.alpha, provider_id="f", name="=1+1")
    make_invoice(account, "INV-FORMULA")

    rows = by_number(xlsx_rows(as_finance.get(XLSX_URL, {"q": "INV-FORMULA"})))

    assert rows["INV-FORMULA"]["Customer"] == "'=1+1"


# -- bad input and failures are visible ------------------------------------------------

LONG = "_" * 25_000  # SQLite refuses LIKE patterns this long ("too complex")


def test_a_very_long_search_is_a_notice_on_the_list_not_an_error(as_finance: Client):
    response = as_finance.get(reverse("invoices:invoice_list"), {"q": LONG})

    assert response.status_code == 200
    notice = parse(response).find("div", cls="notice").text()
    assert "Search: Ensure this value has at most 100 characters (it has 25000)." in notice
    assert len(numbers(response)) == 20  # all of Alpha, unfiltered by it


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL], ids=["csv", "xlsx"])
def test_a_very_long_search_refuses_the_export_instead_of_a_500_or_an_empty_file(
    as_finance: Client, url
):
    response = as_finance.get(url, {"q": LONG})

    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [("amount_min", "1e999999"), ("amount_max", "-" + "9" * 400), ("amount_min", "NaN")],
)
def test_amounts_out_of_any_range_are_refused_in_plain_words(as_finance: Client, name, value):
    listed = as_finance.get(reverse("invoices:invoice_list"), {name: value})
    exported = as_finance.get(CSV_URL, {name: value})

    assert listed.status_code == 200
    assert "Some filters were ignored" in listed.content.decode()
    assert exported.status_code == 400


def test_a_csv_that_fails_before_its_first_row_is_an_error_page_not_a_file(
    as_finance: Client, monkeypatch
):
    from invoices import exports

    # A query the database cannot run (here: a column that does not exist).
    monkeypatch.setattr(exports, "COLUMNS", [*exports.COLUMNS, ("Broken", "no_such_field")])

    response = as_finance.get(CSV_URL)

    assert response.status_code == 500
    assert not response.streaming
    assert "The export failed" in response.content.decode()


def test_a_csv_that_fails_part_way_says_so_and_aborts(as_finance: Client, monkeypatch):
    """The browser must not keep a file that looks complete: the last line says it is
    not, and the response breaks off (the server aborts the connection)."""
    from invoices import exports

    real = exports.csv_blocks

    def failing_after_two(invoices, tally):
        with contextlib.closing(real(invoices, tally)) as blocks:  # as a failing read does
            yield next(blocks)  # the header
            yield next(blocks)  # two rows (CHUNK)
            raise RuntimeError("the database went away")

    monkeypatch.setattr(exports, "CHUNK", 2)
    monkeypatch.setattr(exports, "csv_blocks", failing_after_two)
    response = as_finance.get(CSV_URL)
    assert response.status_code == 200
    received = []

    with pytest.raises(RuntimeError):
        for chunk in response.streaming_content:
            received.append(chunk.decode("utf-8-sig"))

    lines = list(csv.reader(io.StringIO("".join(received))))
    assert lines[0] == HEADER
    assert len(lines) == 4
    assert lines[-1][0].startswith("EXPORT INCOMPLETE")


def test_a_download_dropped_part_way_is_recorded_and_leaves_the_database_usable(
    as_finance: Client, monkeypatch
):
    """A browser that goes away mid-file closes the response: the database's read (a
    COPY in progress on PostgreSQL) is ended, the audit entry says the download stopped,
    and the same database connection answers the next query."""
    from invoices import exports
    from invoices.models import AuditEntry, Invoice

    monkeypatch.setattr(exports, "CHUNK", 2)
    response = as_finance.get(CSV_URL)
    chunks = iter(response.streaming_content)
    received = [next(chunks) for _ in range(3)]  # the BOM, the header, two rows
    # What the server does when the client has gone: close the body, here through the
    # test client's wrapper, which keeps the test's database connection open as it does.
    response._iterator.close()

    assert len(list(csv.reader(io.StringIO(b"".join(received).decode("utf-8-sig"))))) == 3
    entry = AuditEntry.objects.get(action="export")
    assert entry.outcome == "failed" and entry.detail["rows"] == 2
    assert Invoice.objects.count() > 2


def test_an_xlsx_that_cannot_be_made_is_an_error_page(as_finance: Client, monkeypatch):
    from invoices.views import export

    def broken(invoices, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "xlsx_file", broken)

    response = as_finance.get(XLSX_URL)

    assert response.status_code == 500
    assert "The export failed" in response.content.decode()


AWKWARD_AMOUNTS = ["0", "0.01", "-12.50", "1234.5678", "999999999.9999", "-0.0001", "100"]
AWKWARD_TEXT = ["=1+2", "+31 20", "-minus", "@sum", "\tTab", "\rReturn", 'Quote "x", y', "Ünï 株"]


@pytest.mark.parametrize("language", ["en", "nl", "es"])
def test_the_csv_text_the_database_writes_is_what_the_typed_rows_say(mirror: Mirror, language):
    """The CSV's cells are worked out in SQL (`export_text_blocks`; PostgreSQL's COPY
    writes them there); the typed rows (`export_rows`, which the XLSX writes) and `_cell`
    are the rule they must follow, for awkward amounts and text in every column that
    holds text."""
    from django.utils import translation

    from invoices import exports
    from invoices.models import Batch, Invoice

    account = mirror.accounts["acme"]
    for n, (amount, text) in enumerate(zip(AWKWARD_AMOUNTS * 2, AWKWARD_TEXT * 2, strict=False)):
        batch = (
            Batch.objects.create(connection=mirror.alpha, number=f"{text}{n}") if n % 2 else None
        )
        make_invoice(
            account, f"{text}-{n}", customer_name=text, total=Decimal(amount),
            amount_due=-Decimal(amount), delivery_error=text if n % 3 else "", batch=batch,
            incasso=bool(n % 2), missing=bool(n % 3 == 1),
        )  # fmt: skip
    invoices = Invoice.objects.order_by("-issue_date", "-id")

    with translation.override(language):
        typed = io.StringIO()
        csv.writer(typed).writerows(exports.export_rows(invoices))
        text = "".join(
            part.decode() if isinstance(part, bytes) else part
            for part in exports.csv_lines(invoices)
        )

    assert text == "\ufeff" + typed.getvalue()
    assert "'=1+2" in text and "1234.5678" in text and "-12.50" in text
