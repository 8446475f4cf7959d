"""One rule for every figure: invoices gone upstream are listed and flagged, but left out
of totals and their counts, unless the user asks for them.

Müller (Alpha, EUR) has four invoices and owes INV-A01 €100.00, INV-A02 €250.50 and
INV-A10 €4.00: €354.50. Here INV-A01 is gone upstream, so what Müller owes is €254.50
everywhere.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from invoices.models import Invoice
from invoices.sync import connection_data_changed

from .factories import Mirror
from .pages import numbers, parse, row_of, table_body, totals

LIST = reverse("invoices:invoice_list")


@pytest.fixture
def gone(mirror: Mirror) -> Invoice:
    invoice = mirror.invoices["INV-A01"]
    Invoice.objects.filter(pk=invoice.pk).update(missing=True)
    connection_data_changed(connection_ids=[mirror.alpha.pk])
    return invoice


def muller(mirror: Mirror, **params: str) -> dict[str, str]:
    return {"account": str(mirror.accounts["muller"].pk), **params}


def test_the_list_leaves_an_invoice_gone_upstream_out_of_the_totals(as_finance, mirror, gone):
    response = as_finance.get(LIST, muller(mirror))

    card = totals(response)["EUR"]
    assert card["Outstanding"] == "€254.50"
    assert card["Outstanding note"] == "2 unpaid"
    assert card["count"] == "3 invoices"
    assert card["gone"] == "1 gone upstream, not in these figures"
    # Still listed, flagged, and counted among the rows.
    assert "Gone upstream" in row_of(response, "INV-A01")["Status"]
    assert "INV-A01" in numbers(response)
    count = parse(response).find("p", cls="count").text()
    assert count.startswith("4 matching invoices")
    assert "1 of them gone upstream: listed, left out of the totals" in count


def test_the_account_page_says_the_same(as_finance, mirror, gone):
    account = mirror.accounts["muller"]

    response = as_finance.get(reverse("invoices:account_detail", args=[account.pk]))

    (row,) = response.context["summary"]
    assert (row.count, row.outstanding_count, row.outstanding) == (3, 2, Decimal("254.50"))
    assert "€254.50" in response.content.decode()


def test_the_filter_form_offers_the_choice(as_finance, mirror):
    select = next(
        node
        for node in parse(as_finance.get(LIST)).find_all("select")
        if node.attrs.get("name") == "gone"
    )

    assert [option.text() for option in select.find_all("option")] == [
        "Shown, not in the totals",
        "Hidden",
        "Shown and counted in the totals",
        "Only these, counted in the totals",
    ]


@pytest.mark.parametrize(
    ("choice", "outstanding", "listed"),
    [
        ("include", "€354.50", 4),
        ("only", "€100.00", 1),
        ("hide", "€254.50", 3),
    ],
)
def test_the_user_can_ask_for_them(as_finance, mirror, gone, choice, outstanding, listed):
    response = as_finance.get(LIST, muller(mirror, gone=choice))

    card = totals(response)["EUR"]
    assert card["Outstanding"] == outstanding
    assert len(numbers(response)) == listed
    assert "gone" not in card  # nothing of what is listed is left out


def test_batch_groups_leave_it_out_too(as_finance, mirror, gone):
    response = as_finance.get(LIST, {"group": "batch", "per_page": "50"})

    heading = next(line for line in table_body(response) if "Batch 2024-100" in line)
    # 2024-100 holds A01 (gone, €100), A02 (€250.50), A03 (paid) and A08 ($99).
    assert "3 invoices of 20 in the batch" in heading
    assert "EUR: outstanding €250.50" in heading
    assert "2 unpaid" in heading


def test_exports_list_it_flagged(as_finance, mirror, gone):
    response = as_finance.get(reverse("invoices:invoice_export", args=["csv"]), muller(mirror))

    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()[1:])))
    flags = {line["Invoice"]: line["Missing upstream"] for line in lines}
    assert flags["INV-A01"] == "yes"
    assert set(flags.values()) == {"yes", "no"}


def test_connection_counts_leave_it_out(mirror, gone):
    from invoices.selectors import connection_overviews

    counts = {o.connection.name: o.invoice_count for o in connection_overviews()}

    assert counts == {"Alpha": 19, "Bravo": 20}


def test_a_cached_total_follows_an_invoice_going_and_coming_back(as_finance: Client, mirror):
    before = totals(as_finance.get(LIST, muller(mirror)))["EUR"]["Outstanding"]
    Invoice.objects.filter(number="INV-A01").update(missing=True)
    connection_data_changed(connection_ids=[mirror.alpha.pk])
    during = totals(as_finance.get(LIST, muller(mirror)))["EUR"]["Outstanding"]
    Invoice.objects.filter(number="INV-A01").update(missing=False)
    connection_data_changed(connection_ids=[mirror.alpha.pk])

    after = totals(as_finance.get(LIST, muller(mirror)))["EUR"]["Outstanding"]

    assert (before, during, after) == ("€354.50", "€254.50", "€354.50")
