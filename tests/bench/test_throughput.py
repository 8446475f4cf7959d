"""The throughput scenario's parts that need no server: the load generator against a
tiny local HTTP server, and the floors read from its figures. (The whole scenario runs
in `make bench` on PostgreSQL: gunicorn cannot see a test's transaction.)"""

from __future__ import annotations

import http.server
import threading

import pytest

from invoices.bench import load, report


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            ok = self.path == "/ok" and "sessionid=s1" in (self.headers.get("Cookie") or "")
            body = b"fine" if ok else b"no"
            self.send_response(200 if ok else 403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_the_load_counts_requests_and_failures_per_target_and_concurrency(server):
    figures = load.run(
        {
            "url": server,
            "targets": [
                {"key": "good", "path": "/ok", "session": "s1"},
                {"key": "refused", "path": "/ok"},  # no session: 403
            ],
            "concurrencies": [1, 3],
            "rounds": 2,
            "seconds": 0.2,
        }
    )

    by = {(f["key"], f["concurrency"]): f for f in figures}
    assert set(by) == {("good", 1), ("good", 3), ("refused", 1), ("refused", 3)}
    for (key, _clients), figure in by.items():
        assert figure["requests"] > 0 and figure["rps"] > 0
        assert figure["failures"] == (figure["requests"] if key == "refused" else 0)
        assert 0 < figure["p50_ms"] <= figure["p99_ms"]


def test_the_nearest_rank_percentile():
    samples = [float(n) for n in range(1, 101)]

    assert load.percentile(samples, 0.99) == 99.0
    assert load.percentile(samples, 0.5) == 50.0
    assert load.percentile([7.0], 0.99) == 7.0


def _throughput(list_rps: float, p99: float, failures: int = 0) -> dict:
    figures = [
        {"key": key, "concurrency": c, "rps": rps, "p50_ms": 1.0, "p99_ms": p99,
         "requests": 10, "failures": failures if key == "list" else 0, "label": key}
        for c in (8, 32)
        for key, rps in (("list", list_rps), ("trivial", 1000.0), ("admin", 10.0))
    ]  # fmt: skip
    ratios = {
        str(c): {"list_trivial": list_rps / 1000, "list_admin": list_rps / 10} for c in (8, 32)
    }
    return {"invoices": 100_000, "server": "gunicorn", "rounds": 2, "seconds": 4,
            "figures": figures, "ratios": ratios}  # fmt: skip


@pytest.mark.parametrize(
    ("list_rps", "p99", "failures", "unmet"),
    [
        (100.0, 250.0, 0, set()),
        (50.0, 250.0, 0, {"list / trivial view req/s (at least)", "list / admin req/s (at least)"}),
        (100.0, 301.0, 0, {"p99 ms"}),
        (100.0, 250.0, 1, {"failed requests"}),
    ],
)
def test_the_throughput_floors(list_rps, p99, failures, unmet):
    results = {"database": {"vendor": "postgresql"}, "sizes": [],
               "throughput": _throughput(list_rps, p99, failures)}  # fmt: skip

    floors = report.floors_evaluate(results)

    assert {f["name"] for f in floors if not f["met"]} == unmet
    assert any("Throughput" in line for line in report.report_lines({**results, "floors": floors,
               "reps": 1}))  # fmt: skip
