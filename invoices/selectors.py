"""Reads: scoped querysets and summaries for views and commands."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Count,
    DecimalField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .explain import sync_error_words
from .models import (
    COMPLETED_STATES,
    Access,
    Account,
    Connection,
    Invoice,
    InvoiceStatus,
    InvoiceSummary,
    Role,
    SyncRun,
    SyncState,
    UserPreference,
)
from .money import JUST_NOW_SECONDS
from .providers.registry import provider_label


@dataclass(frozen=True)
class ConnectionOverview:
    connection: Connection
    invoice_count: int | None
    last_run: SyncRun | None
    last_success: SyncRun | None

    @property
    def endpoint(self) -> str:
        config = self.connection.config
        return str(config.get("base_url") or config.get("billing_url") or "")

    @property
    def is_stale(self) -> bool:
        """No successful sync within twice the connection's interval (or never)."""
        if self.last_success is None or self.last_success.finished_at is None:
            return True
        minutes = self.connection.sync_interval_minutes or 24 * 60
        age = timezone.now() - self.last_success.finished_at
        return age > dt.timedelta(minutes=2 * minutes)

    def shown_until(self, now: dt.datetime) -> dt.datetime | None:
        """When what the freshness line shows next changes with time alone (its age in
        words, staleness, a lost worker's lease), or None if it never does."""
        moments = []
        success = self.last_success
        if success is not None and success.finished_at is not None:
            age = (now - success.finished_at).total_seconds()
            if 0 <= age < JUST_NOW_SECONDS:  # "just now", then "1 minute ago"
                moments.append(success.finished_at + dt.timedelta(seconds=JUST_NOW_SECONDS))
            else:  # then minutes, then hours (and days and hours); ahead: seconds
                step = 1 if age < 0 else 60 if age < 3600 else 3600
                moments.append(now + dt.timedelta(seconds=step - age % step))
            minutes = self.connection.sync_interval_minutes or 24 * 60
            moments.append(success.finished_at + dt.timedelta(minutes=2 * minutes))
        run = self.last_run
        if run is not None and run.state == SyncState.RUNNING and run.heartbeat_at is not None:
            moments.append(run.heartbeat_at + dt.timedelta(seconds=settings.SYNC_LEASE_SECONDS))
        return min((moment for moment in moments if moment > now), default=None)

    @property
    def last_failed(self) -> bool:
        return self.last_run is not None and (
            self.last_run.state == SyncState.FAILED or self.last_run.lease_expired
        )

    @property
    def error_words(self) -> str:
        """What the last failure means, in plain words."""
        if self.last_run is None:
            return ""
        label = provider_label(self.connection.provider)
        return sync_error_words(self.last_run.error_kind, label=label)

    @property
    def last_partial(self) -> bool:
        """The last run wrote what it could read, but some items or accounts it could not."""
        return self.last_run is not None and self.last_run.state == SyncState.PARTIAL


def connection_overviews(
    *, connections: QuerySet[Connection] | None = None, with_counts: bool = True
) -> list[ConnectionOverview]:
    """Each connection with its latest run, its latest completed run (succeeded, or with
    problems) and (`with_counts`) its invoice count (not gone upstream), in two queries."""
    queryset = Connection.objects.filter(archived_at=None) if connections is None else connections
    annotations: dict[str, Any] = {}
    if with_counts:
        annotations["invoice_count"] = Subquery(
            Invoice.objects.filter(connection=OuterRef("pk"), missing=False)
            .order_by()
            .values("connection")
            .annotate(n=Count("pk"))
            .values("n")
        )
    runs = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-queued_at", "-id")
    successes = runs.filter(state__in=COMPLETED_STATES)
    rows = list(
        queryset.annotate(
            **annotations,
            last_run_id=Subquery(runs.values("pk")[:1]),
            last_success_id=Subquery(successes.values("pk")[:1]),
        )
    )
    wanted = {pk for row in rows for pk in (row.last_run_id, row.last_success_id) if pk}
    by_pk = SyncRun.objects.in_bulk(wanted)
    return [
        ConnectionOverview(
            connection=row,
            invoice_count=(row.invoice_count or 0) if with_counts else None,
            last_run=by_pk.get(row.last_run_id),
            last_success=by_pk.get(row.last_success_id),
        )
        for row in rows
    ]


def connections_for_user(user: Any) -> QuerySet[Connection]:
    """The connections `user` may see: all for superusers, else those granted to them;
    never a removed (archived) one."""
    if not getattr(user, "is_authenticated", False):
        return Connection.objects.none()
    if user.is_superuser:
        return Connection.objects.filter(archived_at=None)
    return Connection.objects.filter(access__user=user, archived_at=None)


def connection_role(*, user: Any, connection: Connection) -> str | None:
    """`user`'s role on `connection` (superusers act as partner admins), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.PARTNER_ADMIN
    return (
        Access.objects.filter(user=user, connection=connection)
        .values_list("role", flat=True)
        .first()
    )


def connection_get(*, user: Any, pk: int, role: str | None = None) -> Connection:
    """A connection `user` may see (and, with `role`, holds that role on), else 404."""
    connection = get_object_or_404(connections_for_user(user), pk=pk)
    if role is not None and connection_role(user=user, connection=connection) != role:
        raise Http404("No such connection")
    return connection


def invoices_for_user(
    user: Any, *, connections: list[Connection] | None = None
) -> QuerySet[Invoice]:
    """Every invoice of the connections `user` may see.

    `connections`, when the caller already holds `connections_for_user(user)`, saves
    the query that lists them.
    """
    queryset = Invoice.objects.all()
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_superuser:
        # Every invoice but those of removed connections (usually none: no filter at all).
        removed = list(Connection.objects.exclude(archived_at=None).values_list("pk", flat=True))
        return queryset.exclude(connection_id__in=removed) if removed else queryset
    # A literal id list, not a join through Access: the join hides from the planner that
    # the scope is a handful of connections, and SQLite then sorts every row of them
    # instead of walking the list's index.
    if connections is None:
        ids = list(
            Access.objects.filter(user=user, connection__archived_at=None).values_list(
                "connection_id", flat=True
            )
        )
    else:
        ids = [connection.pk for connection in connections]
    return queryset.filter(connection_id__in=ids)


def invoice_get(*, user: Any, pk: int) -> Invoice:
    """One invoice `user` may see, else 404 (never 403: do not confirm it exists)."""
    return get_object_or_404(invoices_for_user(user).select_related("connection", "account"), pk=pk)


def accounts_for_user(user: Any) -> QuerySet[Account]:
    return Account.objects.filter(connection__in=connections_for_user(user))


def account_get(*, user: Any, pk: int) -> Account:
    """One account `user` may see, else 404."""
    return get_object_or_404(accounts_for_user(user).select_related("connection"), pk=pk)


def invoice_overdue_q(*, today: dt.date, connections: Iterable[Connection] | None = None) -> Q:
    """Unpaid invoices whose issue date plus their connection's payment terms has passed
    (`connections`: the ones in scope, already loaded; else every connection's terms are
    read)."""
    terms = (
        [(c.pk, c.payment_terms_days) for c in connections]
        if connections is not None
        else Connection.objects.filter(archived_at=None).values_list("pk", "payment_terms_days")
    )
    late = Q(pk__in=[])
    for pk, days in terms:
        late |= Q(connection_id=pk, issue_date__lt=today - dt.timedelta(days=days))
    return Q(status=InvoiceStatus.UNPAID) & late


@dataclass(frozen=True)
class CurrencyTotals:
    """Money of one currency over a set of invoices; never mixed with another currency.

    One rule for every figure: invoices gone upstream (`Invoice.missing`) are listed and
    flagged, but left out of the money and its counts, unless the user asked for them
    (`gone_counted`). `listed` counts every invoice of the set, `gone` those gone upstream.
    """

    currency: str
    listed: int
    gone: int
    gone_counted: bool
    outstanding: Decimal
    outstanding_count: int
    incasso_pending: Decimal
    incasso_pending_count: int
    paid: Decimal
    paid_count: int

    @property
    def count(self) -> int:
        """The invoices the figures are of."""
        return self.listed if self.gone_counted else self.listed - self.gone

    @property
    def gone_left_out(self) -> int:
        return 0 if self.gone_counted else self.gone


_UNPAID = Q(status=InvoiceStatus.UNPAID)
_GONE = Q(missing=True)
_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=19, decimal_places=4))


def _money_sum(field: str, condition: Q) -> Coalesce:
    return Coalesce(Sum(field, filter=condition), _ZERO)


def invoice_counter(summaries: bool) -> Callable[[Q | None], Any]:
    """How many invoices (meeting a condition) there are: counted, or summed over their
    summaries (whose money fields already hold sums, so `Sum` reads the same on both)."""
    if summaries:
        return lambda condition: Coalesce(Sum("invoices", filter=condition), 0)
    return lambda condition: Count("pk", filter=condition)


def _totals_annotations(*, gone_counted: bool, summaries: bool = False) -> dict[str, Any]:
    counted = Q() if gone_counted else ~_GONE
    unpaid, paid = counted & _UNPAID, counted & ~_UNPAID
    count = invoice_counter(summaries)
    return {
        "listed": count(None),
        "gone": count(_GONE),
        "outstanding": _money_sum("amount_due", unpaid),
        "outstanding_count": count(unpaid),
        "incasso_pending": _money_sum("amount_due", unpaid & Q(incasso=True)),
        "incasso_pending_count": count(unpaid & Q(incasso=True)),
        "paid": _money_sum("total", paid),
        "paid_count": count(paid),
    }


def invoice_totals(
    *,
    invoices: QuerySet[Invoice],
    gone_counted: bool = False,
    cache_key: str | None = None,
    summaries: QuerySet[InvoiceSummary] | None = None,
) -> list[CurrencyTotals]:
    """Totals per currency over the whole (filtered) set, in one query; invoices gone
    upstream are left out of the money unless `gone_counted` (see `CurrencyTotals`).

    `summaries`: the same set's summaries (`InvoiceFilter.summaries`), summed instead of
    the invoices when given. With a `cache_key` from `invoice_summary_key`, the result
    is cached: the key changes as soon as the invoices it sums change, so a cached total
    is never a stale one.
    """
    if cache_key is not None:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    source = invoices if summaries is None else summaries
    rows = (
        source.order_by()
        .values("currency")
        .annotate(**_totals_annotations(gone_counted=gone_counted, summaries=summaries is not None))
        .order_by("currency")
    )
    totals = [CurrencyTotals(**row, gone_counted=gone_counted) for row in rows]
    if cache_key is not None:
        cache.set(cache_key, totals, settings.SUMMARY_CACHE_SECONDS)
    return totals


# The sorts by a column of another table, read one group at a time (see
# `tables.InvoicePaginator`): the invoice field that names the group, and the field of
# the group's table it sorts by (ties: the group's id).
SORT_GROUPS: dict[str, tuple[str, str]] = {
    "connection__name": ("connection_id", "connection__name"),
    "batch__sort_key": ("batch_id", "batch__sort_key"),
}


def invoice_sort_groups(
    *,
    invoices: QuerySet[Invoice],
    sort: str,
    cache_key: str | None = None,
    summaries: QuerySet[InvoiceSummary] | None = None,
) -> list[tuple[int | None, int]]:
    """The groups of `invoices` for a sort in `SORT_GROUPS` (connections or batches), as
    (group id, invoices in it), in one query, in the ascending order of that sort as the
    database puts it (its collation; invoices without a batch where it puts NULL).
    Counted from the same set's `summaries` when given (they hold both); cached like
    `invoice_totals` under a key from `invoice_summary_key`."""
    if cache_key is not None:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    field, key = SORT_GROUPS[sort]
    if summaries is not None:
        counted = summaries.order_by().values(field).annotate(n=Sum("invoices"))
    else:
        counted = invoices.order_by().values(field).annotate(n=Count("pk"))
    groups = [(pk, n) for pk, n in counted.order_by(key, field).values_list(field, "n") if n]
    if cache_key is not None:
        cache.set(cache_key, groups, settings.SUMMARY_CACHE_SECONDS)
    return groups


def invoice_currencies(
    *,
    invoices: QuerySet[Invoice],
    cache_key: str | None = None,
    summaries: QuerySet[InvoiceSummary] | None = None,
) -> list[str]:
    """The currencies the invoices are in (the currency filter's choices), read from
    their `summaries` when given, cached like `invoice_totals` under a key from
    `invoice_summary_key`."""
    if cache_key is not None:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    source = invoices if summaries is None else summaries
    currencies = list(source.order_by("currency").values_list("currency", flat=True).distinct())
    if cache_key is not None:
        cache.set(cache_key, currencies, settings.SUMMARY_CACHE_SECONDS)
    return currencies


def invoice_summary_key(
    *,
    connections: Iterable[Connection],
    filters: Mapping[str, Any],
    today: dt.date,
    kind: str = "summary",
) -> str:
    """A cache key for a summary of the invoices of `connections` that match `filters`
    (a filter form's cleaned data) as of `today`.

    It names everything the summary depends on: each connection's data version (bumped
    by every write to its invoices, see `sync.connection_data_changed`) and notes
    version (the notes filters), its payment
    terms (what "overdue" means), its creation time (a recreated database reuses ids
    but not those), the day (overdue, "this month"), and each filter's value.
    """
    scope = sorted(
        (c.pk, c.created_at.isoformat(), c.data_version, c.notes_version, c.payment_terms_days)
        for c in connections
    )
    applied = sorted(
        (name, str(getattr(value, "pk", value)))
        for name, value in filters.items()
        if value not in (None, "", [], ())
    )
    parts = repr((scope, today.isoformat(), applied)).encode()
    return f"invoices:{kind}:" + hashlib.blake2b(parts, digest_size=16).hexdigest()


def invoice_view_counts(
    *,
    invoices: QuerySet[Invoice],
    today: dt.date,
    connections: Iterable[Connection] | None = None,
    cache_key: str | None = None,
    summaries: QuerySet[InvoiceSummary] | None = None,
) -> dict[str, int]:
    """How many of `invoices` each quick view holds (see `filters.QUICK_VIEWS`: all,
    unpaid, overdue, Incasso pending, delivery errors, paid), in one query, from their
    `summaries` when given, cached like `invoice_totals` under a key from
    `invoice_summary_key`."""
    if cache_key is not None:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    count = invoice_counter(summaries is not None)
    source = invoices if summaries is None else summaries
    counts = source.order_by().aggregate(
        all=count(None),
        unpaid=count(_UNPAID),
        overdue=count(invoice_overdue_q(today=today, connections=connections)),
        incasso=count(_UNPAID & Q(incasso=True)),
        errors=count(~Q(delivery_error="")),
        paid=count(~_UNPAID),
    )
    if cache_key is not None:
        cache.set(cache_key, counts, settings.SUMMARY_CACHE_SECONDS)
    return counts


@dataclass(frozen=True)
class ListPreferences:
    columns: list[str]  # the list columns `user` chose (names; empty: they never chose)
    default_view_id: int | None  # the saved view `/` opens


def user_list_preferences(*, user: Any) -> ListPreferences:
    """What `user` chose for the list, in one query."""
    row = UserPreference.objects.filter(user=user).values("columns", "default_view_id").first()
    if row is None:
        return ListPreferences([], None)
    return ListPreferences(list(row["columns"] or []), row["default_view_id"])


def user_columns_chosen(*, user: Any) -> list[str]:
    """The list columns `user` chose (names; empty: they never chose)."""
    return user_list_preferences(user=user).columns


@dataclass(frozen=True)
class BatchGroup:
    """One batch's summary within the filtered set (batch None = invoices without a batch)."""

    batch_id: int | None
    number: str | None
    size: int | None
    count: int
    unpaid_count: int
    incasso_count: int
    totals: list[CurrencyTotals]


def invoice_batch_groups(
    *,
    invoices: QuerySet[Invoice],
    batch_ids: set[int | None],
    gone_counted: bool = False,
    summaries: QuerySet[InvoiceSummary] | None = None,
) -> dict[int | None, BatchGroup]:
    """Summaries of the given batches over the filtered set, in one query (invoices gone
    upstream left out of the figures as in `invoice_totals`), from the same set's
    `summaries` when given."""
    wanted = Q(batch_id__in=[pk for pk in batch_ids if pk is not None])
    if None in batch_ids:
        wanted |= Q(batch__isnull=True)
    count = invoice_counter(summaries is not None)
    rows = (
        (invoices if summaries is None else summaries)
        .filter(wanted)
        .order_by()
        .values("batch_id", "batch__number", "batch__size", "currency")
        .annotate(
            **_totals_annotations(gone_counted=gone_counted, summaries=summaries is not None),
            incasso_count=count(Q(incasso=True) & (Q() if gone_counted else ~_GONE)),
        )
        .order_by("batch_id", "currency")
    )
    groups: dict[int | None, BatchGroup] = {}
    for row in rows:
        key = row.pop("batch_id")
        number, size = row.pop("batch__number"), row.pop("batch__size")
        incasso_count = row.pop("incasso_count")
        totals = CurrencyTotals(**row, gone_counted=gone_counted)
        group = groups.get(key)
        if group is None:
            groups[key] = BatchGroup(
                key, number, size, totals.count, totals.outstanding_count, incasso_count, [totals]
            )
        else:
            groups[key] = BatchGroup(
                key, number, size, group.count + totals.count,
                group.unpaid_count + totals.outstanding_count,
                group.incasso_count + incasso_count, [*group.totals, totals],
            )  # fmt: skip
    return groups


def account_summary(*, account: Account) -> list[CurrencyTotals]:
    """Per currency, the account's invoices, by the rule of `invoice_totals`.

    `account` must come from `account_get` (scoped to the user); amounts are Decimal and
    currencies are never added together.
    """
    return invoice_totals(invoices=Invoice.objects.filter(account=account))


def connection_latest_runs(connection_ids: Iterable[int]) -> QuerySet[SyncRun]:
    """Each connection's latest run and latest completed run (one or two per connection,
    newest first), in one query."""
    runs = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-queued_at", "-id")
    latest = Connection.objects.filter(pk__in=list(connection_ids)).annotate(
        last=Subquery(runs.values("pk")[:1]),
        done=Subquery(runs.filter(state__in=COMPLETED_STATES).values("pk")[:1]),
    )
    return SyncRun.objects.filter(
        Q(pk__in=latest.values("last")) | Q(pk__in=latest.values("done"))
    ).order_by("-queued_at", "-id")


def connection_runs_overview(
    *, connections: list[Connection], runs: list[SyncRun] | None = None
) -> list[ConnectionOverview]:
    """`connection_overviews` without counts for connections already loaded: each one's
    latest run and latest completed run, in one query (none with `runs`: those
    `connection_latest_runs` gave them)."""
    last: dict[int, SyncRun] = {}
    done: dict[int, SyncRun] = {}
    if runs is None:
        runs = list(connection_latest_runs(connection.pk for connection in connections))
    # newest first: the first seen per connection is its latest
    for run in runs:
        last.setdefault(run.connection_id, run)
        if run.state in COMPLETED_STATES:
            done.setdefault(run.connection_id, run)
    return [
        ConnectionOverview(
            connection=connection,
            invoice_count=None,
            last_run=last.get(connection.pk),
            last_success=done.get(connection.pk),
        )
        for connection in connections
    ]


def connection_scope_rows(*, user: Any) -> QuerySet:
    """The connections `user` may see, by name, as rows: each one's columns (but its
    credentials) and the user's role on it (superusers: every connection, as partner
    admin), in one query: what the list shows of `user`'s scope, for its page cache."""
    fields = [f.attname for f in Connection._meta.concrete_fields if f.name != "credentials"]
    if user.is_superuser:
        live = Connection.objects.filter(archived_at=None).order_by("name", "pk")
        return live.values_list(*fields, Value(Role.PARTNER_ADMIN))
    grants = Access.objects.filter(user=user, connection__archived_at=None)
    columns = [f"connection__{name}" for name in fields]
    return grants.order_by("connection__name", "connection_id").values_list(*columns, "role")


def connection_roles(*, user: Any) -> dict[int, str]:
    """`{connection id: role}` for every connection `user` may see (superuser: admin)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    if user.is_superuser:
        live = Connection.objects.filter(archived_at=None).values_list("pk", flat=True)
        return dict.fromkeys(live, Role.PARTNER_ADMIN)
    grants = Access.objects.filter(user=user, connection__archived_at=None)
    return dict(grants.values_list("connection_id", "role"))
