from __future__ import annotations

import pytest
from django.test import Client

from .factories import Mirror, build_mirror, pin_today


@pytest.fixture(autouse=True)
def _one_today(monkeypatch) -> None:
    """One "today" per test, even across midnight (see `factories.pin_today`)."""
    pin_today(monkeypatch)


@pytest.fixture
def mirror(db) -> Mirror:
    return build_mirror()


def _logged_in(mirror: Mirror, name: str) -> Client:
    client = Client()
    client.force_login(mirror.users[name])
    return client


@pytest.fixture
def as_finance(mirror: Mirror) -> Client:
    """Finance on Alpha only."""
    return _logged_in(mirror, "finance")


@pytest.fixture
def as_partner(mirror: Mirror) -> Client:
    """Partner admin on Alpha and Bravo."""
    return _logged_in(mirror, "partner")


@pytest.fixture
def as_root(mirror: Mirror) -> Client:
    return _logged_in(mirror, "superuser")


@pytest.fixture
def as_stranger(mirror: Mirror) -> Client:
    """Logged in, but granted no connection."""
    return _logged_in(mirror, "stranger")


@pytest.fixture
def rendered_each_time(settings) -> None:
    """No page kept for the next identical request (invoices/page_cache.py): for tests
    that read the view's context, which a page answered from the cache has none of."""
    settings.PAGE_CACHE_SECONDS = 0
