"""Granting, changing and revoking on the team page, and the rules the service keeps:
nobody gives more than they have, and a connection keeps a partner admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from invoices.models import Access, AuditAction, Role
from invoices.services import ServiceError, access_change, access_grant, access_revoke

from .conftest import team_entries


def grant(team, name, who, role=Role.FINANCE, connection=None):
    url = reverse("invoices:connection_team_grant", args=[(connection or team.alpha).pk])
    return team.client(name).post(url, {"grant-user": who, "grant-role": role}, follow=True)


def change(team, name, access, role):
    url = reverse("invoices:connection_team_change", args=[access.connection_id, access.pk])
    return team.client(name).post(url, {"role": role}, follow=True)


def revoke(team, name, access):
    url = reverse("invoices:connection_team_revoke", args=[access.connection_id, access.pk])
    return team.client(name).post(url, follow=True)


def test_grant_by_username(team):
    response = grant(team, "admin", "other")

    assert team.role("other") == Role.FINANCE
    assert "other can now see Alpha, as Finance." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse(
        "invoices:connection_team", args=[team.alpha.pk]
    )


def test_grant_by_e_mail_address(team):
    grant(team, "admin", "OTHER@example.com", Role.PARTNER_ADMIN)
    assert team.role("other") == Role.PARTNER_ADMIN


def test_grant_to_nobody_says_so_at_the_field(team):
    response = grant(team, "admin", "ghost@example.com")

    assert response.status_code == 400
    assert "There is no user named &#x27;ghost@example.com&#x27;" in response.content.decode()
    assert not team_entries().exists()


def test_grant_to_someone_with_access_changes_their_role(team):
    response = grant(team, "admin", "finance", Role.PARTNER_ADMIN)

    assert team.role("finance") == Role.PARTNER_ADMIN
    assert "finance now has the role Partner admin on Alpha." in response.content.decode()
    assert list(team_entries().values_list("action", flat=True)) == ["access-changed"]


def test_grant_of_the_role_one_has_changes_nothing_and_records_nothing(team):
    response = grant(team, "admin", "finance", Role.FINANCE)

    assert "finance already has the role Finance on Alpha." in response.content.decode()
    assert not team_entries().exists()


def test_change_a_role(team):
    change(team, "admin", team.access("finance"), Role.PARTNER_ADMIN)
    assert team.role("finance") == Role.PARTNER_ADMIN


def test_the_removal_step_names_who_loses_what(team):
    access = team.access("finance")
    url = reverse("invoices:connection_team_revoke", args=[team.alpha.pk, access.pk])

    response = team.client("admin").get(url)

    body = response.content.decode()
    assert "Remove the access of finance to Alpha?" in body
    assert "Yes, remove the access" in body
    assert team.role("finance") == Role.FINANCE  # a GET changes nothing


def test_revoke(team):
    response = revoke(team, "admin", team.access("finance"))

    assert team.role("finance") is None
    assert "finance no longer has access to Alpha." in response.content.decode()


def test_a_partner_admin_cannot_revoke_their_own_last_partner_admin_role(team):
    response = revoke(team, "admin", team.access("admin"))

    assert response.status_code == 400
    assert "You are the last partner admin of Alpha" in response.content.decode()
    assert team.role("admin") == Role.PARTNER_ADMIN
    assert not team_entries().exists()


def test_a_partner_admin_cannot_make_themselves_finance_when_last(team):
    response = change(team, "admin", team.access("admin"), Role.FINANCE)

    assert response.status_code == 400
    assert "You are the last partner admin of Alpha" in response.content.decode()
    assert team.role("admin") == Role.PARTNER_ADMIN


def test_the_last_partner_admin_cannot_be_removed_by_anyone(team):
    """Not by staff, a superuser or the command line either: someone must manage it."""
    access = team.access("admin")
    response = revoke(team, "root", access)
    assert "admin is the last partner admin of Alpha" in response.content.decode()
    for by in (team.users["staff"], None):
        with pytest.raises(ServiceError, match="last partner admin"):
            access_revoke(by=by, access=access)
        with pytest.raises(ServiceError, match="last partner admin"):
            access_change(by=by, access=access, role=Role.FINANCE)
    assert team.role("admin") == Role.PARTNER_ADMIN


def test_with_a_second_partner_admin_one_may_leave(team):
    grant(team, "admin", "other", Role.PARTNER_ADMIN)

    response = revoke(team, "admin", team.access("admin"))

    assert team.role("admin") is None
    assert "You no longer have access to Alpha." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("invoices:invoice_list")


def test_with_a_second_partner_admin_another_may_be_demoted(team):
    grant(team, "admin", "other", Role.PARTNER_ADMIN)

    change(team, "other", team.access("admin"), Role.FINANCE)

    assert team.role("admin") == Role.FINANCE


def test_finance_cannot_give_anything_through_the_service(team):
    with pytest.raises(ServiceError, match="Only a partner admin of Alpha"):
        access_grant(by=team.users["finance"], connection=team.alpha, user="other", role="finance")
    assert team.role("other") is None


def test_nobody_raises_their_own_role(team):
    """Staff may manage the team, but not make themselves more than they are."""
    with pytest.raises(ServiceError, match="give yourself more access"):
        access_grant(
            by=team.users["staff"], connection=team.alpha, user="staff", role=Role.PARTNER_ADMIN
        )
    with pytest.raises(ServiceError, match="give yourself more access"):
        access_grant(by=team.users["staff"], connection=team.bravo, user="staff", role="finance")
    assert team.role("staff") == Role.FINANCE
    assert team.role("staff", team.bravo) is None


def test_staff_with_a_role_may_manage_the_team(team):
    grant(team, "staff", "other", Role.PARTNER_ADMIN)
    assert team.role("other") == Role.PARTNER_ADMIN


def test_a_partner_admin_of_one_connection_cannot_grant_on_another(team):
    with pytest.raises(ServiceError, match="Only a partner admin of Bravo"):
        access_grant(by=team.users["admin"], connection=team.bravo, user="admin", role="finance")
    assert not Access.objects.filter(connection=team.bravo, user=team.users["admin"]).exists()


def test_an_unknown_role_is_refused(team):
    response = grant(team, "admin", "other", "owner")
    assert response.status_code == 400 and team.role("other") is None


@pytest.mark.parametrize(
    ("do", "action"),
    [
        (lambda t: grant(t, "admin", "other"), AuditAction.ACCESS_GRANTED),
        (lambda t: change(t, "admin", t.access("finance"), "partner-admin"), "access-changed"),
        (lambda t: revoke(t, "admin", t.access("finance")), AuditAction.ACCESS_REVOKED),
    ],
)
def test_each_change_writes_one_audit_entry(team, do, action):
    do(team)

    entry = team_entries().get()
    assert entry.action == action
    assert entry.user == team.users["admin"] and entry.username == "admin"
    assert entry.connection == team.alpha and entry.connection_name == "Alpha"
    assert entry.target in {"other", "finance"}
    assert entry.outcome == "ok" and entry.ip_address == "127.0.0.1"
    assert (
        entry.detail
        == {
            AuditAction.ACCESS_GRANTED: {"role": "finance"},
            AuditAction.ACCESS_CHANGED: {"role": "partner-admin", "previous_role": "finance"},
            AuditAction.ACCESS_REVOKED: {"previous_role": "finance"},
        }[action]
    )
