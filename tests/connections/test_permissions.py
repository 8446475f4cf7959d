"""Who may do what on the connection pages: staff add; a partner admin changes their
connection; finance see it (403 on every change); no role: 404 on all its addresses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from invoices.models import AuditEntry, Connection

SEE = ("connection_detail", "connection_history")
CHANGE_GET = ("connection_edit", "connection_credentials", "connection_remove")
CHANGE_POST = (
    "connection_edit", "connection_credentials", "connection_test", "connection_pause",
    "connection_remove",
)  # fmt: skip


def url(name: str, pk: int) -> str:
    return reverse(f"invoices:{name}", args=[pk])


def test_the_list_shows_only_the_connections_a_user_may_see(world):
    page = world.client("admin_a").get(reverse("invoices:connections")).content.decode()

    assert "Alpha" in page and "Bravo" not in page


def test_the_nav_links_connections_for_users_with_a_role_or_staff(world):
    link = f'href="{reverse("invoices:connections")}"'
    shown = {
        name: link in world.client(name).get(reverse("invoices:invoice_list")).content.decode()
        for name in ("admin_a", "finance", "staff", "stranger")
    }

    assert shown == {"admin_a": True, "finance": True, "staff": True, "stranger": False}


@pytest.mark.parametrize("name", SEE + CHANGE_GET)
def test_a_user_without_a_role_gets_404_on_every_page(world, name):
    for user in ("stranger", "admin_b", "staff"):
        assert world.client(user).get(url(name, world.a.pk)).status_code == 404


@pytest.mark.parametrize("name", CHANGE_POST)
def test_a_user_without_a_role_gets_404_on_every_post(world, name):
    before = Connection.objects.get(pk=world.a.pk)
    for user in ("stranger", "admin_b", "staff"):
        client = world.client(user, csrf=True)
        client.get(reverse("invoices:connections"))  # a CSRF cookie, then its token
        token = client.cookies["csrftoken"].value
        response = client.post(url(name, world.a.pk), {"csrfmiddlewaretoken": token})
        assert response.status_code == 404
    assert Connection.objects.get(pk=world.a.pk).archived_at == before.archived_at
    assert not AuditEntry.objects.exclude(action="login").exists()


@pytest.mark.parametrize("name", SEE)
def test_finance_sees_the_page_and_the_history(world, name):
    page = world.client("finance").get(url(name, world.a.pk))

    assert page.status_code == 200
    assert url("connection_edit", world.a.pk) not in page.content.decode()


@pytest.mark.parametrize("name", CHANGE_GET)
def test_finance_cannot_open_a_change_page(world, name):
    assert world.client("finance").get(url(name, world.a.pk)).status_code == 403


@pytest.mark.parametrize("name", CHANGE_POST)
def test_finance_posts_with_a_valid_csrf_token_are_refused(world, name):
    client = world.client("finance", csrf=True)
    client.get(url("connection_detail", world.a.pk))
    token = client.cookies["csrftoken"].value

    response = client.post(
        url(name, world.a.pk), {"csrfmiddlewaretoken": token, "name": "Mine", "paused": "on"}
    )

    assert response.status_code == 403
    connection = Connection.objects.get(pk=world.a.pk)
    assert (connection.name, connection.paused, connection.archived_at) == ("Alpha", False, None)
    assert not AuditEntry.objects.exclude(action="login").exists()


def test_a_post_without_a_csrf_token_is_refused(world):
    response = world.client("admin_a", csrf=True).post(url("connection_pause", world.a.pk))

    assert response.status_code == 403
    assert not Connection.objects.get(pk=world.a.pk).paused


def test_only_staff_may_add_a_connection(world):
    add = reverse("invoices:connection_add")
    for user in ("admin_a", "finance", "stranger"):
        client = world.client(user)
        assert client.get(add).status_code == 403
        assert client.post(add, {"provider": "acronis", "name": "X"}).status_code == 403
    assert world.client("staff").get(add).status_code == 200
    assert world.client("root").get(add, {"provider": "hostway"}).status_code == 200


def test_a_partner_admin_changes_their_connection_but_not_another(world):
    client = world.client("admin_a")

    assert client.post(url("connection_pause", world.a.pk)).status_code == 302
    assert client.post(url("connection_pause", world.b.pk)).status_code == 404
    assert Connection.objects.get(pk=world.a.pk).paused
    assert not Connection.objects.get(pk=world.b.pk).paused


def test_finance_cannot_sync_by_hand(world):
    response = world.client("finance").post(reverse("invoices:connection_sync", args=[world.a.pk]))

    assert response.status_code == 403
