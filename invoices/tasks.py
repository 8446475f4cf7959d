"""The background queue (django-tasks; workers run `manage.py db_worker`): the sync task,
and how runs get onto it (by hand, or on each connection's schedule)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from django_tasks import task

from billingportal.observability import current_request_id, request_id_set

from .models import Connection, SyncRun
from .sync import (
    SyncAlreadyActive,
    sync_run_create,
    sync_run_execute,
    sync_run_fail_unstarted,
    sync_runs_reap_stale,
)


@task()
def sync_connection_task(run_id: int, request_id: str | None = None) -> dict[str, object]:
    """Execute one queued sync run; the outcome is recorded on the run itself. Its log
    lines (and its provider calls') carry the id of the request that queued it."""
    with request_id_set(request_id):
        try:
            run = SyncRun.objects.select_related("connection").get(pk=run_id)
            run = sync_run_execute(run=run)
        except Exception:
            # Failing before the run was started (a worker on older code, a database
            # hiccup) must not leave it queued: a queued run blocks every later sync
            # of its connection. A started run records its own failure.
            sync_run_fail_unstarted(run_id)
            raise
    return {"run": run.pk, "state": run.state, "error": run.error}


def sync_enqueue(
    *, connection: Connection, trigger: str = "manual", requested_by: Any = None
) -> SyncRun:
    """Queue a run and hand it to the background task queue (after the commit);
    `SyncAlreadyActive` if one is queued or running (`requested_by`: the person who
    asked, shown in the connection's history)."""
    run = sync_run_create(connection=connection, trigger=trigger, requested_by=requested_by)
    request_id = current_request_id()
    transaction.on_commit(
        lambda: sync_connection_task.enqueue(
            run.pk, request_id=None if request_id == "-" else request_id
        )
    )
    return run


# A run whose worker was lost (killed, or its machine gone) is run again on the next
# tick rather than an interval later, up to this many lost runs in a row; a connection
# whose syncs keep dying (say, one that exhausts the worker's memory) then waits for its
# interval like any other.
SYNC_LOST_RETRIES = 3


def _lost_in_a_row(connection: Connection) -> int:
    kinds = connection.sync_runs.order_by("-queued_at", "-pk").values_list("error_kind", flat=True)[
        :SYNC_LOST_RETRIES
    ]
    lost = 0
    for kind in kinds:
        if kind != "lost":
            break
        lost += 1
    return lost


def sync_schedule_due(*, now: dt.datetime | None = None) -> list[SyncRun]:
    """Queue a run for every connection whose last run is older than its interval, or
    whose last run was lost with its worker (reaped here, once its lease expired).

    Connections with a run queued or running are skipped, so runs never pile up; so are
    paused ones (a person can still sync them by hand) and removed ones.
    """
    now = now or timezone.now()
    sync_runs_reap_stale()
    queued = []
    connections = Connection.objects.filter(
        sync_interval_minutes__gt=0, paused=False, archived_at=None
    ).annotate(
        last_queued=Max("sync_runs__queued_at"),
        last_kind=Subquery(
            SyncRun.objects.filter(connection=OuterRef("pk"))
            .order_by("-queued_at", "-pk")
            .values("error_kind")[:1]
        ),
    )
    for connection in connections:
        interval = dt.timedelta(minutes=connection.sync_interval_minutes)
        trigger = "schedule"
        if connection.last_queued is not None and connection.last_queued > now - interval:
            if connection.last_kind != "lost" or _lost_in_a_row(connection) >= SYNC_LOST_RETRIES:
                continue
            trigger = "retry"
        try:
            queued.append(sync_enqueue(connection=connection, trigger=trigger))
        except SyncAlreadyActive:
            continue
    return queued
