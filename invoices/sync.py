"""Writes: pulling a provider's invoices into the local mirror.

- page by page, the next pages fetched while the arrived ones are written, in
  transactions of about 5,000 invoices, so memory stays bounded and a failure keeps
  everything that arrived before it (and everything the mirror already had);
- idempotent upserts keyed on (connection, provider id), with a fingerprint of the
  stored values to tell created / updated / unchanged apart;
- invoices not returned by a *complete* run are marked missing, never deleted;
- one queued-or-running run per connection, enforced by a partial unique index
  (see `SyncRun.Meta.constraints`), so any number of workers on any number of
  machines can try at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db import connection as db_connection
from django.db.models import F, Max, Q
from django.db.models.constants import OnConflict
from django.utils import timezone

from .models import (
    Account,
    Batch,
    Connection,
    Invoice,
    InvoiceStatus,
    SyncRun,
    SyncState,
)
from .providers import ProviderError
from .providers import types as domain
from .providers.base import ProviderClient
from .providers.registry import build_client

logger = logging.getLogger(__name__)

Progress = Callable[[SyncRun], None]


# Pages are written in transactions of at least this many invoices: each commit writes
# every index page the transaction touched, so the fewer commits the less is written
# (at 100,000 invoices on SQLite, 1,000 per transaction cost 1.4 to 2 times 5,000).
# A transaction holds the write lock for well under a second. A failed run still keeps
# every page written before it failed.
WRITE_INVOICES = 5_000
# ...or once the oldest page waiting has waited this long (looked at as pages arrive):
# a slow provider's pages are written, and the run's progress and heartbeat with them,
# without waiting for thousands.
WRITE_SECONDS = 5.0
# At most this many pages fetched ahead while others are written (see `_fetched_ahead`).
FETCH_AHEAD = 100


class SyncAlreadyActive(Exception):
    """Another sync of this connection is queued or running."""


def connection_client(connection: Connection, **http_options: Any) -> ProviderClient:
    """A provider client for `connection`, built from its config and credentials."""
    return build_client(
        connection.provider, dict(connection.config), dict(connection.credentials), **http_options
    )


# -- starting runs -------------------------------------------------------------


def sync_runs_reap_stale(*, connection: Connection | None = None) -> int:
    """Fail runs whose worker died (no heartbeat for SYNC_STALE_AFTER_SECONDS).

    Queued runs are left alone: a worker will claim them (or `sync_invoices` does).
    """
    cutoff = timezone.now() - dt.timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)
    runs = SyncRun.objects.filter(state=SyncState.RUNNING, heartbeat_at__lt=cutoff)
    if connection is not None:
        runs = runs.filter(connection=connection)
    return runs.update(
        state=SyncState.FAILED,
        finished_at=timezone.now(),
        error="The sync stopped responding (worker lost); a new run will start over.",
    )


def sync_run_create(*, connection: Connection, trigger: str = "manual") -> SyncRun:
    """Queue a run for `connection`, or raise `SyncAlreadyActive` if one is queued/running."""
    sync_runs_reap_stale(connection=connection)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                connection=connection, trigger=trigger, state=SyncState.QUEUED
            )
    except IntegrityError:
        raise SyncAlreadyActive(
            f"a sync of {connection.name} is already queued or running"
        ) from None


def sync_enqueue(*, connection: Connection, trigger: str = "manual") -> SyncRun:
    """Queue a run and hand it to the background task queue (after the commit)."""
    from .tasks import sync_connection_task

    run = sync_run_create(connection=connection, trigger=trigger)
    transaction.on_commit(lambda: sync_connection_task.enqueue(run.pk))
    return run


def sync_schedule_due(*, now: dt.datetime | None = None) -> list[SyncRun]:
    """Queue a run for every connection whose last run is older than its interval.

    Connections with a run queued or running are skipped, so runs never pile up.
    """
    now = now or timezone.now()
    sync_runs_reap_stale()
    queued = []
    connections = Connection.objects.filter(sync_interval_minutes__gt=0).annotate(
        last_queued=Max("sync_runs__queued_at"),
    )
    for connection in connections:
        interval = dt.timedelta(minutes=connection.sync_interval_minutes)
        if connection.last_queued is not None and connection.last_queued > now - interval:
            continue
        try:
            queued.append(sync_enqueue(connection=connection, trigger="schedule"))
        except SyncAlreadyActive:
            continue
    return queued


# -- running ----------------------------------------------------------------


def sync_run_claim(*, connection: Connection, trigger: str = "manual") -> SyncRun:
    """A run of `connection` for this process to execute now.

    Creates one, or takes over a queued one no worker has claimed yet; raises
    `SyncAlreadyActive` when a run is already running.
    """
    try:
        return sync_run_create(connection=connection, trigger=trigger)
    except SyncAlreadyActive:
        queued = SyncRun.objects.filter(connection=connection, state=SyncState.QUEUED).first()
        if queued is None:
            raise
        return queued


def sync_run_execute(
    *, run: SyncRun, client: ProviderClient | None = None, progress: Progress | None = None
) -> SyncRun:
    """Execute a queued run to its end; the run records the outcome (never raises for
    provider trouble). Returns the run, refreshed."""
    if not _claim(run):
        logger.info("sync run %s was taken by another worker (%s)", run.pk, run.state)
        return run
    return _execute(run, client, progress)


def _execute(run: SyncRun, client: ProviderClient | None, progress: Progress | None) -> SyncRun:
    connection = run.connection
    logger.info("sync of %s started (run %s)", connection.name, run.pk)
    owns_client = client is None
    try:
        if client is None:
            client = connection_client(connection)
        _pull(run, client, progress)
        _finish(run)
    except ProviderError as exc:
        _fail(run, str(exc))
    except Exception as exc:
        logger.exception("sync run %s crashed", run.pk)
        _fail(run, f"Internal error ({exc.__class__.__name__}); see the worker log.")
    finally:
        if owns_client and client is not None:
            client.close()
    logger.info(
        "sync of %s %s: %d created, %d updated, %d unchanged, %d missing%s",
        connection.name,
        run.state,
        run.created,
        run.updated,
        run.unchanged,
        run.missing,
        f" ({run.error})" if run.error else "",
    )
    return run


def connection_sync(
    *,
    connection: Connection,
    trigger: str = "manual",
    client: ProviderClient | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Sync `connection` in this process (CLI, tests); raises `SyncAlreadyActive`."""
    run = sync_run_claim(connection=connection, trigger=trigger)
    if not _claim(run):
        raise SyncAlreadyActive(f"a sync of {connection.name} is already running")
    return _execute(run, client, progress)


def _claim(run: SyncRun) -> bool:
    """Move a queued run to running; False if another worker got there first."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run.pk, state=SyncState.QUEUED).update(
        state=SyncState.RUNNING, started_at=now, heartbeat_at=now
    )
    run.refresh_from_db()
    return bool(claimed)


class _Lookups:
    """Provider id -> primary key of accounts and batches, filled as a run goes.

    Bounded by the number of accounts and batches, not invoices.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.accounts: dict[str, tuple[int, str]] = {}
        self.batches: dict[str, tuple[int, int | None]] = {}

    def account_ids(self, invoices: Iterable[domain.Invoice]) -> dict[str, int]:
        wanted = {inv.account_id: inv for inv in invoices}
        stale = {
            key: inv
            for key, inv in wanted.items()
            if key not in self.accounts or self.accounts[key][1] != inv.account_name
        }
        if stale:
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
                update_fields=["name", "currency"],
            )
            rows = Account.objects.filter(connection=self.connection, provider_id__in=stale)
            for pk, key, name in rows.values_list("pk", "provider_id", "name"):
                self.accounts[key] = (pk, name)
        return {key: self.accounts[key][0] for key in wanted}

    def batch_ids(self, page: domain.InvoicePage) -> dict[str, int]:
        sizes = {batch.number: batch.size for batch in page.batches}
        wanted = {inv.batch for inv in page.invoices if inv.batch} | set(sizes)
        stale = {
            number
            for number in wanted
            if number not in self.batches
            or (number in sizes and self.batches[number][1] != sizes[number])
        }
        if stale:
            # A size is written only where this page reports it; a batch seen on an
            # invoice alone (e.g. Acronis' wrapped shape has no Batches) keeps its size.
            reported = [number for number in stale if number in sizes]
            unreported = [number for number in stale if number not in sizes]
            Batch.objects.bulk_create(
                [Batch(connection=self.connection, number=n, size=sizes[n]) for n in reported],
                update_conflicts=True,
                unique_fields=["connection", "number"],
                update_fields=["size"],
            )
            Batch.objects.bulk_create(
                [Batch(connection=self.connection, number=n) for n in unreported],
                ignore_conflicts=True,
            )
            rows = Batch.objects.filter(connection=self.connection, number__in=stale)
            for pk, number, size in rows.values_list("pk", "number", "size"):
                self.batches[number] = (pk, size)
        return {number: self.batches[number][0] for number in wanted}


@contextlib.contextmanager
def _fetched_ahead(pages: Iterator[domain.InvoicePage]) -> Iterator[Iterator[domain.InvoicePage]]:
    """`pages`, with the next ones fetched and parsed in a thread while the caller
    writes: the provider's answer time overlaps the database's write time instead of
    adding to it (SQLite and psycopg release the GIL while they work).

    About one write's worth of invoices (`WRITE_INVOICES`, at most `FETCH_AHEAD` pages)
    waits, so memory stays bounded while the next write's pages arrive during this
    one; one thread advances the iterator, one page after the other. An error fetching
    a page is raised where that page is asked for; when the caller stops early, the
    fetch under way is awaited, the rest cancelled and the iterator closed.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-fetch") as fetcher:

        def ahead() -> Iterator[domain.InvoicePage]:
            pending = deque([fetcher.submit(next, pages, None)])
            largest = 1
            while (page := pending.popleft().result()) is not None:
                largest = max(largest, len(page.invoices))
                depth = min(FETCH_AHEAD, max(1, -(-WRITE_INVOICES // largest)))
                while len(pending) < depth:
                    pending.append(fetcher.submit(next, pages, None))
                yield page

        try:
            yield ahead()
        finally:
            fetcher.shutdown(wait=True, cancel_futures=True)
            close = getattr(pages, "close", None)
            if close is not None:
                close()


def _pull(run: SyncRun, client: ProviderClient, progress: Progress | None) -> None:
    lookups = _Lookups(run.connection)
    arrived: list[domain.InvoicePage] = []
    waiting = writes = 0
    oldest = 0.0  # when the first page waiting to be written arrived
    with _fetched_ahead(client.iter_invoice_pages()) as pages:
        try:
            for page in pages:
                if not arrived:
                    oldest = time.monotonic()
                arrived.append(page)
                waiting += len(page.invoices)
                if waiting >= WRITE_INVOICES or time.monotonic() - oldest >= WRITE_SECONDS:
                    _write_pages(run, arrived, lookups, progress)
                    arrived, waiting = [], 0
                    writes += 1
                    if writes & (writes - 1) == 0:
                        # 1, 2, 4, 8… writes: statistics keep up with a table this
                        # sync grows, at a cost that does not grow with it.
                        database_statistics_refresh(lookups_only=True)
        except ProviderError:
            # The provider failed part way: what it sent before is kept.
            _write_pages(run, arrived, lookups, progress)
            raise
    _write_pages(run, arrived, lookups, progress)


def _write_pages(
    run: SyncRun, pages: list[domain.InvoicePage], lookups: _Lookups, progress: Progress | None
) -> None:
    """Write `pages` and the run's progress.

    What needs no lock comes first: accounts and batches (kept even if the invoices'
    write fails: they are the provider's too), the fingerprints the mirror already has,
    and the rows to write. Then one short transaction writes the invoices and the
    progress together (never open while waiting for the provider: other writers wait
    for it).
    """
    if not pages:
        return
    connection = run.connection
    invoices = {inv.provider_id: inv for page in pages for inv in page.invoices}  # last wins
    account_ids = lookups.account_ids(invoices.values())
    batch_ids: dict[str, int] = {}
    for page in pages:
        batch_ids.update(lookups.batch_ids(page))
    known, returning = _known_fingerprints(connection, list(invoices))
    make_row = _row_maker(run, account_ids, batch_ids)
    rows: list[tuple[Any, ...]] = []
    unchanged: list[str] = []
    created = 0
    for provider_id, inv in invoices.items():
        row = make_row(inv)
        if known.get(provider_id) == row[FINGERPRINT]:
            unchanged.append(provider_id)
        else:
            created += provider_id not in known
            rows.append(row)
    last = pages[-1]
    with transaction.atomic():
        _upsert(rows)
        for chunk in _chunks(unchanged):
            Invoice.objects.filter(connection=connection, provider_id__in=chunk).update(
                last_seen_run=run, missing=False
            )
        if rows or returning:
            connection_data_changed(connection_ids=[connection.pk])
        run.pages_done += len(pages)
        run.pages_total = (
            max(last.total_pages, run.pages_done) if last.total_pages is not None else None
        )
        run.created += created
        run.updated += len(rows) - created
        run.unchanged += len(unchanged)
        run.heartbeat_at = timezone.now()
        run.save(
            update_fields=[
                "pages_done",
                "pages_total",
                "created",
                "updated",
                "unchanged",
                "heartbeat_at",
            ]
        )
    if progress is not None:
        progress(run)


# Provider ids per `IN (...)` list. SQLite's planner scans the whole table rather
# than probe (connection, provider id) for 1,000 ids at 100,000 rows (55 ms instead
# of 4 ms); at 500 it still probes.
LOOKUP_CHUNK = 500


def _chunks(items: list[Any], size: int = LOOKUP_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _known_fingerprints(
    connection: Connection, provider_ids: list[str]
) -> tuple[dict[str, str], bool]:
    """The fingerprints the mirror holds for these invoices, and whether any of them is
    marked missing (it is back)."""
    known: dict[str, str] = {}
    returning = False
    for chunk in _chunks(provider_ids):
        # No ORDER BY: the model's default order would let the planner walk the whole
        # connection in issue-date order instead of probing (connection, provider id).
        for provider_id, digest, missing in (
            Invoice.objects.filter(connection=connection, provider_id__in=chunk)
            .order_by()
            .values_list("provider_id", "fingerprint", "missing")
        ):
            known[provider_id] = digest
            returning = returning or missing
    return known, returning


def _row_maker(
    run: SyncRun, account_ids: dict[str, int], batch_ids: dict[str, int]
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
    connection_id, run_id = run.connection_id, run.pk
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


# The columns a sync looks its invoices up by (the unique constraint's).
LOOKUP_FIELDS = ("connection", "provider_id")

# The invoice fields a sync writes, in the order `_row_maker` makes them (all but the id).
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


def _upsert(rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (as `_row_maker` makes them, one per provider id), or update the
    invoice a row's (connection, provider id) already names, leaving its first-seen time.

    Both ways send `bulk_create(update_conflicts=True)`'s conflict clause without the
    ORM's per-value work around it (which cost more than the database's own):

    - PostgreSQL: `COPY` into a temporary table, then one `INSERT ... SELECT ... ON
      CONFLICT DO UPDATE` (parsing a multi-row VALUES list of thousands of parameters
      cost the client and the server more than the inserts themselves). Call it in a
      transaction: a failure then takes the temporary table back with it;
    - SQLite: multi-row `INSERT ... VALUES ... ON CONFLICT DO UPDATE` statements of up
      to `UPSERT_ROWS` rows (one call, one release of the GIL for each), sent to the
      sqlite3 connection with its own `?` placeholders: Django's cursor rewrites `%s`
      into `?` with a regular expression over each statement's tens of kilobytes.
    """
    if not rows:
        return
    database = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy
    if database.vendor == "postgresql":
        sql = _copy_sql()
        with database.cursor() as cursor:
            cursor.execute(sql.stage)
            with cursor.cursor.copy(sql.copy) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(sql.insert)
            cursor.execute(sql.unstage)
        return
    database.ensure_connection()
    for chunk in _chunks(rows, UPSERT_ROWS):
        database.connection.execute(
            _values_sql(len(chunk)), [value for row in chunk for value in row]
        )


# Rows per INSERT ... VALUES statement: 26 parameters each stays below SQLite's limit.
UPSERT_ROWS = 500


class _CopySQL(NamedTuple):
    stage: str
    copy: str
    insert: str
    unstage: str


@functools.cache
def _copy_sql() -> _CopySQL:
    """PostgreSQL's statements for `_upsert` (names from the model, values copied)."""
    ops = connections[DEFAULT_DB_ALIAS].ops
    columns, conflict = _upsert_parts()
    table = ops.quote_name(Invoice._meta.db_table)
    stage = ops.quote_name("sync_invoice_stage")
    return _CopySQL(
        stage=f"CREATE TEMPORARY TABLE {stage} AS SELECT {columns} FROM {table} WITH NO DATA",  # noqa: S608
        copy=f"COPY {stage} ({columns}) FROM STDIN",
        insert=f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {conflict}",  # noqa: S608
        unstage=f"DROP TABLE {stage}",
    )


@functools.lru_cache(maxsize=8)
def _values_sql(rows: int) -> str:
    """SQLite's `INSERT ... VALUES` of `rows` rows, with sqlite3's own placeholders."""
    columns, conflict = _upsert_parts()
    table = connections[DEFAULT_DB_ALIAS].ops.quote_name(Invoice._meta.db_table)
    row = "(" + ", ".join(["?"] * len(SYNC_COLUMNS)) + ")"
    values = ", ".join([row] * rows)
    return f"INSERT INTO {table} ({columns}) VALUES {values} {conflict}"  # noqa: S608


@functools.cache
def _upsert_parts() -> tuple[str, str]:
    """The quoted column list of `SYNC_COLUMNS` and Django's own conflict clause."""
    meta = Invoice._meta
    written = {field.name for field in meta.concrete_fields if not field.primary_key}
    if written != set(SYNC_COLUMNS):
        differ = sorted(written ^ set(SYNC_COLUMNS))
        raise ImproperlyConfigured(f"sync.SYNC_COLUMNS is out of date with Invoice: {differ}")
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


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.0001"))


def _finish(run: SyncRun) -> None:
    """A complete run: mark what the provider no longer returns as missing."""
    with transaction.atomic():
        gone = Invoice.objects.filter(connection=run.connection, missing=False).filter(
            ~Q(last_seen_run=run) | Q(last_seen_run__isnull=True)
        )
        run.missing = gone.update(missing=True)
        if run.missing:
            connection_data_changed(connection_ids=[run.connection_id])
        run.state = SyncState.SUCCEEDED
        run.finished_at = run.heartbeat_at = timezone.now()
        run.save(update_fields=["missing", "state", "finished_at", "heartbeat_at"])
    database_statistics_refresh()


def connection_data_changed(*, connection_ids: Iterable[int]) -> None:
    """Record that these connections' invoices changed: what was cached about them
    (see `selectors.invoice_totals`) is no longer served.

    Call it inside the transaction that writes the invoices: the new version becomes
    visible together with the rows it stands for.
    """
    Connection.objects.filter(pk__in=list(connection_ids)).update(
        data_version=F("data_version") + 1
    )


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


def _fail(run: SyncRun, message: str) -> None:
    run.state = SyncState.FAILED
    run.error = message[:2000]
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "finished_at"])
