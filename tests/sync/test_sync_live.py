"""The sync engine against the real clients and the sandbox over real sockets."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from invoices.models import Connection, Invoice, SyncRun, SyncState
from invoices.sync import connection_sync
from invoices.sync import pull as pull_module
from invoices.tasks import SYNC_LOST_RETRIES, sync_enqueue, sync_schedule_due

from .fakes import ScriptedClient, invoice

pytestmark = pytest.mark.django_db


def sandbox_connection(sandbox, provider: str, name: str | None = None) -> Connection:
    config, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    return Connection.objects.create(
        provider=provider, name=name or provider, config=config, credentials=credentials
    )


@pytest.mark.parametrize("provider", ["acronis", "hostway", "masstack"])
def test_each_provider_syncs_into_the_mirror_and_a_rerun_is_unchanged(sandbox, provider):
    connection = sandbox_connection(sandbox, provider)

    first = connection_sync(connection=connection)
    second = connection_sync(connection=connection)

    assert first.state == SyncState.SUCCEEDED, first.error
    assert first.created > 50
    assert (second.created, second.updated, second.missing) == (0, 0, 0)
    assert second.unchanged == first.created
    assert Invoice.objects.filter(connection=connection).count() == first.created


def test_acronis_sync_records_batches_and_flags(sandbox):
    connection = sandbox_connection(sandbox, "acronis")

    connection_sync(connection=connection)

    invoices = Invoice.objects.filter(connection=connection)
    assert invoices.filter(batch__isnull=False).count() == invoices.count()
    assert invoices.filter(incasso=True).exists()
    assert invoices.filter(status="unpaid").exists()
    batch = connection.batches.exclude(size=None).first()
    assert batch.size == batch.invoices.count()


def test_a_provider_outage_mid_sync_loses_nothing_and_the_next_run_completes(sandbox, settings):
    settings.PROVIDER_MAX_RETRIES = 0
    connection = sandbox_connection(sandbox, "acronis")
    total = connection_sync(connection=connection).created
    # Two invoice pages go through, then the provider answers 503.
    page = "/api/advanced-automation/v1/InvoiceOverview"
    sandbox.app.faults.add("status", status=503, path=page, after=2)

    failed = connection_sync(connection=connection)

    assert failed.state == SyncState.FAILED
    assert "HTTP 503" in failed.error
    assert failed.pages_done == 2
    assert failed.unchanged == 2 * 100
    assert Invoice.objects.filter(connection=connection, missing=False).count() == total

    sandbox.app.faults.clear()
    resumed = connection_sync(connection=connection)
    assert resumed.state == SyncState.SUCCEEDED
    assert resumed.unchanged == total


def test_a_timeout_mid_sync_is_recorded_on_the_run(sandbox, settings):
    settings.PROVIDER_MAX_RETRIES = 0
    settings.PROVIDER_READ_TIMEOUT = 0.2
    connection = sandbox_connection(sandbox, "hostway")
    sandbox.app.faults.add("latency", delay=0.6, path="/accounts/")

    run = connection_sync(connection=connection)

    assert run.state == SyncState.FAILED
    assert "timed out" in run.error


def test_a_bad_payload_mid_sync_is_recorded_on_the_run(sandbox):
    connection = sandbox_connection(sandbox, "masstack")
    sandbox.app.faults.add("malformed", path="/v2/")

    run = connection_sync(connection=connection)

    assert run.state == SyncState.FAILED
    assert "JSON" in run.error


def test_enqueued_syncs_run_on_the_task_queue(sandbox, django_capture_on_commit_callbacks):
    connection = sandbox_connection(sandbox, "hostway")

    with django_capture_on_commit_callbacks(execute=True):
        run = sync_enqueue(connection=connection, trigger="manual")

    run.refresh_from_db()
    assert run.state == SyncState.SUCCEEDED
    assert Invoice.objects.filter(connection=connection).exists()


def test_the_schedule_queues_due_connections_only_once(django_capture_on_commit_callbacks):
    due = Connection.objects.create(provider="acronis", name="due", sync_interval_minutes=60)
    fresh = Connection.objects.create(provider="acronis", name="fresh", sync_interval_minutes=60)
    never = Connection.objects.create(provider="acronis", name="off", sync_interval_minutes=0)
    SyncRun.objects.create(connection=fresh, state=SyncState.SUCCEEDED)
    old = SyncRun.objects.create(connection=due, state=SyncState.SUCCEEDED)
    SyncRun.objects.filter(pk=old.pk).update(queued_at=timezone.now() - dt.timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=False):  # no worker: runs stay queued
        first = sync_schedule_due()
        second = sync_schedule_due()  # the queued run blocks a second one

    assert [run.connection for run in first] == [due]
    assert second == []
    assert not SyncRun.objects.filter(connection=never).exists()


def test_the_schedule_retries_a_run_whose_worker_died_at_once(
    settings, django_capture_on_commit_callbacks
):
    """A worker lost mid-sync: its run is reaped and a new one queued on the next tick,
    not an interval later; a connection whose runs keep dying goes back to its interval."""
    settings.SYNC_LEASE_SECONDS = 20
    now = timezone.now()
    dead = Connection.objects.create(provider="acronis", name="dead", sync_interval_minutes=60)
    SyncRun.objects.create(
        connection=dead, state=SyncState.RUNNING, heartbeat_at=now - dt.timedelta(seconds=30)
    )
    cursed = Connection.objects.create(provider="acronis", name="cursed", sync_interval_minutes=60)
    for _ in range(SYNC_LOST_RETRIES):
        SyncRun.objects.create(connection=cursed, state=SyncState.FAILED, error_kind="lost")
    alive = Connection.objects.create(provider="acronis", name="alive", sync_interval_minutes=60)
    SyncRun.objects.create(connection=alive, state=SyncState.RUNNING, heartbeat_at=now)

    with django_capture_on_commit_callbacks(execute=False):
        queued = sync_schedule_due()

    assert [run.connection for run in queued] == [dead]
    assert dead.sync_runs.order_by("pk").first().error_kind == "lost"
    assert queued[0].trigger == "retry"


def test_sync_memory_stays_bounded_as_the_data_grows(monkeypatch):
    """Peak Python memory of a sync must not grow with the number of invoices.

    The sync holds a constant number of pages (fetched ahead, waiting to be written);
    shrunk here so that the small run already fills them.
    """
    monkeypatch.setattr(pull_module, "FETCH_AHEAD", 1)
    monkeypatch.setattr(pull_module, "WRITE_INVOICES", 250)

    def peak(count: int) -> int:
        connection = Connection.objects.create(provider="acronis", name=f"m{count}")
        client = _LazyClient(count, page_size=250)
        tracemalloc.start()
        try:
            connection_sync(connection=connection, client=client)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1_000), peak(8_000)

    assert Invoice.objects.count() == 9_000
    assert large < small * 1.5, (small, large)


class _LazyClient(ScriptedClient):
    """Generates pages on demand, like a real client reading from the network."""

    def __init__(self, count: int, page_size: int) -> None:
        super().__init__([])
        self.count, self.page_size = count, page_size

    def iter_invoice_pages(self):
        from invoices.providers import InvoicePage

        pages = -(-self.count // self.page_size)
        for number in range(pages):
            start = number * self.page_size
            stop = min(start + self.page_size, self.count)
            yield InvoicePage(tuple(invoice(n) for n in range(start, stop)), number + 1, pages)


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_sync_one_connection_at_once(sandbox, tmp_path):
    """Two real processes race to sync one connection: one syncs, the other is refused.

    Runs against the configured database: on PostgreSQL the test database itself,
    on SQLite a database file both processes share.
    """
    env = {**os.environ, "DATABASE_URL": _shared_database_url(tmp_path)}
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        _manage(env, "migrate", "--noinput").check_returncode()
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    _manage(
        env, "add_connection", "hostway", "--name", "race", "--base-url", config["base_url"],
        "--username", credentials["username"], "--password", credentials["password"],
    ).check_returncode()  # fmt: skip
    # Slow pages keep the first sync running well past the second process's start-up.
    sandbox.app.faults.add("latency", delay=0.5, path="/accounts/")

    workers = [_start(env, "sync_invoices", "--connection", "race") for _ in range(2)]
    results = [(worker.wait(timeout=120), worker.stdout.read()) for worker in workers]

    codes = sorted(code for code, _ in results)
    output = "".join(text for _, text in results)
    assert codes[0] == 0, output
    assert codes[1] != 0, output
    assert "already" in output
    listing = _manage(env, "list_connections").stdout
    assert "succeeded" in listing
    expected = sum(sandbox.app.hostway.invoice_counts.values())
    assert f" {expected} " in listing, listing


@pytest.mark.django_db(transaction=True)
def test_a_killed_sync_is_taken_over_within_seconds(sandbox, tmp_path):
    """A sync process killed mid-way (no chance to clean up) blocks its connection only
    as long as its lease, not minutes; meanwhile the CLI says it skipped, and why."""
    env = {
        **os.environ,
        "DATABASE_URL": _shared_database_url(tmp_path),
        "SYNC_LEASE_SECONDS": "2",
    }
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        _manage(env, "migrate", "--noinput").check_returncode()
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    _manage(
        env, "add_connection", "hostway", "--name", "killed", "--base-url", config["base_url"],
        "--username", credentials["username"], "--password", credentials["password"],
    ).check_returncode()  # fmt: skip
    sandbox.app.faults.add("latency", delay=0.3, path="/accounts/")
    worker = _start(env, "sync_invoices", "--connection", "killed")
    deadline = time.monotonic() + 60
    while len(sandbox.app.calls("/accounts/")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the run is well under way
    worker.kill()
    worker.wait(timeout=30)
    killed = time.monotonic()
    sandbox.app.faults.clear()

    outputs = []
    while time.monotonic() - killed < 20:
        result = _manage(env, "sync_invoices", "--connection", "killed")
        outputs.append(result.stdout + result.stderr)
        if result.returncode == 0:
            break
        time.sleep(0.2)

    assert result.returncode == 0, outputs
    assert time.monotonic() - killed < 10
    skipped = [text for text in outputs[:-1] if "skipped" in text]
    said = re.compile(r"killed: skipped: already running \(run \d+, started \d{4}-\d\d-\d\d ")
    assert all(said.search(text) for text in skipped), skipped


def _shared_database_url(tmp_path: Path) -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{tmp_path / 'race.sqlite3'}"
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db.get('USER') or 'postgres'}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def _manage(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def _start(env, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", *args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_a_provider_asking_to_wait_shows_in_the_run_s_progress(sandbox):
    """A 429 with a long Retry-After would stall a sync silently: the run says so."""
    connection = sandbox_connection(sandbox, "hostway")
    sandbox.app.faults.add("status", status=429, retry_after=2, times=1, path="/accounts/")
    notes = []

    run = connection_sync(connection=connection, progress=lambda run: notes.append(run.note))

    assert run.state == SyncState.SUCCEEDED
    assert "Hostway: waiting 2 s before retry 1 of 3 (HTTP 429)" in notes
    assert run.note == ""  # over once pages come again
    assert SyncRun.objects.get(pk=run.pk).note == ""
