"""A connection's team: who has access and with which role. Its partner admins (and
staff) grant access by username or e-mail, change a role, revoke access after a
confirmation, and invite someone by e-mail (`services.access_*`: the rules live there).

Anyone without a role on the connection gets a 404, GET or POST (never a 403: do not
confirm it exists). Finance staff of the connection see the list without controls, and
their POSTs are refused (403). A change answers with a redirect back to the page
(post/redirect/get); a refused one shows the page again with the reason at its form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..models import Access, Connection, Role
from ..selectors import connection_get, connection_role, connections_for_user
from ..services import (
    ServiceError,
    access_change,
    access_grant,
    access_invite,
    access_may_manage,
    access_revoke,
)

ROLE_FIELD = {"label": gettext_lazy("Role"), "choices": Role.choices, "initial": Role.FINANCE}


class GrantForm(forms.Form):
    user = forms.CharField(
        label=gettext_lazy("Username or e-mail address"),
        max_length=254,
        error_messages={"required": gettext_lazy("Enter a username or an e-mail address.")},
    )
    role = forms.ChoiceField(**ROLE_FIELD)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        error_messages={
            "required": gettext_lazy("Enter the e-mail address of the person to invite."),
            "invalid": gettext_lazy(
                "Enter an e-mail address in the right format, like name@example.com."
            ),
        },
    )
    role = forms.ChoiceField(**ROLE_FIELD)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


def _team(request: HttpRequest, pk: int) -> tuple[Connection, bool]:
    """The connection (404 unless the user has a role on it) and whether they manage it."""
    connection = connection_get(user=request.user, pk=pk)
    return connection, access_may_manage(user=request.user, connection=connection)


def _managed(request: HttpRequest, pk: int) -> Connection:
    connection, may_manage = _team(request, pk)
    if not may_manage:
        raise PermissionDenied(_("Only partner admins of this connection can change its team."))
    return connection


def _page(
    request: HttpRequest, connection: Connection, *, may_manage: bool, status: int = 200, **extra
) -> HttpResponse:
    members = (
        Access.objects.filter(connection=connection)
        .select_related("user")
        .order_by("user__username")
    )
    context: dict[str, Any] = {
        "connection": connection,
        "members": members,
        "may_manage": may_manage,
        "roles": Role.choices,
        "grant_form": extra.pop("grant_form", None) or GrantForm(prefix="grant"),
        "invite_form": extra.pop("invite_form", None) or InviteForm(prefix="invite"),
        # The links between the connection's pages (connections/partials/nav.html).
        "can_manage": connection_role(user=request.user, connection=connection)
        == Role.PARTNER_ADMIN,
        "team_url": reverse("invoices:connection_team", args=[connection.pk]),
        **extra,
    }
    return render(request, "invoices/team/team.html", context, status=status)


def _back(connection: Connection) -> HttpResponse:
    return redirect("invoices:connection_team", pk=connection.pk)


@login_required
@require_GET
def connection_team(request: HttpRequest, pk: int) -> HttpResponse:
    connection, may_manage = _team(request, pk)
    return _page(request, connection, may_manage=may_manage)


@login_required
@require_POST
def connection_team_grant(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    form = GrantForm(request.POST, prefix="grant")
    if form.is_valid():
        try:
            change = access_grant(
                by=request,
                connection=connection,
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
            )
        except ServiceError as exc:
            form.add_error("user", str(exc))
        else:
            words = {
                "user": change.access.user.get_username(),
                "connection": connection.name,
                "role": change.access.get_role_display(),
            }
            if change.previous_role is None:
                messages.success(
                    request, _("%(user)s can now see %(connection)s, as %(role)s.") % words
                )
            elif change.changed:
                messages.success(
                    request, _("%(user)s now has the role %(role)s on %(connection)s.") % words
                )
            else:
                messages.info(
                    request, _("%(user)s already has the role %(role)s on %(connection)s.") % words
                )
            return _back(connection)
    return _page(request, connection, may_manage=True, grant_form=form, status=400)


@login_required
@require_POST
def connection_team_invite(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    form = InviteForm(request.POST, prefix="invite")
    if form.is_valid():
        email = form.cleaned_data["email"]
        try:
            invitation = access_invite(
                by=request,
                connection=connection,
                email=email,
                role=form.cleaned_data["role"],
                domain=request.get_host(),
                use_https=request.is_secure(),
            )
        except ServiceError as exc:
            form.add_error("email", str(exc))
        else:
            words = {
                "email": email,
                "user": invitation.access.user.get_username(),
                "connection": connection.name,
                "role": invitation.access.get_role_display(),
            }
            if invitation.user_created:
                message = _(
                    "Invitation sent to %(email)s. Their username is %(user)s; with the link "
                    "in the e-mail they choose a password, then see %(connection)s as %(role)s."
                )
            elif invitation.sent:
                message = _(
                    "%(email)s is the address of %(user)s, who has not chosen a password yet: "
                    "they have the role %(role)s on %(connection)s, and a new link is on its way."
                )
            else:
                message = _(
                    "%(email)s is the address of %(user)s, who already has an account: no "
                    "invitation was sent, they have the role %(role)s on %(connection)s."
                )
            messages.success(request, message % words)
            return _back(connection)
    return _page(request, connection, may_manage=True, invite_form=form, status=400)


@login_required
@require_POST
def connection_team_change(request: HttpRequest, pk: int, access_pk: int) -> HttpResponse:
    connection = _managed(request, pk)
    access = get_object_or_404(
        Access.objects.select_related("user", "connection"), pk=access_pk, connection=connection
    )
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError(_("Choose a role."))
        previous = access.role
        access_change(by=request, access=access, role=form.cleaned_data["role"])
    except ServiceError as exc:
        return _page(
            request,
            connection,
            may_manage=True,
            status=400,
            row_error={"pk": access.pk, "message": str(exc)},
        )
    if access.role != previous:
        messages.success(
            request,
            _("%(user)s now has the role %(role)s on %(connection)s.")
            % {
                "user": access.user.get_username(),
                "role": access.get_role_display(),
                "connection": connection.name,
            },
        )
    return _back(connection)


@login_required
@require_http_methods(["GET", "POST"])
def connection_team_revoke(request: HttpRequest, pk: int, access_pk: int) -> HttpResponse:
    """GET: the confirmation (who loses what); POST: take the access away."""
    connection = _managed(request, pk)
    access = get_object_or_404(
        Access.objects.select_related("user", "connection"), pk=access_pk, connection=connection
    )
    context = {"connection": connection, "access": access}
    if request.method == "GET":
        return render(request, "invoices/team/revoke_confirm.html", context)
    try:
        access_revoke(by=request, access=access)
    except ServiceError as exc:
        return render(
            request, "invoices/team/revoke_confirm.html", {**context, "error": str(exc)}, status=400
        )
    words = {"user": access.user.get_username(), "connection": connection.name}
    if access.user_id == request.user.pk and not connections_for_user(request.user).filter(
        pk=connection.pk
    ):
        messages.success(request, _("You no longer have access to %(connection)s.") % words)
        return redirect("invoices:invoice_list")
    messages.success(request, _("%(user)s no longer has access to %(connection)s.") % words)
    return _back(connection)
