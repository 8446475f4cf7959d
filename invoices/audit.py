"""The audit trail: one `record()` call per sensitive action, everywhere.

An entry says when, who, on which connection, what, from which address and how it ended
(`models.AuditEntry`). Entries are only ever added: the model refuses changes and
deletes, and the Django admin shows them read-only.

What never goes in: a credential, a token, a public link (only that one was revealed, and
for which invoice). Details are plain facts (format, filters, counts, the provider's
answer in words); every string in them is redacted of the connection's secrets, in every
form a provider might echo them (`providers.http.Redactor`), and cut to a bounded size.

Why not a library: django-auditlog and django-simple-history record changes to model
rows (diffs of fields), while most of what is recorded here changes no row (a PDF read,
a link revealed, an export); django-pghistory needs PostgreSQL triggers (the embedded
default is SQLite); django-easy-audit logs every request and every model save, and its
entries are editable in the admin. One small append-only table and this function do the
job on both databases.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

from django.db import DatabaseError, transaction

from .models import AuditAction, AuditEntry, AuditOutcome, Connection
from .providers.http import Redactor, secret_strings

logger = logging.getLogger(__name__)

MAX_TEXT = 500  # one string in the details, after redaction
MAX_ITEMS = 50  # one list in the details

Action = AuditAction
Outcome = AuditOutcome


def record(
    request_or_user: Any,
    action: str,
    *,
    connection: Connection | None = None,
    target: str = "",
    outcome: str = AuditOutcome.OK,
    message: str = "",
    detail: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
    username: str | None = None,
) -> AuditEntry | None:
    """Add one entry. `request_or_user` is the request (its user and address are taken)
    or a user (a command, a task), or None (a failed sign-in: give `username`).

    The entry is written even when the surrounding transaction later rolls back (its own
    savepoint is not enough for that, so callers record after their transaction); a
    database failure here is logged, never raised at the person (their action happened).
    """
    request = request_or_user if hasattr(request_or_user, "META") else None
    user = getattr(request, "user", None) if request is not None else request_or_user
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if request is not None and ip_address is None:
        ip_address = client_ip(request)
    redact = _redactor(connection)
    entry = AuditEntry(
        user=user,
        username=(username if username is not None else (user.get_username() if user else ""))[
            :150
        ],
        connection=connection,
        connection_name=connection.name if connection is not None else "",
        action=action,
        target=redact(str(target))[:200],
        outcome=outcome,
        message=redact(str(message))[:MAX_TEXT],
        detail=_clean(detail or {}, redact),
        ip_address=ip_address,
    )
    try:
        with transaction.atomic():
            entry.save()
    except DatabaseError:
        logger.exception("the audit entry for %s could not be written", action)
        return None
    return entry


def client_ip(request: Any) -> str | None:
    """The address the request came from, as django-axes sees it (its proxy settings)."""
    try:
        from axes.helpers import get_client_ip_address

        address = get_client_ip_address(request)
    except Exception:  # an address is a nicety, never a failure
        address = request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def _redactor(connection: Connection | None) -> Redactor:
    if connection is None:
        return Redactor()
    try:
        return Redactor(secret_strings(connection.credentials or {}))
    except Exception:  # unreadable credentials: nothing of them to hide
        return Redactor()


def _clean(value: Any, redact: Redactor) -> Any:
    """JSON-safe, redacted, bounded."""
    if isinstance(value, Mapping):
        return {str(k)[:80]: _clean(v, redact) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v, redact) for v in list(value)[:MAX_ITEMS]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))[:MAX_TEXT]
