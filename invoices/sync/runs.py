"""Sync runs: creating, claiming, the lease a running run holds, reaping dead ones.

At most one run per connection is queued or running: a partial unique index on the
runs (`SyncRun.Meta.constraints`) refuses a second, whichever worker on whichever
machine asks.

A running run holds a lease: its `heartbeat_at`, renewed every few seconds while it
works (with each write, and while it waits for the provider). A run whose lease is older
than `SYNC_LEASE_SECONDS` is dead (its process was killed or lost its machine): the next
attempt to start a run of the connection reaps it, within seconds rather than minutes.

Never two at once, even when a slow but live run loses its lease: every write of a run
(`run_update`) changes its own row only while it is still `running`, in the same
transaction as the invoices it writes. Reaping flips the row to `failed` first; from then
on the old run's writes change no row, raise `LeaseLost` and are rolled back, and only
after the flip can a new run exist. The database serializes the two updates of the row
(PostgreSQL's row lock, SQLite's write lock), so no write of the old run lands after the
new one started.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Connection, SyncRun, SyncState


class SyncAlreadyActive(Exception):
    """Another sync of this connection is queued or running."""

    def __init__(self, message: str, *, run: SyncRun | None = None) -> None:
        super().__init__(message)
        self.run = run


class ConnectionRemoved(Exception):
    """The connection was removed (archived): no sync of it starts."""


class LeaseLost(Exception):
    """This run was reaped by another process (its lease had expired): stop, write nothing."""


def heartbeat_seconds() -> float:
    """How often a running run renews its lease: five times per lease."""
    return max(0.2, settings.SYNC_LEASE_SECONDS / 5)


def sync_runs_reap_stale(*, connection: Connection | None = None) -> int:
    """Fail running runs whose lease expired (their worker is gone), and queued runs no
    worker took for `SYNC_QUEUED_MAX_HOURS` (their task was lost: a queued run blocks
    every later sync of its connection). Queued runs younger than that are left alone:
    a worker will claim them (or `sync_invoices` does)."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    queued_cutoff = now - dt.timedelta(hours=settings.SYNC_QUEUED_MAX_HOURS)
    runs = SyncRun.objects.filter(
        Q(state=SyncState.RUNNING, heartbeat_at__lt=cutoff)
        | Q(state=SyncState.QUEUED, queued_at__lt=queued_cutoff)
    )
    if connection is not None:
        runs = runs.filter(connection=connection)
    return runs.update(
        state=SyncState.FAILED,
        finished_at=now,
        error=_("The sync stopped responding (its worker was lost); the next run starts over."),
        error_kind="lost",
    )


def sync_run_fail_unstarted(run_id: int) -> int:
    """The task of a queued run failed before the run started: fail the run (1), unless
    it is no longer queued (0)."""
    return SyncRun.objects.filter(pk=run_id, state=SyncState.QUEUED).update(
        state=SyncState.FAILED,
        finished_at=timezone.now(),
        error=_("The sync could not start (an internal error); the next run starts over."),
        error_kind="internal",
    )


def sync_run_create(
    *, connection: Connection, trigger: str = "manual", requested_by: Any = None
) -> SyncRun:
    """Queue a run for `connection`, or raise `SyncAlreadyActive` (naming the run that is);
    `ConnectionRemoved` for a removed (archived) connection: it is never synced."""
    if connection.archived_at is not None:
        raise ConnectionRemoved(f"{connection.name} was removed; it is not synced")
    sync_runs_reap_stale(connection=connection)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                connection=connection,
                trigger=trigger,
                requested_by=requested_by,
                state=SyncState.QUEUED,
            )
    except IntegrityError:
        active = (
            SyncRun.objects.filter(
                connection=connection, state__in=[SyncState.QUEUED, SyncState.RUNNING]
            )
            .order_by("-queued_at")
            .first()
        )
        raise SyncAlreadyActive(
            f"a sync of {connection.name} is already queued or running", run=active
        ) from None


def sync_run_claim(*, connection: Connection, trigger: str = "manual") -> SyncRun:
    """A run of `connection` for this process to execute now.

    Creates one, or takes over a queued one no worker has claimed yet; raises
    `SyncAlreadyActive` when a run is already running (with a live lease).
    """
    try:
        return sync_run_create(connection=connection, trigger=trigger)
    except SyncAlreadyActive as exc:
        queued = SyncRun.objects.filter(connection=connection, state=SyncState.QUEUED).first()
        if queued is None:
            raise
        exc.run = queued
        return queued


def run_start(run: SyncRun) -> bool:
    """Move a queued run to running, with a fresh lease; False if another worker got
    there first."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run.pk, state=SyncState.QUEUED).update(
        state=SyncState.RUNNING, started_at=now, heartbeat_at=now
    )
    run.refresh_from_db()
    return bool(claimed)


def run_update(run: SyncRun, **fields: Any) -> None:
    """Save `fields` on the running `run` and renew its lease, or raise `LeaseLost` if it
    is no longer running (reaped). Inside a write's transaction this is its fence."""
    now = timezone.now()
    fields.setdefault("heartbeat_at", now)
    updated = SyncRun.objects.filter(pk=run.pk, state=SyncState.RUNNING).update(**fields)
    if not updated:
        raise LeaseLost(f"sync run {run.pk} was taken over")
    for name, value in fields.items():
        setattr(run, name, value)


class Lease:
    """Renews a running run's lease while it waits (the writes renew it themselves), and
    records what the run is waiting for (`notes`, filled from the fetching thread)."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        self.every = heartbeat_seconds()
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._note: str | None = None

    def note(self, text: str) -> None:
        """Thread-safe: the run is waiting, and why; saved with the next `keep`."""
        with self._lock:
            self._note = text[:200]

    def renewed(self) -> None:
        """A write just renewed it (and cleared the note)."""
        self._last = time.monotonic()

    def keep(self) -> bool:
        """Renew it if a heartbeat is due, at once if there is a note to save; True when
        the run changed. `LeaseLost` if the run was reaped."""
        with self._lock:
            note, self._note = self._note, None
        if note is not None:
            run_update(self.run, note=note)
        elif time.monotonic() - self._last >= self.every:
            run_update(self.run)
        else:
            return False
        self._last = time.monotonic()
        return note is not None


def run_fail(run: SyncRun, message: str, *, kind: str) -> None:
    """End a running run as failed (unless another process already ended it)."""
    now = timezone.now()
    fields = {
        "state": SyncState.FAILED,
        "error": message[:2000],
        "error_kind": kind,
        "note": "",
        "finished_at": now,
    }
    SyncRun.objects.filter(pk=run.pk, state=SyncState.RUNNING).update(**fields)
    # What the database holds, also of the counts a rolled-back write had counted.
    run.refresh_from_db()
