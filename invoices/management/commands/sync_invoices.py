"""`manage.py sync_invoices [--connection NAME]`: sync in the foreground, with progress."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from invoices.models import Connection, SyncRun, SyncState
from invoices.sync import SyncAlreadyActive, connection_sync

# Exit statuses besides 0 (every connection synced) and 1 (a sync failed or completed
# with problems): some were skipped because another sync of them was already running.
EXIT_SKIPPED = 3


class Command(BaseCommand):
    help = (
        "Pull invoices from the providers into the local mirror, now, in this process. "
        "Exits 0 when every connection synced, 1 when a sync failed or completed with "
        f"problems, {EXIT_SKIPPED} when some were only skipped (already running)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", help="connection name (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        connections = Connection.objects.filter(archived_at=None)  # removed: never synced
        if options["connection"]:
            connections = connections.filter(name=options["connection"])
            if not connections:
                raise CommandError(f"no connection named '{options['connection']}'")
        if not connections:
            raise CommandError("no connections yet: add one with `manage.py add_connection`")
        failed, skipped = [], []
        for connection in connections:
            try:
                run = connection_sync(
                    connection=connection, trigger="cli", progress=self._progress(connection)
                )
            except SyncAlreadyActive as exc:
                self._end_progress()
                self.stdout.write(self.style.WARNING(f"{connection.name}: {_skipped(exc)}"))
                skipped.append(connection.name)
                continue
            self._end_progress()
            self.stdout.write(self._summary(connection, run))
            if run.state != SyncState.SUCCEEDED:
                failed.append(connection.name)
        if failed:
            raise CommandError(f"sync failed or incomplete for: {', '.join(failed)}")
        if skipped:
            raise CommandError(
                f"skipped (already running): {', '.join(skipped)}", returncode=EXIT_SKIPPED
            )

    _progress_shown = False

    def _progress(self, connection: Connection):
        interactive = sys.stdout.isatty()

        def show(run: SyncRun) -> None:
            total = f"/{run.pages_total}" if run.pages_total else ""
            pct = f" {run.progress_percent}%" if run.progress_percent is not None else ""
            line = f"{connection.name}: page {run.pages_done}{total}{pct}"
            if run.note:
                line += f" ({run.note})"
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
                self.stdout.flush()
                self._progress_shown = True
            elif run.note or run.pages_done == 1 or run.pages_done % 25 == 0:
                self.stdout.write(line)

        return show

    def _end_progress(self) -> None:
        if self._progress_shown:
            self.stdout.write("")
            self._progress_shown = False

    def _summary(self, connection: Connection, run: SyncRun) -> str:
        seconds = (run.finished_at - run.started_at).total_seconds() if run.started_at else 0
        counts = (
            f"{run.created} created, {run.updated} updated, {run.unchanged} unchanged, "
            f"{run.missing} missing, {run.pages_done} pages in {seconds:.1f}s"
        )
        if run.state == SyncState.SUCCEEDED:
            return self.style.SUCCESS(f"{connection.name}: ok, {counts}")
        if run.state == SyncState.PARTIAL:
            lines = [f"{connection.name}: completed with problems, {counts}"]
            lines += [f"  - {p['what']}: {p['reason']}" for p in run.problems]
            if run.problem_count > len(run.problems):
                lines.append(f"  … {run.problem_count} problems in all")
            return self.style.WARNING("\n".join(lines))
        return self.style.ERROR(f"{connection.name}: FAILED: {run.error} ({counts})")


def _skipped(exc: SyncAlreadyActive) -> str:
    """`skipped: already running (run 12, started 2026-12-01 20:55 UTC)`."""
    run = exc.run
    if run is None:
        return "skipped: already running"
    when = run.started_at or run.queued_at
    state = "running" if run.state == SyncState.RUNNING else "queued"
    return (
        f"skipped: already {state} (run {run.pk}, "
        f"{'started' if run.started_at else 'queued'} {timezone.localtime(when):%Y-%m-%d %H:%M %Z})"
    )
