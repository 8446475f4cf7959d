"""`manage.py grant_access` shares the page's service, acting as an administrator."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from invoices.models import AuditAction, Role

from .conftest import team_entries


def grant_access(user: str, connection: str, role: str) -> str:
    out = StringIO()
    call_command(
        "grant_access", "--user", user, "--connection", connection, "--role", role, stdout=out
    )
    return out.getvalue()


def test_by_e_mail_address(team):
    out = grant_access("other@example.com", "Bravo", Role.FINANCE)

    assert "other is now finance on 'Bravo'." in out
    assert team.role("other", team.bravo) == Role.FINANCE


def test_recorded_once_as_the_command_line(team):
    grant_access("other", "Alpha", Role.PARTNER_ADMIN)

    entry = team_entries().get()
    assert (entry.action, entry.user, entry.username) == (AuditAction.ACCESS_GRANTED, None, "")
    assert entry.detail == {"role": "partner-admin", "via": "command line"}


def test_the_last_partner_admin_stays(team):
    with pytest.raises(CommandError, match="admin is the last partner admin of Alpha"):
        grant_access("admin", "Alpha", Role.FINANCE)
    assert team.role("admin") == Role.PARTNER_ADMIN


def test_an_unknown_user(team):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        grant_access("ghost", "Alpha", Role.FINANCE)
