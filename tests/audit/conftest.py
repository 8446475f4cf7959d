"""The audit trail's tests use the finance workflows' synced sandbox (`synced`: real
provider calls) and the views' small ORM-built mirror (`mirror`: scoping)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from invoices.models import AuditAction, AuditEntry
from invoices.providers.http import secret_strings
from tests.views.conftest import _one_today, mirror  # noqa: F401
from tests.workflows.conftest import provider, synced, workflow_server  # noqa: F401


def entries(action: str | None = None) -> list[AuditEntry]:
    """The entries written, oldest first, without the sign-ins a test's `force_login`
    makes (unless those are asked for)."""
    found = AuditEntry.objects.order_by("pk")
    if action is not None:
        return list(found.filter(action=action))
    return list(found.exclude(action=AuditAction.LOGIN))


def only(action: str) -> AuditEntry:
    """The one entry the test's action wrote (and nothing else was written)."""
    written = entries()
    assert [e.action for e in written] == [action], [(e.action, e.target) for e in written]
    return written[0]


def entry_text(entry: AuditEntry) -> str:
    """Everything an entry holds, as one string to search."""
    return " ".join(
        [
            entry.username,
            entry.connection_name,
            entry.target,
            entry.message,
            json.dumps(entry.detail, ensure_ascii=False),
        ]
    )


def secrets_of(*connections: Any) -> list[str]:
    """The credentials' strings worth searching for (long enough to mean something)."""
    return [
        text
        for connection in connections
        for text in secret_strings(connection.credentials)
        if len(text) >= 8
    ]


def assert_no_secret(entry: AuditEntry, secrets: list[str]) -> None:
    text = entry_text(entry)
    assert secrets, "the test has no secret to look for"
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def all_secrets(synced) -> list[str]:  # noqa: F811
    return secrets_of(*synced.connections.values())
