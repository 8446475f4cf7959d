"""The audit log in templates: its details as text, and whether to offer the page."""

from __future__ import annotations

import json
from typing import Any

from django import template

from ..audit_log import audit_log_allowed

register = template.Library()


@register.filter
def audit_detail(detail: Any) -> str:
    """An entry's details as indented JSON (escaped by the template, like any text)."""
    return json.dumps(detail, ensure_ascii=False, indent=2, sort_keys=True)


@register.simple_tag
def may_see_audit_log(user: Any) -> bool:
    """For the top bar's link: staff, or a partner admin of some connection."""
    return audit_log_allowed(user)
