"""`make bench` keeps working: the harness at a tiny size, structure only, never timings."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

# Marked so pytest-django creates the test database the module fixture runs in.
pytestmark = pytest.mark.django_db

SCENARIOS = [
    "default",
    "unpaid",
    "sort_total_desc",
    "group_batch",
    "search",
    "last_page",
    "aging",
    # issue 16: every sortable column both ways, a middle page, the other quick views
    *(
        f"sort_{prefix}{name}"
        for name in (
            "number",
            "customer_name",
            "connection",
            "batch",
            "issue_date",
            "scheduled_date",
            "payment_date",
            "exported_at",
            "total",
            "amount_due",
            "currency",
            "status",
        )
        for prefix in ("", "-")
    ),
    "middle_page",
    "view_overdue",
    "view_incasso",
    "view_errors",
    "view_paid",
    "export",
]


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.fixture(scope="module")
def results(django_db_setup, django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "latest.json"
    out = StringIO()
    with django_db_blocker.unblock():
        from django.db import transaction

        # One run for every test of this module, rolled back like any test's data.
        with transaction.atomic():
            call_command("bench", "--tiny", "--json", str(path), stdout=out, stderr=StringIO())
            transaction.set_rollback(True)
    return json.loads(path.read_text()), out.getvalue()


def test_every_scenario_is_reported_at_the_tiny_size(results):
    figures, _ = results

    (size,) = figures["sizes"]
    assert size["invoices"] == 200
    assert [s["key"] for s in size["scenarios"]] == SCENARIOS


def test_the_admin_peer_has_medians_and_query_counts(results):
    figures, _ = results

    for scenario in figures["sizes"][0]["scenarios"]:
        if scenario["kind"] in ("export", "extended"):
            assert scenario["admin"] is None  # no export; the extended are timed alone
            continue
        admin = scenario["admin"]
        assert admin["available"], scenario["key"]
        assert is_number(admin["median_ms"]) and is_number(admin["p95_ms"])
        assert admin["queries"] > 0
        assert is_number(scenario["admin_floor"]["median_ms"])


def test_dashboard_scenarios_are_timed_or_reported_unavailable(results):
    figures, _ = results

    for scenario in figures["sizes"][0]["scenarios"]:
        dash = scenario["dashboard"]
        if dash["available"]:
            assert is_number(dash["median_ms"]) and dash["queries"] > 0
            assert is_number(scenario["ratio_floor"])
        else:
            assert dash["http_status"] != 200
            assert any(
                f["scope"].endswith(scenario["key"]) and not f["met"] for f in figures["floors"]
            )


def test_the_sync_is_compared_with_the_fetch_loop_in_fresh_processes(results):
    figures, _ = results

    sync = figures["sync"]
    assert [s["invoices"] for s in sync["sizes"]] == [100, 500]
    for size in sync["sizes"]:
        assert size["synced"] == size["invoices"] == size["loop_invoices"]
        assert is_number(size["invoices_per_second"]) and is_number(size["ratio_sync_loop"])
        assert size["peak_rss_mb"] > 0
    assert is_number(sync["rss_ratio"])


def test_the_table_is_printed(results):
    _, printed = results

    assert "default list" in printed and "peak RSS" in printed and "Floors" in printed


def test_each_sync_size_reports_its_median_run_and_the_highest_peak_rss():
    from invoices.bench.sync import _median_run

    def run(ratio: float, seconds: float, rss: float) -> dict:
        return {"ratio_sync_loop": ratio, "sync_seconds": seconds, "peak_rss_mb": rss}

    median = _median_run([run(2.06, 12.6, 103), run(1.62, 11.0, 110), run(1.90, 9.1, 104)])

    assert (median["ratio_sync_loop"], median["sync_seconds"]) == (1.90, 9.1)
    assert median["ratio_sync_loop_runs"] == [2.06, 1.62, 1.90]
    assert (median["runs"], median["peak_rss_mb"]) == (3, 110)
