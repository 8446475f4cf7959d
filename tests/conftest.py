from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from invoices.sandbox import SandboxApp, SandboxConfig, SandboxServer

# Retries and timeouts shrunk so fault tests run in milliseconds, same code paths.
FAST_HTTP = {
    "backoff": 0.001,
    "backoff_cap": 0.01,
    "retry_after_cap": 0.05,
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
    "max_retries": 3,
}

# The SQLite test database is a file there (settings: as production has it).
Path(settings.BASE_DIR, "var").mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxApp(SandboxConfig())).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The live sandbox (real sockets), reset to no faults before and after each test."""
    sandbox_server.app.reset()
    yield sandbox_server
    sandbox_server.app.wait_idle()
    sandbox_server.app.reset()


@pytest.fixture
def fast_http() -> dict[str, float]:
    return dict(FAST_HTTP)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Hashing passwords for real (PBKDF2) costs a third of a second each: too slow for
    tests that sign in and fail dozens of times. The production hasher is Django's."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _immediate_tasks(settings) -> None:
    """Background tasks run inline in tests (the real queue is exercised separately)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache (in CI a Redis that outlives test databases,
    whose reused ids would otherwise meet a previous test's entries)."""
    cache.clear()
    yield
    cache.clear()
