"""Formula injection: a text cell a spreadsheet would run is exported with a leading
apostrophe, in the CSV and in the XLSX, whatever text column it is in."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from invoices.models import Account, Batch

from .factories import Mirror, make_invoice

CSV_URL = reverse("invoices:invoice_export", args=["csv"])
XLSX_URL = reverse("invoices:invoice_export", args=["xlsx"])

# Every character a spreadsheet takes as the start of a formula (OWASP "CSV injection").
FORMULAS = {
    "equals": "=cmd|' /C calc'!A0",
    "plus": "+cmd|' /C calc'!A0",
    "minus": "-cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=cmd|' /C calc'!A0",
    "carriage return": "\r=cmd|' /C calc'!A0",
}


def csv_table(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def xlsx_table(response) -> list[dict[str, object]]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    header, *rows = workbook.active.iter_rows()
    names = [cell.value for cell in header]
    for row in rows:  # a formula cell is one a spreadsheet would evaluate
        assert all(cell.data_type != "f" for cell in row)
    return [dict(zip(names, (cell.value for cell in row), strict=True)) for row in rows]


def only_row(table: list[dict], number: str) -> dict:
    (row,) = [row for row in table if row["Invoice"].endswith(number)]
    return row


def unix_newlines(value: object) -> object:
    # XML (inside an XLSX) normalises a lone carriage return to a line feed on reading.
    return value.replace("\r", "\n") if isinstance(value, str) else value


@pytest.fixture
def customer(mirror: Mirror, request) -> str:
    """An invoice INV-INJ whose customer name is the formula under test."""
    name = request.param
    account = Account.objects.create(connection=mirror.alpha, provider_id="inj", name=name)
    make_invoice(account, "INV-INJ", customer_name=name)
    return name


@pytest.mark.parametrize("customer", FORMULAS.values(), ids=FORMULAS.keys(), indirect=True)
def test_csv_prefixes_a_customer_name_that_starts_a_formula(as_finance: Client, customer):
    row = only_row(csv_table(as_finance.get(CSV_URL, {"q": "INV-INJ"})), "INV-INJ")

    assert row["Customer"] == "'" + customer


@pytest.mark.parametrize("customer", FORMULAS.values(), ids=FORMULAS.keys(), indirect=True)
def test_xlsx_prefixes_a_customer_name_that_starts_a_formula(as_finance: Client, customer):
    row = only_row(xlsx_table(as_finance.get(XLSX_URL, {"q": "INV-INJ"})), "INV-INJ")

    assert unix_newlines(row["Customer"]) == unix_newlines("'" + customer)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("column", ["Invoice", "Batch", "Delivery error"])
def test_other_text_columns_are_prefixed_too(as_finance: Client, mirror: Mirror, fmt, column):
    formula = FORMULAS["carriage return"]
    number = formula + " INV-INJ" if column == "Invoice" else "INV-INJ"
    values = {
        "Invoice": {},
        "Batch": {"batch": Batch.objects.create(connection=mirror.alpha, number=formula)},
        "Delivery error": {"delivery_error": formula},
    }[column]
    make_invoice(mirror.accounts["acme"], number, **values)
    url, table = (CSV_URL, csv_table) if fmt == "csv" else (XLSX_URL, xlsx_table)

    row = only_row(table(as_finance.get(url, {"q": "INV-INJ"})), "INV-INJ")

    assert unix_newlines(row[column]) == unix_newlines(
        "'" + (number if column == "Invoice" else formula)
    )


def test_text_that_only_contains_a_formula_sign_is_left_alone(as_finance: Client, mirror):
    account = Account.objects.create(connection=mirror.alpha, provider_id="p", name="A=B+C")
    make_invoice(account, "INV-INJ")

    row = only_row(csv_table(as_finance.get(CSV_URL, {"q": "INV-INJ"})), "INV-INJ")

    assert row["Customer"] == "A=B+C"
