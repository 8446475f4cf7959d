"""The audit log in templates: its details as text, and whether to offer the page."""

from __future__ import annotations

import json
from typing import Any

from django import template

from ..models import Role

register = template.Library()


@register.filter
def audit_detail(detail: Any) -> str:
    """An entry's details as indented JSON (escaped by the template, like any text)."""
    return json.dumps(detail, ensure_ascii=False, indent=2, sort_keys=True)


@register.simple_tag
def nav_links(user: Any) -> dict[str, bool]:
    """Which of the top bar's links `user` gets, from one query for both (every page
    shows the bar): Connections for staff and anyone with a role; the audit log for
    staff and partner admins (of any connection, removed ones too: their log stays)."""
    staff = bool(user.is_staff or user.is_superuser)
    roles = set() if staff else set(user.invoice_access.values_list("role", flat=True).distinct())
    return {
        "connections": staff or bool(roles),
        "audit_log": staff or Role.PARTNER_ADMIN in roles,
    }
