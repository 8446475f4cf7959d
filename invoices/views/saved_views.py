"""Saved views: save the list's filters, sort and columns; rename, share, delete; pick
the default that opens at `/` (see `invoices.saved_views`). Each answers with a redirect
back to the list (htmx follows it), and a plain form post works the same."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..saved_views import (
    default_view_set,
    saved_view_create,
    saved_view_delete,
    saved_view_get,
    saved_view_update,
    saved_view_url_query,
)
from ..services import ServiceError
from .dashboard import visible_columns


def _list(query: str = "") -> HttpResponse:
    return redirect(f"{reverse('invoices:invoice_list')}?{query or 'view=all'}")


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Save the list as it is now (`query`: the list's query string) under `name`."""
    params = QueryDict(request.POST.get("query", "")[:2000])
    try:
        view = saved_view_create(
            user=request.user,
            name=request.POST.get("name", ""),
            params=params,
            columns=list(visible_columns(request.user)),
            shared=request.POST.get("shared") == "on",
            request=request,
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
        return _list(params.urlencode())
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return _list(saved_view_url_query(view))


@login_required
@require_POST
def saved_view_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, share or unshare a view of one's own."""
    # A checkbox sends nothing when unticked: the form says it sent one (`shared_sent`).
    shared = (
        request.POST.get("shared")
        if "shared_sent" not in request.POST
        else (request.POST.get("shared") or "off")
    )
    try:
        view = saved_view_update(
            user=request.user,
            pk=pk,
            name=request.POST.get("name") if "name" in request.POST else None,
            shared=None if shared is None else shared == "on",
            request=request,
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
        view = saved_view_get(user=request.user, pk=pk, owned=True)
    else:
        messages.success(request, _("View “%(name)s” updated.") % {"name": view.name})
    return _list(saved_view_url_query(view))


@login_required
@require_POST
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    view = saved_view_get(user=request.user, pk=pk, owned=True)
    name = view.name
    saved_view_delete(user=request.user, pk=pk, request=request)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": name})
    return _list()


@login_required
@require_POST
def saved_view_default(request: HttpRequest) -> HttpResponse:
    """Make a view the one `/` opens (`view` empty: none)."""
    raw = request.POST.get("view", "")
    pk = int(raw) if raw.isdigit() else None
    view = default_view_set(user=request.user, pk=pk, request=request)
    if view is None:
        messages.success(request, _("The list opens with all invoices."))
        return _list()
    messages.success(request, _("The list opens with “%(name)s”.") % {"name": view.name})
    return _list(saved_view_url_query(view))
