"""The invoice list: filter, sort, page, group by batch, totals, freshness."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django_tables2 import RequestConfig

from .. import money as formats
from ..filters import PER_PAGE_CHOICES, QUICK_VIEWS, VIEW_FIELDS, InvoiceFilter, aging_left_out
from ..live import connection_live_features
from ..models import Batch, Connection, Invoice, Role, SavedView, SyncRun, UserPreference
from ..notes import with_note_flags
from ..page_cache import cached_page, converted, rows
from ..saved_views import default_view_get, saved_view_url_query, saved_views_for_user
from ..selection import Selection, filter_query, selection_get, selection_invoices
from ..selectors import (
    ConnectionOverview,
    ListPreferences,
    connection_latest_runs,
    connection_runs_overview,
    connection_scope_rows,
    connections_for_user,
    invoice_batch_groups,
    invoice_sort_groups,
    invoice_summary_key,
    invoice_totals,
    invoice_view_counts,
    invoices_for_user,
    user_columns_chosen,
)
from ..tables import COLUMNS, DEFAULT_COLUMNS, InvoicePaginator, InvoiceTable


def per_page_from(request: HttpRequest) -> int:
    """The requested page size, clamped to the offered choices (default the smallest)."""
    try:
        wanted = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        return PER_PAGE_CHOICES[0]
    return min(PER_PAGE_CHOICES, key=lambda choice: (abs(choice - wanted), choice))


def paginate(
    table: InvoiceTable, page: str, per_page: int, *, count: int, groups: Any = None
) -> None:
    """Page `page` ("last" or a number) of `count` rows; out of range shows the nearest
    page, never a 404. `groups`: see `InvoicePaginator`."""
    options = {
        "paginator_class": InvoicePaginator, "per_page": per_page, "count": count,
        "groups": groups,
    }  # fmt: skip
    try:
        table.paginate(page=page, **options)
    except PageNotAnInteger:
        table.paginate(page=table.paginator.num_pages if page == "last" else 1, **options)
    except EmptyPage:
        number = 1 if page.lstrip("-").isdigit() and int(page) < 1 else table.paginator.num_pages
        table.paginate(page=number, **options)


def invoice_filter_for(
    request: HttpRequest,
    *,
    connections: list[Connection] | None = None,
    params: QueryDict | None = None,
) -> InvoiceFilter:
    """The user's filters (`params`, default the request's query) over the invoices they
    may see (the list, its exports, the aging page and selections share it)."""
    invoices = invoices_for_user(request.user, connections=connections).select_related(
        "connection", "batch", "account"
    )
    return InvoiceFilter(
        request.GET if params is None else params,
        queryset=invoices,
        request=request,
        connections=connections,
    )


# The columns the list's page cache reads of each row (see `invoice_list`).
CONNECTION_FIELDS = [f.attname for f in Connection._meta.concrete_fields if f.name != "credentials"]
SAVED_VIEW_FIELDS = [f.attname for f in SavedView._meta.concrete_fields]
RUN_FIELDS = [f.attname for f in SyncRun._meta.concrete_fields]


def _preferences_rows(user: Any) -> QuerySet:
    return UserPreference.objects.filter(user=user).values_list("default_view_id", "columns")


def _saved_view_rows(user: Any) -> QuerySet:
    return saved_views_for_user(user).values_list(*SAVED_VIEW_FIELDS, "owner__username")


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    # What the page shows beyond the request itself, as rows (each query compiled once
    # per user: see `page_cache.rows`): a repeated request with none of it changed is
    # answered from the cache after these four queries; a page rendered builds on them.
    chosen = rows(("preferences", user.pk), lambda: _preferences_rows(user))
    if chosen and chosen[0][0] and not request.META.get("QUERY_STRING") and not request.htmx:
        # `/` itself opens the user's default view (links within the list always carry
        # a query, e.g. "?view=all").
        default = default_view_get(user=user)
        if default is not None:
            return redirect(f"{reverse('invoices:invoice_list')}?{saved_view_url_query(default)}")
    scope = rows(("scope", user.pk, user.is_superuser), lambda: connection_scope_rows(user=user))
    ids = tuple(row[0] for row in scope)
    views = rows(("saved views", user.pk, user.is_superuser), lambda: _saved_view_rows(user))
    # htmx swaps only the results; a history restore (cache miss on Back) needs the page,
    # and its freshness banner.
    whole_page = not request.htmx or request.htmx.history_restore_request

    def runs_query() -> QuerySet:
        return connection_latest_runs(ids).values_list(*RUN_FIELDS)

    runs = rows(("runs", ids), runs_query) if whole_page else []
    selection = selection_get(request)

    def render_page() -> tuple[HttpResponse, dt.datetime | None]:
        db = Connection.objects.db
        preferences = converted(lambda: _preferences_rows(user), chosen)
        default_view_id, columns = preferences[0] if preferences else (None, [])
        with_roles = [
            (Connection.from_db(db, CONNECTION_FIELDS, values[:-1]), values[-1])
            for values in converted(lambda: connection_scope_rows(user=user), scope)
        ]
        User = get_user_model()  # the owners: their names alone
        saved = []
        for values in converted(lambda: _saved_view_rows(user), views):
            view = SavedView.from_db(db, SAVED_VIEW_FIELDS, values[:-1])
            view.owner = User.from_db(db, ["id", User.USERNAME_FIELD], [view.owner_id, values[-1]])
            saved.append(view)
        overviews = None
        if whole_page:
            found = [
                SyncRun.from_db(db, RUN_FIELDS, values) for values in converted(runs_query, runs)
            ]
            overviews = connection_runs_overview(
                connections=[connection for connection, _ in with_roles], runs=found
            )
        return _invoice_list_page(
            request, selection=selection, with_roles=with_roles, views=saved,
            preferences=ListPreferences(list(columns or []), default_view_id),
            overviews=overviews,
        )  # fmt: skip

    response = cached_page(
        request, depends_on=(chosen, scope, views, runs, selection), render=render_page
    )
    # One URL, two bodies: caches must key on the header that picks between them.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _invoice_list_page(
    request: HttpRequest,
    *,
    selection: Selection,
    with_roles: list[tuple[Connection, str]],
    views: list[SavedView],
    preferences: ListPreferences,
    overviews: list[ConnectionOverview] | None,
) -> tuple[HttpResponse, dt.datetime | None]:
    """The list (`overviews`: with its freshness banner; None: the results alone, for
    htmx), and when the page would first change with time alone (None: never)."""
    connections = [connection for connection, _ in with_roles]
    filterset = invoice_filter_for(request, connections=connections)
    invoices: QuerySet[Invoice] = filterset.qs
    today = timezone.localdate()
    cleaned = filterset.form.cleaned_data
    summary_key = invoice_summary_key(connections=connections, filters=cleaned, today=today)
    gone_counted = filterset.gone_counted
    summaries = filterset.summaries()
    totals = invoice_totals(
        invoices=invoices, gone_counted=gone_counted, cache_key=summary_key, summaries=summaries
    )
    count = sum(currency.listed for currency in totals)  # the rows listed, gone or not
    grouped = request.GET.get("group") == "batch"
    saved = _saved_view(request, views)
    visible = visible_columns(request.user, saved=saved, chosen=preferences.columns)
    table = InvoiceTable(
        with_note_flags(invoices),
        today=today,
        live={c.pk: connection_live_features(c) for c in connections},
        visible=visible,
    )
    per_page = per_page_from(request)
    # The request's sort (not django-tables2's own paging: `paginate` below, which
    # knows the count already).
    RequestConfig(request, paginate=False).configure(table)
    if grouped:
        # Batch first (newest batch first, no batch last), then the user's sort.
        ordered = table.data.data
        table.data.data = ordered.order_by(
            F("batch_id").desc(nulls_last=True), *ordered.query.order_by
        )

    def groups(sort: str) -> list[tuple[Any, int]]:
        key = invoice_summary_key(
            connections=connections, filters=cleaned, today=today, kind=f"groups:{sort}"
        )
        return invoice_sort_groups(invoices=invoices, sort=sort, cache_key=key, summaries=summaries)

    paginate(table, request.GET.get("page", "1"), per_page, count=count, groups=groups)

    groups = {}
    if grouped:
        batch_ids = {row.record.batch_id for row in table.page.object_list}
        groups = invoice_batch_groups(
            invoices=invoices, batch_ids=batch_ids, gone_counted=gone_counted, summaries=summaries
        )
        table.grouped, table.groups = True, groups
    page_ids = [row.record.pk for row in table.page.object_list]
    list_query = filter_query(request.GET)
    table.selected = _selected_on_page(
        request, selection, page_ids, list_query=list_query, connections=connections
    )
    chips = filter_chips(request, filterset)
    context: dict[str, Any] = {
        **selection_summary(request, selection, connections=connections),
        "list_query": list_query,
        "matching_count": count,
        "saved": saved,
        "filter": filterset,
        "table": table,
        "totals": totals,
        "grouped": grouped,
        "groups": groups,
        "per_page": per_page,
        "per_page_choices": PER_PAGE_CHOICES,
        "count": count,
        "gone_left_out": sum(currency.gone_left_out for currency in totals),
        "views": quick_views(request, filterset=filterset, connections=connections, today=today),
        "chips": chips,
        "active_filters": len(chips),
        "filters_active": bool(chips),
        "column_choices": [(name, label, name in visible) for name, label in COLUMNS.items()],
        "filter_form_key": filter_form_key(request, filterset, per_page=per_page),
        "fragment_seconds": settings.SUMMARY_CACHE_SECONDS,
        "aging_query": list_query,
    }
    context["saved_views"] = [(view, saved_view_url_query(view)) for view in views]
    context["default_view"] = next(
        (view for view in views if view.pk == preferences.default_view_id), None
    )
    if overviews is None:
        return render(request, "invoices/partials/results.html", context), None
    roles = {connection.pk: role for connection, role in with_roles}
    context["statuses"] = [
        (overview, roles.get(overview.connection.pk) == Role.PARTNER_ADMIN)
        for overview in overviews
    ]
    now = timezone.now()
    until = min(
        (moment for overview in overviews if (moment := overview.shown_until(now))),
        default=None,
    )
    return render(request, "invoices/invoice_list.html", context), until


def visible_columns(
    user: Any, *, saved: SavedView | None = None, chosen: list[str] | None = None
) -> tuple[str, ...]:
    """The columns of the saved view being shown, else those `user` chose (`chosen`, if
    the caller read them already; those still offered), else the defaults."""
    if saved is not None and saved.columns:
        chosen = saved.columns
    elif chosen is None:
        chosen = user_columns_chosen(user=user)
    return tuple(name for name in chosen if name in COLUMNS) or DEFAULT_COLUMNS


def selected_queryset(
    request: HttpRequest, selection: Selection, *, connections: list[Connection] | None = None
) -> Any:
    """The selected invoices, scoped to the user, in the list's default order
    (`connections`: the user's, if the caller holds them already)."""
    if connections is None:
        connections = list(connections_for_user(request.user))

    def filtered(params: QueryDict, base: Any) -> Any:
        return invoice_filter_for(request, connections=connections, params=params).qs

    invoices = selection_invoices(request, selection, filtered=filtered, connections=connections)
    return invoices.select_related("connection", "account", "batch").order_by("-issue_date", "-id")


def selection_summary(
    request: HttpRequest,
    selection: Selection | None = None,
    *,
    connections: list[Connection] | None = None,
) -> dict[str, Any]:
    """What the selection bar shows: how many are selected (one count query; for "all
    that match", cached like the totals until the invoices change)."""
    selection = selection if selection is not None else selection_get(request)
    if selection.empty:
        return {"selection": selection, "selected_count": 0}
    if connections is None:
        connections = list(connections_for_user(request.user))
    invoices = selected_queryset(request, selection, connections=connections)
    if selection.query is None:
        return {"selection": selection, "selected_count": invoices.count()}
    key = invoice_summary_key(
        connections=connections,
        filters={"query": selection.query, "excluded": ",".join(map(str, selection.excluded))},
        today=timezone.localdate(),
        kind="selection",
    )
    count = cache.get(key)
    if count is None:
        count = invoices.count()
        cache.set(key, count, settings.SUMMARY_CACHE_SECONDS)
    return {"selection": selection, "selected_count": count}


def _saved_view(request: HttpRequest, views: list[SavedView]) -> SavedView | None:
    """The saved view the list was opened from (`?saved=`), if among those the user may
    open (`views`)."""
    raw = request.GET.get("saved", "")
    return next((view for view in views if raw.isdigit() and view.pk == int(raw)), None)


def _selected_on_page(
    request: HttpRequest,
    selection: Selection,
    page_ids: list[int],
    *,
    list_query: str,
    connections: list[Connection],
) -> set[int]:
    """Which rows of the page are selected: no query for ticked rows, nor for "all that
    match" the filters the list shows now; one for "all that match" other filters."""
    if selection.empty or not page_ids:
        return set()
    if selection.query is None:
        return set(selection.picked) & set(page_ids)
    if QueryDict(selection.query) == QueryDict(list_query):
        return set(page_ids) - set(selection.excluded)
    params = QueryDict(selection.query)
    matching = invoice_filter_for(request, connections=connections, params=params).qs
    matching = matching.filter(pk__in=page_ids).exclude(pk__in=selection.excluded)
    return set(matching.values_list("pk", flat=True))


def _query(params: QueryDict, **changes: str | None) -> str:
    query = params.copy()
    query.pop("page", None)
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return query.urlencode()


def quick_views(
    request: HttpRequest, *, filterset: InvoiceFilter, connections: list[Connection], today: Any
) -> list[dict[str, Any]]:
    """The tabs above the table, each with its count over the other filters (one
    cached query, two when a tab leaves the days-overdue filter out as its own list
    does) and the link that keeps those filters."""
    others = request.GET.copy()
    for name in VIEW_FIELDS:
        others.pop(name, None)
    if not filterset.is_valid():
        # A filter left out for contradicting a tab's field may apply once it is gone.
        filterset = InvoiceFilter(
            others, queryset=invoices_for_user(request.user, connections=connections),
            request=request, connections=connections,
        )  # fmt: skip
        filterset.is_valid()  # cleans the form (what is invalid here is left out)
    # Without the tabs' own fields the other filters clean the same (no contradiction
    # is left to drop one): the list's own form answers.
    other_filters = {
        name: value
        for name, value in filterset.form.cleaned_data.items()
        if name not in VIEW_FIELDS
    }
    counted: dict[tuple[str, ...], dict[str, int]] = {}

    def counts(left_out: tuple[str, ...]) -> dict[str, int]:
        if left_out not in counted:
            kept = {k: v for k, v in other_filters.items() if k not in left_out}
            counted[left_out] = invoice_view_counts(
                invoices=filterset.qs_without((*VIEW_FIELDS, *left_out)),
                summaries=filterset.summaries(without=(*VIEW_FIELDS, *left_out)),
                today=today,
                connections=connections,
                cache_key=invoice_summary_key(
                    connections=connections, filters=kept, today=today, kind="views"
                ),
            )
        return counted[left_out]

    current = {name: request.GET.get(name, "") for name in VIEW_FIELDS}
    views = []
    for name, label, params in QUICK_VIEWS:
        # The tab's list leaves days-overdue out beside its own status/overdue: so does
        # its count.
        left_out = ("aging",) if aging_left_out({**other_filters, **params}) else ()
        wanted = {field: params.get(field, "") for field in VIEW_FIELDS}
        views.append(
            {
                "name": name,
                "label": label,
                "count": counts(left_out)[name],
                "active": wanted == current,
                "query": _query(others, **{field: params.get(field) for field in VIEW_FIELDS}),
            }
        )
    return views


def filter_form_key(request: HttpRequest, filterset: InvoiceFilter, *, per_page: int) -> str:
    """Everything the filter form's HTML depends on, for its fragment cache
    (partials/filter_form.html): the language, the query it shows (values, errors, the
    active count all come from it), the page size, and the choices the user's scope
    gives (connections and currencies). The form's 17 fields cost a fifth of the list's
    time to render; the same form is asked for again and again."""
    fields = filterset.form.fields
    parts = (
        translation.get_language(),
        sorted(request.GET.lists()),
        per_page,
        list(fields["connection"].choices),
        list(fields["currency"].choices),
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def filter_chips(request: HttpRequest, filterset: InvoiceFilter) -> list[dict[str, str]]:
    """A removable chip per filter that applies: its label, value, and the link without it."""
    form = filterset.form
    chips = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if name not in form.cleaned_data or value in (None, "", [], ()):
            continue
        if isinstance(value, Batch):
            shown = value.number
        elif isinstance(value, Model):
            shown = str(value)
        elif isinstance(value, dt.date):
            shown = formats.day(value)
        elif getattr(field, "choices", None):
            shown = str(dict(field.choices).get(value, value))
        else:
            shown = str(value)
        chips.append(
            {"name": name, "label": str(field.label), "value": shown,
             "query": _query(request.GET, **{name: None})}
        )  # fmt: skip
    return chips
