"""The Django admin over the mirror: an operator's back door, and the benchmark's peer.

The invoice changelist is deliberately comparable to the dashboard (same columns,
filters, search and page size) so `manage.py bench` can time the two honestly.
Credentials are never shown or editable here: they are set with `add_connection`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Access, Account, AuditEntry, Batch, Connection, Invoice, SyncRun
from .sync import connection_data_changed


class ConnectionForm(forms.ModelForm):
    """The plain settings, with MasStack's history start as a date of its own."""

    since = forms.DateField(
        required=False,
        label=_("Read invoices issued from"),
        help_text=_(
            "MasStack: the oldest issue date a sync asks for (empty: ten years back). "
            "Older invoices in the mirror are kept as they are."
        ),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Connection
        # Never `credentials`: secrets stay out of every form and page.
        fields = (
            "name",
            "config",
            "payment_terms_days",
            "sync_interval_minutes",
            "paused",
            # Removed in the app (archived): clear it to bring the connection back.
            "archived_at",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        since = (self.instance.config or {}).get("since")
        if since:
            self.initial.setdefault("since", since)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        config = dict(cleaned.get("config") or {})
        since: dt.date | None = cleaned.get("since")
        if since is not None:
            config["since"] = since.isoformat()
        elif "since" in self.changed_data:
            config.pop("since", None)
        cleaned["config"] = config
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = (
        "name", "provider", "payment_terms_days", "sync_interval_minutes", "paused",
        "archived_at", "updated_at",
    )  # fmt: skip
    list_filter = ("provider", "paused", ("archived_at", admin.EmptyFieldListFilter))
    search_fields = ("name",)
    # Secrets stay out of every form and page (see `Connection.credentials`).
    exclude = ("credentials",)
    readonly_fields = ("provider", "created_at", "updated_at")

    def get_fields(self, request: Any, obj: Connection | None = None) -> list[str]:
        fields = list(super().get_fields(request, obj))
        if (obj is None or obj.provider != "masstack") and "since" in fields:
            fields.remove("since")
        return fields

    def has_add_permission(self, request) -> bool:
        # `manage.py add_connection` checks the credentials against the provider first.
        return False


@admin.register(Access)
class AccessAdmin(admin.ModelAdmin):
    list_display = ("user", "connection", "role")
    list_filter = ("role", "connection")
    search_fields = ("user__username", "connection__name")
    list_select_related = ("user", "connection")
    autocomplete_fields = ("connection",)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "connection", "provider_id", "currency")
    list_filter = ("connection", "currency")
    search_fields = ("name", "provider_id")
    list_select_related = ("connection",)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("number", "connection", "size")
    list_filter = ("connection",)
    search_fields = ("number",)
    list_select_related = ("connection",)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "customer_name",
        "connection",
        "issue_date",
        "total",
        "amount_due",
        "currency",
        "status",
        "incasso",
        "exported",
        "batch",
    )
    list_filter = ("status", "incasso", "connection", "currency", "exported", "issue_date")
    search_fields = ("number", "customer_name")
    list_per_page = 25
    list_select_related = ("connection", "batch")
    # The mirror is written by the sync; hand edits would be overwritten by the next run.
    raw_id_fields = ("account", "batch", "last_seen_run")

    # Hand edits still change what the dashboard's cached totals sum.
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # Moved to another connection: what the one it left sums changed too.
        previous = form.initial.get("connection") if change else None
        connection_data_changed(connection_ids={obj.connection_id, previous} - {None})

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        connection_data_changed(connection_ids=[obj.connection_id])

    def delete_queryset(self, request, queryset) -> None:
        connection_ids = set(queryset.values_list("connection_id", flat=True))
        super().delete_queryset(request, queryset)
        connection_data_changed(connection_ids=connection_ids)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "connection",
        "state",
        "trigger",
        "queued_at",
        "finished_at",
        "pages_done",
        "created",
        "updated",
        "missing",
    )
    list_filter = ("state", "trigger", "connection")
    list_select_related = ("connection",)
    readonly_fields = [field.name for field in SyncRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, to read only: nobody adds, changes or deletes an entry here, not
    even a superuser (the model refuses it too)."""

    list_display = (
        "at",
        "username",
        "connection_name",
        "action",
        "target",
        "outcome",
        "ip_address",
    )
    list_filter = ("action", "outcome", "connection", "at")
    search_fields = ("username", "target", "connection_name", "message")
    date_hierarchy = "at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
