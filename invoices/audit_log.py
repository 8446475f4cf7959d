"""Reading the audit trail: who may see which entries, and the log as CSV.

Staff (`is_staff` or superusers) see every entry. A partner admin sees the entries of
the connections they are partner admin on, removed ones included (the entry saying a
connection was removed, and all before it, stay in its admins' log). Entries on no
connection (sign-ins, saved views, an action over invoices of several connections) are
for staff only: nothing in them is scoped to one partner. Everyone else sees nothing,
and the page answers 404 (as every page does for what a user may not see).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .exports import _FORMULA_START, _Line
from .models import Access, AuditEntry, Connection, Role

CHUNK = 2000

# The CSV's columns: (header, how a cell is read from an entry).
COLUMNS: list[tuple[Any, Any]] = [
    (_("When"), lambda e: timezone.localtime(e.at).isoformat(timespec="seconds")),
    (_("Who"), lambda e: e.username),
    (_("Connection"), lambda e: e.connection_name),
    (_("What"), lambda e: e.get_action_display()),
    (_("On"), lambda e: e.target),
    (_("Outcome"), lambda e: e.get_outcome_display()),
    (_("Message"), lambda e: e.message),
    (_("IP address"), lambda e: e.ip_address or ""),
    (_("Details"), lambda e: json.dumps(e.detail, ensure_ascii=False, sort_keys=True)),
]


def audit_log_is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_staff or user.is_superuser))


def audit_log_connections(user: Any) -> QuerySet[Connection]:
    """The connections whose entries `user` may read (all, for staff)."""
    if not getattr(user, "is_authenticated", False):
        return Connection.objects.none()
    if audit_log_is_staff(user):
        return Connection.objects.all()
    admin_of = Access.objects.filter(user=user, role=Role.PARTNER_ADMIN).values("connection_id")
    return Connection.objects.filter(pk__in=admin_of)


def audit_log_allowed(user: Any) -> bool:
    """Whether `user` may open the log at all (staff, or a partner admin somewhere)."""
    return audit_log_is_staff(user) or audit_log_connections(user).exists()


def audit_entries_for_user(user: Any) -> QuerySet[AuditEntry]:
    """The entries `user` may read, newest first."""
    entries = AuditEntry.objects.select_related("connection")
    if audit_log_is_staff(user):
        return entries
    return entries.filter(connection__in=audit_log_connections(user))


def audit_csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """The entries as CSV lines (headers in the active language), read in chunks."""
    writer = csv.writer(_Line())
    yield "\ufeff"  # BOM: Excel then reads the file as UTF-8
    yield writer.writerow([str(header) for header, _cell in COLUMNS])
    for entry in entries.iterator(chunk_size=CHUNK):
        yield writer.writerow([_safe(cell(entry)) for _header, cell in COLUMNS])


def _safe(value: str) -> str:
    # A cell a spreadsheet would run as a formula (a username or a message is typed by
    # someone) is kept as text, as in the invoice exports.
    return "'" + value if value.startswith(_FORMULA_START) else value
