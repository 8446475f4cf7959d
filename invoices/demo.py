"""The demo set-up `make run` uses: sandbox connections, demo logins, a first sync."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from .models import Access, Connection, Role, SyncRun
from .sandbox import SandboxApp
from .sync import SyncAlreadyActive
from .tasks import sync_enqueue

DEMO_CONNECTIONS = {
    "acronis": "Acronis (sandbox)",
    "hostway": "Hostway (sandbox)",
    "masstack": "MasStack (sandbox)",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def _logins_file() -> Path:
    # DEMO_LOGINS_FILE: elsewhere (a test's demo must not overwrite the developer's).
    default = Path(settings.BASE_DIR) / "var" / "demo-logins.json"
    path = Path(os.environ.get("DEMO_LOGINS_FILE") or default)
    path.parent.mkdir(exist_ok=True)
    return path


def demo_setup(*, app: SandboxApp, sandbox_url: str) -> list[DemoLogin]:
    """Point the demo connections at the sandbox, create the demo logins, queue a first sync.

    Idempotent: a second start keeps the users, their passwords and the synced data.
    """
    connections = []
    for vendor in app.vendors:
        provider = vendor.__class__.__module__.rsplit(".", 1)[-1]
        config, credentials = vendor.connection(sandbox_url)
        connection, _ = Connection.objects.update_or_create(
            name=DEMO_CONNECTIONS[provider],
            defaults={
                "provider": provider,
                "config": config,
                "credentials": credentials,
                "sync_interval_minutes": 15,
            },
        )
        connections.append(connection)

    path = _logins_file()
    stored = json.loads(path.read_text()) if path.exists() else {}
    users = {
        # The partner admin sees every demo connection; finance only two of them,
        # which shows how access is scoped.
        "demo": (Role.PARTNER_ADMIN, connections),
        "finance": (Role.FINANCE, connections[:2]),
    }
    logins = []
    user_model = get_user_model()
    for username, (role, granted) in users.items():
        password = stored.get(username) or secrets.token_urlsafe(9)
        stored[username] = password
        user, created = user_model.objects.get_or_create(username=username)
        # The partner admin is also staff, so the demo can add connections in the app
        # (staff only; no Django admin rights come with it).
        staff = role == Role.PARTNER_ADMIN
        if created or not user.check_password(password) or user.is_staff != staff:
            user.set_password(password)
            user.is_staff = staff
            user.save()
        for connection in granted:
            Access.objects.update_or_create(
                user=user, connection=connection, defaults={"role": role}
            )
        logins.append(DemoLogin(username, password, Role(role).label))
    path.write_text(json.dumps(stored))
    path.chmod(0o600)

    for connection in connections:
        removed = connection.archived_at is not None  # removed in the app: left alone
        if not removed and not SyncRun.objects.filter(connection=connection).exists():
            with contextlib.suppress(SyncAlreadyActive):
                sync_enqueue(connection=connection, trigger="demo")
    return logins
