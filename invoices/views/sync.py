"""Sync now (partner admins) and the live progress of a connection's sync."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import audit
from ..models import AuditAction, AuditOutcome, Role
from ..selectors import connection_get, connection_overviews, connection_role, connections_for_user
from ..sync import SyncAlreadyActive
from ..tasks import sync_enqueue


def _status(request: HttpRequest, pk: int, *, message: str = "") -> HttpResponse:
    connection = connection_get(user=request.user, pk=pk)
    overview = connection_overviews(
        connections=connections_for_user(request.user).filter(pk=connection.pk), with_counts=False
    )[0]
    role = connection_role(user=request.user, connection=connection)
    response = render(
        request,
        "invoices/partials/connection_status.html",
        {"o": overview, "can_sync": role == Role.PARTNER_ADMIN, "message": message},
    )
    run = overview.last_run
    if run is not None and not run.is_active and request.GET.get("was") == "active":
        # The run this panel was following just ended: refresh the invoice table.
        response["HX-Trigger"] = "invoices-changed"
    return response


@login_required
@require_POST
def connection_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get(user=request.user, pk=pk)  # 404 if not theirs
    if connection_role(user=request.user, connection=connection) != Role.PARTNER_ADMIN:
        raise PermissionDenied(_("Only partner admins can start a sync."))
    message = _("Sync of %(connection)s queued.") % {"connection": connection.name}
    outcome, detail = AuditOutcome.OK, {}
    try:
        run = sync_enqueue(connection=connection, trigger="dashboard", requested_by=request.user)
        detail = {"run": run.pk}
    except SyncAlreadyActive:
        message = _("A sync of %(connection)s is already running.") % {
            "connection": connection.name
        }
        outcome = AuditOutcome.REFUSED
    audit.record(
        request, AuditAction.SYNC, connection=connection, target=connection.name,
        outcome=outcome, message=message, detail=detail,
    )  # fmt: skip
    if not request.htmx:  # a plain form post: back to the list (post/redirect/get)
        messages.info(request, message)
        return redirect("invoices:invoice_list")
    return _status(request, pk, message=message)


@login_required
@require_GET
def connection_sync_status(request: HttpRequest, pk: int) -> HttpResponse:
    return _status(request, pk)
