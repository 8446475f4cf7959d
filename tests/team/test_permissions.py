"""Who may see a connection's team, and who may change it: every line, GET and POST."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from invoices.models import Access, Role

from .conftest import SECRET, team_entries


def team_url(team, connection=None) -> str:
    return reverse("invoices:connection_team", args=[(connection or team.alpha).pk])


def posts(team, connection=None) -> list[tuple[str, dict[str, str]]]:
    """Every change a team page can post, aimed at `connection` (default Alpha)."""
    connection = connection or team.alpha
    target = Access.objects.filter(connection=connection).order_by("pk").first()
    return [
        (
            reverse("invoices:connection_team_grant", args=[connection.pk]),
            {"grant-user": "other", "grant-role": Role.PARTNER_ADMIN},
        ),
        (
            reverse("invoices:connection_team_invite", args=[connection.pk]),
            {"invite-email": "new@example.com", "invite-role": Role.FINANCE},
        ),
        (
            reverse("invoices:connection_team_change", args=[connection.pk, target.pk]),
            {"role": Role.FINANCE},
        ),
        (reverse("invoices:connection_team_revoke", args=[connection.pk, target.pk]), {}),
    ]


def state() -> list[tuple[int, int, str]]:
    return sorted(Access.objects.values_list("user_id", "connection_id", "role"))


def test_a_partner_admin_sees_the_team_with_its_controls(team):
    response = team.client("admin").get(team_url(team))

    assert response.status_code == 200
    body = response.content.decode()
    for name in ("admin", "finance", "staff"):
        assert f'data-username="{name}"' in body
    assert "bravo_admin" not in body  # Bravo's team, not Alpha's
    assert 'id="grant-form"' in body and 'id="invite-form"' in body
    assert 'class="role-form"' in body and "Remove…" in body
    assert SECRET not in body


def test_finance_sees_the_team_without_any_control(team):
    response = team.client("finance").get(team_url(team))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-username="admin"' in body and "Partner admin" in body
    assert "<form" not in body.split("<main", 1)[1].split("</main>", 1)[0]  # nothing to post
    assert "Only partner admins of this connection can change its team." in body


@pytest.mark.parametrize("name", ["stranger", "bravo_admin"])
def test_without_a_role_the_team_is_not_found(team, name):
    assert team.client(name).get(team_url(team)).status_code == 404


def test_signed_out_the_team_asks_to_sign_in(team, client):
    response = client.get(team_url(team))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_staff_without_a_role_does_not_see_a_team(team):
    Access.objects.filter(user=team.users["staff"]).delete()
    assert team.client("staff").get(team_url(team)).status_code == 404


def test_a_superuser_sees_and_manages_every_team(team):
    response = team.client("root").get(team_url(team, team.bravo))
    assert response.status_code == 200 and 'id="grant-form"' in response.content.decode()


@pytest.mark.parametrize("step", range(4))
def test_finance_cannot_grant_invite_change_or_revoke(team, step):
    url, data = posts(team)[step]
    before = state()

    response = team.client("finance").post(url, data)

    assert response.status_code == 403
    assert state() == before and mail.outbox == [] and not team_entries().exists()


def test_finance_does_not_get_the_removal_step(team):
    url, _data = posts(team)[3]
    assert team.client("finance").get(url).status_code == 403


@pytest.mark.parametrize("step", range(4))
@pytest.mark.parametrize("name", ["stranger", "bravo_admin"])
def test_without_a_role_every_change_is_not_found(team, name, step):
    url, data = posts(team)[step]
    before = state()

    client = team.client(name)
    assert client.post(url, data).status_code == 404
    assert state() == before and mail.outbox == [] and not team_entries().exists()


def test_the_removal_step_of_another_connection_is_not_found(team):
    url, _data = posts(team)[3]
    assert team.client("bravo_admin").get(url).status_code == 404


def test_an_access_of_another_connection_cannot_be_reached_through_ones_own(team):
    """Bravo's admin aims at Alpha's grant through Bravo's address: not found."""
    alpha_access = team.access("finance")
    for name in ("connection_team_change", "connection_team_revoke"):
        url = reverse(f"invoices:{name}", args=[team.bravo.pk, alpha_access.pk])
        assert team.client("bravo_admin").post(url, {"role": "partner-admin"}).status_code == 404
    assert team.role("finance") == Role.FINANCE


def csrf_client(team, name):
    """A client that checks CSRF, with the token the team page gave it."""
    client = team.client(name, csrf=True)
    assert client.get(team_url(team)).status_code == 200
    return client, client.cookies["csrftoken"].value


@pytest.mark.parametrize("step", range(4))
def test_finance_is_refused_even_with_a_valid_csrf_token(team, step):
    client, token = csrf_client(team, "finance")
    url, data = posts(team)[step]
    before = state()

    response = client.post(url, {**data, "csrfmiddlewaretoken": token})

    assert response.status_code == 403
    assert "CSRF verification failed" not in response.content.decode()  # the role refused
    assert state() == before


def test_a_partner_admin_with_a_valid_csrf_token_may_change(team):
    client, token = csrf_client(team, "admin")
    url, data = posts(team)[0]

    response = client.post(url, {**data, "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert team.role("other") == Role.PARTNER_ADMIN


def test_a_partner_admin_without_a_csrf_token_is_refused(team):
    client = team.client("admin", csrf=True)
    url, data = posts(team)[0]

    assert client.post(url, data).status_code == 403
    assert team.role("other") is None


def test_a_partner_admin_of_another_connection_is_refused_with_a_valid_csrf_token(team):
    client = team.client("bravo_admin", csrf=True)
    client.get(reverse("invoices:connection_team", args=[team.bravo.pk]))
    token = client.cookies["csrftoken"].value
    url, data = posts(team)[0]

    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 404
    assert team.role("other") is None
