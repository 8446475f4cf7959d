"""The local mirror: connections, accounts, batches, invoices, sync runs.

The dashboard reads only these tables; providers are called live only for public
links and next billing dates. Writes go through `invoices.sync`; reads through
`invoices.selectors`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, OrderBy, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedJSONField


class Connection(models.Model):
    """A configured provider account: where to fetch, with which credentials."""

    provider = models.CharField(_("provider"), max_length=32)
    name = models.CharField(_("name"), max_length=100, unique=True)
    # Plain settings: base URLs, org id, account ids, default currency, page size.
    config = models.JSONField(_("settings"), default=dict, blank=True)
    # Secrets, encrypted at rest; never rendered, logged or printed.
    credentials = EncryptedJSONField(_("credentials"), default=dict, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"),
        default=30,
        help_text=_("Days after the issue date an unpaid invoice becomes overdue."),
    )
    sync_interval_minutes = models.PositiveIntegerField(
        _("sync interval (minutes)"),
        default=60,
        help_text=_("Re-sync this connection at least this often (0 = never)."),
    )
    # Paused: no scheduled syncs (a person can still sync by hand).
    paused = models.BooleanField(_("paused"), default=False)
    # Removed in the app: hidden everywhere (its invoices with it) and never synced, but
    # nothing is deleted; an administrator can bring it back (Django admin, clear it).
    archived_at = models.DateTimeField(_("removed on"), null=True, blank=True)
    # Bumped in the same transaction as every write to this connection's invoices:
    # summaries of them (totals, counts) are cached under it and never served stale.
    data_version = models.PositiveBigIntegerField(default=0, editable=False)
    # The data version the invoices' summaries (`InvoiceSummary`) were last built at;
    # they are read only while it equals `data_version` (see invoices/summaries.py).
    summary_version = models.PositiveBigIntegerField(null=True, editable=False)
    # Bumped with every note added to or deleted from its invoices: what the list shows
    # of notes (flags, the notes filters' figures) is cached under it, as under
    # `data_version` (a note is no invoice data: the summaries stay current).
    notes_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("connection")
        verbose_name_plural = _("connections")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the credentials
        return f"<Connection {self.name!r} ({self.provider})>"


class Role(models.TextChoices):
    PARTNER_ADMIN = "partner-admin", _("Partner admin")
    FINANCE = "finance", _("Finance")


class Access(models.Model):
    """A user's role on one connection; users see only connections granted to them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invoice_access",
        verbose_name=_("user"),
    )
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="access", verbose_name=_("connection")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("access")
        verbose_name_plural = _("access")
        constraints = [
            models.UniqueConstraint(fields=["user", "connection"], name="one_role_per_connection")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.connection} · {self.role}"


class Account(models.Model):
    """A customer or billing account at the provider."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="accounts", verbose_name=_("connection")
    )
    provider_id = models.CharField(_("id at the provider"), max_length=100)
    name = models.CharField(_("name"), max_length=255)
    currency = models.CharField(_("currency"), max_length=3, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "provider_id"], name="account_unique_per_connection"
            )
        ]

    def __str__(self) -> str:
        return self.name


_DIGITS = re.compile(r"\d+")


def batch_sort_key(number: str) -> str:
    """`number` as people read it: its runs of digits compared as numbers ("2" < "9" <
    "10", "B-9" < "B-10"), the rest as text. Each run of digits is written as its length
    (two digits) then the digits, so comparing the keys as text compares the numbers."""

    def run(match: re.Match[str]) -> str:
        digits = match.group().lstrip("0") or "0"
        return f"{len(digits):02d}{digits}"

    return _DIGITS.sub(run, number.casefold())[:255]


class Batch(models.Model):
    """An Acronis invoice batch (one billing run) with its size as the provider reports it."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="batches", verbose_name=_("connection")
    )
    number = models.CharField(_("number"), max_length=50)
    # What the batch column sorts by (see `batch_sort_key`); written with the number.
    sort_key = models.CharField(max_length=255, blank=True, editable=False)
    size = models.PositiveIntegerField(_("size"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        constraints = [
            models.UniqueConstraint(fields=["connection", "number"], name="batch_unique_per_conn")
        ]

    def __str__(self) -> str:
        return gettext("Batch %(number)s") % {"number": self.number}

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.sort_key = batch_sort_key(self.number)
        super().save(*args, **kwargs)


class NullsLastIndex(models.Index):
    """An index whose NULLS FIRST/LAST is written only where the database accepts it.

    SQLite rejects the modifier in CREATE INDEX, and needs none: its DESC already puts
    NULLs last (and its planner uses the index for `DESC NULLS LAST`). PostgreSQL's DESC
    puts them first, so there the index must say it to serve the same ORDER BY.
    """

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using, **kwargs)
        plain = [
            OrderBy(e.expression, descending=e.descending) if isinstance(e, OrderBy) else e
            for e in self.expressions
        ]
        return models.Index(*plain, name=self.name).create_sql(
            model, schema_editor, using, **kwargs
        )


class InvoiceStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    UNPAID = "unpaid", _("Unpaid")


class Invoice(models.Model):
    """One invoice as last seen at its provider."""

    # Each write maintains every index: the foreign keys' own indexes are left out where
    # a composite index below starts with the same column and serves the same lookups.
    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="invoices",
        db_index=False,
        verbose_name=_("connection"),
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="invoices",
        db_index=False,
        verbose_name=_("account"),
    )
    batch = models.ForeignKey(
        Batch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
        db_index=False,
        verbose_name=_("batch"),
    )
    provider_id = models.CharField(_("id at the provider"), max_length=100)
    number = models.CharField(_("number"), max_length=100)
    # The customer name printed on the invoice (kept here so search and sort need no join).
    customer_name = models.CharField(_("customer"), max_length=255)
    issue_date = models.DateField(_("issue date"))
    scheduled_date = models.DateField(_("scheduled date"), null=True, blank=True)
    provider_created_at = models.DateTimeField(_("created at the provider"), null=True, blank=True)
    payment_date = models.DateField(_("payment date"), null=True, blank=True)
    total = models.DecimalField(_("total"), max_digits=19, decimal_places=4)
    amount_due = models.DecimalField(_("amount due"), max_digits=19, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=InvoiceStatus.choices)
    raw_status = models.CharField(_("status at the provider"), max_length=100, blank=True)
    incasso = models.BooleanField(_("Incasso (direct debit)"), default=False)
    exported = models.BooleanField(_("exported"), default=False)
    exported_at = models.DateTimeField(_("exported on"), null=True, blank=True)
    delivery_error = models.TextField(_("delivery error"), blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    extra = models.JSONField(_("other provider data"), default=dict, blank=True)
    # Mirror bookkeeping.
    fingerprint = models.CharField(max_length=32)
    missing = models.BooleanField(
        _("gone upstream"),
        default=False,
        help_text=_("Not returned by the provider's last complete sync."),
    )
    # Not indexed: only the rare deletion of a run looks invoices up by it.
    last_seen_run = models.ForeignKey(
        "SyncRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("last seen by sync"),
    )
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "provider_id"], name="invoice_unique_per_connection"
            )
        ]
        indexes = [
            # The dashboard's orders, one index each, read forwards or backwards; each
            # ends on the unique id (pages never repeat a row), then the connection, so
            # the scope (`connection_id IN …`) is checked in the index: a deep page steps
            # over index entries, not rows. Filters (status, flags) walk the same order: a
            # page's worth of matches turns up within a few hundred entries. Every index
            # slows every write of a sync: `make bench` weighs both.
            models.Index(fields=["-issue_date", "-id", "connection"], name="invoice_issue_desc"),
            # Amounts sort within their currency (see tables.BY_CURRENCY).
            models.Index(
                fields=["currency", "total", "id", "connection"], name="invoice_currency_total"
            ),
            models.Index(
                fields=["currency", "amount_due", "id", "connection"], name="invoice_currency_due"
            ),
            models.Index(fields=["customer_name", "id", "connection"], name="invoice_customer"),
            models.Index(fields=["number", "id", "connection"], name="invoice_number"),
            models.Index(fields=["scheduled_date", "id", "connection"], name="invoice_scheduled"),
            models.Index(fields=["payment_date", "id", "connection"], name="invoice_paid_on"),
            models.Index(fields=["exported_at", "id", "connection"], name="invoice_exported_at"),
            models.Index(
                fields=["status", "-issue_date", "-id", "connection"], name="invoice_status_issue"
            ),
            # The connection and batch sorts read a group at a time, newest first (see
            # tables.InvoicePaginator); grouped by batch: newest batch first, no batch
            # last (see views/dashboard.py).
            models.Index(
                fields=["connection", "-issue_date", "-id"], name="invoice_connection_issue"
            ),
            NullsLastIndex(
                F("batch").desc(nulls_last=True),
                F("issue_date").desc(),
                F("id").desc(),
                F("connection"),
                name="invoice_batch_order",
            ),
            models.Index(fields=["account", "-issue_date"], name="invoice_account_issue"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_paid(self) -> bool:
        return self.status == InvoiceStatus.PAID


class InvoiceSummary(models.Model):
    """How many invoices of a connection share one combination of the fields the
    common filters ask about, with their money summed: totals and counts for those
    filters read these (a few thousand rows) instead of the invoices (a million).

    The fields carry the invoice's names, so the list's own filters apply to them
    unchanged (see `InvoiceFilter.summaries`); a delivery error is summarised as "!".
    Rebuilt per connection by `summaries.summaries_rebuild`.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    issue_date = models.DateField()
    # A batch is one billing run, so its invoices share their dates: holding it makes no
    # more rows (the benchmark's million: none), and the batch sort and filter read here.
    batch = models.ForeignKey("Batch", null=True, on_delete=models.SET_NULL, related_name="+")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices)
    incasso = models.BooleanField()
    missing = models.BooleanField()
    delivery_error = models.CharField(max_length=1, blank=True)
    invoices = models.PositiveIntegerField()
    # Sums: room for a million invoices of the largest amount an invoice may hold.
    total = models.DecimalField(max_digits=28, decimal_places=4)
    amount_due = models.DecimalField(max_digits=28, decimal_places=4)

    class Meta:
        verbose_name = _("invoice summary")
        verbose_name_plural = _("invoice summaries")

    def __str__(self) -> str:
        return f"{self.connection_id} {self.issue_date} {self.currency} {self.status}"


class AccountSummary(models.Model):
    """How many invoices of an account share a currency, status, Incasso and gone
    upstream, with what they owe summed: the aging page's customers owing the most rank
    these (an account's rows, a few) instead of every outstanding invoice. Rebuilt with
    the `InvoiceSummary` rows, and read under the same version (`summaries.py`)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("Account", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices)
    incasso = models.BooleanField()
    missing = models.BooleanField()
    invoices = models.PositiveIntegerField()
    amount_due = models.DecimalField(max_digits=28, decimal_places=4)

    class Meta:
        verbose_name = _("account summary")
        verbose_name_plural = _("account summaries")

    def __str__(self) -> str:
        return f"{self.connection_id} {self.account_id} {self.currency} {self.status}"


class SyncState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    # Everything readable was written; some items or accounts could not be read (see
    # `SyncRun.problems`), and nothing was marked gone because of them.
    PARTIAL = "partial", _("Completed with problems")
    FAILED = "failed", _("Failed")


ACTIVE_STATES = (SyncState.QUEUED, SyncState.RUNNING)
# Runs that wrote the provider's answer to the end (what "last synced" means).
COMPLETED_STATES = (SyncState.SUCCEEDED, SyncState.PARTIAL)


class SyncRun(models.Model):
    """One pull of a connection into the mirror, with its progress and outcome."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="sync_runs", verbose_name=_("connection")
    )
    state = models.CharField(
        _("state"), max_length=10, choices=SyncState.choices, default=SyncState.QUEUED
    )
    trigger = models.CharField(_("started by"), max_length=20, default="manual")
    # The person who asked for it (a run started by hand in the app), if any.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    queued_at = models.DateTimeField(_("queued"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    pages_done = models.PositiveIntegerField(_("pages read"), default=0)
    pages_total = models.PositiveIntegerField(_("pages in all"), null=True, blank=True)
    created = models.PositiveIntegerField(_("invoices created"), default=0)
    updated = models.PositiveIntegerField(_("invoices updated"), default=0)
    unchanged = models.PositiveIntegerField(_("invoices unchanged"), default=0)
    missing = models.PositiveIntegerField(_("invoices gone upstream"), default=0)
    error = models.TextField(_("error"), blank=True)
    # What kind of failure `error` is (`explain.SYNC_ERRORS`): what people are told.
    error_kind = models.CharField(_("kind of error"), max_length=20, blank=True)
    # What a running run is doing besides reading pages, e.g. waiting out a provider's
    # Retry-After ("Acronis: waiting 30 s before retry 1 of 3 (HTTP 429)").
    note = models.CharField(_("note"), max_length=200, blank=True)
    # What could not be read: [{"what": ..., "reason": ...}], the first MAX_PROBLEMS of
    # `problem_count`.
    problems = models.JSONField(_("what could not be read"), default=list, blank=True)
    problem_count = models.PositiveIntegerField(_("problems in all"), default=0)

    MAX_PROBLEMS = 50

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        constraints = [
            # The database-level guard: at most one queued-or-running run per connection,
            # whichever worker or machine tries to start another (partial unique index;
            # PostgreSQL and SQLite both enforce it).
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(state__in=["queued", "running"]),
                name="one_active_sync_per_connection",
            )
        ]
        indexes = [models.Index(fields=["connection", "state", "-finished_at"], name="run_lookup")]

    def __str__(self) -> str:
        return f"{self.connection} sync #{self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        """Queued, or running with a live lease (a run whose worker died is not)."""
        return self.state == SyncState.QUEUED or (
            self.state == SyncState.RUNNING and not self.lease_expired
        )

    @property
    def lease_expired(self) -> bool:
        """Running, but its worker stopped renewing the lease: it is dead, and the next
        run takes over (see `invoices.sync.runs`)."""
        if self.state != SyncState.RUNNING or self.heartbeat_at is None:
            return False
        lease = dt.timedelta(seconds=settings.SYNC_LEASE_SECONDS)
        return self.heartbeat_at < timezone.now() - lease

    @property
    def progress_percent(self) -> int | None:
        if not self.pages_total:
            return None
        return min(100, round(100 * self.pages_done / self.pages_total))


class UserPreference(models.Model):
    """What a user chose for the list, kept on the server (any browser, any machine)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invoice_preference",
        verbose_name=_("user"),
    )
    # Column names of `tables.COLUMNS`, in the table's order; empty: the defaults.
    columns = models.JSONField(_("columns"), default=list, blank=True)
    # The saved view `/` opens (see `invoices.saved_views`); None: all invoices.
    default_view = models.ForeignKey(
        "SavedView",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default view"),
    )

    class Meta:
        verbose_name = _("list preference")
        verbose_name_plural = _("list preferences")

    def __str__(self) -> str:
        return gettext("%(user)s · preferences") % {"user": self.user}


class InvoiceNote(models.Model):
    """A follow-up note on an invoice, kept here only (never sent to a provider)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="notes", verbose_name=_("invoice")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    text = models.TextField(_("note"), max_length=2000)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invoice note")
        verbose_name_plural = _("invoice notes")
        indexes = [
            models.Index(fields=["invoice", "follow_up_on"], name="note_invoice_follow_up"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class WriteState(models.TextChoices):
    """Where a write sent to a provider stands (payments, accounting exports)."""

    SENDING = "sending", _("Sending")
    CONFIRMED = "confirmed", _("Confirmed")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused by the provider")
    NOT_APPLIED = "not_applied", _("Did not take effect")
    UNKNOWN = "unknown", _("Outcome not known yet")


class PaymentConfirmation(models.Model):
    """One attempt to confirm an invoice's payment at its provider (see
    `invoices.payments`): the trail of who confirmed what, when, and what came of it."""

    State = WriteState

    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.CASCADE,
        related_name="payment_confirmations",
        verbose_name=_("invoice"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("user"),
    )
    state = models.CharField(_("state"), max_length=12, choices=WriteState.choices)
    amount = models.DecimalField(_("amount due"), max_digits=19, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    message = models.CharField(_("message"), max_length=500, blank=True)
    # The provider's own (redacted) words, for partner admins.
    detail = models.CharField(_("detail"), max_length=1000, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("payment confirmation")
        verbose_name_plural = _("payment confirmations")
        constraints = [
            # A double click or two users at once: one confirmation in flight per invoice.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(state="sending"),
                name="one_payment_confirmation_in_flight",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.state}"


class AccountingExport(models.Model):
    """One export to accounting at a provider (see `invoices.accounting`), with the
    file it made, for the user who asked."""

    State = WriteState

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="+", verbose_name=_("connection")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    fmt = models.CharField(_("format"), max_length=4)
    state = models.CharField(_("state"), max_length=12, choices=WriteState.choices)
    invoice_ids = models.JSONField(_("invoices"), default=list)
    numbers = models.JSONField(_("invoice numbers"), default=list)
    content = models.BinaryField(_("file"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    detail = models.CharField(_("detail"), max_length=1000, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("accounting export")
        verbose_name_plural = _("accounting exports")
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(state="sending"),
                name="one_accounting_export_in_flight",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection} export #{self.pk} ({self.state})"


class SavedView(models.Model):
    """A list's filters, sort and columns under a name (see `invoices.saved_views`)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=80)
    # The list's filters as a query string (no sort or page), and its sort.
    query = models.TextField(_("filters"), max_length=2000, blank=True)
    sort = models.CharField(_("sort"), max_length=50, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    shared = models.BooleanField(
        _("shared"),
        default=False,
        help_text=_("Seen by everyone with access to the same connections."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class AuditAction(models.TextChoices):
    """What an audit entry records (`invoices.audit.record`)."""

    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login-failed", _("Failed sign-in")
    PUBLIC_LINK = "public-link", _("Public link revealed")
    PDF = "pdf", _("PDF downloaded")
    EXPORT = "export", _("Invoices exported")
    PAYMENT = "payment", _("Payment confirmation")
    ACCOUNTING = "accounting", _("Export to accounting")
    NOTE = "note", _("Note")
    SAVED_VIEW = "saved-view", _("Saved view")
    SYNC = "sync", _("Sync started by hand")
    CONNECTION_ADDED = "connection-added", _("Connection added")
    CONNECTION_EDITED = "connection-edited", _("Connection edited")
    CREDENTIALS_ROTATED = "credentials-rotated", _("Credentials changed")
    CONNECTION_PAUSED = "connection-paused", _("Scheduled syncs paused or resumed")
    CONNECTION_REMOVED = "connection-removed", _("Connection removed")
    ACCESS_GRANTED = "access-granted", _("Access granted")
    ACCESS_CHANGED = "access-changed", _("Role changed")
    ACCESS_REVOKED = "access-revoked", _("Access revoked")
    INVITED = "invited", _("User invited")


class AuditOutcome(models.TextChoices):
    OK = "ok", _("Done")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


class AuditEntryQuerySet(models.QuerySet):
    """Append-only: rows are added, never changed or deleted through the ORM."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """One sensitive action: when, who, on which connection, what, from where, and how it
    ended. Written by `invoices.audit.record` only; never a credential, token or link."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    # Kept as it was then: the user may be renamed or deleted later.
    username = models.CharField(_("username"), max_length=150, blank=True)
    connection = models.ForeignKey(
        Connection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("connection"),
    )
    connection_name = models.CharField(_("connection name"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    # What it was done to, in words: an invoice number, "412 invoices", a username.
    target = models.CharField(_("what"), max_length=200, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.OK
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    # Facts for the record (format, filters, row count, the provider's answer), redacted.
    detail = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["connection", "-at"], name="audit_by_connection"),
            models.Index(fields=["action", "-at"], name="audit_by_action"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries cannot be deleted")
