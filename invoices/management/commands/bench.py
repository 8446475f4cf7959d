"""`manage.py bench`: the dashboard against the Django admin and the raw SQL, and the sync.

Pages run in a database the command creates and drops (never `db.sqlite3`), with
DEBUG off; under a test runner they run in its test database instead. Prints a
table, writes the figures as JSON, and fails when a floor is not met (`--tiny` never
fails on figures: it only keeps the harness working, see tests/bench).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sqlite3
import time
from pathlib import Path
from typing import Any

import django
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from invoices.bench import report
from invoices.bench.data import bench_data_create
from invoices.bench.database import bench_database, inside_test_run
from invoices.bench.pages import pages_run
from invoices.bench.sync import SYNC_RUNS, sync_child_measure, sync_run
from invoices.bench.throughput import SIZE as THROUGHPUT_SIZE
from invoices.bench.throughput import throughput_run

DEFAULT_JSON = Path("bench-results/latest.json")
TINY_SIZE = 200
TINY_REPS = 2
TINY_SYNC_SIZES = [100, 500]


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise CommandError(f"--sizes wants numbers like 10000,100000, not {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise CommandError("--sizes wants positive numbers")
    return sizes


class Command(BaseCommand):
    help = "Benchmark the invoice pages (against the Django admin) and the sync."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sizes", default="10000,100000", help="invoice counts to measure")
        parser.add_argument("--reps", type=int, default=30, help="timed requests per side")
        parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--skip-sync", action="store_true")
        parser.add_argument(
            "--sync-runs", type=int, default=SYNC_RUNS, help="sync runs per size (median shown)"
        )
        parser.add_argument("--skip-pages", action="store_true")
        parser.add_argument(
            "--skip-throughput",
            action="store_true",
            help="skip the throughput scenario (PostgreSQL only: gunicorn under load)",
        )
        parser.add_argument(
            "--tiny",
            action="store_true",
            help=f"{TINY_SIZE} invoices, {TINY_REPS} repetitions, small syncs; never fails on "
            "figures (what `make test` runs)",
        )
        # Internal: one sync measurement in a fresh process (see invoices/bench/sync.py).
        parser.add_argument("--sync-child", action="store_true", help="(internal)")
        parser.add_argument("--invoices", type=int, help="(internal)")
        parser.add_argument("--sandbox-url", help="(internal)")

    def handle(self, *args: Any, **options: Any) -> None:
        # Timing with DEBUG on would record every query; the command decides, not the env.
        with override_settings(DEBUG=False):
            if options["sync_child"]:
                return self._sync_child(options)
            results = self._run(options)
        results["floors"] = report.floors_evaluate(results)
        results["floors_met"] = all(floor["met"] for floor in results["floors"])
        report.report_write(results, options["json"])
        for line in report.report_lines(results):
            self.stdout.write(line)
        self.stdout.write(f"Figures written to {options['json']}")
        if not options["tiny"] and not results["floors_met"]:
            raise CommandError("some floors are not met (see above)")
        return None

    def _log(self, message: str) -> None:
        self.stderr.write(message)

    def _run(self, options: dict[str, Any]) -> dict[str, Any]:
        tiny = options["tiny"]
        sizes = [TINY_SIZE] if tiny else _sizes(options["sizes"])
        reps = TINY_REPS if tiny else max(1, options["reps"])
        results: dict[str, Any] = {
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "tiny": tiny,
            "reps": reps,
            "database": self._database(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "machine": f"{platform.system()} {platform.machine()}",
            "sizes": [],
            "sync": None,
        }
        if not options["skip_pages"]:
            if inside_test_run():
                results["sizes"] = self._pages(sizes, reps, options["seed"])
            else:
                with bench_database("pages"):
                    results["sizes"] = self._pages(sizes, reps, options["seed"])
        if not options["skip_throughput"] and not tiny and not inside_test_run():
            results["throughput"] = self._throughput(options["seed"])
        if not options["skip_sync"]:
            sync_sizes = TINY_SYNC_SIZES if tiny else sizes
            runs = 1 if tiny else max(1, options["sync_runs"])
            results["sync"] = sync_run(sync_sizes, log=self._log, runs=runs)
        return results

    def _pages(self, sizes: list[int], reps: int, seed: int) -> list[dict[str, Any]]:
        out = []
        for size in sizes:
            self._log(f"generating {size:,} invoices ...")
            start = time.perf_counter()
            data = bench_data_create(invoices=size, seed=seed)
            generated = time.perf_counter() - start
            self._log(f"pages at {size:,} invoices ({generated:.1f} s to generate):")
            out.append(
                {
                    "invoices": size,
                    "generate_seconds": round(generated, 2),
                    "data": data.as_dict(),
                    "scenarios": pages_run(data, reps=reps, log=self._log),
                }
            )
        return out

    def _throughput(self, seed: int) -> dict[str, Any]:
        if connection.vendor != "postgresql":
            return throughput_run(database="", log=self._log)  # says why it is skipped
        with bench_database("throughput") as name:
            self._log(f"generating {THROUGHPUT_SIZE:,} invoices for the throughput scenario ...")
            bench_data_create(invoices=THROUGHPUT_SIZE, seed=seed)
            return throughput_run(database=name, log=self._log)

    @staticmethod
    def _database() -> dict[str, Any]:
        if connection.vendor == "sqlite":
            version = sqlite3.sqlite_version
        else:
            version = str(getattr(connection, "pg_version", ""))
        return {"vendor": connection.vendor, "version": version}

    def _sync_child(self, options: dict[str, Any]) -> None:
        if not options["invoices"] or not options["sandbox_url"]:
            raise CommandError("--sync-child needs --invoices and --sandbox-url")
        with bench_database("sync"):
            figures = sync_child_measure(options["sandbox_url"], options["invoices"])
        options["json"].write_text(json.dumps(figures))
