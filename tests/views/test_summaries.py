"""Totals and quick-view counts read the sync's summaries (`InvoiceSummary`) for the
common filters instead of scanning the invoices: every figure must be the one the
invoices themselves give, to the cent, and summaries behind their invoices are never
read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from invoices.models import AccountSummary, Connection, Invoice, InvoiceSummary
from invoices.summaries import summaries_rebuild, summaries_rebuild_later
from invoices.sync import connection_data_changed

from .factories import Mirror, make_invoice
from .pages import totals

# Filters the summaries answer, alone and together (days relative to the pinned today).
HELD = [
    "",
    "status=unpaid",
    "status=paid",
    "overdue=true",
    "overdue=false",
    "incasso=true",
    "incasso=false&status=unpaid",
    "currency=EUR",
    "currency=USD&status=unpaid",
    "delivery_error=true",
    "delivery_error=false",
    "gone=include",
    "gone=only",
    "gone=hide",
    "period=this_year",
    "period=last_90_days&status=unpaid",
    "aging=1-30",
    "aging=current",
    "overdue=true&aging=31-60",
    "status=paid&aging=1-30",  # left out beside paid, as the list does
]
# Filters they do not hold: the invoices are summed.
NOT_HELD = ["q=Acme", "amount_min=100", "exported=true", "notes=any"]


def _summarised(mirror: Mirror) -> None:
    summaries_rebuild(connection_ids=[mirror.alpha.pk, mirror.bravo.pk])


def _figures(client: Client, query: str) -> tuple[dict, int, list]:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    views = [(tab["name"], tab["count"]) for tab in response.context["views"]]
    return totals(response), response.context["count"], views


def _summary_reads(client: Client, query: str) -> tuple[bool, bool]:
    """(summed the summaries, summed the invoices) for the list at `query`, cache empty
    (the currency filter's choices come from the summaries whatever the filters)."""
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/?{query}")
    sqls = [q["sql"] for q in queries.captured_queries]
    summaries = any('SUM("invoices_invoicesummary"."invoices")' in sql for sql in sqls)
    scans = any('FROM "invoices_invoice"' in sql and "SUM(" in sql for sql in sqls)
    return summaries, scans


@pytest.mark.parametrize("query", HELD + NOT_HELD)
def test_the_figures_from_summaries_are_those_the_invoices_give(
    as_partner: Client, mirror: Mirror, query: str
):
    from django.core.cache import cache

    scanned = _figures(as_partner, query)
    _summarised(mirror)
    cache.clear()

    assert _figures(as_partner, query) == scanned
    read, summed = _summary_reads(as_partner, query)
    assert (read, summed) == ((True, False) if query in HELD else (False, True))


@pytest.mark.usefixtures("rendered_each_time")
def test_the_batch_filter_sort_and_grouping_from_summaries_are_what_the_invoices_give(
    as_partner: Client, mirror: Mirror
):
    from django.core.cache import cache

    from invoices.models import Batch

    batch = Batch.objects.filter(invoices__isnull=False).first()
    queries = [f"batch={batch.pk}", "sort=batch", "sort=-batch", "group=batch",
               f"group=batch&batch={batch.pk}&status=unpaid"]  # fmt: skip

    def shown(query: str) -> tuple:
        response = as_partner.get(f"/?{query}")
        groups = {k: (g.number, g.count, g.unpaid_count, g.incasso_count, g.totals)
                  for k, g in response.context["groups"].items()}  # fmt: skip
        rows = [row.record.number for row in response.context["table"].page.object_list]
        return _figures(as_partner, query), rows, groups

    scanned = [shown(query) for query in queries]
    _summarised(mirror)
    cache.clear()

    assert [shown(query) for query in queries] == scanned
    for query in queries:
        assert _summary_reads(as_partner, query) == (True, False), query


def _aging(client: Client, query: str) -> list:
    response = client.get(f"/aging/?{query}")
    assert response.status_code == 200
    return [
        (row["aging"].currency, [(f.amount, f.count) for f in row["aging"].buckets], row["top"])
        for row in response.context["currencies"]
    ]


@pytest.mark.parametrize("query", ["", "currency=EUR", "gone=include", "period=this_year",
                                   "incasso=true", "q=Acme"])  # fmt: skip
def test_the_aging_from_summaries_is_what_the_invoices_give(
    as_partner: Client, mirror: Mirror, query: str
):
    from django.core.cache import cache

    scanned = _aging(as_partner, query)
    assert any(count for _currency, buckets, _top in scanned for _amount, count in buckets)
    _summarised(mirror)
    cache.clear()

    with CaptureQueriesContext(connection) as queries:
        assert _aging(as_partner, query) == scanned
    read = any('SUM("invoices_invoicesummary"."invoices")' in q["sql"] for q in queries)
    assert read == (query != "q=Acme")
    # The customers owing the most rank the account summaries where the filters allow.
    per_account = any('FROM "invoices_accountsummary"' in q["sql"] for q in queries)
    assert per_account == (query not in ("period=this_year", "q=Acme"))


def test_summaries_behind_their_invoices_are_not_read(as_partner: Client, mirror: Mirror):
    _summarised(mirror)
    make_invoice(mirror.accounts["acme"], "INV-NEW", total=Decimal("1000.01"))
    connection_data_changed(connection_ids=[mirror.alpha.pk])  # commits later: not rebuilt

    read, summed = _summary_reads(as_partner, "status=unpaid")

    assert (read, summed) == (False, True)
    assert "INV-NEW" in as_partner.get("/?q=INV-NEW").content.decode()


def test_a_write_outside_a_sync_rebuilds_its_connections_summaries_once_it_commits(
    mirror: Mirror, django_capture_on_commit_callbacks
):
    _summarised(mirror)
    with django_capture_on_commit_callbacks(execute=True):
        Invoice.objects.filter(number="INV-A07").update(total=Decimal("0.01"))
        connection_data_changed(connection_ids=[mirror.alpha.pk])

    alpha = Connection.objects.get(pk=mirror.alpha.pk)
    assert alpha.summary_version == alpha.data_version
    assert _sums(mirror.alpha) == _fresh_sums(mirror.alpha)


def test_a_rebuild_of_current_summaries_writes_nothing(mirror: Mirror):
    _summarised(mirror)
    with CaptureQueriesContext(connection) as queries:
        summaries_rebuild(connection_ids=[mirror.alpha.pk])
        summaries_rebuild_later(connection_ids=[])

    writes = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "DELETE"))
    ]
    assert writes == []


def _sums(connection: Connection) -> dict:
    rows = InvoiceSummary.objects.filter(connection=connection)
    return {
        "invoices": sum(rows.values_list("invoices", flat=True)),
        "total": sum(rows.values_list("total", flat=True), Decimal(0)),
        "due": sum(rows.values_list("amount_due", flat=True), Decimal(0)),
    }


def _fresh_sums(connection: Connection) -> dict:
    """Summed in Python from the invoices, one Decimal at a time."""
    held = Invoice.objects.filter(connection=connection)
    return {
        "invoices": held.count(),
        "total": sum(held.values_list("total", flat=True), Decimal(0)),
        "due": sum(held.values_list("amount_due", flat=True), Decimal(0)),
    }


def test_summaries_hold_every_invoice_once(mirror: Mirror):
    _summarised(mirror)

    for held in (mirror.alpha, mirror.bravo):
        assert _sums(held) == _fresh_sums(held)
        per_account = AccountSummary.objects.filter(connection=held)
        assert {
            "invoices": sum(per_account.values_list("invoices", flat=True)),
            "due": sum(per_account.values_list("amount_due", flat=True), Decimal(0)),
        } == {k: v for k, v in _fresh_sums(held).items() if k != "total"}
    assert InvoiceSummary.objects.filter(delivery_error="!").exists()
    assert set(InvoiceSummary.objects.values_list("delivery_error", flat=True)) == {"", "!"}
    assert min(InvoiceSummary.objects.values_list("issue_date", flat=True)) < dt.date.today()
