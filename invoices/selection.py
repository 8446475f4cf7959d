"""The rows a user selected in the list, kept in their session until they clear it.

Two shapes: invoices picked one by one (their ids, at most `MAX_PICKED`), or "all that
match" a filter (its query string, minus the ones unticked since), which holds any
number without loading them. Either way the selection is only ever read through the
user's scope: a connection they lose access to drops out of it, and an id from
someone else's list selects nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from .models import Invoice
from .selectors import invoices_for_user

SESSION_KEY = "invoice_selection"
MAX_PICKED = 10_000
# Query parameters that are not filters: they do not change which invoices match.
NOT_FILTERS = frozenset({"sort", "page", "per_page", "group", "view", "saved"})


@dataclass
class Selection:
    picked: list[int] = field(default_factory=list)
    query: str | None = None  # "all that match" this filter (a query string)
    excluded: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.picked and self.query is None

    def as_session(self) -> dict[str, Any]:
        return {"picked": self.picked, "query": self.query, "excluded": self.excluded}


def filter_query(params: QueryDict) -> str:
    """The filters of a list URL's query, without sort, page and the like."""
    kept = params.copy()
    for name in NOT_FILTERS:
        kept.pop(name, None)
    return kept.urlencode()


def selection_get(request: HttpRequest) -> Selection:
    stored = request.session.get(SESSION_KEY) or {}
    try:
        return Selection(
            picked=[int(pk) for pk in stored.get("picked", [])][:MAX_PICKED],
            query=stored.get("query") if isinstance(stored.get("query"), str) else None,
            excluded=[int(pk) for pk in stored.get("excluded", [])][:MAX_PICKED],
        )
    except (TypeError, ValueError):
        return Selection()


def _save(request: HttpRequest, selection: Selection) -> Selection:
    if selection.empty:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = selection.as_session()
    return selection


def selection_change(
    request: HttpRequest,
    *,
    add: Iterable[int] = (),
    remove: Iterable[int] = (),
    all_matching: QueryDict | None = None,
    clear: bool = False,
) -> tuple[Selection, bool]:
    """Tick `add`, untick `remove`, or select everything matching the filters of
    `all_matching` (a list URL's query), or `clear`. Ids the user may not see are
    ignored. Returns the selection and whether everything asked for fit (picked ids
    stop at `MAX_PICKED`)."""
    if clear:
        return _save(request, Selection()), True
    if all_matching is not None:
        return _save(request, Selection(query=filter_query(all_matching))), True
    selection = selection_get(request)
    add, remove = _visible(request, add), {int(pk) for pk in remove}
    fits = True
    if selection.query is not None:
        excluded = (set(selection.excluded) | remove) - set(add)
        selection.excluded = sorted(excluded)[:MAX_PICKED]
        fits = len(excluded) <= MAX_PICKED
    else:
        picked = dict.fromkeys(selection.picked)
        for pk in add:
            picked[pk] = None
        for pk in remove:
            picked.pop(pk, None)
        fits = len(picked) <= MAX_PICKED
        selection.picked = list(picked)[:MAX_PICKED]
    return _save(request, selection), fits


def _visible(request: HttpRequest, ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(pk) for pk in ids})
    if not wanted:
        return []
    scoped = invoices_for_user(request.user).filter(pk__in=wanted)
    return sorted(scoped.values_list("pk", flat=True))


def selection_invoices(
    request: HttpRequest,
    selection: Selection,
    *,
    filtered: Any = None,
    connections: list[Any] | None = None,
) -> QuerySet[Invoice]:
    """The selected invoices, through the user's scope (`connections`: the user's, if
    the caller holds them). `filtered(query_dict, base)` applies the list's filters (the
    caller passes the list's FilterSet maker)."""
    base = invoices_for_user(request.user, connections=connections)
    if selection.query is not None:
        if filtered is None:
            raise ValueError("an all-matching selection needs the list's filters")
        return filtered(QueryDict(selection.query), base).exclude(pk__in=selection.excluded)
    return base.filter(pk__in=selection.picked)
