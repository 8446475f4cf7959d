"""`manage.py schedule_syncs [--loop]`: queue syncs of connections that are due."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from invoices.tasks import sync_schedule_due


class Command(BaseCommand):
    help = (
        "Queue a background sync for every connection whose last run is older than its "
        "interval. Safe to run on several machines: a connection never gets two runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep checking until stopped")
        # Often enough that a run lost with its worker is taken over within seconds of its
        # lease expiring; a check is two queries when nothing is due.
        parser.add_argument(
            "--every",
            type=float,
            default=settings.SYNC_SCHEDULE_SECONDS,
            help="seconds between checks (default: SYNC_SCHEDULE_SECONDS, 5)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            for run in sync_schedule_due():
                self.stdout.write(f"queued sync of {run.connection.name} (run {run.pk})")
            if not options["loop"]:
                return
            try:
                time.sleep(options["every"])
            except KeyboardInterrupt:
                return
