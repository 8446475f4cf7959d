"""Saved views: a list's filters, sort and columns under a name.

A view is private to its owner or shared. A shared view is seen by everyone who has
access to a connection its owner has access to (a superuser's, by everyone with any
access); it holds only filters, so opening it shows each viewer the invoices they may
see and nothing more (a filter naming a connection or customer they may not see is
refused like any other). Only the owner renames or deletes a view. Each user may pick
one view they can see as their default: it opens at `/`.

Each change is one audit entry, on no connection (a view holds filters, not invoices):
staff see them in the log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from . import audit
from .models import Access, AuditAction, SavedView, UserPreference
from .selection import filter_query
from .services import ServiceError

MAX_NAME = 80
MAX_VIEWS = 100  # per owner


def saved_views_for_user(user: Any) -> QuerySet[SavedView]:
    """The views `user` may open: their own and the shared ones they may see."""
    if not getattr(user, "is_authenticated", False):
        return SavedView.objects.none()
    if user.is_superuser:
        return SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")
    mine = Access.objects.filter(user=user).values("connection_id")
    sharing = Q(owner__is_superuser=True) | Q(owner__invoice_access__connection_id__in=mine)
    visible = SavedView.objects.filter(Q(shared=True) & sharing).values("pk")
    return SavedView.objects.filter(Q(owner=user) | Q(pk__in=visible)).select_related("owner")


def saved_view_get(*, user: Any, pk: int, owned: bool = False) -> SavedView:
    """A view `user` may open (with `owned`: one they own), else 404."""
    views = saved_views_for_user(user)
    if owned:
        views = views.filter(owner=user)
    view = views.filter(pk=pk).first()
    if view is None:
        raise Http404("No such view")
    return view


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("A view needs a name."))
    if len(name) > MAX_NAME:
        raise ServiceError(
            _("A view's name holds at most %(count)d characters.") % {"count": MAX_NAME}
        )
    return name


def _recorded(actor: Any, view: SavedView, change: str, message: str) -> None:
    audit.record(
        actor, AuditAction.SAVED_VIEW, target=view.name, message=message,
        detail={"change": change, "view": view.pk, "shared": view.shared, "query": view.query},
    )  # fmt: skip


def saved_view_create(
    *, user: Any, name: str, params: Any, columns: list[str], shared: bool, request: Any = None
) -> SavedView:
    """Save the list's current filters and sort (`params`: its query) and `columns`
    (names the caller checked) under `name`. `ServiceError` for a missing or taken
    name, or too many views."""
    name = _name(name)
    if SavedView.objects.filter(owner=user).count() >= MAX_VIEWS:
        raise ServiceError(
            _("You have %(count)d saved views; delete one first.") % {"count": MAX_VIEWS}
        )
    query = filter_query(params)
    sort = params.get("sort", "")
    try:
        with transaction.atomic():
            view = SavedView.objects.create(
                owner=user, name=name, query=query, sort=sort[:50], columns=list(columns),
                shared=bool(shared),
            )  # fmt: skip
    except IntegrityError:
        raise ServiceError(
            _("You already have a view named “%(name)s”.") % {"name": name}
        ) from None
    _recorded(request if request is not None else user, view, "created", _("View created."))
    return view


def saved_view_update(
    *,
    user: Any,
    pk: int,
    name: str | None = None,
    shared: bool | None = None,
    request: Any = None,
) -> SavedView:
    """Rename a view `user` owns and/or share or unshare it (404 for anyone else's)."""
    view = saved_view_get(user=user, pk=pk, owned=True)
    if name is not None:
        view.name = _name(name)
    if shared is not None:
        view.shared = bool(shared)
    try:
        with transaction.atomic():
            view.save(update_fields=["name", "shared", "updated_at"])
    except IntegrityError:
        raise ServiceError(
            _("You already have a view named “%(name)s”.") % {"name": view.name}
        ) from None
    _recorded(request if request is not None else user, view, "changed", _("View changed."))
    return view


def saved_view_delete(*, user: Any, pk: int, request: Any = None) -> None:
    """Delete a view `user` owns (404 for anyone else's); it stops being anyone's default."""
    view = saved_view_get(user=user, pk=pk, owned=True)
    view.delete()
    view.pk = pk  # (delete() forgets it; the entry names the view that was)
    _recorded(request if request is not None else user, view, "deleted", _("View deleted."))


def default_view_set(*, user: Any, pk: int | None, request: Any = None) -> SavedView | None:
    """Make a view `user` may open their default (None: no default, `/` shows all)."""
    view = saved_view_get(user=user, pk=pk) if pk is not None else None
    UserPreference.objects.update_or_create(user=user, defaults={"default_view": view})
    if view is not None:
        _recorded(
            request if request is not None else user,
            view,
            "made-default",
            _("View made the default."),
        )
    else:
        actor = request if request is not None else user
        audit.record(
            actor, AuditAction.SAVED_VIEW, message=_("No default view."),
            detail={"change": "no-default"},
        )  # fmt: skip
    return view


def default_view_get(*, user: Any) -> SavedView | None:
    """`user`'s default view, if they may still open it."""
    pk = UserPreference.objects.filter(user=user).values_list("default_view_id", flat=True).first()
    if pk is None:
        return None
    return saved_views_for_user(user).filter(pk=pk).first()


def saved_view_url_query(view: SavedView) -> str:
    """The list's query that opens `view`."""
    extra = {"sort": view.sort} if view.sort else {}
    return "&".join(part for part in (view.query, urlencode({**extra, "saved": view.pk})) if part)
