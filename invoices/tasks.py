"""Background jobs (django-tasks; workers run `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from .models import SyncRun


@task()
def sync_connection_task(run_id: int) -> dict[str, object]:
    """Execute one queued sync run; the outcome is recorded on the run itself."""
    from .sync import sync_run_execute

    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    run = sync_run_execute(run=run)
    return {"run": run.pk, "state": run.state, "error": run.error}
