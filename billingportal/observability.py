"""What operators see: a request id on every log line, and the health endpoints.

- Every web request gets an id (the proxy's `X-Request-ID` if it is a sane token, else a
  new one), sent back in the response's `X-Request-ID`. A task queued while handling it
  carries it (`invoices.tasks`), so the task's log lines, and the provider calls it
  makes, name the request that caused them. `RequestIdFilter` puts it on every record
  as `request_id` ("-" outside any request or task).
- `/healthz`: liveness, the process answers. `/readyz`: readiness, the database, the
  cache and the task queue answer, no migration is unapplied, and how long the oldest
  queued sync has waited. JSON, no login, nothing secret (no host names, no versions),
  cheap enough to poll every second: a handful of indexed queries, and the migration
  check is remembered once it has passed.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.core.signals import request_finished
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str:
    return _request_id.get()


def _given_or_new(value: str | None) -> str:
    """`value` if it is a sane id (a proxy's, a queued task's), else a new one."""
    return value if value and _SANE_ID.match(value) else uuid.uuid4().hex


@contextmanager
def request_id_set(value: str | None) -> Iterator[str]:
    """Within the block, log lines carry `value` (a task running for a request)."""
    token = _request_id.set(_given_or_new(value))
    try:
        yield _request_id.get()
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """First in the chain: everything logged while answering carries the request's id,
    up to the end of the response (Django logs a 4xx/5xx after the middleware returns,
    and a streamed export logs while it is sent): `request_finished` clears it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        value = _given_or_new(request.headers.get("X-Request-ID"))
        _request_id.set(value)
        request.request_id = value  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = value
        return response


def _request_done(**kwargs: Any) -> None:
    _request_id.set("-")


request_finished.connect(_request_done, dispatch_uid="billingportal.request_id")


class RequestIdFilter(logging.Filter):
    """Named in LOGGING: made when logging is configured, it also has every record made
    with `request_id` from then on, whichever handler takes it (gunicorn's, a test's)."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        _install_record_factory()

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class CacheOutageFilter(logging.Filter):
    """On the cache's logger (django-redis, which ignores an outage and logs each call
    it ignored with a traceback): one warning line per call, naming the error, instead of
    three tracebacks per page while Redis is down."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = "cache unreachable, served without it: %s"
            record.args = (str(error.__cause__ or error)[:200],)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# -- health -------------------------------------------------------------------------------

_migrations_applied = False


def _check(name: str, probe: Callable[[], Any], checks: dict[str, Any]) -> bool:
    started = time.perf_counter()
    try:
        value = probe()
    except Exception:  # any failure means "not ready"; the log says which
        logging.getLogger(__name__).warning("readiness: %s is not reachable", name, exc_info=True)
        checks[name] = {"ok": False}
        return False
    checks[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(value, dict):
        checks[name].update(value)
    return True


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key = "readyz:probe"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not keep a value")


def _migrations() -> dict[str, Any]:
    global _migrations_applied
    if not _migrations_applied:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise RuntimeError("migrations are not applied")
        _migrations_applied = True
    return {}


def _queue() -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    from invoices.models import SyncRun, SyncState

    DBTaskResult.objects.exists()  # the queue's table answers
    oldest = (
        SyncRun.objects.filter(state=SyncState.QUEUED)
        .order_by("queued_at")
        .values_list("queued_at", flat=True)
        .first()
    )
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"oldest_queued_sync_seconds": round(age, 1)}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Any] = {}
    ready = _check("database", _database, checks)
    ready = _check("cache", _cache, checks) and ready
    if checks["database"]["ok"]:
        ready = _check("migrations", _migrations, checks) and ready
        ready = _check("task_queue", _queue, checks) and ready
    body = {"status": "ready" if ready else "unready", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)
