"""Connections in the app: the list, adding one, its page, settings, credentials, a test,
pause, remove (archive) and its sync history.

Who may do what: staff add connections; a partner admin of a connection changes it;
finance staff see its page, health and history. Someone with no role on a connection
gets a 404 on all its addresses (never confirm it exists); someone who may see it but not
change it gets a 403 page (as "Sync now" does), and the controls are not shown to them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..connection_forms import (
    PROVIDERS,
    add_form_class,
    addresses_initial,
    credentials_form,
    settings_form,
    settings_initial,
)
from ..explain import connection_check_words, sync_error_words
from ..models import Connection, Invoice, Role, SyncRun, SyncState
from ..providers import ProviderError
from ..providers.http import Redactor, secret_strings
from ..providers.registry import provider_label
from ..selectors import (
    connection_get,
    connection_overviews,
    connection_role,
    connection_roles,
    connections_for_user,
)
from ..services import (
    ServiceError,
    connection_archive,
    connection_check,
    connection_create,
    connection_credentials_rotate,
    connection_pause_set,
    connection_update,
)
from ..sync import SyncAlreadyActive
from ..tasks import sync_enqueue
from ..templatetags.invoice_tags import duration

RUNS_PER_PAGE = 25

# How a run was started, in words (`SyncRun.trigger`).
TRIGGERS = {
    "schedule": gettext_lazy("On schedule"),
    "dashboard": gettext_lazy("By hand"),
    "manual": gettext_lazy("By hand"),
    "added": gettext_lazy("When the connection was added"),
    "cli": gettext_lazy("Command line"),
    "demo": gettext_lazy("Demo set-up"),
    "retry": gettext_lazy("Again, after a worker was lost"),
}


def may_add_connections(user: Any) -> bool:
    return bool(user.is_staff or user.is_superuser)


def _managed(request: HttpRequest, pk: int) -> Connection:
    """A connection the user manages: 404 if they may not see it, 403 if only see it."""
    connection = connection_get(user=request.user, pk=pk)
    if connection_role(user=request.user, connection=connection) != Role.PARTNER_ADMIN:
        raise PermissionDenied(_("Only a partner admin of this connection can change it."))
    return connection


def _overview(request: HttpRequest, connection: Connection) -> Any:
    visible = connections_for_user(request.user).filter(pk=connection.pk)
    return connection_overviews(connections=visible)[0]


def _team_url(connection: Connection) -> str | None:
    # The team page comes with the access work; until its URL exists, no link.
    try:
        return reverse("invoices:connection_team", args=[connection.pk])
    except NoReverseMatch:
        return None


def _refusal(exc: ProviderError, provider: str, credentials: dict[str, Any]) -> dict[str, str]:
    """The provider's refusal in plain words, and its own (redacted) words for details:
    redacted again here of what was just typed, whatever the provider echoed."""
    detail = Redactor(secret_strings(credentials))(str(exc))
    return {"words": connection_check_words(exc, label=provider_label(provider)), "detail": detail}


@login_required
@require_GET
def connection_list(request: HttpRequest) -> HttpResponse:
    roles = connection_roles(user=request.user)
    overviews = connection_overviews(connections=connections_for_user(request.user))
    rows = [(o, roles.get(o.connection.pk) == Role.PARTNER_ADMIN) for o in overviews]
    return render(
        request,
        "invoices/connections/list.html",
        {
            "rows": [(o, can_sync, provider_label(o.connection.provider)) for o, can_sync in rows],
            "may_add": may_add_connections(request.user),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def connection_add(request: HttpRequest) -> HttpResponse:
    if not may_add_connections(request.user):
        raise PermissionDenied(_("Only staff can add connections."))
    provider = request.POST.get("provider") or request.GET.get("provider", "")
    if provider not in PROVIDERS:
        choices = [(name, provider_label(name)) for name in PROVIDERS]
        return render(request, "invoices/connections/add_choose.html", {"choices": choices})
    form_class = add_form_class(provider)
    form = form_class(request.POST, request.FILES) if request.method == "POST" else form_class()
    refusal = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        credentials = form.credentials()
        try:
            connection = connection_create(
                provider=provider,
                name=data["name"],
                config=form.config(),
                credentials=credentials,
                actor=request,
                created_by=request.user,
                payment_terms_days=data["payment_terms_days"],
                sync_interval_minutes=data["sync_interval_minutes"],
            )
        except ServiceError as exc:
            form.add_error("name", str(exc))
        except ProviderError as exc:
            refusal = _refusal(exc, provider, credentials)
        else:
            with contextlib.suppress(SyncAlreadyActive):
                sync_enqueue(connection=connection, trigger="added", requested_by=request.user)
            messages.success(
                request,
                _("Connection %(name)s added; its first sync is under way.")
                % {"name": connection.name},
            )
            return redirect("invoices:connection_detail", pk=connection.pk)
    return render(
        request,
        "invoices/connections/add.html",
        {
            "form": form,
            "provider": provider,
            "provider_label": provider_label(provider),
            "refusal": refusal,
            "multipart": provider == "masstack",
        },
    )


@login_required
@require_GET
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get(user=request.user, pk=pk)
    role = connection_role(user=request.user, connection=connection)
    config = connection.config or {}
    return render(
        request,
        "invoices/connections/detail.html",
        {
            "connection": connection,
            "o": _overview(request, connection),
            "can_sync": role == Role.PARTNER_ADMIN,
            "can_manage": role == Role.PARTNER_ADMIN,
            "role_label": Role(role).label if role else "",
            "provider_label": provider_label(connection.provider),
            "addresses": [
                (label, config[key])
                for key, label in (
                    ("base_url", _("API address")),
                    ("billing_url", _("Billing API URL")),
                    ("customers_url", _("Customers API URL")),
                    ("token_url", _("Token URL")),
                )
                if config.get(key)
            ],
            "accounts": config.get("accounts"),
            "currency": config.get("currency", ""),
            "org": config.get("org", ""),
            "since": config.get("since", ""),
            "team_url": _team_url(connection),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    initial = settings_initial(connection)
    if request.method == "POST":
        form = settings_form(connection.provider, request.POST, initial=initial)
        if form.is_valid():
            data = form.cleaned_data
            try:
                connection_update(
                    connection=connection,
                    actor=request,
                    name=data["name"],
                    config=form.config(),
                    payment_terms_days=data["payment_terms_days"],
                    sync_interval_minutes=data["sync_interval_minutes"],
                    paused=data["paused"],
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Settings saved."))
                return redirect("invoices:connection_detail", pk=connection.pk)
    else:
        form = settings_form(connection.provider, initial=initial)
    return render(
        request,
        "invoices/connections/edit.html",
        {
            "connection": connection,
            "form": form,
            "provider_label": provider_label(connection.provider),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def connection_credentials(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    initial = addresses_initial(connection)
    refusal = None
    if request.method == "POST":
        form = credentials_form(connection.provider, request.POST, request.FILES, initial=initial)
        if form.is_valid():
            credentials = form.credentials()
            try:
                connection_credentials_rotate(
                    connection=connection,
                    actor=request,
                    credentials=credentials,
                    config=form.config(),
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            except ProviderError as exc:
                refusal = _refusal(exc, connection.provider, credentials)
            else:
                messages.success(request, _("Credentials changed and checked."))
                return redirect("invoices:connection_detail", pk=connection.pk)
    else:
        form = credentials_form(connection.provider, initial=initial)
    return render(
        request,
        "invoices/connections/credentials.html",
        {
            "connection": connection,
            "form": form,
            "refusal": refusal,
            "provider_label": provider_label(connection.provider),
            "multipart": connection.provider == "masstack",
        },
    )


@login_required
@never_cache
@require_POST
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Check the connection against its provider, saving nothing: the stored settings, or
    (from the credentials form) with what was typed there in place of them."""
    connection = _managed(request, pk)
    label = provider_label(connection.provider)
    result: dict[str, Any] = {"ok": False, "words": "", "detail": ""}
    typed: dict[str, Any] = {}
    try:
        if request.POST.get("typed"):
            form = credentials_form(connection.provider, request.POST, request.FILES)
            if not form.is_valid():
                raise ServiceError(_("Correct the fields of the form first, then test again."))
            typed = form.credentials()
            connection_check(connection=connection, credentials=typed, config=form.config())
        else:
            connection_check(connection=connection)
    except ServiceError as exc:
        result["words"] = str(exc)
    except ProviderError as exc:
        result.update(_refusal(exc, connection.provider, typed))
    else:
        result = {
            "ok": True,
            "words": _("The connection works: %(provider)s accepted it.") % {"provider": label},
        }
    context = {"connection": connection, "result": result}
    if request.htmx:
        return render(request, "invoices/connections/partials/test_result.html", context)
    return render(request, "invoices/connections/test.html", context)


@login_required
@require_POST
def connection_pause(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    paused = not connection.paused
    connection_pause_set(connection=connection, actor=request, paused=paused)
    if paused:
        message = _("Scheduled syncs of %(name)s are paused; Sync now still works.")
    else:
        message = _("Scheduled syncs of %(name)s are resumed.")
    messages.success(request, message % {"name": connection.name})
    return redirect("invoices:connection_detail", pk=connection.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def connection_remove(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    if request.method == "POST":
        hidden = connection_archive(connection=connection, actor=request)
        messages.success(
            request,
            _("%(name)s was removed, with its %(count)s invoices. Nothing was deleted.")
            % {"name": connection.name, "count": hidden},
        )
        return redirect("invoices:connections")
    count = Invoice.objects.filter(connection=connection).count()
    return render(
        request, "invoices/connections/remove.html", {"connection": connection, "count": count}
    )


def _duration(run: SyncRun) -> str:
    if not (run.finished_at and run.started_at):
        return ""
    seconds = round((run.finished_at - run.started_at).total_seconds())
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    return duration(run.finished_at - run.started_at)


@login_required
@require_GET
def connection_history(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get(user=request.user, pk=pk)
    role = connection_role(user=request.user, connection=connection)
    runs = SyncRun.objects.filter(connection=connection).select_related("requested_by")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    label = provider_label(connection.provider)
    rows = []
    for run in page.object_list:
        failed = run.state == SyncState.FAILED or run.lease_expired
        rows.append(
            {
                "run": run,
                "trigger": TRIGGERS.get(run.trigger, run.trigger),
                "duration": _duration(run),
                "error_words": sync_error_words(run.error_kind, label=label) if failed else "",
            }
        )
    return render(
        request,
        "invoices/connections/history.html",
        {
            "connection": connection,
            "page": page,
            "rows": rows,
            "show_detail": role == Role.PARTNER_ADMIN,
        },
    )
