"""Production configuration, checked the way an operator starts the app: a real process."""

from __future__ import annotations

import os
import subprocess
import sys


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environment.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], env=environment, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


PRODUCTION_KEY = "x" * 30 + "-a-long-random-production-key-" + "y" * 20
FERNET_KEY = "hGn5hV9oMCc0QX0lHmP8Vn1ZCwJvXrHk9G8yYQ6m3lE="


def test_production_refuses_to_start_without_credentials_keys():
    result = manage("check", DEBUG="0", SECRET_KEY=PRODUCTION_KEY, CREDENTIALS_KEYS="")

    assert result.returncode != 0
    assert "CREDENTIALS_KEYS is not set" in result.stderr


def test_the_deploy_check_is_clean_in_production():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY=PRODUCTION_KEY, CREDENTIALS_KEYS=FERNET_KEY,
        ALLOWED_HOSTS="billing.example.com",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_redis_and_postgres_are_configured_by_url_alone():
    code = (
        "from django.conf import settings;"
        "print(settings.CACHES['default']['BACKEND']);"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.SESSION_ENGINE)"
    )
    result = manage(
        "shell", "-c", code, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "django_redis.cache.RedisCache" in result.stdout  # tolerates an outage
    assert "postgresql" in result.stdout
    assert "sessions.backends.cached_db" in result.stdout  # read from Redis, kept in the DB


def test_without_a_shared_cache_sessions_are_read_from_the_database():
    code = "from django.conf import settings; print(settings.SESSION_ENGINE)"
    environment = {"DEBUG": "1", "REDIS_URL": "", "CACHE_URL": ""}
    result = manage("shell", "-c", code, **environment)

    assert result.returncode == 0, result.stderr
    # A per-process cache would let one process read a session another changed.
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.sessions.backends.db"
