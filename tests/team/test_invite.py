"""Invitations by e-mail: a new user with no password, a one-time link that expires (Django's
own tokens), a grant instead for an address that has an account."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from invoices.models import AuditAction, Role

from .conftest import PASSWORD, team_entries

NEW_PASSWORD = "a-long-new-password-8713"


def invite(team, email="new.person@example.com", role=Role.FINANCE, name="admin", **extra):
    url = reverse("invoices:connection_team_invite", args=[team.alpha.pk])
    return team.client(name).post(
        url, {"invite-email": email, "invite-role": role}, follow=True, **extra
    )


def link_in(message) -> str:
    match = re.search(r"https?://\S+/accounts/reset/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def choose_password(link: str, client: Client | None = None):
    """Open the link and set a password the way a browser does; the last answer."""
    client = client or Client()
    response = client.get(link)
    if response.status_code != 302:
        return response  # the page saying the link no longer works
    return client.post(
        response["Location"],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


def test_an_invitation_makes_a_user_without_password_and_grants_the_role(team):
    response = invite(team, "New.Person@Example.com", Role.PARTNER_ADMIN)

    user = get_user_model().objects.get(email__iexact="new.person@example.com")
    assert user.get_username() == "New.Person"
    assert not user.has_usable_password()
    assert user.invoice_access.get(connection=team.alpha).role == Role.PARTNER_ADMIN
    assert "Invitation sent to New.Person@Example.com" in response.content.decode()


def test_the_mail_names_the_inviter_the_connection_and_the_username(team):
    team.users["admin"].first_name, team.users["admin"].last_name = "Ada", "Admin"
    team.users["admin"].save()

    invite(team)

    (message,) = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert message.subject == "Ada Admin invited you to Alpha on billingportal"
    assert "Ada Admin invited you to billingportal" in message.body
    assert "the connection Alpha (role: Finance)" in message.body
    assert "Your username: new.person" in message.body
    assert "The link works once, for 3\xa0days." in message.body
    assert link_in(message).startswith("http://testserver/accounts/reset/")


def test_the_mail_is_written_in_the_inviters_language(team, monkeypatch):
    """Rendered in the request's active language (the picker's cookie)."""
    seen = []
    import invoices.invitations as invitations

    real = invitations.render_to_string

    def spy(name, context):
        seen.append(translation.get_language())
        return real(name, context)

    monkeypatch.setattr(invitations, "render_to_string", spy)
    client = team.client("admin")
    client.cookies["django_language"] = "nl"
    url = reverse("invoices:connection_team_invite", args=[team.alpha.pk])

    client.post(url, {"invite-email": "nieuw@example.com", "invite-role": "finance"})

    assert seen == ["nl", "nl"] and len(mail.outbox) == 1


def test_the_link_sets_a_password_once_and_the_user_signs_in(team):
    invite(team)
    link = link_in(mail.outbox[0])

    done = choose_password(link)

    assert "Your password has been set" in done.content.decode()
    client = Client()
    signed_in = client.post(
        reverse("login"), {"username": "new.person", "password": NEW_PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == "/"
    assert signed_in.context["user"].get_username() == "new.person"
    again = choose_password(link)
    assert "This link no longer works" in again.content.decode()


def test_the_link_expires(team, settings, monkeypatch):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    invite(team)
    link = link_in(mail.outbox[0])
    later = dt.datetime.now() + dt.timedelta(seconds=3601)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)

    response = choose_password(link)

    assert "This link no longer works" in response.content.decode()
    user = get_user_model().objects.get(username="new.person")
    assert not user.has_usable_password()


def test_an_address_with_an_account_is_granted_instead(team):
    response = invite(team, "OTHER@example.com", Role.PARTNER_ADMIN)

    assert mail.outbox == []
    assert team.role("other") == Role.PARTNER_ADMIN
    body = response.content.decode()
    assert "OTHER@example.com is the address of other, who already has an account" in body
    assert get_user_model().objects.filter(email__iexact="other@example.com").count() == 1
    entry = team_entries().get()
    assert entry.action == AuditAction.ACCESS_GRANTED and entry.target == "other"


def test_inviting_again_someone_who_chose_no_password_sends_a_new_link(team):
    invite(team)
    invite(team)

    assert len(mail.outbox) == 2
    assert get_user_model().objects.filter(email="new.person@example.com").count() == 1
    assert [e.action for e in team_entries()] == ["invited", "invited"]


def test_a_taken_username_gets_a_number(team):
    get_user_model().objects.create_user("new.person", email="someone.else@example.com")
    invite(team)
    assert get_user_model().objects.get(email="new.person@example.com").username == "new.person2"


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@c"])
def test_a_wrong_address_says_what_to_do(team, email):
    response = invite(team, email)

    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter " in body and 'id="id_invite-email-error"' in body
    assert mail.outbox == [] and not team_entries().exists()


def test_finance_cannot_invite(team):
    response = invite(team, name="finance")
    assert response.status_code == 403 and mail.outbox == []
    assert not get_user_model().objects.filter(email="new.person@example.com").exists()


def test_the_invitation_writes_one_audit_entry_without_password_or_token(team):
    invite(team)

    entry = team_entries().get()
    assert entry.action == AuditAction.INVITED
    assert (entry.username, entry.target, entry.connection) == ("admin", "new.person", team.alpha)
    assert entry.detail == {
        "email": "new.person@example.com",
        "role": "finance",
        "previous_role": None,
        "new_user": True,
    }
    token = link_in(mail.outbox[0]).rstrip("/").rsplit("/", 1)[-1]
    choose_password(link_in(mail.outbox[0]))
    text = " ".join(str(v) for v in entry.__dict__.values())
    for secret in (token, NEW_PASSWORD, PASSWORD, "/accounts/reset/"):
        assert secret not in text
    assert team_entries().count() == 1  # choosing the password is not a team change


def test_a_mail_that_cannot_be_sent_is_said_and_recorded(team, settings, monkeypatch):
    import invoices.invitations as invitations

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(invitations, "send_mail", broken)

    response = invite(team)

    assert response.status_code == 400
    assert "the e-mail could not be sent" in response.content.decode()
    entry = team_entries().get()
    assert (entry.action, entry.outcome) == (AuditAction.INVITED, "failed")
