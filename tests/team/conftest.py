"""Two connections and the people around them, built straight with the ORM (no provider).

Alpha: `admin` (partner admin), `finance` (finance), `staff` (is_staff, finance). Bravo:
`bravo_admin` (partner admin). `stranger` has no role anywhere; `root` is a superuser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from invoices.models import Access, Connection, Role

SECRET = "team-test-client-secret-5c1d"  # must never show in a page or the audit log
PASSWORD = "pw-of-the-team-tests"


@dataclass
class Team:
    alpha: Connection
    bravo: Connection
    users: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(self.users[name])
        return client

    def access(self, name: str, connection: Connection | None = None) -> Access:
        return Access.objects.get(user=self.users[name], connection=connection or self.alpha)

    def role(self, name: str, connection: Connection | None = None) -> str | None:
        return (
            Access.objects.filter(user=self.users[name], connection=connection or self.alpha)
            .values_list("role", flat=True)
            .first()
        )


@pytest.fixture
def team(db) -> Team:
    def connection(name: str) -> Connection:
        return Connection.objects.create(
            provider="acronis",
            name=name,
            config={"base_url": "http://127.0.0.1:9"},
            credentials={"client_id": f"{name}-id", "client_secret": SECRET},
        )

    team = Team(alpha=connection("Alpha"), bravo=connection("Bravo"))
    users = get_user_model().objects
    for name in ("admin", "finance", "staff", "bravo_admin", "stranger", "other"):
        team.users[name] = users.create_user(
            name, email=f"{name}@example.com", password=PASSWORD, is_staff=name == "staff"
        )
    team.users["root"] = users.create_superuser("root", "root@example.com", PASSWORD)
    grants = [
        ("admin", team.alpha, Role.PARTNER_ADMIN),
        ("finance", team.alpha, Role.FINANCE),
        ("staff", team.alpha, Role.FINANCE),
        ("bravo_admin", team.bravo, Role.PARTNER_ADMIN),
    ]
    for name, conn, role in grants:
        Access.objects.create(user=team.users[name], connection=conn, role=role)
    return team


TEAM_ACTIONS = ["access-granted", "access-changed", "access-revoked", "invited"]


def team_entries():
    """The audit entries of team changes (sign-ins, also recorded, left out)."""
    from invoices.models import AuditEntry

    return AuditEntry.objects.filter(action__in=TEAM_ACTIONS)
