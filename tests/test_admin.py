"""The Django admin: credentials never appear in it, and its edits never leave the
dashboard's cached totals stale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection as db
from django.test import Client
from django.urls import reverse

from invoices.models import Connection, Invoice

from .views.factories import Mirror, build_mirror, pin_today
from .views.pages import Node, parse, totals

LIST = reverse("invoices:invoice_list")
SECRETS = {"client_id": "cid-7Q2tZ", "client_secret": "sekrit-Hx93vLq-do-not-show"}


@pytest.fixture(autouse=True)
def _one_today(monkeypatch) -> None:
    """One "today" per test: the totals' cache key names the day."""
    pin_today(monkeypatch)


@pytest.fixture
def mirror(db) -> Mirror:
    return build_mirror()


@pytest.fixture
def admin_client(mirror: Mirror) -> Client:
    """The superuser, logged in to the admin site."""
    client = Client()
    client.force_login(mirror.users["superuser"])
    return client


@pytest.fixture
def finance(mirror: Mirror) -> Client:
    """Finance on Alpha only."""
    client = Client()
    client.force_login(mirror.users["finance"])
    return client


def _walk(node: Node) -> Iterator[Node]:
    yield node
    yield from node.iter()


def form_data(response, form_id: str) -> dict[str, str]:
    """What a browser would submit from the form `form_id` as rendered, unchanged."""
    data: dict[str, str] = {}
    for node in _walk(parse(response).find("form", id=form_id)):
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input":
            kind = node.attrs.get("type", "text")
            if kind in ("submit", "button", "reset", "file", "image"):
                continue
            if kind in ("checkbox", "radio") and "checked" not in node.attrs:
                continue
            data[name] = node.attrs.get("value", "on" if kind in ("checkbox", "radio") else "")
        elif node.tag == "select":
            chosen = [
                o.attrs.get("value", "") for o in node.find_all("option") if "selected" in o.attrs
            ]
            if chosen:
                data[name] = chosen[0]
        elif node.tag == "textarea":
            data[name] = "".join(child for child in node.children if isinstance(child, str))
    return data


def stored_credentials(pk: int) -> str:
    """The credentials column as the database holds it (the ciphertext)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM invoices_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


# -- credentials ----------------------------------------------------------------------


@pytest.fixture
def secret_connection(mirror: Mirror) -> Connection:
    return Connection.objects.create(
        provider="acronis",
        name="Secretive",
        config={"base_url": "http://127.0.0.1:9"},
        credentials=SECRETS,
    )


def assert_no_credentials(response, connection: Connection) -> None:
    html = response.content.decode()
    for value in SECRETS.values():
        assert value not in html
    assert stored_credentials(connection.pk) not in html
    assert 'name="credentials"' not in html


@pytest.mark.parametrize("page", ["changelist", "change", "delete", "history"])
def test_connection_admin_pages_never_show_credentials(admin_client, secret_connection, page):
    args = [] if page == "changelist" else [secret_connection.pk]
    url = reverse(f"admin:invoices_connection_{page}", args=args)

    response = admin_client.get(url)

    assert response.status_code == 200
    assert_no_credentials(response, secret_connection)


def test_connection_change_page_shows_the_plain_settings(admin_client, secret_connection):
    response = admin_client.get(
        reverse("admin:invoices_connection_change", args=[secret_connection.pk])
    )

    assert form_data(response, "connection_form")["name"] == "Secretive"


def test_connections_cannot_be_added_in_the_admin(admin_client, secret_connection):
    response = admin_client.get(reverse("admin:invoices_connection_add"))

    assert response.status_code == 403
    assert_no_credentials(response, secret_connection)


def test_saving_a_connection_in_the_admin_keeps_its_credentials(admin_client, secret_connection):
    url = reverse("admin:invoices_connection_change", args=[secret_connection.pk])
    data = {**form_data(admin_client.get(url), "connection_form"), "name": "Renamed"}

    response = admin_client.post(url, {**data, "_save": "Save"})

    secret_connection.refresh_from_db()
    assert response.status_code == 302
    assert secret_connection.name == "Renamed"
    assert secret_connection.credentials == SECRETS


def test_the_connection_picker_of_the_access_admin_shows_no_credentials(
    admin_client, secret_connection
):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "invoices", "model_name": "access", "field_name": "connection"},
    )

    assert response.status_code == 200
    assert "Secretive" in response.content.decode()
    assert_no_credentials(response, secret_connection)


# -- admin edits and the dashboard's cached totals ------------------------------------


def eur(client: Client) -> tuple[str, str]:
    """(invoice count, outstanding) of the EUR totals card on the list."""
    card = totals(client.get(LIST))["EUR"]
    return card["count"], card["Outstanding"]


# Alpha's EUR invoices: 18, of which unpaid 100 + 250.50 + 75.25 + 19.99 + 1234.50 + 4.
BEFORE = ("18 invoices", "€1,684.24")


def change_invoice(client: Client, invoice: Invoice, **changes: str):
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    data = {**form_data(client.get(url), "invoice_form"), **changes, "_save": "Save"}
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    return response


def form_errors(response) -> str:
    return " ".join(node.text() for node in parse(response).find_all(cls="errorlist"))


def test_totals_are_fresh_after_an_admin_edit_of_an_invoice(admin_client, mirror):
    assert eur(admin_client) == BEFORE  # now cached

    change_invoice(admin_client, mirror.invoices["INV-A01"], amount_due="0", status="paid")

    assert eur(admin_client) == ("18 invoices", "€1,584.24")


def test_totals_are_fresh_after_an_invoice_is_added_in_the_admin(admin_client, mirror):
    assert eur(admin_client) == BEFORE
    url = reverse("admin:invoices_invoice_add")
    data = {
        **form_data(admin_client.get(url), "invoice_form"),
        "connection": str(mirror.alpha.pk),
        "account": str(mirror.accounts["acme"].pk),
        "provider_id": "HAND-1",
        "number": "HAND-1",
        "customer_name": "Acme BV",
        "issue_date": "2025-01-15",
        "total": "10.00",
        "amount_due": "10.00",
        "currency": "EUR",
        "status": "unpaid",
        "fingerprint": "x",
        "_save": "Save",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert eur(admin_client) == ("19 invoices", "€1,694.24")


def test_totals_are_fresh_after_an_admin_delete_of_an_invoice(admin_client, mirror):
    assert eur(admin_client) == BEFORE
    invoice = mirror.invoices["INV-A01"]

    response = admin_client.post(
        reverse("admin:invoices_invoice_delete", args=[invoice.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Invoice.objects.filter(pk=invoice.pk).exists()
    assert eur(admin_client) == ("17 invoices", "€1,584.24")


def test_totals_are_fresh_after_deleting_selected_invoices_in_the_admin(admin_client, mirror):
    assert eur(admin_client) == BEFORE
    chosen = [mirror.invoices["INV-A01"].pk, mirror.invoices["INV-A02"].pk]

    response = admin_client.post(
        reverse("admin:invoices_invoice_changelist"),
        {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
    )

    assert response.status_code == 302
    assert not Invoice.objects.filter(pk__in=chosen).exists()
    assert eur(admin_client) == ("16 invoices", "€1,333.74")


def test_totals_of_the_old_connection_are_fresh_after_an_invoice_is_moved_away(
    admin_client, finance, mirror
):
    """Finance sees Alpha only: their cached totals are keyed by Alpha's data version
    alone, which must change when an invoice leaves Alpha."""
    assert eur(finance) == BEFORE

    change_invoice(admin_client, mirror.invoices["INV-A01"], connection=str(mirror.bravo.pk))

    assert eur(finance) == ("17 invoices", "€1,584.24")


# -- MasStack's history start ------------------------------------------------------------


@pytest.fixture
def masstack_connection(mirror: Mirror) -> Connection:
    return Connection.objects.create(
        provider="masstack",
        name="MS",
        config={"billing_url": "http://127.0.0.1:9/v1/", "org": "o", "accounts": ["a"]},
        credentials={"service_account": {"private_key": "not-shown"}},
    )


def test_a_masstack_connection_s_history_start_is_edited_as_a_date(
    admin_client, masstack_connection
):
    url = reverse("admin:invoices_connection_change", args=[masstack_connection.pk])
    data = form_data(admin_client.get(url), "connection_form")
    assert data["since"] == ""

    response = admin_client.post(url, {**data, "since": "2014-03-01"})

    assert response.status_code == 302, response.content.decode()[:2000]
    masstack_connection.refresh_from_db()
    assert masstack_connection.config["since"] == "2014-03-01"
    assert masstack_connection.config["accounts"] == ["a"]  # the rest of the settings kept
    assert masstack_connection.credentials == {"service_account": {"private_key": "not-shown"}}

    data = form_data(admin_client.get(url), "connection_form")
    admin_client.post(url, {**data, "since": ""})
    masstack_connection.refresh_from_db()
    assert "since" not in masstack_connection.config  # back to the default (ten years)


def test_other_providers_have_no_history_start(admin_client, secret_connection):
    url = reverse("admin:invoices_connection_change", args=[secret_connection.pk])

    assert "since" not in form_data(admin_client.get(url), "connection_form")
