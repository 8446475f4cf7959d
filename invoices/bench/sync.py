"""The sync benchmark: the real sync from the sandbox Acronis API against a plain loop.

Every size runs `SYNC_RUNS` times, each in a fresh child process (`manage.py bench
--sync-child`) with its own throwaway database, so its peak RSS is its own; the
sandbox runs in another process (`manage.py sandbox --acronis-invoices N`), so
serving does not share the measured process's GIL. In the child:

1. the plain loop: a `requests.Session` that fetches every `InvoiceOverview` page the
   way the client asks for it (same token call, page size and parameters) and
   `json.loads` each body, nothing more;
2. the real sync: `connection_sync` of a connection pointing at the sandbox;
3. the plain loop again; the loop's time is the mean of both (drift hits both sides).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from django import db
from django.conf import settings

from ..models import Connection, SyncState
from ..providers.acronis import API_PATH, DEFAULT_PAGE_SIZE, TOKEN_PATH, overview_params
from ..sandbox import SandboxConfig
from ..sync import connection_sync

STARTUP_TIMEOUT = 30.0
# Sync runs per size: a single run of a ~10 s sync on a shared machine varied by
# ±15 % (1.62x to 2.06x the loop on PostgreSQL); each size reports its median run.
SYNC_RUNS = 3
TIMEOUT = (3.0, 60.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


def _env() -> dict[str, str]:
    # manage.py and pytest-django both export the settings module; children inherit it.
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "billingportal.settings")
    return env


@contextlib.contextmanager
def sandbox_process(invoices: int) -> Iterator[str]:
    """A `manage.py sandbox` child serving exactly `invoices` Acronis invoices; its URL."""
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            _manage("sandbox", "--port", str(port), "--acronis-invoices", str(invoices)),
            cwd=settings.BASE_DIR,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=log,  # werkzeug logs every request; kept only to explain a failure
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read()[-2000:].decode(errors="replace")
                    raise RuntimeError(f"the sandbox exited ({process.returncode}): {tail}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{url}/_sandbox/health", timeout=1).ok:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def fetch_loop(base_url: str, *, page_size: int = DEFAULT_PAGE_SIZE) -> dict[str, Any]:
    """Fetch and JSON-decode every invoice page, no parsing: the floor a sync can reach."""
    config = SandboxConfig()
    start = time.perf_counter()
    with requests.Session() as session:
        answer = session.post(
            base_url + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(config.acronis_client_id, config.acronis_client_secret),
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        session.headers["Authorization"] = f"Bearer {json.loads(answer.content)['access_token']}"
        invoices = 0
        page = 1
        while True:
            response = session.get(
                f"{base_url}{API_PATH}/InvoiceOverview",
                params=overview_params(page=page, page_size=page_size, show_exported=True),
                timeout=TIMEOUT,
            )
            response.raise_for_status()
            body = json.loads(response.content)
            body = body.get("InvoicesPagedSearchResult", body)
            count = len(body["Invoices"])
            invoices += count
            if not count or page >= body["Paging"]["AmountOfPages"]:
                break
            page += 1
    return {"seconds": time.perf_counter() - start, "invoices": invoices, "pages": page}


def _rss_mb(kilobytes: int) -> float:
    return round(kilobytes / 1024, 1)  # Linux reports ru_maxrss in KiB


def _current_rss_mb() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return _rss_mb(int(line.split()[1]))
    return None


def sync_child_measure(base_url: str, invoices: int) -> dict[str, Any]:
    """Loop, sync, loop against the sandbox at `base_url` (run inside the child process)."""
    config = SandboxConfig()
    connection = Connection.objects.create(
        provider="acronis",
        name="Bench sync",
        config={"base_url": base_url, "currency": "EUR"},
        credentials={
            "client_id": config.acronis_client_id,
            "client_secret": config.acronis_client_secret,
        },
        sync_interval_minutes=0,
    )
    first = fetch_loop(base_url)
    rss_before = _current_rss_mb()
    run_start_mark = written_mark()
    start = time.perf_counter()
    run = connection_sync(connection=connection, trigger="bench")
    seconds = time.perf_counter() - start
    peak = _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    second = fetch_loop(base_url)
    loop_seconds = (first["seconds"] + second["seconds"]) / 2
    if run.state != SyncState.SUCCEEDED:
        raise RuntimeError(f"the benchmark sync failed: {run.error}")
    resync = resync_measure(connection, written_first=written_after(run_start_mark))
    return {
        "invoices": invoices,
        "synced": run.created,
        "pages": run.pages_done,
        "sync_seconds": round(seconds, 3),
        "invoices_per_second": round(run.created / seconds, 1) if seconds else None,
        "loop_seconds": round(loop_seconds, 3),
        "loop_seconds_samples": [round(first["seconds"], 3), round(second["seconds"], 3)],
        "loop_invoices": first["invoices"],
        "loop_invoices_per_second": round(first["invoices"] / loop_seconds, 1),
        "ratio_sync_loop": round(seconds / loop_seconds, 2) if loop_seconds else None,
        "rss_before_sync_mb": rss_before,
        "peak_rss_mb": peak,
        **resync,
    }


def written_mark() -> int:
    """How much the database has written so far: bytes of WAL on PostgreSQL, rows
    inserted, updated or deleted by this connection on SQLite (its `total_changes`)."""
    connection = db.connection
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
            return int(cursor.fetchone()[0])
    return connection.connection.total_changes


def written_after(mark: int) -> int:
    return written_mark() - mark


def resync_measure(connection: Connection, *, written_first: int) -> dict[str, Any]:
    """Sync the same unchanged data again: how long, and how much it wrote against what
    the first sync wrote (WAL bytes on PostgreSQL, rows changed on SQLite)."""
    mark = written_mark()
    start = time.perf_counter()
    run = connection_sync(connection=connection, trigger="bench")
    seconds = time.perf_counter() - start
    written = written_after(mark)
    if run.state != SyncState.SUCCEEDED:
        raise RuntimeError(f"the benchmark re-sync failed: {run.error}")
    return {
        "resync_seconds": round(seconds, 3),
        "resync_unchanged": run.unchanged,
        "resync_rows_written": run.created + run.updated,
        "resync_written": written,
        "first_written": written_first,
        "written_unit": "WAL bytes" if db.connection.vendor == "postgresql" else "rows changed",
        "resync_write_ratio": round(written / written_first, 5) if written_first else None,
    }


def _child(url: str, invoices: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        out = Path(tmp) / "sync.json"
        log = Path(tmp) / "child.log"
        with log.open("wb") as stream:
            returncode = subprocess.call(  # noqa: S603 - our own interpreter and command
                _manage(
                    "bench",
                    "--sync-child",
                    "--invoices",
                    str(invoices),
                    "--sandbox-url",
                    url,
                    "--json",
                    str(out),
                ),
                cwd=settings.BASE_DIR,
                env=_env(),
                stdout=stream,
                stderr=subprocess.STDOUT,
            )
        if returncode != 0 or not out.exists():
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the sync benchmark child failed ({returncode}):\n{tail}")
        return json.loads(out.read_text())


def sync_run(
    sizes: list[int], *, log: Callable[[str], None], runs: int = SYNC_RUNS
) -> dict[str, Any]:
    """Every size in `runs` child processes of its own against one sandbox; each size
    reports its median run; RSS smallest vs largest."""
    results = []
    for size in sizes:
        log(f"sync of {size:,} invoices from the sandbox ({runs} fresh processes) ...")
        with sandbox_process(size) as url:
            results.append(_median_run([_child(url, size) for _ in range(runs)]))
    ordered = sorted(results, key=lambda r: r["invoices"])
    rss_ratio = None
    if len(ordered) > 1 and ordered[0]["peak_rss_mb"]:
        rss_ratio = round(ordered[-1]["peak_rss_mb"] / ordered[0]["peak_rss_mb"], 2)
    return {
        "sizes": results,
        "rss_ratio": rss_ratio,
        "rss_ratio_sizes": [ordered[0]["invoices"], ordered[-1]["invoices"]] if ordered else [],
    }


def _median_run(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median sync/loop ratio (its times and ratio belong together),
    with every run's ratio beside it and the highest peak RSS of them all."""
    ordered = sorted(samples, key=lambda sample: sample["ratio_sync_loop"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["runs"] = len(samples)
    median["ratio_sync_loop_runs"] = [sample["ratio_sync_loop"] for sample in samples]
    median["peak_rss_mb"] = max(sample["peak_rss_mb"] for sample in samples)
    return median
