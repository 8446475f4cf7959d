"""A sync of data the mirror already holds writes no invoice row: an unchanged invoice
is recorded as seen by the run without being rewritten. Before, every one got
`UPDATE … SET last_seen_run, missing` (through the ORM, which is what these tests
watch; new and changed rows go to the driver directly), which on PostgreSQL rewrites the
row and every index on it. What is gone is still marked gone, what comes back is back,
and the totals are what a fresh SUM says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from invoices.models import Connection, Invoice
from invoices.sync import connection_sync

from .fakes import ScriptedClient, invoice

pytestmark = pytest.mark.django_db


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
        if any(table in sql for table in ("invoices_invoice", "invoices_account", "invoices_batch"))
        and sql.lstrip().upper().startswith(("UPDATE", "INSERT"))
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
    invoice_writes = [sql for sql in writes if "invoices_invoice" in sql]
    assert len(invoice_writes) == 1 and "missing" in invoice_writes[0]  # the returning rows

    held = Invoice.objects.filter(connection=connection, missing=False)
    assert sum(held.values_list("total", flat=True)) == sum(
        invoice(n, **({"total": Decimal("1.00")} if n == 0 else {})).total for n in range(200)
    )
