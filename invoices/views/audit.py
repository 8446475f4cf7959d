"""The audit log: the entries a user may read (`invoices.audit_log`), filtered and paged,
and the same as a CSV. Anyone else gets a 404, like every page they may not see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..audit_log import (
    audit_csv_lines,
    audit_entries_for_user,
    audit_log_allowed,
    audit_log_connections,
)
from ..filters import AuditEntryFilter
from ..models import AuditEntry

PER_PAGE = 50


def _filtered(request: HttpRequest) -> AuditEntryFilter:
    if not audit_log_allowed(request.user):
        raise Http404("No such page")
    return AuditEntryFilter(
        request.GET,
        queryset=audit_entries_for_user(request.user),
        connections=audit_log_connections(request.user),
    )


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    filterset = _filtered(request)
    # An invalid filter (a date that is not one, another's connection) shows the form's
    # error and no entries, never more entries than asked for.
    entries = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "invoices/audit_log.html", {"filter": filterset, "page": page})


@login_required
@require_GET
@never_cache
def audit_log_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV, streamed (in the language and time zone asked in)."""
    filterset = _filtered(request)
    entries = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    response = StreamingHttpResponse(
        _in(translation.get_language(), timezone.get_current_timezone(), entries),
        content_type="text/csv; charset=utf-8",
    )
    name = f"audit-log-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _in(language: str, zone: Any, entries: QuerySet[AuditEntry]) -> Iterator[str]:
    # The stream is read after the view returned, when the request's time zone is reset.
    with translation.override(language), timezone.override(zone):
        yield from audit_csv_lines(entries)
