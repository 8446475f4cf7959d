"""Who sees what: login, scoping to granted connections, 404 for the rest, sync rights."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoices.models import SyncRun, SyncState

from .factories import A_ALL, B_ALL, Mirror
from .pages import numbers, parse, totals

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("invoices:invoice_list")


def urls_for(mirror: Mirror, connection: str) -> dict[str, tuple[str, str]]:
    """(method, url) of every page about one connection's objects."""
    conn = getattr(mirror, connection)
    account = conn.accounts.first()
    invoice = conn.invoices.first()
    return {
        "account page": ("get", reverse("invoices:account_detail", args=[account.pk])),
        "billing date": ("get", reverse("invoices:account_next_billing_date", args=[account.pk])),
        "public link": ("get", reverse("invoices:invoice_public_link", args=[invoice.pk])),
        "sync status": ("get", reverse("invoices:connection_sync_status", args=[conn.pk])),
        "sync now": ("post", reverse("invoices:connection_sync", args=[conn.pk])),
        "csv of its connection": (
            "get", reverse("invoices:invoice_export", args=["csv"]) + f"?connection={conn.pk}",
        ),
        "xlsx of its customer": (
            "get", reverse("invoices:invoice_export", args=["xlsx"]) + f"?account={account.pk}",
        ),
    }  # fmt: skip


PAGES = ["account page", "billing date", "public link", "sync status", "sync now",
         "csv of its connection", "xlsx of its customer"]  # fmt: skip


# -- anonymous ------------------------------------------------------------------------


@pytest.mark.parametrize("page", [*PAGES, "list", "csv", "xlsx"])
def test_anonymous_is_sent_to_log_in_and_back(client: Client, mirror: Mirror, page: str):
    extra = {
        "list": ("get", LIST),
        "csv": ("get", reverse("invoices:invoice_export", args=["csv"])),
        "xlsx": ("get", reverse("invoices:invoice_export", args=["xlsx"])),
    }
    method, url = {**urls_for(mirror, "alpha"), **extra}[page]

    response = getattr(client, method)(url)

    location = urlsplit(response["Location"])
    assert response.status_code == 302
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query)["next"] == [url]
    assert not SyncRun.objects.exists()


# -- another connection's objects -----------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_another_connections_objects_are_not_found(as_finance: Client, mirror: Mirror, page):
    method, url = urls_for(mirror, "bravo")[page]

    response = getattr(as_finance, method)(url, **HTMX)

    assert response.status_code == 404
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("page", ["account page", "sync status", "csv of its connection"])
def test_own_connections_pages_answer(as_finance: Client, mirror: Mirror, page):
    method, url = urls_for(mirror, "alpha")[page]

    response = getattr(as_finance, method)(url)

    assert response.status_code == 200


# -- scoping of the list and the exports ----------------------------------------------


def test_finance_sees_only_their_connections_invoices(as_finance: Client):
    response = as_finance.get(LIST, {"per_page": 100})

    assert set(numbers(response)) == A_ALL


def test_finance_totals_hold_only_their_connections_money(as_finance: Client):
    response = as_finance.get(LIST)

    cards = totals(response)
    assert set(cards) == {"EUR", "USD"}
    # USD: Alpha's Initech invoices only; Bravo's $300 + $45 unpaid are not counted.
    assert cards["USD"]["Outstanding"] == "$99.00"
    assert cards["USD"]["Paid"] == "$40.00"
    assert cards["USD"]["count"] == "2 invoices"


@pytest.mark.parametrize("wider_first", [True, False])
def test_cached_totals_never_cross_between_scopes(
    as_finance: Client, as_partner: Client, wider_first: bool
):
    """Finance (Alpha) and the partner admin (Alpha and Bravo) ask for the same filters:
    neither may be served the other's cached totals, whoever asked first."""
    params = {"status": "unpaid"}
    if wider_first:
        wide = totals(as_partner.get(LIST, params))
        narrow = totals(as_finance.get(LIST, params))
    else:
        narrow = totals(as_finance.get(LIST, params))
        wide = totals(as_partner.get(LIST, params))

    assert narrow["USD"]["Outstanding"] == "$99.00"
    assert wide["USD"]["Outstanding"] == "$444.00"


def test_finance_csv_holds_only_their_connections_invoices(as_finance: Client):
    response = as_finance.get(reverse("invoices:invoice_export", args=["csv"]))

    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert {line.split(",")[0] for line in lines[1:]} == A_ALL


def test_finance_xlsx_holds_only_their_connections_invoices(as_finance: Client):
    from io import BytesIO

    from openpyxl import load_workbook

    response = as_finance.get(reverse("invoices:invoice_export", args=["xlsx"]))

    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == A_ALL


def test_finance_is_offered_only_their_connections_in_the_filter(as_finance: Client):
    response = as_finance.get(LIST)

    select = parse(response).find("select", id="id_connection")
    assert [option.text() for option in select.find_all("option")] == ["All connections", "Alpha"]


def test_superuser_sees_every_invoice(as_root: Client):
    response = as_root.get(LIST, {"per_page": 100})

    assert set(numbers(response)) == A_ALL | B_ALL


def test_partner_admin_of_both_connections_sees_both(as_partner: Client):
    response = as_partner.get(LIST, {"per_page": 100})

    assert set(numbers(response)) == A_ALL | B_ALL


def test_a_user_without_access_sees_an_empty_list_and_why(as_stranger: Client):
    response = as_stranger.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert numbers(response) == []
    assert "No connections are shared with you yet" in html
    assert "No invoices match these filters." in html
    assert totals(response) == {}


def test_a_user_without_access_downloads_an_empty_csv(as_stranger: Client):
    response = as_stranger.get(reverse("invoices:invoice_export", args=["csv"]))

    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 1  # the header only


# -- sync now -------------------------------------------------------------------------


def sync_url(mirror: Mirror) -> str:
    return reverse("invoices:connection_sync", args=[mirror.alpha.pk])


def test_finance_cannot_start_a_sync_of_their_own_connection(as_finance: Client, mirror):
    response = as_finance.post(sync_url(mirror), **HTMX)

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_finance_is_not_offered_sync_now(as_finance: Client, mirror: Mirror):
    response = as_finance.get(LIST)

    assert response.status_code == 200
    assert "Sync now" not in response.content.decode()


def test_partner_admin_is_offered_sync_now_per_connection(as_partner: Client, mirror: Mirror):
    response = as_partner.get(LIST)

    forms = parse(response).find_all("form", method="post")
    assert {form.attrs["action"] for form in forms if "/sync/" in form.attrs["action"]} == {
        reverse("invoices:connection_sync", args=[mirror.alpha.pk]),
        reverse("invoices:connection_sync", args=[mirror.bravo.pk]),
    }


def test_partner_admin_sync_now_queues_a_run_and_answers_the_status(as_partner, mirror):
    response = as_partner.post(sync_url(mirror), **HTMX)

    html = response.content.decode()
    run = SyncRun.objects.get()
    assert response.status_code == 200
    assert (run.connection, run.state, run.trigger) == (mirror.alpha, "queued", "dashboard")
    assert "<html" not in html
    assert f'id="conn-{mirror.alpha.pk}"' in html
    assert "Sync of Alpha queued." in html
    assert 'hx-trigger="every 1s"' in html  # the panel follows the run


def test_sync_now_twice_says_one_is_already_running(as_partner, mirror: Mirror):
    as_partner.post(sync_url(mirror), **HTMX)

    response = as_partner.post(sync_url(mirror), **HTMX)

    assert response.status_code == 200
    assert "A sync of Alpha is already running." in response.content.decode()
    assert SyncRun.objects.count() == 1


def test_sync_now_against_an_unreachable_provider_ends_as_a_failed_run(
    as_partner, mirror: Mirror, settings, django_capture_on_commit_callbacks
):
    settings.PROVIDER_MAX_RETRIES = 0
    with django_capture_on_commit_callbacks(execute=True):  # the task runs at once
        response = as_partner.post(sync_url(mirror), **HTMX)

    status = as_partner.get(
        reverse("invoices:connection_sync_status", args=[mirror.alpha.pk]), **HTMX
    )
    assert response.status_code == 200
    assert SyncRun.objects.get().state == SyncState.FAILED
    assert status.status_code == 200
    assert "Last sync failed:" in status.content.decode()


def test_sync_now_without_javascript_returns_to_the_list_with_a_message(as_partner, mirror):
    response = as_partner.post(sync_url(mirror), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Sync of Alpha queued." in parse(response).find("ul", cls="messages").text()


def test_superuser_may_start_a_sync(as_root: Client, mirror: Mirror):
    response = as_root.post(sync_url(mirror), **HTMX)

    assert response.status_code == 200
    assert SyncRun.objects.filter(connection=mirror.alpha).exists()


def test_sync_now_is_post_only(as_partner: Client, mirror: Mirror):
    response = as_partner.get(sync_url(mirror))

    assert response.status_code == 405
    assert not SyncRun.objects.exists()


# -- the sync status fragment ---------------------------------------------------------


def status_of(client: Client, mirror: Mirror, **params: str):
    url = reverse("invoices:connection_sync_status", args=[mirror.alpha.pk])
    return client.get(url, params, **HTMX)


def finished_run(mirror: Mirror, state: str, ago: dt.timedelta, error: str = "") -> SyncRun:
    finished = timezone.now() - ago
    return SyncRun.objects.create(
        connection=mirror.alpha, state=state, finished_at=finished, error=error
    )


def test_status_of_a_running_sync_shows_its_progress(as_finance: Client, mirror: Mirror):
    SyncRun.objects.create(
        connection=mirror.alpha, state=SyncState.RUNNING, pages_done=3, pages_total=10
    )

    response = status_of(as_finance, mirror)

    progress = parse(response).find("progress")
    assert "Running… page 3 of 10" in parse(response).find("article").text()
    assert (progress.attrs["value"], progress.attrs["max"]) == ("3", "10")
    assert progress.text() == "30%"


def test_status_of_a_failed_last_run_shows_its_error(as_finance: Client, mirror: Mirror):
    finished_run(mirror, SyncState.SUCCEEDED, dt.timedelta(hours=2))
    finished_run(mirror, SyncState.FAILED, dt.timedelta(minutes=5), error="Token expired")

    response = status_of(as_finance, mirror)

    # In plain words for finance (the provider's own words are for partner admins).
    shown = parse(response).find("div", cls="warn").text()
    assert shown.startswith("Last sync failed: The sync with Acronis Advanced Automation failed.")
    assert "Token expired" not in shown


def test_status_warns_when_the_last_success_is_old(as_finance: Client, mirror: Mirror):
    finished_run(mirror, SyncState.SUCCEEDED, dt.timedelta(hours=3))  # interval: 60 min

    response = status_of(as_finance, mirror)

    assert "Data may be out of date." in response.content.decode()


def test_status_of_a_recent_success_has_no_warning(as_finance: Client, mirror: Mirror):
    finished_run(mirror, SyncState.SUCCEEDED, dt.timedelta(minutes=5))

    response = status_of(as_finance, mirror)

    html = response.content.decode()
    assert parse(response).find("span", cls="conn-state").text() == "Synced 5 minutes ago"
    assert "Data may be out of date." not in html
    assert "Last sync failed" not in html


def test_status_asks_for_fresh_invoices_when_the_followed_run_ends(as_finance, mirror):
    finished_run(mirror, SyncState.SUCCEEDED, dt.timedelta(seconds=1))

    response = status_of(as_finance, mirror, was="active")

    assert response["HX-Trigger"] == "invoices-changed"


def test_status_of_a_run_still_going_does_not_refresh_the_invoices(as_finance, mirror):
    SyncRun.objects.create(connection=mirror.alpha, state=SyncState.RUNNING)

    response = status_of(as_finance, mirror, was="active")

    assert "HX-Trigger" not in response
