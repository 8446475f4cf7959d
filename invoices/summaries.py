"""Summaries of each connection's invoices, kept by the sync, so totals and counts for
the common filters never scan the invoices.

One `InvoiceSummary` row per combination of connection, issue date, batch, currency,
status, Incasso, gone upstream and delivery error, holding how many invoices share it and their
money summed: a million invoices make a few thousand rows. The list's filters apply to
them unchanged (`InvoiceFilter.summaries`), and the totals and quick-view counts sum them
where they would have counted and summed the invoices (`selectors.invoice_totals`).

Beside them, one `AccountSummary` row per account, currency, status, Incasso and gone
upstream: the aging page ranks its customers owing the most over those.

They are exact or unused: a connection's summaries carry the data version they were
built at (`Connection.summary_version`), every write to its invoices bumps the version
(`sync.connection_data_changed`), and a scope with any connection whose summaries are
behind is summed from its invoices as before. The sync rebuilds them as it finishes,
inside the transaction that ends the run; other writes (payments, exports, the admin)
queue a rebuild for when they commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, CharField, Count, Model, QuerySet, Sum, Value, When
from django_tasks import task

from .models import AccountSummary, Connection, Invoice, InvoiceSummary

# The invoice fields a summary row is one combination of (with `delivery_error` as "!").
DIMENSIONS = ("issue_date", "batch", "currency", "status", "incasso", "missing")
# The list's filters whose every value summaries can answer (see `InvoiceFilter`).
FILTERS = frozenset(
    {
        "status", "overdue", "incasso", "connection", "batch", "period", "issued_after",
        "issued_before", "currency", "delivery_error", "gone", "aging",
    }
)  # fmt: skip
# The fields an account summary row is one combination of, and the filters it answers.
ACCOUNT_DIMENSIONS = ("account", "currency", "status", "incasso", "missing")
ACCOUNT_FILTERS = frozenset({"status", "incasso", "connection", "currency", "gone"})


def summaries_rebuild(*, connection_ids: Iterable[int]) -> None:
    """Summarise these connections' invoices as they are now, each in one transaction;
    a connection whose summaries are current is left as it is (writes nothing)."""
    for connection_id in sorted(set(connection_ids)):
        with transaction.atomic():
            # No write to the invoices lands between the version and the rows read: on
            # PostgreSQL each write bumps the version under this row lock; on SQLite the
            # transaction holds the write lock from its start (IMMEDIATE, see settings).
            versions = (
                Connection.objects.select_for_update()
                .filter(pk=connection_id)
                .values_list("data_version", "summary_version")
                .first()
            )
            if versions is None or versions[0] == versions[1]:
                continue  # deleted meanwhile, or current
            version = versions[0]
            InvoiceSummary.objects.filter(connection_id=connection_id).delete()
            AccountSummary.objects.filter(connection_id=connection_id).delete()
            _summaries_insert(connection_id)
            Connection.objects.filter(pk=connection_id).update(summary_version=version)


def _summaries_insert(connection_id: int) -> None:
    """INSERT … SELECT: the grouping runs in the database, nothing passes through Python."""
    error = Case(
        When(delivery_error="", then=Value("")), default=Value("!"), output_field=CharField()
    )
    invoices = Invoice.objects.filter(connection_id=connection_id).order_by()
    _insert(
        InvoiceSummary,
        invoices.values("connection_id", *DIMENSIONS).annotate(
            flag=error, n=Count("pk"), total_sum=Sum("total"), due_sum=Sum("amount_due")
        ),
        ["connection", *DIMENSIONS, "delivery_error", "invoices", "total", "amount_due"],
    )
    _insert(
        AccountSummary,
        invoices.values("connection_id", *ACCOUNT_DIMENSIONS).annotate(
            n=Count("pk"), due_sum=Sum("amount_due")
        ),
        ["connection", *ACCOUNT_DIMENSIONS, "invoices", "amount_due"],
    )


def _insert(model: type[Model], groups: QuerySet, fields: list[str]) -> None:
    """`groups`' rows (their columns in the order of `fields`) into `model`'s table."""
    select, params = groups.query.sql_with_params()
    quote = db_connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    table = quote(model._meta.db_table)
    with db_connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)


@task()
def summaries_rebuild_task(connection_ids: list[int]) -> None:
    """`summaries_rebuild`, in a task worker (queued by writes outside a sync)."""
    summaries_rebuild(connection_ids=connection_ids)


def summaries_rebuild_later(*, connection_ids: Iterable[int]) -> None:
    """Queue a rebuild of these connections' summaries for when the transaction commits."""
    ids = sorted(set(connection_ids))
    if ids:
        transaction.on_commit(lambda: summaries_rebuild_task.enqueue(ids))


def summaries_current(connections: Iterable[Connection]) -> bool:
    """Whether every one of `connections` (as loaded for this request) has summaries
    built at its present data version."""
    return all(c.summary_version == c.data_version for c in connections)
