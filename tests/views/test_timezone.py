"""Times are shown in the zone the browser reports in the `tz` cookie, else the default."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoices.models import SyncRun, SyncState

from .factories import Mirror
from .pages import parse

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("invoices:invoice_list")
FINISHED = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _default_zone(settings) -> None:
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def synced(mirror: Mirror) -> SyncRun:
    """Alpha's last sync succeeded at 2025-01-15 12:00 UTC."""
    return SyncRun.objects.create(
        connection=mirror.alpha, state=SyncState.SUCCEEDED, finished_at=FINISHED
    )


def synced_at(response, mirror: Mirror) -> tuple[str, str]:
    """(the time shown, its machine-readable datetime) in Alpha's status panel."""
    panel = parse(response).find("article", id=f"conn-{mirror.alpha.pk}")
    time = panel.find("time")
    return time.attrs["data-absolute"], time.attrs["datetime"]


def list_page(client: Client, zone: str | None):
    if zone is not None:
        client.cookies["tz"] = zone
    response = client.get(LIST)
    assert response.status_code == 200
    return response


def test_without_a_cookie_times_are_in_the_default_zone(as_finance, mirror, synced):
    response = list_page(as_finance, None)

    assert synced_at(response, mirror) == (
        "Jan 15, 2025, 12:00\u202fPM UTC",
        "2025-01-15T12:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("zone", "shown", "machine"),
    [
        ("Asia/Tokyo", "Jan 15, 2025, 9:00\u202fPM JST", "2025-01-15T21:00:00+09:00"),
        ("America/New_York", "Jan 15, 2025, 7:00\u202fAM EST", "2025-01-15T07:00:00-05:00"),
    ],
)
def test_times_are_shown_in_the_cookies_zone(as_finance, mirror, synced, zone, shown, machine):
    response = list_page(as_finance, zone)

    assert synced_at(response, mirror) == (shown, machine)


def test_the_sync_status_fragment_is_in_the_cookies_zone(as_finance, mirror, synced):
    as_finance.cookies["tz"] = "Asia/Tokyo"

    response = as_finance.get(
        reverse("invoices:connection_sync_status", args=[mirror.alpha.pk]), **HTMX
    )

    assert synced_at(response, mirror)[0] == "Jan 15, 2025, 9:00\u202fPM JST"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "UTC+9", "tokyo"])
def test_an_unknown_zone_falls_back_to_the_default_without_error(as_finance, mirror, synced, zone):
    response = list_page(as_finance, zone)

    assert synced_at(response, mirror)[0] == "Jan 15, 2025, 12:00\u202fPM UTC"


def test_an_unknown_zone_falls_back_to_the_configured_default(as_finance, mirror, synced, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"

    response = list_page(as_finance, "Mars/Olympus_Mons")

    assert synced_at(response, mirror)[0] == "Jan 15, 2025, 1:00\u202fPM CET"


def test_one_users_zone_does_not_leak_into_the_next_request(as_finance, as_partner, mirror, synced):
    list_page(as_finance, "Asia/Tokyo")

    response = list_page(as_partner, None)

    assert synced_at(response, mirror)[0] == "Jan 15, 2025, 12:00\u202fPM UTC"


def test_the_zone_is_reset_once_the_request_is_answered(as_finance, mirror, synced):
    """Whatever runs next in this thread (a task, a command) is back in the default zone."""
    list_page(as_finance, "Asia/Tokyo")

    assert timezone.get_current_timezone_name() == "UTC"
