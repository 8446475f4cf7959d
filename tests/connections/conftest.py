"""Connections against the live sandbox (real sockets, tests/conftest.py `sandbox`).

Connections: A "Alpha" (Acronis, synced) and B "Bravo" (Hostway, not synced). Users:
`staff` (is_staff, no role), `admin_a` (partner admin on A), `admin_b` (partner admin on
B), `finance` (finance on A), `stranger` (no role), `root` (superuser).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from invoices.models import Access, Connection, Role
from invoices.sandbox.masstack import service_account
from invoices.sync import connection_sync


@dataclass
class World:
    sandbox: Any
    a: Connection
    b: Connection
    users: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(self.users[name])
        return client

    @property
    def secrets(self) -> list[str]:
        """Every secret the sandbox's connections use (and bits of the MasStack key)."""
        config = self.sandbox.app.config
        key = service_account()["private_key"]
        lines = [line for line in key.splitlines() if len(line) > 40]
        return [config.acronis_client_secret, config.hostway_password, *lines[:3]]


def assert_no_secret(response: Any, secrets: list[str]) -> None:
    body = response.content.decode(errors="replace")
    for secret in secrets:
        assert secret not in body, f"a secret is in the response of {response.request}"


@pytest.fixture
def world(db, sandbox) -> World:
    config, credentials = sandbox.app.acronis.connection(sandbox.url)
    a = Connection.objects.create(
        provider="acronis", name="Alpha", config=config, credentials=credentials
    )
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    b = Connection.objects.create(
        provider="hostway", name="Bravo", config=config, credentials=credentials
    )
    assert connection_sync(connection=a).state == "succeeded"
    world = World(sandbox, a, b)
    users = get_user_model().objects
    world.users = {
        name: users.create_user(name, password="x")
        for name in ("staff", "admin_a", "admin_b", "finance", "stranger")
    }
    world.users["staff"].is_staff = True
    world.users["staff"].save()
    world.users["root"] = users.create_superuser("root", password="x")
    Access.objects.create(user=world.users["admin_a"], connection=a, role=Role.PARTNER_ADMIN)
    Access.objects.create(user=world.users["admin_b"], connection=b, role=Role.PARTNER_ADMIN)
    Access.objects.create(user=world.users["finance"], connection=a, role=Role.FINANCE)
    return world
