"""Reads: scoped querysets and summaries for views and commands."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Prefetch, Subquery

from .models import Connection, Invoice, SyncRun, SyncState


@dataclass(frozen=True)
class ConnectionOverview:
    connection: Connection
    invoice_count: int
    last_run: SyncRun | None
    last_success: SyncRun | None

    @property
    def endpoint(self) -> str:
        config = self.connection.config
        return str(config.get("base_url") or config.get("billing_url") or "")


def connection_overviews(
    *, connections: list[Connection] | None = None
) -> list[ConnectionOverview]:
    """Each connection with its invoice count, its latest run and its latest successful run."""
    queryset = (
        Connection.objects.all()
        if connections is None
        else Connection.objects.filter(pk__in=[c.pk for c in connections])
    )
    invoice_counts = (
        Invoice.objects.filter(connection=OuterRef("pk"), missing=False)
        .order_by()
        .values("connection")
        .annotate(n=Count("pk"))
        .values("n")
    )
    latest = SyncRun.objects.order_by("-queued_at", "-id")
    queryset = queryset.annotate(invoice_count=Subquery(invoice_counts)).prefetch_related(
        Prefetch("sync_runs", queryset=latest, to_attr="_runs")
    )
    overviews = []
    for connection in queryset:
        runs = connection._runs
        success = next((run for run in runs if run.state == SyncState.SUCCEEDED), None)
        overviews.append(
            ConnectionOverview(
                connection=connection,
                invoice_count=connection.invoice_count or 0,
                last_run=runs[0] if runs else None,
                last_success=success,
            )
        )
    return overviews


def connections_for_user(user) -> list[Connection]:
    """The connections `user` may see: all for superusers, else those granted to them."""
    if not user.is_authenticated:
        return []
    queryset = Connection.objects.all()
    if not user.is_superuser:
        queryset = queryset.filter(access__user=user)
    return list(queryset)
