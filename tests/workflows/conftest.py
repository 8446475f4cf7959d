"""A mirror synced from a small sandbox of its own (real sockets), for the finance
workflows that read and write at the provider: PDFs, payments, exports.

Users: `finance` (finance on Acronis and Hostway), `partner` (partner admin on all
three), `outsider` (finance on MasStack only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from invoices.models import Access, Connection, Invoice, Role
from invoices.sandbox import SandboxApp, SandboxConfig, SandboxServer
from invoices.sync import connection_sync


@pytest.fixture(scope="session")
def workflow_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        seed=13, acronis_customers=6, acronis_months=4, hostway_accounts=2, masstack_accounts=2
    )
    server = SandboxServer(SandboxApp(config)).start()
    yield server
    server.stop()


@pytest.fixture
def provider(workflow_server) -> Iterator[SandboxApp]:
    """The sandbox's app, clean before and after the test (payments and exports too)."""
    app = workflow_server.app
    app.reset()
    yield app
    app.wait_idle()
    app.reset()


@dataclass
class Synced:
    server: SandboxServer
    connections: dict[str, Connection]
    users: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str) -> Client:
        client = Client()
        client.force_login(self.users[name])
        return client

    def unpaid(self, provider: str, n: int = 0) -> Invoice:
        return (
            Invoice.objects.filter(connection=self.connections[provider], status="unpaid")
            .select_related("connection", "account", "batch")
            .order_by("pk")[n]
        )

    def invoice(self, provider: str, n: int = 0) -> Invoice:
        return (
            Invoice.objects.filter(connection=self.connections[provider])
            .select_related("connection", "account", "batch")
            .order_by("pk")[n]
        )


@pytest.fixture
def synced(db, provider, workflow_server, settings) -> Synced:
    settings.LIVE_PROVIDER_BUDGET = 3.0
    connections = {}
    for name in ("acronis", "hostway", "masstack"):
        config, credentials = getattr(provider, name).connection(workflow_server.url)
        connection = Connection.objects.create(
            provider=name, name=name.title(), config=config, credentials=credentials
        )
        run = connection_sync(connection=connection)
        assert run.state == "succeeded", run.error
        connections[name] = connection
    synced = Synced(workflow_server, connections)
    users = get_user_model().objects
    synced.users = {
        name: users.create_user(name, password="x") for name in ("finance", "partner", "outsider")
    }
    for name in ("acronis", "hostway"):
        Access.objects.create(
            user=synced.users["finance"], connection=connections[name], role=Role.FINANCE
        )
    for connection in connections.values():
        Access.objects.create(
            user=synced.users["partner"], connection=connection, role=Role.PARTNER_ADMIN
        )
    Access.objects.create(
        user=synced.users["outsider"], connection=connections["masstack"], role=Role.FINANCE
    )
    provider.requests.clear()
    return synced
