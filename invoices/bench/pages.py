"""The list scenarios and the CSV export, timed in one process against their peers.

Each scenario is requested through Django's test `Client` (the whole middleware,
session and auth stack, no network) by a logged-in finance user with access to both
connections, and compared with:

- the peer: the Django admin changelist of `Invoice` on the same data (superuser);
- the floor: the SELECTs the page ran, re-executed raw on the DB-API cursor and
  fetched, with no ORM and no rendering.

Requests alternate dashboard / admin / floors within every repetition, so drift
(caches, CPU frequency, the OS) hits all sides alike. Query counts come from one
untimed request per side, so recording them costs the timed requests nothing.

The dashboard caches a filtered set's totals and count until a sync changes its
invoices (`selectors.invoice_summary_key`), so a repeated request (paging, sorting,
coming back) finds them cached. "dashboard cold" times the first request for a set
instead, with the cache emptied before each (untimed); its query count is the one
reported, the larger of the two.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory, override_settings

from ..models import Invoice
from .data import BenchData

PAGE_SIZE = 25
LARGE_PAGE_SIZE = 100
ADMIN_URL = "/admin/invoices/invoice/"
WARMUP = 2
EXPORT_REPS = 5  # an export of 100k rows takes seconds: fewer repetitions suffice
EXTENDED_REPS = 10  # the extended scenarios (30 of them): a median of 10 each


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    dashboard: str
    # The same request at 100 rows per page (query counts must not depend on it).
    dashboard_large: str | None
    admin: str | None
    admin_note: str = ""
    export: bool = False
    # Beyond the issue-12 scenarios (issue 16): every sortable column both ways, a
    # middle page, each quick view. Timed warm and cold against floors in ms, without
    # the admin (most of these it cannot do, or does by sorting the whole table).
    extended: bool = False


def _url(path: str, **params: Any) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def admin_columns(user: Any) -> list[str]:
    """The changelist's columns as its `o=` indexes count them (the action checkbox first)."""
    model_admin = admin.site.get_model_admin(Invoice)
    request = RequestFactory().get(ADMIN_URL)
    request.user = user
    columns = list(model_admin.get_list_display(request))
    if model_admin.get_actions(request):
        columns = ["action_checkbox", *columns]
    return columns


def scenarios_for(data: BenchData) -> list[Scenario]:
    """The issue's scenarios with their dashboard URLs (the views' contract) and admin peers."""
    columns = admin_columns(data.admin_user)
    last = max(1, math.ceil(data.invoices / PAGE_SIZE))
    last_large = max(1, math.ceil(data.invoices / LARGE_PAGE_SIZE))
    big = LARGE_PAGE_SIZE
    q = data.search_term
    return [
        Scenario("default", "default list", "/", _url("/", per_page=big), ADMIN_URL),
        Scenario(
            "unpaid",
            "unpaid only",
            _url("/", status="unpaid"),
            _url("/", status="unpaid", per_page=big),
            _url(ADMIN_URL, status__exact="unpaid"),
        ),
        Scenario(
            "sort_total_desc",
            "sorted by amount desc",
            _url("/", sort="-total"),
            _url("/", sort="-total", per_page=big),
            _url(ADMIN_URL, o=f"-{columns.index('total')}"),
        ),
        Scenario(
            "group_batch",
            "grouped by batch",
            _url("/", group="batch"),
            _url("/", group="batch", per_page=big),
            _url(ADMIN_URL, o=str(columns.index("batch"))),
            admin_note="the admin cannot group: its changelist ordered by batch",
        ),
        Scenario(
            "search",
            "free-text search",
            _url("/", q=q),
            _url("/", q=q, per_page=big),
            _url(ADMIN_URL, q=q),
        ),
        Scenario(
            "last_page",
            "last page",
            _url("/", page=last),
            _url("/", page=last_large, per_page=big),
            _url(ADMIN_URL, p=last),
        ),
        Scenario(
            "aging",
            "receivables aging",
            "/aging/",
            None,  # not paged: nothing to compare at another page size
            _url(ADMIN_URL, status__exact="unpaid"),
            admin_note="the admin has no aging: compared with its changelist of unpaid invoices",
        ),
        *extended_scenarios(data),
        Scenario(
            "export",
            "CSV export, whole set",
            "/export.csv",
            None,
            None,
            admin_note="the admin has no export; compared with its floor only",
            export=True,
        ),
    ]


def sortable_columns() -> list[str]:
    """The list's sortable columns (the table's own declaration), in its order."""
    from ..tables import InvoiceTable

    return [
        name
        for name, column in InvoiceTable.base_columns.items()
        if column.orderable is not False and name != "select"  # None: the table's default
    ]


def extended_scenarios(data: BenchData) -> list[Scenario]:
    """Every sortable column both ways, a middle page, and each quick view not above."""
    from ..filters import QUICK_VIEWS

    def one(key: str, label: str, url: str) -> Scenario:
        return Scenario(key, label, url, None, None, extended=True)

    sorts = [
        one(f"sort_{prefix}{name}", f"sort {'desc' if prefix else 'asc'} {name}",
            _url("/", sort=f"{prefix}{name}"))
        for name in sortable_columns()
        for prefix in ("", "-")
    ]  # fmt: skip
    middle = max(1, math.ceil(data.invoices / PAGE_SIZE) // 2)
    views = [
        one(f"view_{name}", f"quick view {name}", _url("/", **params))
        for name, _label, params in QUICK_VIEWS
        if name not in ("all", "unpaid")  # the default list and "unpaid only" above
    ]
    return [*sorts, one("middle_page", "a middle page", _url("/", page=middle)), *views]


# -- measuring ---------------------------------------------------------------------


def _host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return host
    return "localhost"


def logged_in_client(user: Any) -> Client:
    # secure=True on every request: production settings redirect plain HTTP.
    client = Client(HTTP_HOST=_host(), raise_request_exception=False)
    client.force_login(user)
    return client


@dataclass
class Fetched:
    status: int
    content_bytes: int
    rows: int


def fetch(client: Client, url: str) -> Fetched:
    """One GET, its body consumed in full (a streaming response chunk by chunk)."""
    response = client.get(url, secure=True)
    size = lines = 0
    if response.streaming:
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        # (the test client closes the response at the end of the iteration; closing it
        # again would fire request_finished and drop the database connection)
    else:
        size = len(response.content)
        lines = response.content.count(b"\n")
    return Fetched(response.status_code, size, lines)


Statement = tuple[str, Any]  # (SQL with the driver's placeholders, parameters)


def _selects(statements: list[Statement]) -> list[Statement]:
    return [
        (sql, params)
        for sql, params in statements
        if sql.lstrip()[:6].upper() in ("SELECT", "WITH")
    ]


def captured(client: Client, url: str) -> tuple[Fetched, list[Statement]]:
    """One untimed request: its outcome and every statement it sent, with parameters.

    An execute wrapper sees the statements exactly as the driver gets them, including
    those on server-side cursors (`QuerySet.iterator()` on PostgreSQL), whose text
    `CaptureQueriesContext` cannot always reconstruct.
    """
    statements: list[Statement] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = fetch(client, url)
    return result, statements


def run_floor(statements: list[Statement]) -> None:
    """Execute and fetch `statements` on a bare DB-API cursor: no ORM, no rendering."""
    connection.ensure_connection()
    # The backend's own cursor class (on SQLite it only maps %s to ?), unwrapped.
    cursor = connection.create_cursor()
    try:
        for sql, params in statements:
            cursor.execute(sql, params)
            while cursor.fetchmany(2000):
                pass
    finally:
        cursor.close()


def _nothing() -> None:
    pass


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "min_ms": round(ordered[0], 2),
        "samples": len(ordered),
    }


def _rss_reset() -> int | None:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux); current RSS in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _proc_status("VmRSS")
    except OSError:
        return None


def _proc_status(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value / 1024 / 1024, 1)


def export_memory(client: Client, url: str) -> dict[str, Any]:
    """Peak memory growth while the whole export streams: Python heap and process RSS."""
    gc.collect()
    rss_before = _rss_reset()
    tracemalloc.start()
    try:
        fetch(client, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    hwm = _proc_status("VmHWM") if rss_before is not None else None
    return {
        "tracemalloc_peak_mb": _mb(peak),
        "rss_growth_mb": _mb(hwm - rss_before) if hwm is not None else None,
    }


# -- one scenario ------------------------------------------------------------------


def _side(client: Client, url: str) -> tuple[dict[str, Any], list[Statement]]:
    result, statements = captured(client, url)
    side: dict[str, Any] = {
        "url": url,
        "http_status": result.status,
        "available": result.status == 200,
        "queries": len(statements),
        "bytes": result.content_bytes,
        "lines": result.rows,
    }
    return side, _selects(statements)


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or "median_ms" not in a or "median_ms" not in b or not b["median_ms"]:
        return None
    return round(a["median_ms"] / b["median_ms"], 2)


def scenario_run(
    scenario: Scenario, *, dashboard: Client, admin_client: Client, reps: int
) -> dict[str, Any]:
    """Measure one scenario; a dashboard that answers non-200 is reported, not timed."""
    cache.clear()
    dash, dash_sql = _side(dashboard, scenario.dashboard)
    result: dict[str, Any] = {
        "key": scenario.key,
        "label": scenario.label,
        "kind": "export" if scenario.export else "extended" if scenario.extended else "list",
        "dashboard": dash,
        "dashboard_cold": None,
        "admin": None,
        "dashboard_floor": None,
        "admin_floor": None,
        "admin_note": scenario.admin_note,
    }
    if dash["available"] and scenario.dashboard_large:
        cache.clear()
        large, _ = _side(dashboard, scenario.dashboard_large)
        dash["queries_at_page_size_100"] = large["queries"] if large["available"] else None
        dash["queries_constant_in_page_size"] = (
            large["queries"] == dash["queries"] if large["available"] else None
        )
    if dash["available"] and scenario.export:
        dash["rows"] = max(0, dash["lines"] - 1)  # less the header

    # name -> (untimed preparation, timed action, samples): the sides timed in each
    # repetition, in rotating order
    timed: dict[str, tuple[Callable[[], Any], Callable[[], Any], list[float]]] = {}
    if dash["available"]:
        timed["dashboard"] = (_nothing, lambda: fetch(dashboard, scenario.dashboard), [])
        if not scenario.export:
            timed["dashboard_cold"] = (
                cache.clear,
                lambda: fetch(dashboard, scenario.dashboard),
                [],
            )
            result["dashboard_cold"] = {}
        timed["dashboard_floor"] = (_nothing, lambda: run_floor(dash_sql), [])
        result["dashboard_floor"] = {"queries": len(dash_sql)}
    if scenario.admin:
        peer, admin_sql = _side(admin_client, scenario.admin)
        result["admin"] = peer
        if peer["available"]:
            timed["admin"] = (_nothing, lambda: fetch(admin_client, scenario.admin), [])
            timed["admin_floor"] = (_nothing, lambda: run_floor(admin_sql), [])
            result["admin_floor"] = {"queries": len(admin_sql)}

    if scenario.export:
        reps = max(1, min(reps, EXPORT_REPS))
    if scenario.extended:
        reps = max(1, min(reps, EXTENDED_REPS))
    names = list(timed)
    for _ in range(WARMUP if not scenario.export else 1):
        for name in names:
            prepare, action, _ = timed[name]
            prepare()
            action()
    gc.collect()
    for rep in range(reps):
        shift = rep % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            prepare, action, samples = timed[name]
            prepare()
            samples.append(_timed(action))
    for name, (_, _, samples) in timed.items():
        result[name].update(summary(samples))

    if scenario.export and dash["available"]:
        dash.update(export_memory(dashboard, scenario.dashboard))
    result["ratio_admin"] = _ratio(result["dashboard"], result["admin"])
    result["cold_ratio_admin"] = _ratio(result["dashboard_cold"], result["admin"])
    result["ratio_floor"] = _ratio(result["dashboard"], result["dashboard_floor"])
    result["admin_ratio_floor"] = _ratio(result["admin"], result["admin_floor"])
    return result


def pages_run(data: BenchData, *, reps: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every scenario at the current data size, each request rendered: no page is
    answered from the page cache (invoices/page_cache.py), whose repeated requests the
    throughput scenario times instead."""
    with override_settings(PAGE_CACHE_SECONDS=0):
        return _pages_run(data, reps=reps, log=log)


def _pages_run(data: BenchData, *, reps: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    dashboard = logged_in_client(data.finance_user)
    admin_client = logged_in_client(data.admin_user)
    results = []
    for scenario in scenarios_for(data):
        log(f"  {scenario.label} ...")
        results.append(
            scenario_run(scenario, dashboard=dashboard, admin_client=admin_client, reps=reps)
        )
    return results
