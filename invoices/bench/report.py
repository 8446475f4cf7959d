"""The floors the issue sets, checked against a run's figures; the table and the JSON.

Timing floors apply at 100,000 invoices or more (list pages: on SQLite only); query
floors at every size. A dashboard scenario that is not available fails its floors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LARGE = 100_000
MAX_QUERIES = 12
MAX_RATIO_ADMIN = 1.0
MAX_P95_MS = 150.0
MAX_EXPORT_SECONDS = 10.0
MAX_EXPORT_MEMORY_MB = 100.0
# The sync against the plain fetch-and-decode loop: the median run, and every run.
MAX_SYNC_RATIO = 1.6
MAX_SYNC_RUN_RATIO = 2.0
MAX_RSS_RATIO = 1.5
# A re-sync of unchanged data writes at most this share of what the first sync wrote.
MAX_RESYNC_WRITE_RATIO = 0.01
# At a million invoices (issue 16): every sort and quick view, warm and cold; any page.
HUGE = 1_000_000
MAX_HUGE_WARM_MS = 150.0
MAX_HUGE_COLD_MS = 300.0
MAX_HUGE_PAGE_MS = 300.0
MAX_HUGE_COLD_TOTALS_MS = 150.0  # the first request of a filtered set
MAX_HUGE_COLD_RATIO = 0.5  # … against the admin's (warm) median
MAX_HUGE_EXPORT_SECONDS = 8.0
# Under load (gunicorn, PostgreSQL + Redis, 100k): the list's requests/s against the
# trivial view's and the admin changelist's at each concurrency, its p99 at the highest.
MIN_THROUGHPUT_TRIVIAL = 0.08
MIN_THROUGHPUT_ADMIN = 8.0
MAX_THROUGHPUT_P99_MS = 300.0


def _floor(
    floors: list[dict[str, Any]], scope: str, name: str, value: Any, limit: float, ok: bool | None
) -> None:
    floors.append({"scope": scope, "name": name, "value": value, "limit": limit, "met": ok})


def floors_evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every applicable floor of `results` with its value and whether it is met."""
    floors: list[dict[str, Any]] = []
    sqlite = results["database"]["vendor"] == "sqlite"
    queries_by_scenario: dict[str, set[int]] = {}
    for size in results["sizes"]:
        n = size["invoices"]
        for scenario in size["scenarios"]:
            scope = f"{n}/{scenario['key']}"
            dash = scenario["dashboard"]
            if not dash["available"]:
                _floor(floors, scope, "available", f"HTTP {dash['http_status']}", 200, False)
                continue
            if scenario["kind"] == "list":
                queries = dash["queries"]
                queries_by_scenario.setdefault(scenario["key"], set()).add(queries)
                _floor(floors, scope, "queries", queries, MAX_QUERIES, queries <= MAX_QUERIES)
                if "queries_constant_in_page_size" in dash:  # a paged scenario
                    same = dash["queries_constant_in_page_size"]
                    _floor(floors, scope, "queries same at 100 per page", same, 1, bool(same))
                if n >= LARGE and sqlite:
                    ratio = scenario["ratio_admin"]
                    ok = ratio is not None and ratio <= MAX_RATIO_ADMIN
                    _floor(floors, scope, "median / admin median", ratio, MAX_RATIO_ADMIN, ok)
                    p95 = dash["p95_ms"]
                    _floor(floors, scope, "p95 ms", p95, MAX_P95_MS, p95 <= MAX_P95_MS)
                if n >= HUGE:
                    # The first request of a filtered set: its totals, cold.
                    cold = (scenario.get("dashboard_cold") or {}).get("median_ms")
                    ok = cold is not None and cold <= MAX_HUGE_COLD_TOTALS_MS
                    _floor(floors, scope, "cold median ms", cold, MAX_HUGE_COLD_TOTALS_MS, ok)
                    ratio = scenario.get("cold_ratio_admin")
                    if ratio is not None:
                        ok = ratio <= MAX_HUGE_COLD_RATIO
                        _floor(floors, scope, "cold / admin", ratio, MAX_HUGE_COLD_RATIO, ok)
                    if scenario["key"] == "last_page":
                        warm = dash["median_ms"]
                        ok = warm <= MAX_HUGE_PAGE_MS
                        _floor(floors, scope, "median ms", warm, MAX_HUGE_PAGE_MS, ok)
            elif scenario["kind"] == "extended":
                queries = dash["queries"]
                queries_by_scenario.setdefault(scenario["key"], set()).add(queries)
                _floor(floors, scope, "queries", queries, MAX_QUERIES, queries <= MAX_QUERIES)
                if n >= HUGE:
                    page = scenario["key"] == "middle_page"
                    warm_limit = MAX_HUGE_PAGE_MS if page else MAX_HUGE_WARM_MS
                    warm = dash["median_ms"]
                    _floor(floors, scope, "median ms", warm, warm_limit, warm <= warm_limit)
                    cold = (scenario.get("dashboard_cold") or {}).get("median_ms")
                    ok = cold is not None and cold <= MAX_HUGE_COLD_MS
                    _floor(floors, scope, "cold median ms", cold, MAX_HUGE_COLD_MS, ok)
            elif n >= LARGE:
                seconds = round(dash["median_ms"] / 1000, 2)
                limit = MAX_HUGE_EXPORT_SECONDS if n >= HUGE else MAX_EXPORT_SECONDS
                _floor(floors, scope, "export seconds", seconds, limit, seconds <= limit)
                memory = max(
                    (dash.get(key) or 0.0) for key in ("tracemalloc_peak_mb", "rss_growth_mb")
                )
                ok = memory <= MAX_EXPORT_MEMORY_MB
                _floor(floors, scope, "export memory growth MB", memory, MAX_EXPORT_MEMORY_MB, ok)
    if len(results["sizes"]) > 1:
        for key, counts in queries_by_scenario.items():
            _floor(
                floors,
                f"all/{key}",
                "queries same at every size",
                sorted(counts),
                1,
                len(counts) == 1,
            )
    _throughput_floors(floors, results.get("throughput"))
    sync = results.get("sync")
    if sync:
        for size in sync["sizes"]:
            if size["invoices"] >= LARGE:
                ratio = size["ratio_sync_loop"]
                ok = ratio is not None and ratio <= MAX_SYNC_RATIO
                scope = f"sync/{size['invoices']}"
                _floor(floors, scope, "sync / fetch loop (median run)", ratio, MAX_SYNC_RATIO, ok)
                worst = max(size.get("ratio_sync_loop_runs") or [ratio or 0.0])
                ok = worst <= MAX_SYNC_RUN_RATIO
                _floor(floors, scope, "sync / fetch loop (each run)", worst, MAX_SYNC_RUN_RATIO, ok)
            share = size.get("resync_write_ratio")
            if share is not None:
                _floor(
                    floors,
                    f"sync/{size['invoices']}",
                    f"re-sync unchanged: {size['written_unit']} / first sync's",
                    share,
                    MAX_RESYNC_WRITE_RATIO,
                    share <= MAX_RESYNC_WRITE_RATIO,
                )
        small, large = (sync["rss_ratio_sizes"] + [0, 0])[:2]
        if sync["rss_ratio"] is not None and large >= LARGE:
            ratio = sync["rss_ratio"]
            _floor(
                floors,
                f"sync/{large}:{small}",
                "peak RSS ratio",
                ratio,
                MAX_RSS_RATIO,
                ratio <= MAX_RSS_RATIO,
            )
    return floors


# -- output ------------------------------------------------------------------------


def _ms(side: dict[str, Any] | None, key: str = "median_ms") -> str:
    if not side or key not in side:
        return "-"
    value = side[key]
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _throughput_floors(floors: list[dict[str, Any]], throughput: dict[str, Any] | None) -> None:
    if not throughput or "figures" not in throughput:
        return
    for clients, ratios in throughput["ratios"].items():
        scope = f"throughput/c={clients}"
        value = ratios["list_trivial"]
        ok = value is not None and value >= MIN_THROUGHPUT_TRIVIAL
        _floor(floors, scope, "list / trivial view req/s (at least)", value,
               MIN_THROUGHPUT_TRIVIAL, ok)  # fmt: skip
        value = ratios["list_admin"]
        ok = value is not None and value >= MIN_THROUGHPUT_ADMIN
        _floor(floors, scope, "list / admin req/s (at least)", value, MIN_THROUGHPUT_ADMIN, ok)
    highest = max(int(clients) for clients in throughput["ratios"])
    for figure in throughput["figures"]:
        scope = f"throughput/{figure['key']}/c={figure['concurrency']}"
        _floor(floors, scope, "failed requests", figure["failures"], 0, figure["failures"] == 0)
        if figure["key"] == "list" and figure["concurrency"] == highest:
            p99 = figure["p99_ms"]
            ok = p99 is not None and p99 <= MAX_THROUGHPUT_P99_MS
            _floor(floors, scope, "p99 ms", p99, MAX_THROUGHPUT_P99_MS, ok)


def _throughput_lines(throughput: dict[str, Any] | None) -> list[str]:
    if not throughput:
        return []
    if "figures" not in throughput:
        return ["", f"Throughput: skipped ({throughput['skipped']})"]
    lines = [
        "",
        f"Throughput: {throughput['invoices']:,} invoices, {throughput['server']}, "
        f"{throughput['rounds']} interleaved rounds of {throughput['seconds']:g} s per target",
    ]
    rows = [
        [f["label"], str(f["concurrency"]), _num(f["rps"]), _num(f["p50_ms"]), _num(f["p99_ms"]),
         f"{f['requests']:,}", str(f["failures"])]
        for f in sorted(throughput["figures"], key=lambda f: (f["concurrency"], f["key"]))
    ]  # fmt: skip
    lines += _table(["target", "c", "req/s", "p50 ms", "p99 ms", "requests", "failed"], rows)
    for clients, ratios in throughput["ratios"].items():
        lines.append(
            f"  c={clients}: list / trivial {_num(ratios['list_trivial'])}, "
            f"list / admin {_num(ratios['list_admin'])}"
        )
    return lines


def _pair(side: dict[str, Any] | None) -> str:
    if not side or "median_ms" not in side:
        return "-"
    return f"{_ms(side)} / {_ms(side, 'p95_ms')}"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value}"


def _mark(floors: list[dict[str, Any]], scope: str) -> str:
    mine = [f for f in floors if f["scope"] == scope]
    if not mine:
        return ""
    return "✓" if all(f["met"] for f in mine) else "✗"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(headers, widths, strict=True))
    out = [line, "-" * len(line)]
    for row in rows:
        out.append("  ".join(f"{c:<{w}}" for c, w in zip(row, widths, strict=True)))
    return out


def report_lines(results: dict[str, Any]) -> list[str]:
    """The human-readable table of a run."""
    floors = results["floors"]
    db = results["database"]
    lines = []
    headers = [
        "scenario",
        "dashboard med/p95 ms",
        "q",
        "admin med/p95 ms",
        "q",
        "dash/admin",
        "cold med ms",
        "cold/admin",
        "floor ms",
        "page/floor",
        "admin/floor",
        "floors",
    ]
    for size in results["sizes"]:
        n = size["invoices"]
        lines.append("")
        lines.append(
            f"Pages: {n:,} invoices on {db['vendor']} {db['version']}, "
            f"{results['reps']} repetitions (generated in {size['generate_seconds']:.1f} s)"
        )
        rows = []
        notes = []
        for s in size["scenarios"]:
            dash = s["dashboard"]
            queries = dash.get("queries") if dash["available"] else None
            if dash["available"] and dash.get("queries_constant_in_page_size") is False:
                queries = f"{queries}≠{dash.get('queries_at_page_size_100')}"
            dashboard = (
                _pair(dash) if dash["available"] else f"unavailable (HTTP {dash['http_status']})"
            )
            rows.append(
                [
                    s["label"],
                    dashboard,
                    _num(queries),
                    _pair(s["admin"]),
                    _num(s["admin"]["queries"] if s["admin"] else None),
                    _num(s["ratio_admin"]),
                    _ms(s.get("dashboard_cold")),
                    _num(s.get("cold_ratio_admin")),
                    _ms(s["dashboard_floor"]) if s["dashboard_floor"] else _ms(s["admin_floor"]),
                    _num(s["ratio_floor"]),
                    _num(s["admin_ratio_floor"]),
                    _mark(floors, f"{n}/{s['key']}"),
                ]
            )
            if s["admin_note"]:
                notes.append(f"  {s['label']}: {s['admin_note']}")
            if s["kind"] == "export" and dash["available"]:
                notes.append(
                    f"  export: {dash.get('rows', 0):,} rows, {dash['bytes'] / 1e6:.1f} MB in "
                    f"{dash['median_ms'] / 1000:.2f} s (median), peak memory growth "
                    f"{_num(dash.get('tracemalloc_peak_mb'))} MB Python heap, "
                    f"{_num(dash.get('rss_growth_mb'))} MB RSS"
                )
        lines += _table(headers, rows)
        lines.append(
            "  floor ms: the page's own SELECTs re-run raw (the admin's while the page is "
            "unavailable)"
        )
        lines.append(
            "  cold: the first request for a filtered set (cache emptied before each), whose "
            "totals and count are then cached until a sync changes its invoices; q counts it"
        )
        lines += notes
    sync = results.get("sync")
    if sync:
        lines.append("")
        lines.append("Sync from the sandbox Acronis API (no injected latency), fresh process each")
        rows = [
            [
                f"{s['invoices']:,}",
                f"{s['sync_seconds']:.2f}",
                f"{s['invoices_per_second']:,.0f}",
                f"{s['loop_seconds']:.2f}",
                f"{s['loop_invoices_per_second']:,.0f}",
                _num(s["ratio_sync_loop"]),
                f"{s['peak_rss_mb']:.0f}",
            ]
            for s in sync["sizes"]
        ]
        lines += _table(
            [
                "invoices",
                "sync s",
                "invoices/s",
                "loop s",
                "loop inv/s",
                "sync/loop",
                "peak RSS MB",
            ],
            rows,
        )
        for s in sync["sizes"]:
            runs = ", ".join(_num(ratio) for ratio in s.get("ratio_sync_loop_runs", []))
            if s.get("runs", 1) > 1:
                lines.append(
                    f"  {s['invoices']:,}: the median of {s['runs']} runs (sync/loop {runs}); "
                    "peak RSS the highest"
                )
        if sync["rss_ratio"] is not None:
            small, large = sync["rss_ratio_sizes"]
            lines.append(f"  peak RSS {large:,} / {small:,}: {sync['rss_ratio']}")
        for s in sync["sizes"]:
            if s.get("resync_write_ratio") is not None:
                lines.append(
                    f"  re-sync of the same {s['invoices']:,} unchanged: "
                    f"{s['resync_seconds']:.2f} s, {s['resync_rows_written']:,} invoices "
                    f"rewritten, {s['resync_written']:,} {s['written_unit']} vs "
                    f"{s['first_written']:,} the first time ({s['resync_write_ratio']:.3%})"
                )
    lines += _throughput_lines(results.get("throughput"))
    lines.append("")
    unmet = [f for f in floors if not f["met"]]
    if not floors:
        lines.append("Floors: none apply at these sizes.")
    elif unmet:
        lines.append(f"Floors: {len(floors) - len(unmet)}/{len(floors)} met; not met:")
        lines += [
            f"  ✗ {f['scope']}: {f['name']} = {f['value']} (limit {f['limit']})" for f in unmet
        ]
    else:
        lines.append(f"Floors: all {len(floors)} met ✓")
    return lines


def report_write(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
