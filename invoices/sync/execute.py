"""Executing a run: pull every page, then end it as succeeded, partial or failed."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..clients import connection_client
from ..explain import error_kind
from ..models import Connection, SyncRun, SyncState
from ..providers import ProviderError
from ..providers.base import ProviderClient
from ..providers.registry import provider_label
from ..summaries import summaries_rebuild
from .gone import Listing, invoices_mark_gone
from .pull import Progress, pull
from .runs import (
    Lease,
    LeaseLost,
    SyncAlreadyActive,
    run_fail,
    run_start,
    run_update,
    sync_run_claim,
)
from .write import database_statistics_refresh

logger = logging.getLogger(__name__)


def sync_run_execute(
    *, run: SyncRun, client: ProviderClient | None = None, progress: Progress | None = None
) -> SyncRun:
    """Execute a queued run to its end; the run records the outcome (never raises for
    provider trouble). Returns the run, refreshed."""
    if not run_start(run):
        logger.info("sync run %s was taken by another worker (%s)", run.pk, run.state)
        return run
    return _execute(run, client, progress)


def connection_sync(
    *,
    connection: Connection,
    trigger: str = "manual",
    client: ProviderClient | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Sync `connection` in this process (CLI, tests); raises `SyncAlreadyActive`."""
    run = sync_run_claim(connection=connection, trigger=trigger)
    if not run_start(run):
        run.refresh_from_db()
        raise SyncAlreadyActive(f"a sync of {connection.name} is already running", run=run)
    return _execute(run, client, progress)


def _execute(run: SyncRun, client: ProviderClient | None, progress: Progress | None) -> SyncRun:
    connection = run.connection
    logger.info("sync of %s started (run %s)", connection.name, run.pk)
    owns_client = client is None
    lease = Lease(run)
    try:
        if client is None:
            label = provider_label(connection.provider)
            client = connection_client(
                connection, on_wait=lambda text: lease.note(f"{label}: {text}")
            )
        listing = pull(run, client, lease, progress)
        _finish(run, listing)
    except LeaseLost:
        logger.warning("sync run %s lost its lease to another process; stopped", run.pk)
        run.refresh_from_db()
    except ProviderError as exc:
        run_fail(run, str(exc), kind=error_kind(exc))
    except Exception as exc:
        logger.exception("sync run %s crashed", run.pk)
        message = _("Internal error (%(kind)s); see the worker log.")
        run_fail(run, message % {"kind": exc.__class__.__name__}, kind="internal")
    finally:
        if owns_client and client is not None:
            client.close()
    logger.info(
        "sync of %s %s: %d created, %d updated, %d unchanged, %d missing, %d problems%s",
        connection.name,
        run.state,
        run.created,
        run.updated,
        run.unchanged,
        run.missing,
        run.problem_count,
        f" ({run.error})" if run.error else "",
    )
    return run


def _finish(run: SyncRun, listing: Listing) -> None:
    """End a run that read its listing to the end: mark what it proves gone, record its
    problems. A run that could read nothing at all, only problems, failed."""
    with transaction.atomic():
        run_update(run)  # the fence: nothing below happens for a run that was reaped
        missing = invoices_mark_gone(run=run, listing=listing)
        problems = [{"what": p.what, "reason": p.reason} for p in listing.problems]
        kind = ""
        if listing.problem_count and not listing.invoices_seen and not listing.coverage:
            state, kind = SyncState.FAILED, "nothing_read"
            error = _("Nothing could be read: %(what)s: %(reason)s") % {
                "what": listing.problems[0].what,
                "reason": listing.problems[0].reason,
            }
        else:
            state = SyncState.PARTIAL if listing.problem_count else SyncState.SUCCEEDED
            error = ""
        now = timezone.now()
        run_update(
            run,
            missing=missing,
            problems=problems,
            problem_count=listing.problem_count,
            state=state,
            error=error,
            error_kind=kind,
            note="",
            finished_at=now,
            heartbeat_at=now,
        )
        # Nothing stale once the run is seen ended: its summaries end with it.
        summaries_rebuild(connection_ids=[run.connection_id])
    database_statistics_refresh()
