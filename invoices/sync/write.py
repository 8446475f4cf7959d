"""Writing a sync's pages: prepared outside the lock, then one short transaction.

Each write first does what needs no lock: it records accounts and batches (kept even if
the invoices' write fails: they are the provider's too), looks up the fingerprints the
mirror already has, and builds the rows. Then one transaction writes the invoices with
the run's progress, which is also the run's fence (see `runs.run_update`): a run that
lost its lease writes nothing. The transaction is never open while waiting for the
provider.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from ..models import Account, Batch, Connection, Invoice, InvoiceStatus, SyncRun, batch_sort_key
from ..providers import types as domain
from ..summaries import summaries_rebuild_later
from .runs import run_update
from .upsert import FINGERPRINT, LOOKUP_FIELDS, chunks, invoices_insert, invoices_upsert


class Lookups:
    """Provider id -> primary key of accounts and batches, filled as a run goes.

    Bounded by the number of accounts and batches, not invoices.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.accounts: dict[str, tuple[int, str]] = {}
        # Whether an account or batch row was written (a name, a size): what the list
        # shows of them changed even where no invoice did.
        self.wrote = False
        self.batches: dict[str, tuple[int, int | None]] = {}

    def account_ids(self, invoices: Iterable[domain.Invoice]) -> dict[str, int]:
        wanted = {inv.account_id: inv for inv in invoices}
        # What the mirror already holds is read, not rewritten: a re-sync of unchanged
        # data writes no account (nor batch) row.
        self._accounts_load([key for key in wanted if key not in self.accounts])
        stale = {
            key: inv
            for key, inv in wanted.items()
            if key not in self.accounts or self.accounts[key][1] != inv.account_name
        }
        if stale:
            self.wrote = True
            # The name follows the provider; the currency is the one the account was first
            # seen with (an account may be invoiced in several: it names none of them).
            Account.objects.bulk_create(
                [
                    Account(
                        connection=self.connection,
                        provider_id=key,
                        name=inv.account_name,
                        currency=inv.currency,
                    )
                    for key, inv in stale.items()
                ],
                update_conflicts=True,
                unique_fields=["connection", "provider_id"],
                update_fields=["name"],
            )
            self._accounts_load(list(stale))
        return {key: self.accounts[key][0] for key in wanted}

    def _accounts_load(self, keys: list[str]) -> None:
        for chunk in chunks(keys):
            rows = Account.objects.filter(connection=self.connection, provider_id__in=chunk)
            for pk, key, name in rows.values_list("pk", "provider_id", "name"):
                self.accounts[key] = (pk, name)

    def batch_ids(self, page: domain.InvoicePage) -> dict[str, int]:
        sizes = {batch.number: batch.size for batch in page.batches}
        wanted = {inv.batch for inv in page.invoices if inv.batch} | set(sizes)
        self._batches_load([number for number in wanted if number not in self.batches])
        stale = {
            number
            for number in wanted
            if number not in self.batches
            or (number in sizes and self.batches[number][1] != sizes[number])
        }
        if stale:
            self.wrote = True
            # A size is written only where this page reports it; a batch seen on an
            # invoice alone (e.g. Acronis' wrapped shape has no Batches) keeps its size.
            reported = [number for number in stale if number in sizes]
            unreported = [number for number in stale if number not in sizes]
            Batch.objects.bulk_create(
                [self._batch(n, size=sizes[n]) for n in reported],
                update_conflicts=True,
                unique_fields=["connection", "number"],
                update_fields=["size"],
            )
            Batch.objects.bulk_create([self._batch(n) for n in unreported], ignore_conflicts=True)
            self._batches_load(list(stale))
        return {number: self.batches[number][0] for number in wanted}

    def _batches_load(self, numbers: list[str]) -> None:
        for chunk in chunks(numbers):
            rows = Batch.objects.filter(connection=self.connection, number__in=chunk)
            for pk, number, size in rows.values_list("pk", "number", "size"):
                self.batches[number] = (pk, size)

    def _batch(self, number: str, size: int | None = None) -> Batch:
        return Batch(
            connection=self.connection, number=number, sort_key=batch_sort_key(number), size=size
        )


def pages_write(run: SyncRun, pages: list[domain.InvoicePage], lookups: Lookups) -> list[int]:
    """Write the invoices of `pages` and the run's progress (`LeaseLost`: nothing written).

    An invoice the mirror holds unchanged is not written at all: its primary key is
    returned, for the run to remember as seen (`gone.Sightings`). Rewriting it only to
    say "seen again" would rewrite the row and every index on it, for every invoice of
    every sync. One held unchanged but marked gone is written: it is back.
    """
    if not pages:
        return []
    connection = run.connection
    invoices = {inv.provider_id: inv for page in pages for inv in page.invoices}  # last wins
    account_ids = lookups.account_ids(invoices.values())
    batch_ids: dict[str, int] = {}
    for page in pages:
        batch_ids.update(lookups.batch_ids(page))
    looked_up_wrote, lookups.wrote = lookups.wrote, False  # this write's, not the run's
    known = _known_fingerprints(connection, list(invoices))
    make_row = row_maker(run.connection_id, run.pk, account_ids, batch_ids)
    new: list[tuple[Any, ...]] = []  # not held: inserted
    rows: list[tuple[Any, ...]] = []  # held, changed: updated
    seen: list[int] = []  # held unchanged: not written
    returning: list[int] = []  # held unchanged, but marked gone: back
    for provider_id, inv in invoices.items():
        row = make_row(inv)
        held = known.get(provider_id)
        if held is None:
            new.append(row)
        elif held.fingerprint == row[FINGERPRINT]:
            (returning if held.missing else seen).append(held.pk)
        else:
            rows.append(row)
    last = pages[-1]
    pages_done = max(run.pages_done, last.number)
    with transaction.atomic():
        run_update(
            run,
            pages_done=pages_done,
            pages_total=(
                max(last.total_pages, pages_done) if last.total_pages is not None else None
            ),
            created=run.created + len(new),
            updated=run.updated + len(rows),
            unchanged=run.unchanged + len(seen) + len(returning),
            note="",  # pages arrive again: no longer waiting
        )
        invoices_insert(new)
        invoices_upsert(rows)
        for chunk in chunks(returning):
            Invoice.objects.filter(pk__in=chunk).update(last_seen_run=run, missing=False)
        if new or rows or returning or looked_up_wrote:
            connection_data_changed(connection_ids=[connection.pk], summaries_later=False)
    return seen


def invoices_refresh(
    *, connection: Connection, read: list[tuple[Invoice, domain.Invoice | None]]
) -> list[Invoice]:
    """Write what the provider answered when asked again for these mirrored invoices
    (`(mirrored, as read)`), as a sync would write it, outside any run: after a payment
    confirmation or an export, or to learn whether one took effect.

    An invoice read again keeps the run that last saw it; one the provider no longer
    has (read as None) is marked gone upstream, as a listing that covers it would.
    Returns the invoices as the mirror now holds them, in the order given.
    """
    if any(mirrored.connection_id != connection.pk for mirrored, _ in read):
        raise ValueError("every invoice must belong to the connection")
    fresh = [(mirrored, inv) for mirrored, inv in read if inv is not None]
    gone = [mirrored.pk for mirrored, inv in read if inv is None]
    lookups = Lookups(connection)
    account_ids = lookups.account_ids(inv for _, inv in fresh)
    batch_ids = lookups.batch_ids(domain.InvoicePage(invoices=tuple(i for _, i in fresh), number=1))
    rows = []
    for mirrored, inv in fresh:
        if inv.provider_id != mirrored.provider_id:
            raise ValueError(f"{inv.provider_id} was read for {mirrored.provider_id}")
        row = row_maker(connection.pk, mirrored.last_seen_run_id, account_ids, batch_ids)(inv)
        if row[FINGERPRINT] != mirrored.fingerprint or mirrored.missing:
            rows.append(row)
    with transaction.atomic():
        invoices_upsert(rows)
        marked = Invoice.objects.filter(pk__in=gone, missing=False).update(missing=True)
        if rows or marked or lookups.wrote:
            connection_data_changed(connection_ids=[connection.pk])
    now = Invoice.objects.in_bulk([mirrored.pk for mirrored, _ in read])
    return [now[mirrored.pk] for mirrored, _ in read]


class _Held(NamedTuple):
    pk: int
    fingerprint: str
    missing: bool


def _known_fingerprints(connection: Connection, provider_ids: list[str]) -> dict[str, _Held]:
    """What the mirror holds of these invoices: primary key, fingerprint, marked gone.

    One statement per `KNOWN_CHUNK` ids, its SQL made once (`_known_sql`): building a
    queryset's `IN` list of hundreds of ids cost more than the lookup it asks for.
    """
    sql, ids_param = _known_sql()
    known: dict[str, _Held] = {}
    with db_connection.cursor() as cursor:
        for chunk in chunks(provider_ids, KNOWN_CHUNK):
            cursor.execute(sql, [connection.pk, ids_param(chunk)])
            for pk, provider_id, digest, missing in cursor.fetchall():
                known[provider_id] = _Held(pk, digest, bool(missing))
    return known


# Provider ids per lookup statement: one write's worth (see `pull.WRITE_INVOICES`).
KNOWN_CHUNK = 5_000


@functools.cache
def _known_sql() -> tuple[str, Callable[[list[str]], Any]]:
    """The lookup of `_known_fingerprints`, and how its ids are passed: one parameter, an
    array on PostgreSQL (`= ANY`), a JSON list on SQLite (`json_each`). Both probe the
    (connection, provider id) unique index once per id. No ORDER BY: the model's default
    order would let the planner walk the whole connection in issue-date order instead."""
    meta = Invoice._meta
    quote = db_connection.ops.quote_name
    pk, provider_id, fingerprint, missing, connection_id = (
        quote(meta.get_field(name).column)
        for name in ("id", "provider_id", "fingerprint", "missing", "connection")
    )
    if db_connection.vendor == "postgresql":
        ids, param = "= ANY(%s)", list
    else:
        ids, param = "IN (SELECT value FROM json_each(%s))", json.dumps
    sql = (
        f"SELECT {pk}, {provider_id}, {fingerprint}, {missing} "  # noqa: S608 - names from the model
        f"FROM {quote(meta.db_table)} WHERE {connection_id} = %s AND {provider_id} {ids}"
    )
    return sql, param


def row_maker(
    connection_id: int, run_id: int | None, account_ids: dict[str, int], batch_ids: dict[str, int]
) -> Callable[[domain.Invoice], tuple[Any, ...]]:
    """A function making one invoice's row: its values in `SYNC_COLUMNS` order, adapted
    for the database (what each field's `get_db_prep_save` ends in, called directly:
    the values are already typed, so the ORM's conversions before it have nothing to
    do). What rows share is adapted once.

    The row's fingerprint is a digest of the values it stores about the invoice (all
    but the bookkeeping after it), so a sync rewrites an invoice exactly when a value
    it stores would change.
    """
    ops = connections[DEFAULT_DB_ALIAS].ops
    day = ops.adapt_datefield_value
    instant = ops.adapt_datetimefield_value
    money = functools.partial(ops.adapt_decimalfield_value, max_digits=19, decimal_places=4)
    # The extras as JSON text, which both databases' JSON columns take (on SQLite it is
    # what `adapt_json_value` makes; PostgreSQL's COPY parses it), once per distinct value.
    extras: dict[tuple[tuple[str, str], ...], str] = {}
    now = instant(timezone.now())
    statuses = {True: InvoiceStatus.PAID.value, False: InvoiceStatus.UNPAID.value}

    def row(inv: domain.Invoice) -> tuple[Any, ...]:
        extra = extras.get(inv.extra)
        if extra is None:
            extra = extras[inv.extra] = json.dumps(dict(inv.extra))
        values = (
            connection_id,
            account_ids[inv.account_id],
            batch_ids.get(inv.batch) if inv.batch else None,
            inv.provider_id,
            inv.number,
            inv.account_name[:255],
            day(inv.issue_date),
            day(inv.scheduled_date),
            instant(inv.created_at),
            day(inv.payment_date),
            money(_money(inv.total)),
            money(_money(inv.amount_due)),
            inv.currency.upper()[:3],
            statuses[inv.paid],
            inv.raw_status[:100],
            inv.incasso,
            inv.exported,
            instant(inv.exported_at),
            inv.delivery_error or "",
            inv.description[:500],
            extra,
        )
        digest = hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()
        return (
            *values,
            digest,
            False,  # missing
            run_id,  # last_seen_run
            now,  # first_seen_at (an update keeps the old one)
            now,  # updated_at
        )

    return row


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.0001"))


def connection_data_changed(*, connection_ids: Iterable[int], summaries_later: bool = True) -> None:
    """Record that these connections' invoices changed: what was cached about them
    (see `selectors.invoice_totals`) and their summaries are no longer served, and (with
    `summaries_later`) queue the summaries' rebuild for when the transaction commits. A
    sync passes False: it rebuilds them as it finishes (`summaries.summaries_rebuild`).

    Call it inside the transaction that writes the invoices: the new version becomes
    visible together with the rows it stands for.
    """
    ids = list(connection_ids)
    Connection.objects.filter(pk__in=ids).update(data_version=F("data_version") + 1)
    if summaries_later:
        summaries_rebuild_later(connection_ids=ids)


def database_statistics_refresh(*, lookups_only: bool = False) -> None:
    """Let the planner know the invoice table's shape after it changed.

    Without statistics SQLite may sort a whole scope instead of walking the list's
    index, and PostgreSQL looks a write's invoices up through the connection alone
    instead of (connection, provider id), reading every row of it. PostgreSQL's
    autovacuum catches up eventually; a sync growing a table from nothing cannot wait
    for it. `lookups_only`: only what a sync's own lookups need (PostgreSQL then
    samples two columns, a quarter of the work; SQLite's `optimize` decides itself).
    """
    with db_connection.cursor() as cursor:
        if db_connection.vendor == "sqlite":
            cursor.execute("PRAGMA optimize")
        elif db_connection.vendor == "postgresql":
            quote = db_connection.ops.quote_name
            target = quote(Invoice._meta.db_table)
            if lookups_only:
                columns = [Invoice._meta.get_field(name).column for name in LOOKUP_FIELDS]
                target += f" ({', '.join(quote(column) for column in columns)})"
                cursor.execute(f"ANALYZE {target}")
            elif db_connection.in_atomic_block:
                cursor.execute(f"ANALYZE {target}")
            else:
                # At a sync's end, VACUUM too (it cannot run in a transaction): the pages
                # written are marked all-visible, so a deep page or a count walks the
                # index alone instead of visiting every row (autovacuum would get there
                # later; a re-sync that changed nothing has nothing for it to do).
                cursor.execute(f"VACUUM (ANALYZE) {target}")
