"""Writes: pulling a provider's invoices into the local mirror.

- page by page, one transaction per page, so memory stays bounded and a failure
  keeps everything written so far (and everything the mirror already had);
- idempotent upserts keyed on (connection, provider id), with a content fingerprint
  to tell created / updated / unchanged apart;
- invoices not returned by a *complete* run are marked missing, never deleted;
- one queued-or-running run per connection, enforced by a partial unique index
  (see `SyncRun.Meta.constraints`), so any number of workers on any number of
  machines can try at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F, Max, Q
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

# Fields an upsert rewrites on a changed invoice (never connection/provider_id/first_seen_at).
INVOICE_UPDATE_FIELDS = [
    "account",
    "batch",
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
    "updated_at",
]


class SyncAlreadyActive(Exception):
    """Another sync of this connection is queued or running."""


def connection_client(connection: Connection, **http_options: Any) -> ProviderClient:
    """A provider client for `connection`, built from its config and credentials."""
    return build_client(
        connection.provider, dict(connection.config), dict(connection.credentials), **http_options
    )


def fingerprint(invoice: domain.Invoice) -> str:
    """A stable digest of everything the provider told us about one invoice."""
    values = dataclasses.astuple(invoice)
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


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


def _pull(run: SyncRun, client: ProviderClient, progress: Progress | None) -> None:
    lookups = _Lookups(run.connection)
    for page in client.iter_invoice_pages():
        with transaction.atomic():
            created, updated, unchanged = _upsert_page(run, page, lookups)
            run.pages_done += 1
            run.pages_total = (
                max(page.total_pages, run.pages_done) if page.total_pages is not None else None
            )
            run.created += created
            run.updated += updated
            run.unchanged += unchanged
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


def _upsert_page(run: SyncRun, page: domain.InvoicePage, lookups: _Lookups) -> tuple[int, int, int]:
    connection = run.connection
    invoices = {inv.provider_id: inv for inv in page.invoices}  # a page may repeat one
    if not invoices and not page.batches:
        return 0, 0, 0
    account_ids = lookups.account_ids(invoices.values())
    batch_ids = lookups.batch_ids(page)
    known: dict[str, str] = {}
    returning = False  # an invoice marked missing is back
    for provider_id, digest, missing in Invoice.objects.filter(
        connection=connection, provider_id__in=invoices
    ).values_list("provider_id", "fingerprint", "missing"):
        known[provider_id] = digest
        returning = returning or missing
    now = timezone.now()
    to_write: list[Invoice] = []
    unchanged: list[str] = []
    created = 0
    for provider_id, inv in invoices.items():
        digest = fingerprint(inv)
        if known.get(provider_id) == digest:
            unchanged.append(provider_id)
            continue
        created += provider_id not in known
        to_write.append(_row(run, inv, digest, account_ids, batch_ids, now))
    if to_write:
        Invoice.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["connection", "provider_id"],
            update_fields=INVOICE_UPDATE_FIELDS,
        )
    if unchanged:
        Invoice.objects.filter(connection=connection, provider_id__in=unchanged).update(
            last_seen_run=run, missing=False
        )
    if to_write or returning:
        connection_data_changed(connection_ids=[connection.pk])
    return created, len(to_write) - created, len(unchanged)


def _row(
    run: SyncRun,
    inv: domain.Invoice,
    digest: str,
    account_ids: dict[str, int],
    batch_ids: dict[str, int],
    now: dt.datetime,
) -> Invoice:
    return Invoice(
        connection_id=run.connection_id,
        account_id=account_ids[inv.account_id],
        batch_id=batch_ids.get(inv.batch) if inv.batch else None,
        provider_id=inv.provider_id,
        number=inv.number,
        customer_name=inv.account_name[:255],
        issue_date=inv.issue_date,
        scheduled_date=inv.scheduled_date,
        provider_created_at=inv.created_at,
        payment_date=inv.payment_date,
        total=_money(inv.total),
        amount_due=_money(inv.amount_due),
        currency=inv.currency.upper()[:3],
        status=InvoiceStatus.PAID if inv.paid else InvoiceStatus.UNPAID,
        raw_status=inv.raw_status[:100],
        incasso=inv.incasso,
        exported=inv.exported,
        exported_at=inv.exported_at,
        delivery_error=inv.delivery_error or "",
        description=inv.description[:500],
        extra=dict(inv.extra),
        fingerprint=digest,
        missing=False,
        last_seen_run=run,
        first_seen_at=now,
        updated_at=now,
    )


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


def database_statistics_refresh() -> None:
    """Let SQLite's planner know the tables' shape after they changed (PostgreSQL's
    autovacuum does this itself): without statistics it may sort a whole scope
    instead of walking the list's index."""
    if db_connection.vendor == "sqlite":
        with db_connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")


def _fail(run: SyncRun, message: str) -> None:
    run.state = SyncState.FAILED
    run.error = message[:2000]
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "finished_at"])
