"""The database-specific bulk write of a sync: many invoice rows in, one statement or two.

Invoices the mirror does not hold yet are inserted (`invoices_insert`); the others get
`bulk_create(update_conflicts=True)`'s own conflict clause (`invoices_upsert`). Both
without the ORM's per-value work around them (which cost more than the database's own):

- PostgreSQL: new rows are `COPY`'d straight into the table (at 100,000 invoices that
  cost a fifth less than the upsert's way: no staging, no conflict check per row);
  others are `COPY`'d into a temporary table, then one `INSERT ... SELECT ... ON
  CONFLICT DO UPDATE` (parsing a multi-row VALUES list of thousands of parameters cost
  the client and the server more than the inserts themselves);
- SQLite: multi-row `INSERT ... VALUES` statements (the upsert's with `ON CONFLICT DO
  UPDATE`) of up to `UPSERT_ROWS` rows (one call, one release of the GIL for each),
  sent to the sqlite3 connection with its own `?` placeholders: Django's cursor
  rewrites `%s` into `?` with a regular expression over each statement's tens of
  kilobytes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.constants import OnConflict

from ..models import Invoice

# The columns a sync looks its invoices up by (the unique constraint's).
LOOKUP_FIELDS = ("connection", "provider_id")

# The invoice fields a sync writes, in the order `write.row_maker` makes them (all but the id).
SYNC_COLUMNS = (
    "connection",
    "account",
    "batch",
    "provider_id",
    "number",
    "customer_name",
    "issue_date",
    "scheduled_date",
    "provider_created_at",
    "payment_date",
    "total",
    "amount_due",
    "currency",
    "status",
    "raw_status",
    "incasso",
    "exported",
    "exported_at",
    "delivery_error",
    "description",
    "extra",
    "fingerprint",
    "missing",
    "last_seen_run",
    "first_seen_at",
    "updated_at",
)
FINGERPRINT = SYNC_COLUMNS.index("fingerprint")
# What an upsert rewrites on an invoice the mirror has: all but its key and first-seen time.
INVOICE_UPDATE_FIELDS = [
    name for name in SYNC_COLUMNS if name not in {*LOOKUP_FIELDS, "first_seen_at"}
]

# Provider ids per `IN (...)` list. SQLite's planner scans the whole table rather
# than probe (connection, provider id) for 1,000 ids at 100,000 rows (55 ms instead
# of 4 ms); at 500 it still probes.
LOOKUP_CHUNK = 500
# Rows per INSERT ... VALUES statement: 26 parameters each stays below SQLite's limit.
UPSERT_ROWS = 500


def chunks(items: list[Any], size: int = LOOKUP_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def invoices_insert(rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (values in `SYNC_COLUMNS` order) of invoices the mirror does not
    hold. A sync knows which those are (it looked them up, and only one sync of a
    connection runs at a time); one that exists after all fails the transaction
    (`IntegrityError`) rather than be written twice. Call it in a transaction.
    """
    _rows_write(rows, update=False)


def invoices_upsert(rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (one per provider id, values in `SYNC_COLUMNS` order), or update the
    invoice a row's (connection, provider id) already names, leaving its first-seen time.

    Call it in a transaction: on PostgreSQL a failure then takes the temporary table
    back with it.
    """
    _rows_write(rows, update=True)


def _rows_write(rows: list[tuple[Any, ...]], *, update: bool) -> None:
    if not rows:
        return
    database = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy
    database.ensure_connection()
    # The driver's own errors as Django's (`IntegrityError`), as through a Django cursor.
    with database.wrap_database_errors:
        if database.vendor == "postgresql":
            sql = _copy_sql()
            with database.connection.cursor() as cursor:
                if update:
                    cursor.execute(sql.stage)
                with cursor.copy(sql.copy if update else sql.copy_in) as copy:
                    for row in rows:
                        copy.write_row(row)
                if update:
                    cursor.execute(sql.insert)
                    cursor.execute(sql.unstage)
            return
        for chunk in chunks(rows, UPSERT_ROWS):
            database.connection.execute(
                _values_sql(len(chunk), conflict=update), [value for row in chunk for value in row]
            )


class _CopySQL(NamedTuple):
    copy_in: str
    stage: str
    copy: str
    insert: str
    unstage: str


@functools.cache
def _copy_sql() -> _CopySQL:
    """PostgreSQL's statements for `invoices_upsert` (names from the model, values copied)."""
    ops = connections[DEFAULT_DB_ALIAS].ops
    columns, conflict = _upsert_parts()
    table = ops.quote_name(Invoice._meta.db_table)
    stage = ops.quote_name("sync_invoice_stage")
    return _CopySQL(
        copy_in=f"COPY {table} ({columns}) FROM STDIN",
        stage=f"CREATE TEMPORARY TABLE {stage} AS SELECT {columns} FROM {table} WITH NO DATA",  # noqa: S608
        copy=f"COPY {stage} ({columns}) FROM STDIN",
        insert=f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {conflict}",  # noqa: S608
        unstage=f"DROP TABLE {stage}",
    )


@functools.lru_cache(maxsize=8)
def _values_sql(rows: int, *, conflict: bool) -> str:
    """SQLite's `INSERT ... VALUES` of `rows` rows, with sqlite3's own placeholders (and
    with the upsert's conflict clause)."""
    columns, on_conflict = _upsert_parts()
    table = connections[DEFAULT_DB_ALIAS].ops.quote_name(Invoice._meta.db_table)
    row = "(" + ", ".join(["?"] * len(SYNC_COLUMNS)) + ")"
    values = ", ".join([row] * rows)
    suffix = f" {on_conflict}" if conflict else ""
    return f"INSERT INTO {table} ({columns}) VALUES {values}{suffix}"  # noqa: S608


@functools.cache
def _upsert_parts() -> tuple[str, str]:
    """The quoted column list of `SYNC_COLUMNS` and Django's own conflict clause."""
    meta = Invoice._meta
    written = {field.name for field in meta.concrete_fields if not field.primary_key}
    if written != set(SYNC_COLUMNS):
        differ = sorted(written ^ set(SYNC_COLUMNS))
        raise ImproperlyConfigured(f"sync SYNC_COLUMNS is out of date with Invoice: {differ}")
    fields = [meta.get_field(name) for name in SYNC_COLUMNS]
    ops = connections[DEFAULT_DB_ALIAS].ops
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    conflict = ops.on_conflict_suffix_sql(
        fields,
        OnConflict.UPDATE,
        [meta.get_field(name).column for name in INVOICE_UPDATE_FIELDS],
        [meta.get_field(name).column for name in LOOKUP_FIELDS],
    )
    return columns, conflict
