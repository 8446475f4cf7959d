"""The production-shaped stack survives losing a machine (README, "Several machines").

The stack of `make prod` (the Procfile: two gunicorn web instances, two task workers,
the scheduler) on this machine's PostgreSQL, with its own Redis server and its own
database, set up by `bin/prod --setup`; a sandbox Acronis of a few thousand invoices
with slow pages. A second process (tests/failover/load.py) asks for list pages all the
while. Then, one after the other:

1. one web instance is killed (SIGKILL to its master and workers, as when its machine
   goes): requests keep being answered by the other; only requests the killed instance
   had in hand may fail;
2. the task worker running a sync is killed half way: the scheduler takes the run over
   within seconds, another worker completes it, and the mirror equals the sandbox
   (0 lost, 0 duplicated, every amount and status the same);
3. Redis is stopped and started again: every page keeps working (cache misses).

The processes are started here from the Procfile's own lines rather than by honcho,
which ends the whole stack as soon as one process ends (Foreman's rule): losing one
process is what this test is about. It prints its figures (`-s` shows them; CI's log
keeps them).

Marker `failover`; runs on PostgreSQL only (`make test-postgres`, so in `.ci/run`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from invoices.sandbox import SandboxApp, SandboxConfig, SandboxServer
from invoices.sandbox.acronis import API as ACRONIS_API

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "billingportal_failover"
INVOICES = 3_000  # 30 pages of 100
PAGE_LATENCY = 0.3  # seconds per invoice page: a sync of about 10 s
LEASE = 4  # SYNC_LEASE_SECONDS: a lost run is reaped this long after its last renewal
CONCURRENCY = 2  # load threads
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

_test_database = os.environ.get("DATABASE_URL", "")
pytestmark = [
    pytest.mark.failover,
    pytest.mark.skipif(
        not _test_database.startswith("postgres"),
        reason="the failover test runs the stack on PostgreSQL (make test-postgres)",
    ),
    pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="needs redis-server"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_url(name: str) -> str:
    url = urllib.parse.urlsplit(_test_database)
    return url._replace(path=f"/{name}").geturl()


def _sql(query: str, *params: object, database: str = DATABASE) -> list[tuple]:
    import psycopg

    with psycopg.connect(_server_url(database), autocommit=True) as db:
        cursor = db.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait(what: str, check, timeout: float = 60, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    web_urls: list[str]
    redis_port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    redis: subprocess.Popen | None = None

    def start(self, name: str, command: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        self.processes[name] = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {command}"], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL to the process and its children (its own process group): no chance
        to finish anything, as when its machine is lost."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(  # noqa: S603
            [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        _wait("redis", lambda: socket.create_connection(("127.0.0.1", self.redis_port), 1))

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.terminate()
        self.redis.wait(timeout=30)

    def manage(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env={**self.env, **extra},
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per sandbox request
    server = SandboxServer(SandboxApp(SandboxConfig(acronis_invoices=INVOICES))).start()
    yield server
    server.stop()


@pytest.fixture
def stack(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Stack]:
    ports = [_free_port(), _free_port()]
    redis_port = _free_port()
    env_file = tmp_path / ".env.failover"
    env_file.write_text(
        "\n".join([
            "DEBUG=0",
            "SECRET_KEY=failover-" + "k" * 50,
            "CREDENTIALS_KEYS=hGn5hV9oMCc0QX0lHmP8Vn1ZCwJvXrHk9G8yYQ6m3lE=",
            f"DATABASE_URL={_server_url(DATABASE)}",
            f"REDIS_URL=redis://127.0.0.1:{redis_port}/0",
            "ALLOWED_HOSTS=localhost,127.0.0.1",
            "SECURE_SSL_REDIRECT=0",
            "SECURE_HSTS_SECONDS=0",
            "LOG_FORMAT=json",
            f"WEB1_PORT={ports[0]}",
            f"WEB2_PORT={ports[1]}",
            f"STATIC_ROOT={tmp_path / 'static'}",
            f"SYNC_LEASE_SECONDS={LEASE}",
            "SYNC_SCHEDULE_SECONDS=1",
            "WEB_CONCURRENCY=2",
            "GUNICORN_THREADS=4",
        ]) + "\n"
    )  # fmt: skip
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "SECRET_", "DEBUG", "PYTEST"))
    }
    env.update(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(env=env, logs=logs, web_urls=[f"http://127.0.0.1:{p}" for p in ports],
                  redis_port=redis_port)  # fmt: skip
    _sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", database="postgres")
    stack.start_redis()
    try:
        subprocess.run(  # noqa: S603
            [str(ROOT / "bin" / "prod"), "--setup"], cwd=ROOT, check=True, timeout=300,
            env={**env, "ENV_FILE": str(env_file)}, capture_output=True,
        )  # fmt: skip
        procfile = parse_procfile((ROOT / "Procfile").read_text())
        for name, command in procfile.processes.items():
            stack.start(name, command)
        for url in stack.web_urls:
            _wait(f"{url}/readyz", lambda url=url: _get(f"{url}/readyz")[0] == 200)
        yield stack
    finally:
        for process in stack.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in stack.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if stack.redis is not None and stack.redis.poll() is None:
            stack.stop_redis()
        _sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", database="postgres")


def _phase(lines: list[dict], start: float, end: float) -> Counter:
    """Outcomes of the requests that ended between `start` and `end`."""
    counts: Counter = Counter()
    for line in lines:
        if start <= line["t"] + line["ms"] / 1000 < end:
            counts[line["outcome"]] += 1
            counts["rerouted"] += line["rerouted"]
    return counts


def test_the_stack_survives_losing_a_web_instance_a_worker_and_redis(stack, sandbox, tmp_path):
    report: dict[str, object] = {}
    password = "failover-ops-password-1"
    stack.manage(
        "createsuperuser", "--no-input", "--username", "ops", "--email", "ops@example.com",
        DJANGO_SUPERUSER_PASSWORD=password,
    )  # fmt: skip
    load_file = tmp_path / "load.jsonl"
    load = subprocess.Popen(  # noqa: S603
        [str(BIN / "python"), str(Path(__file__).with_name("load.py")),
         *(arg for url in stack.web_urls for arg in ("--url", url)),
         "--username", "ops", "--password", password, "--out", str(load_file),
         "--concurrency", str(CONCURRENCY)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def lines() -> list[dict]:
        if not load_file.exists():
            return []
        return [json.loads(text) for text in load_file.read_text().splitlines() if text]

    try:
        _wait("the load", lambda: len(lines()) >= 20)
        marks = {"steady": time.time()}
        time.sleep(3)

        # 1. A web instance is lost.
        marks["web1 killed"] = time.time()
        stack.kill("web1")
        time.sleep(5)
        marks["web1 gone"] = time.time()

        # 2. The worker running a sync is lost half way.
        sandbox.app.faults.add("latency", delay=PAGE_LATENCY, path=f"{ACRONIS_API}/InvoiceOverview")
        config, credentials = sandbox.app.acronis.connection(sandbox.url)
        stack.manage(
            "add_connection", "acronis", "--name", "failover", "--base-url", config["base_url"],
            "--client-id", credentials["client_id"], "--no-check",
            ACRONIS_CLIENT_SECRET=credentials["client_secret"],
        )  # fmt: skip
        # The scheduler queues the new connection; a worker takes the run.
        first_run = _wait(
            "a running sync with a third of its pages read",
            lambda: _sql(
                "SELECT id FROM invoices_syncrun WHERE state = 'running' AND pages_done >= %s",
                INVOICES // 100 // 3,
            ),
        )[0][0]
        runner = next(
            name for name in ("worker1", "worker2") if "/InvoiceOverview" in stack.log(name)
        )
        marks["worker killed"] = time.time()
        killed = time.monotonic()
        stack.kill(runner)
        second_run = _wait(
            "another run of the connection",
            lambda: _sql(
                "SELECT id FROM invoices_syncrun WHERE id > %s AND state = 'running'", first_run
            ),
            timeout=60,
            every=0.1,
        )[0][0]
        taken_over = time.monotonic() - killed
        finished = _wait(
            "the second run's end",
            lambda: _sql(
                "SELECT state FROM invoices_syncrun WHERE id = %s AND state IN "
                "('succeeded', 'failed')",
                second_run,
            ),
            timeout=120,
        )[0][0]
        completed = time.monotonic() - killed
        sandbox.app.faults.clear()
        marks["sync done"] = time.time()
        first = _sql("SELECT state, error_kind FROM invoices_syncrun WHERE id = %s", first_run)
        survivor = "worker2" if runner == "worker1" else "worker1"
        mirror = _sql(
            "SELECT provider_id, total, status FROM invoices_invoice WHERE NOT missing "
            "AND connection_id = (SELECT id FROM invoices_connection WHERE name = 'failover')"
        )
        expected = {
            wire["Id"]: (Decimal(wire["Total"]), "paid" if wire["PaymentStatus"] else "unpaid")
            for wire in map(sandbox.app.acronis.invoice, range(INVOICES))
        }
        ids = [row[0] for row in mirror]
        report["sync"] = {
            "killed": runner,
            "taken over after s": round(taken_over, 1),
            "completed after s": round(completed, 1),
            "first run": first[0],
            "second run": finished,
            "second run's worker": survivor,
            "invoices at the sandbox": len(expected),
            "in the mirror": len(ids),
            "lost": len(set(expected) - set(ids)),
            "duplicated": len(ids) - len(set(ids)),
            "differing": sum(
                1 for pid, total, status in mirror if expected.get(pid) != (total, status)
            ),
        }

        # 3. Redis restarts.
        marks["redis stopped"] = time.time()
        stack.stop_redis()
        time.sleep(3)
        down_ready = _get(f"{stack.web_urls[1]}/readyz")[0]
        stack.start_redis()
        time.sleep(3)
        marks["redis back"] = time.time()
        back_ready = _get(f"{stack.web_urls[1]}/readyz")[0]
        time.sleep(1)
        marks["end"] = time.time()
    finally:
        load.send_signal(signal.SIGTERM)
        load_output = load.communicate(timeout=30)[0].decode()

    requests_made = lines()
    web_phase = _phase(requests_made, marks["web1 killed"], marks["web1 gone"])
    # Requests sent once web1 was surely gone (a second later): refused, then rerouted.
    after_web = Counter(
        line["outcome"]
        for line in requests_made
        if line["t"] > marks["web1 killed"] + 1 and line["t"] < marks["end"]
    )
    sync_phase = _phase(requests_made, marks["web1 gone"], marks["sync done"])
    redis_phase = _phase(requests_made, marks["redis stopped"], marks["redis back"])
    report["load"] = {
        "requests": len(requests_made),
        "before": dict(_phase(requests_made, marks["steady"], marks["web1 killed"])),
        "web1 killed (5 s)": dict(web_phase),
        "while a worker was lost": dict(sync_phase),
        "redis restart": dict(redis_phase),
        "readyz while redis was down / back": [down_ready, back_ready],
        "failures": [line for line in requests_made if line["outcome"] == "failed"][:10],
    }
    print("\nfailover figures:", json.dumps(report, indent=2))

    assert load.returncode == 0, load_output
    assert _phase(requests_made, marks["steady"], marks["web1 killed"])["failed"] == 0
    # Only requests web1 had in hand when it was killed may fail; then none.
    assert web_phase["failed"] <= CONCURRENCY, web_phase
    assert after_web["failed"] == 0, after_web
    assert web_phase["ok"] > 0 and web_phase["rerouted"] > 0
    # The lost worker's run was failed as lost and taken over within seconds.
    assert first == [("failed", "lost")]
    assert taken_over < LEASE + 10, taken_over
    assert finished == "succeeded"
    assert report["sync"]["lost"] == report["sync"]["duplicated"] == 0, report["sync"]
    assert report["sync"]["differing"] == 0 and len(ids) == INVOICES
    assert "/InvoiceOverview" in stack.log(survivor)
    # Redis stopped and back: pages kept working; readiness said so, then recovered.
    assert redis_phase["failed"] == 0 and redis_phase["ok"] > 0, redis_phase
    assert (down_ready, back_ready) == (503, 200)
    assert sync_phase["failed"] == 0
