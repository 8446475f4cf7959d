"""What operators see: /healthz and /readyz, the request id on responses and log lines,
JSON logs in production, compressed pages, and gunicorn serving the app."""

from __future__ import annotations

import gzip
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from billingportal.observability import current_request_id

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 30 + "-a-long-random-production-key-" + "y" * 20,
    "CREDENTIALS_KEYS": "hGn5hV9oMCc0QX0lHmP8Vn1ZCwJvXrHk9G8yYQ6m3lE=",
    "SECURE_SSL_REDIRECT": "0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environment.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], env=environment, capture_output=True, text=True,
        timeout=60, check=False, cwd=ROOT,
    )  # fmt: skip


READYZ = (
    "from django.test import Client; r = Client(HTTP_HOST='localhost').get('/readyz');"
    "print(r.status_code); print(r.content.decode())"
)


@pytest.mark.django_db
def test_healthz_answers_without_a_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_with_every_check_named(client):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "cache", "migrations", "task_queue"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["task_queue"]["oldest_queued_sync_seconds"] == 0


def test_readyz_is_unready_when_the_cache_cannot_be_reached():
    result = manage("shell", "-c", READYZ, DEBUG="1", REDIS_URL="redis://127.0.0.1:1/0")

    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503", result.stderr
    checks = json.loads(body)["checks"]
    assert checks["cache"] == {"ok": False} and checks["database"]["ok"] is True
    assert "127.0.0.1:1" not in body  # nothing about where things are


def test_readyz_is_unready_when_the_database_cannot_be_reached():
    result = manage(
        "shell", "-c", READYZ, DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
    )  # fmt: skip

    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503", result.stderr
    assert json.loads(body)["checks"]["database"] == {"ok": False}


@pytest.mark.django_db
def test_every_response_names_its_request_and_log_lines_carry_it(client, caplog):
    mine = client.get("/healthz", HTTP_X_REQUEST_ID="proxy-given-id-123")
    fresh = client.get("/healthz")
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert mine["X-Request-ID"] == "proxy-given-id-123"
    assert len(fresh["X-Request-ID"]) == 32
    assert hostile["X-Request-ID"] != "bad id\nwith newline"
    assert current_request_id() == "-"  # outside a request

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        lost = client.get("/no-such-page", HTTP_X_REQUEST_ID="proxy-given-id-404")
    assert lost.status_code == 404
    (logged,) = [r for r in caplog.records if r.name == "django.request"]
    # Django logs a 404 after the middleware returned: the line still names the request.
    assert logged.request_id == "proxy-given-id-404"

    from billingportal.observability import RequestIdFilter, request_id_set

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with request_id_set("task-of-request-42"):
        RequestIdFilter().filter(record)
    assert record.request_id == "task-of-request-42"


def test_production_logs_one_json_object_per_line():
    code = "import logging; logging.getLogger('invoices.test').warning('sync of %s', 'Acme')"
    result = manage("shell", "-c", code, **PRODUCTION)

    lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines, result.stderr
    entry = json.loads(lines[-1])
    assert entry["message"] == "sync of Acme"
    assert entry["level"] == "WARNING" and entry["logger"] == "invoices.test"
    assert entry["request_id"] == "-" and "time" in entry


@pytest.mark.django_db
def test_pages_are_compressed_for_browsers_that_accept_it(client, django_user_model):
    user = django_user_model.objects.create_user("gz", password="gz-password-1")
    client.force_login(user)

    plain = client.get("/")
    packed = client.get("/", HTTP_ACCEPT_ENCODING="gzip")

    assert plain.status_code == packed.status_code == 200
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content).lower().startswith(b"<!doctype html>")
    assert len(packed.content) < len(plain.content) / 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_app_with_the_repositorys_config(tmp_path):
    port = _free_port()
    env = {**os.environ, "DEBUG": "1", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "billingportal.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200 and json.load(r) == {"status": "ok"}
                    assert r.headers["X-Request-ID"]
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 0, output  # stopped cleanly on SIGTERM
    assert '"GET /healthz HTTP/1.1" 200' in output  # the access log


def test_gunicorn_keeps_its_workers_and_drops_no_request_under_sustained_load():
    # gthread workers replaced after `max_requests` reset the connections they had
    # accepted but not begun (gunicorn #3038): no worker is replaced by request count.
    import threading

    import requests

    port = _free_port()
    env = {**os.environ, "DEBUG": "1", "LOG_FORMAT": "plain"}
    env.pop("GUNICORN_MAX_REQUESTS", None)
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "billingportal.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/healthz"

    def workers() -> set[str]:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        return set(children.read_text().split())

    outcomes: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while len(workers()) < 2 or not _answers(url):
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.3)
        before = workers()

        def client() -> None:
            for _ in range(1250):  # 5,000 in all: past 2,200 a worker (the old limit)
                try:
                    answer = requests.get(url, headers={"Connection": "close"}, timeout=10)
                    outcomes.append(str(answer.status_code))
                except requests.RequestException as exc:
                    outcomes.append(type(exc).__name__)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = workers()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert after == before  # the same worker processes served all of it
    assert outcomes.count("200") == len(outcomes) == 5000


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.django_db
def test_a_sync_queued_by_a_request_runs_under_that_requests_id(
    monkeypatch, django_capture_on_commit_callbacks
):
    from billingportal.observability import request_id_set
    from invoices import tasks
    from invoices.models import Connection

    seen = []

    def execute(*, run):
        seen.append(current_request_id())
        return run

    monkeypatch.setattr(tasks, "sync_run_execute", execute)
    connection = Connection.objects.create(provider="acronis", name="traced")

    # The task is handed over after the commit, once the request's own context is gone
    # (as a worker would run it): only what the task was given can name the request.
    with django_capture_on_commit_callbacks(execute=True):  # noqa: SIM117
        with request_id_set("request-that-queued-it"):
            tasks.sync_enqueue(connection=connection)

    assert seen == ["request-that-queued-it"]  # the task ran (immediately, in tests) with it
    assert current_request_id() == "-"
