"""Staff (is_staff, not superuser) is an admin-site flag, not an access grant.

A staff user with finance access to Alpha only sees Alpha everywhere: the list, its
totals and choices, the exports, the account page, the live views, the sync status;
Bravo's objects are "not found" and Sync now is refused. Superusers, by design, see
and act on every connection without any grant.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from invoices.models import Access, Role, SyncRun

from .factories import A_ALL, B_ALL, Mirror
from .pages import numbers, parse, totals

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("invoices:invoice_list")
CSV_URL = reverse("invoices:invoice_export", args=["csv"])
XLSX_URL = reverse("invoices:invoice_export", args=["xlsx"])


@pytest.fixture
def staffer(mirror: Mirror):
    """Staff (may log in to the admin site), finance on Alpha only, not a superuser."""
    user = get_user_model().objects.create_user(username="staffer", is_staff=True)
    Access.objects.create(user=user, connection=mirror.alpha, role=Role.FINANCE)
    return user


@pytest.fixture
def as_staff(staffer) -> Client:
    client = Client()
    client.force_login(staffer)
    return client


def csv_numbers(response) -> set[str]:
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    return {line.split(",")[0] for line in lines[1:]}


def xlsx_numbers(response) -> set[str]:
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}


def bravo_pages(mirror: Mirror) -> dict[str, tuple[str, str]]:
    """(method, url) of every page about one of Bravo's objects."""
    account = mirror.accounts["globex"]
    invoice = mirror.invoices["INV-B01"]
    return {
        "account page": ("get", reverse("invoices:account_detail", args=[account.pk])),
        "billing date": ("get", reverse("invoices:account_next_billing_date", args=[account.pk])),
        "public link": ("get", reverse("invoices:invoice_public_link", args=[invoice.pk])),
        "sync status": ("get", reverse("invoices:connection_sync_status", args=[mirror.bravo.pk])),
        "sync now": ("post", reverse("invoices:connection_sync", args=[mirror.bravo.pk])),
        "csv of bravo": ("get", f"{CSV_URL}?connection={mirror.bravo.pk}"),
        "xlsx of globex": ("get", f"{XLSX_URL}?account={account.pk}"),
    }


BRAVO_PAGES = ["account page", "billing date", "public link", "sync status", "sync now",
               "csv of bravo", "xlsx of globex"]  # fmt: skip


# -- the list -------------------------------------------------------------------------


def test_staff_list_shows_only_their_connections_invoices(as_staff: Client):
    response = as_staff.get(LIST, {"per_page": 100})

    assert set(numbers(response)) == A_ALL


def test_staff_totals_hold_only_their_connections_money(as_staff: Client):
    cards = totals(as_staff.get(LIST))

    # Bravo's $300 + $45 unpaid are not Alpha's.
    assert cards["USD"]["Outstanding"] == "$99.00"
    assert cards["USD"]["count"] == "2 invoices"


def test_staff_is_offered_only_their_connections_in_the_filter(as_staff: Client):
    select = parse(as_staff.get(LIST)).find("select", id="id_connection")

    assert [option.text() for option in select.find_all("option")] == ["All connections", "Alpha"]


def test_staff_sees_only_their_connections_sync_status(as_staff: Client, mirror: Mirror):
    panels = parse(as_staff.get(LIST)).find_all("article", cls="conn-status")

    assert [panel.attrs["id"] for panel in panels] == [f"conn-{mirror.alpha.pk}"]


def test_staff_cannot_filter_the_list_by_another_connections_customer(as_staff, mirror):
    response = as_staff.get(LIST, {"account": mirror.accounts["globex"].pk, "per_page": 100})

    assert set(numbers(response)) <= A_ALL
    assert "Globex" not in response.content.decode()


def test_staff_finance_is_not_offered_sync_now(as_staff: Client):
    response = as_staff.get(LIST)

    assert "Sync now" not in response.content.decode()


# -- exports --------------------------------------------------------------------------


def test_staff_csv_holds_only_their_connections_invoices(as_staff: Client):
    assert csv_numbers(as_staff.get(CSV_URL)) == A_ALL


def test_staff_xlsx_holds_only_their_connections_invoices(as_staff: Client):
    assert xlsx_numbers(as_staff.get(XLSX_URL)) == A_ALL


# -- another connection's objects -----------------------------------------------------


@pytest.mark.parametrize("page", BRAVO_PAGES)
def test_staff_gets_not_found_for_another_connections_objects(as_staff, mirror, page):
    method, url = bravo_pages(mirror)[page]

    response = getattr(as_staff, method)(url, **HTMX)

    assert response.status_code == 404
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain form"])
def test_staff_finance_cannot_start_a_sync_of_their_own_connection(as_staff, mirror, htmx):
    url = reverse("invoices:connection_sync", args=[mirror.alpha.pk])

    response = as_staff.post(url, **(HTMX if htmx else {}))

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


# -- their own connection's objects ---------------------------------------------------


def test_staff_account_page_of_their_connection_answers(as_staff: Client, mirror: Mirror):
    account = mirror.accounts["muller"]

    response = as_staff.get(reverse("invoices:account_detail", args=[account.pk]))

    assert response.status_code == 200
    assert parse(response).find("h1").text() == "Müller GmbH"


def test_staff_sync_status_of_their_connection_answers_without_sync_now(as_staff, mirror):
    response = as_staff.get(
        reverse("invoices:connection_sync_status", args=[mirror.alpha.pk]), **HTMX
    )

    assert response.status_code == 200
    assert parse(response).find("article").attrs["id"] == f"conn-{mirror.alpha.pk}"
    assert "Sync now" not in response.content.decode()


@pytest.mark.parametrize(
    "view", ["invoices:account_next_billing_date", "invoices:invoice_public_link"]
)
def test_staff_live_views_of_their_connection_answer(as_staff, mirror, view):
    pk = (
        mirror.accounts["muller"].pk
        if view.endswith("billing_date")
        else mirror.invoices["INV-A01"].pk
    )

    response = as_staff.get(reverse(view, args=[pk]), **HTMX)

    assert response.status_code == 200


# -- superusers: every connection, by design ------------------------------------------


def test_superuser_list_shows_every_connections_invoices(as_root: Client):
    response = as_root.get(LIST, {"per_page": 100})

    assert set(numbers(response)) == A_ALL | B_ALL


def test_superuser_exports_every_connections_invoices(as_root: Client):
    assert csv_numbers(as_root.get(CSV_URL)) == A_ALL | B_ALL
    assert xlsx_numbers(as_root.get(XLSX_URL)) == A_ALL | B_ALL


@pytest.mark.parametrize("page", ["account page", "sync status", "csv of bravo", "xlsx of globex"])
def test_superuser_opens_any_connections_pages_without_a_grant(as_root, mirror, page):
    method, url = bravo_pages(mirror)[page]

    response = getattr(as_root, method)(url)

    assert response.status_code == 200


def test_superuser_may_start_a_sync_of_any_connection(as_root: Client, mirror: Mirror):
    response = as_root.post(reverse("invoices:connection_sync", args=[mirror.bravo.pk]), **HTMX)

    assert response.status_code == 200
    assert SyncRun.objects.filter(connection=mirror.bravo).exists()


def test_superuser_is_offered_sync_now_on_every_connection(as_root: Client, mirror: Mirror):
    forms = parse(as_root.get(LIST)).find_all("form", method="post")

    assert {form.attrs["action"] for form in forms if "/sync/" in form.attrs["action"]} == {
        reverse("invoices:connection_sync", args=[mirror.alpha.pk]),
        reverse("invoices:connection_sync", args=[mirror.bravo.pk]),
    }
