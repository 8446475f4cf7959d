"""A sync of data the mirror already holds writes no invoice row: an unchanged invoice
is recorded as seen by the run without being rewritten. Before, every one got
`UPDATE … SET last_seen_run, missing` (through the ORM, which is what these tests
watch; new and changed rows go to the driver directly), which on PostgreSQL rewrites the
row and every index on it. What is gone is still marked gone, what comes back is back,
and the totals are what a fresh SUM says."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from invoices.models import Connection, Invoice
from invoices.providers.types import InvoicePage
from invoices.sync import connection_sync
from invoices.sync.upsert import invoices_insert
from invoices.sync.write import Lookups, row_maker

from .fakes import ScriptedClient, invoice

pytestmark = pytest.mark.django_db


def _written_table(sql: str) -> str | None:
    """The table an UPDATE or INSERT writes to (None for anything else)."""
    match = re.match(r'\s*(?:UPDATE|INSERT INTO)\s+"(\w+)"', sql, re.IGNORECASE)
    return match.group(1) if match else None


def _sync(connection: Connection, numbers: list[int], per_page: int = 40, changes=None):
    changes = changes or {}
    pages = [
        [invoice(n, **changes.get(n, {})) for n in numbers[i : i + per_page]]
        for i in range(0, len(numbers), per_page)
    ]
    with CaptureQueriesContext(db) as queries:
        run = connection_sync(connection=connection, client=ScriptedClient(pages))
    statements = [q["sql"] for q in queries.captured_queries]
    writes = [
        sql
        for sql in statements
        if _written_table(sql) in ("invoices_invoice", "invoices_account", "invoices_batch")
    ]
    return run, writes


def test_a_resync_of_unchanged_invoices_writes_no_invoice_account_or_batch_row():
    connection = Connection.objects.create(provider="acronis", name="steady")
    first, _ = _sync(connection, list(range(200)))

    second, writes = _sync(connection, list(range(200)))

    assert first.created == 200
    assert (second.created, second.updated, second.unchanged, second.missing) == (0, 0, 200, 0)
    assert writes == []


def test_gone_and_returning_invoices_are_still_marked_with_unchanged_ones_around():
    connection = Connection.objects.create(provider="acronis", name="moving")
    _sync(connection, list(range(200)))

    # 150..199 vanish; 0 changes its amount
    second, _ = _sync(connection, list(range(150)), changes={0: {"total": Decimal("1.00")}})
    assert (second.updated, second.unchanged, second.missing) == (1, 149, 50)
    assert Invoice.objects.filter(connection=connection, missing=True).count() == 50

    # they come back unchanged: back in the mirror, nothing else written
    third, writes = _sync(connection, list(range(200)), changes={0: {"total": Decimal("1.00")}})
    assert (third.updated, third.unchanged, third.missing) == (0, 200, 0)
    assert not Invoice.objects.filter(connection=connection, missing=True).exists()
    invoice_writes = [sql for sql in writes if _written_table(sql) == "invoices_invoice"]
    assert len(invoice_writes) == 1 and "missing" in invoice_writes[0]  # the returning rows

    held = Invoice.objects.filter(connection=connection, missing=False)
    assert sum(held.values_list("total", flat=True)) == sum(
        invoice(n, **({"total": Decimal("1.00")} if n == 0 else {})).total for n in range(200)
    )


def _by_state(rows, count: str) -> dict:
    """{(status, missing): (invoices, total, amount due)} summed in Python."""
    sums: dict = {}
    for row in rows:
        key = (row["status"], row["missing"])
        n, total, due = sums.get(key, (0, Decimal(0), Decimal(0)))
        sums[key] = (n + row[count], total + row["total"], due + row["amount_due"])
    return sums


def test_summaries_end_every_sync_equal_to_a_fresh_sum():
    from invoices.models import InvoiceSummary

    connection = Connection.objects.create(provider="acronis", name="summed")
    fields = ("status", "missing", "total", "amount_due")
    for numbers, changes in (
        (list(range(120)), {}),  # created
        (
            list(range(100)),
            {3: {"total": Decimal("7.77")}, 4: {"paid": False, "amount_due": Decimal("5")}},
        ),  # gone
        (list(range(130)), {3: {"total": Decimal("7.78")}}),  # back, new, changed again
    ):
        _sync(connection, numbers, changes=changes)
        connection.refresh_from_db()
        held = Invoice.objects.filter(connection=connection).values(*fields)
        summed = InvoiceSummary.objects.filter(connection=connection).values(*fields, "invoices")

        assert connection.summary_version == connection.data_version
        assert _by_state(summed, "invoices") == _by_state(
            ({**row, "one": 1} for row in held), "one"
        )


def test_a_batch_resized_with_no_invoice_changed_still_changes_the_data_version():
    # The grouped list shows a batch's size: what is cached of the list must follow it
    # even when no invoice row changed.
    from invoices.models import Batch

    connection = Connection.objects.create(provider="acronis", name="resized")
    _sync(connection, list(range(200)), per_page=40)  # each page: 10 a batch
    before = Connection.objects.get(pk=connection.pk).data_version

    second, _writes = _sync(connection, list(range(200)), per_page=200)  # one page: 50

    assert (second.created, second.updated) == (0, 0)
    assert set(Batch.objects.filter(connection=connection).values_list("size", flat=True)) == {50}
    assert Connection.objects.get(pk=connection.pk).data_version > before


def test_a_page_of_new_and_changed_invoices_inserts_the_new_and_updates_the_changed():
    connection = Connection.objects.create(provider="acronis", name="mixed")
    _sync(connection, [1, 2, 3])

    run, _ = _sync(connection, [1, 2, 3, 4, 5], changes={2: {"total": Decimal("99.50")}})

    assert (run.created, run.updated, run.unchanged) == (2, 1, 2)
    totals = dict(Invoice.objects.filter(connection=connection).values_list("number", "total"))
    assert len(totals) == 5
    assert totals[invoice(2).number] == Decimal("99.50")
    assert totals[invoice(5).number] == invoice(5).total


def test_inserting_an_invoice_the_mirror_already_holds_fails_instead_of_writing_it_twice():
    connection = Connection.objects.create(provider="acronis", name="twice")
    run, _ = _sync(connection, [1])
    held = invoice(1)
    lookups = Lookups(connection)
    page = InvoicePage(invoices=(held,), number=1)
    make = row_maker(connection.pk, run.pk, lookups.account_ids([held]), lookups.batch_ids(page))

    with pytest.raises(IntegrityError), transaction.atomic():
        invoices_insert([make(held)])

    assert Invoice.objects.filter(connection=connection).count() == 1
