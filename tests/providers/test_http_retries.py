"""HttpClient's waits between retries: `Retry-After` (seconds or an HTTP date, capped)
and otherwise exponential backoff with full jitter.

No test sleeps: the client's `sleep` is replaced by a recorder of the waits.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from invoices.providers.errors import ProviderUnavailable
from invoices.providers.http import HttpClient

OK = (200, {}, {"ok": True})
Answer = tuple[int, dict[str, str], Any]


@dataclass
class ScriptedApp:
    """Answers requests in order from `script` (a callable builds an answer when asked);
    once it is used up, every request gets 200 `{"ok": true}`."""

    script: list[Answer | Callable[[], Answer]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.seen.append(request.path)
            answer = self.script.pop(0) if self.script else OK
        status, headers, body = answer() if callable(answer) else answer
        response = Response(json.dumps(body), status=status, headers=headers)
        response.mimetype = "application/json"
        return response(environ, start_response)


@pytest.fixture
def server() -> Iterator[tuple[ScriptedApp, str]]:
    app = ScriptedApp()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def full_jitter(monkeypatch) -> list[tuple[float, float]]:
    """`random.uniform` answers its upper bound (the longest wait it could pick);
    the bounds it was asked for are recorded."""
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return high

    monkeypatch.setattr("invoices.providers.http.random.uniform", uniform)
    return asked


def make_client(url: str, waits: list[float], **options: Any) -> HttpClient:
    options = {"max_retries": 3, "connect_timeout": 2.0, "read_timeout": 2.0, **options}
    return HttpClient(url, provider="test", sleep=waits.append, **options)


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def unavailable(headers: dict[str, str] | None = None, status: int = 503) -> Answer:
    return (status, headers or {}, {"error": "busy"})


# -- Retry-After ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_from_the_sandbox_is_waited(sandbox, waits, status):
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    sandbox.app.faults.add(kind="status", status=status, times=1, retry_after=2, path="/accounts")
    client = make_client(
        config["base_url"], waits, auth=(credentials["username"], credentials["password"])
    )

    response = client.request("GET", "accounts")

    assert response.status_code == 200
    assert waits == [2.0]
    assert len(sandbox.app.calls("/accounts")) == 2


def test_retry_after_in_seconds_is_capped(sandbox, waits):
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    sandbox.app.faults.add(kind="status", status=503, times=1, retry_after=3600, path="/accounts")
    client = make_client(
        config["base_url"],
        waits,
        auth=(credentials["username"], credentials["password"]),
        retry_after_cap=5.0,
    )

    client.request("GET", "accounts")

    assert waits == [5.0]


def test_retry_after_as_an_http_date_waits_until_that_time(server, waits, full_jitter):
    app, url = server
    # The date is built as the server answers; it has whole seconds only (3 s -> 2..3 s).
    app.script = [lambda: unavailable({"Retry-After": http_date(3)})]

    assert make_client(url, waits).get_json("x") == {"ok": True}

    (wait,) = waits
    assert 1.5 <= wait <= 3.5
    assert full_jitter == []  # no random backoff instead
    assert len(app.seen) == 2


def test_retry_after_as_an_http_date_is_capped(server, waits, full_jitter):
    app, url = server
    app.script = [lambda: unavailable({"Retry-After": http_date(3600)})]

    make_client(url, waits, retry_after_cap=7.0).get_json("x")

    assert waits == [7.0]


def test_retry_after_as_an_http_date_in_the_past_retries_at_once(server, waits, full_jitter):
    app, url = server
    app.script = [lambda: unavailable({"Retry-After": http_date(-3600)})]

    make_client(url, waits).get_json("x")

    assert waits == [0.0]


@pytest.mark.parametrize("header", ["soon", "Tuesday", ""])
def test_an_unreadable_retry_after_falls_back_to_backoff(server, waits, full_jitter, header):
    app, url = server
    app.script = [unavailable({"Retry-After": header})]

    make_client(url, waits).get_json("x")

    assert waits == [0.5]


# -- backoff --------------------------------------------------------------------------


def test_backoff_doubles_with_each_retry(server, waits, full_jitter):
    app, url = server
    app.script = [unavailable(), unavailable(), unavailable()]

    assert make_client(url, waits, max_retries=3).get_json("x") == {"ok": True}

    assert waits == [0.5, 1.0, 2.0]
    assert len(app.seen) == 4


def test_backoff_is_full_jitter_from_zero(server, waits, full_jitter):
    app, url = server
    app.script = [unavailable(), unavailable()]

    make_client(url, waits, max_retries=2).get_json("x")

    assert full_jitter == [(0, 0.5), (0, 1.0)]


def test_backoff_stops_growing_at_its_cap(server, waits, full_jitter):
    app, url = server
    app.script = [unavailable() for _ in range(6)]

    make_client(url, waits, max_retries=6, backoff_cap=3.0).get_json("x")

    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_backoff_grows_from_the_configured_base(server, waits, full_jitter):
    app, url = server
    app.script = [unavailable(), unavailable(), unavailable()]

    make_client(url, waits, backoff=0.25).get_json("x")

    assert waits == [0.25, 0.5, 1.0]


def test_giving_up_after_the_retries_is_provider_unavailable(server, waits, full_jitter):
    app, url = server
    app.script = [unavailable() for _ in range(4)]

    with pytest.raises(ProviderUnavailable, match="HTTP 503"):
        make_client(url, waits, max_retries=3).get_json("x")

    assert waits == [0.5, 1.0, 2.0]
    assert len(app.seen) == 4


def test_connection_errors_back_off_the_same_way(waits, full_jitter):
    client = make_client("http://127.0.0.1:9", waits, max_retries=3)  # refused at once

    with pytest.raises(ProviderUnavailable, match="connection failed"):
        client.get_json("x")

    assert waits == [0.5, 1.0, 2.0]
