"""`manage.py list_connections`: what is configured and how its syncs went (no secrets)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from invoices.selectors import connection_overviews


class Command(BaseCommand):
    help = "List provider connections with their last sync. Credentials are never shown."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = connection_overviews()
        if not rows:
            self.stdout.write("No connections yet: add one with `manage.py add_connection`.")
            return
        header = ("NAME", "PROVIDER", "ENDPOINT", "INVOICES", "LAST SYNC")
        table = [header]
        for row in rows:
            last = row.last_run
            if last is None:
                sync = "never"
            else:
                when = last.finished_at or last.started_at or last.queued_at
                sync = f"{last.state} {timezone.localtime(when):%Y-%m-%d %H:%M}"
            table.append(
                (
                    row.connection.name,
                    row.connection.provider,
                    row.endpoint,
                    str(row.invoice_count),
                    sync,
                )
            )
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        for line in table:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            )
