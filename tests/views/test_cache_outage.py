"""The cache (Redis on several machines) is an accelerator, never a dependency: while it
is down or restarting, pages are served from the database (cache misses, not errors),
and /readyz says the cache is unreachable."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.core.cache import caches
from django.test import override_settings

from billingportal.settings import cache_settings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down():
    """The default cache pointed at a Redis that is not there (a port nothing listens on)."""
    config = cache_settings(f"redis://127.0.0.1:{_closed_port()}/0")
    with override_settings(CACHES={"default": config}):
        yield config
    caches["default"].close()


def test_a_redis_url_gets_a_cache_that_tolerates_an_outage():
    config = cache_settings("redis://127.0.0.1:6379/3")

    assert config["BACKEND"] == "django_redis.cache.RedisCache"
    assert config["LOCATION"] == "redis://127.0.0.1:6379/3"
    assert config["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    # A Redis that hangs costs a page at most a fraction of a second per call.
    assert config["OPTIONS"]["SOCKET_CONNECT_TIMEOUT"] <= 0.5
    assert config["OPTIONS"]["SOCKET_TIMEOUT"] <= 0.5


def test_other_cache_urls_are_left_as_django_environ_reads_them():
    assert cache_settings("locmemcache://")["BACKEND"].endswith("LocMemCache")


def test_the_list_and_its_totals_are_served_while_redis_is_down(redis_down, as_finance, mirror):
    started = time.monotonic()
    response = as_finance.get("/")
    aging = as_finance.get("/aging/")

    assert response.status_code == 200
    assert aging.status_code == 200
    page = response.content.decode()
    assert "Müller GmbH" in page  # the invoices, read from the database
    assert time.monotonic() - started < 10


def test_an_outage_is_logged_as_one_warning_line_per_call(redis_down, as_finance, caplog):
    with caplog.at_level(logging.WARNING, logger="billingportal.cache"):
        assert as_finance.get("/").status_code == 200

    records = [r for r in caplog.records if r.name == "billingportal.cache"]
    assert records
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in records)
    assert "cache unreachable" in records[0].getMessage()
    assert "Connection refused" in records[0].getMessage()


def test_readyz_names_the_cache_as_down_while_the_pages_still_work(redis_down, client, db):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {"ok": False}
