"""The invoice list's filter form (django-filter); every choice is scoped to the user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .aging import BUCKET_KEYS, BUCKETS, aging_bucket_q
from .models import (
    AccountSummary,
    AuditAction,
    AuditEntry,
    AuditOutcome,
    Batch,
    Connection,
    Invoice,
    InvoiceStatus,
    InvoiceSummary,
)
from .notes import follow_up_due_q, has_notes_q
from .selectors import (
    accounts_for_user,
    connections_for_user,
    invoice_currencies,
    invoice_overdue_q,
    invoice_summary_key,
)
from .summaries import ACCOUNT_FILTERS as ACCOUNT_SUMMARY_FILTERS
from .summaries import FILTERS as SUMMARY_FILTERS
from .summaries import summaries_current

PER_PAGE_CHOICES = (25, 50, 100)
# Bounds on what a person can type: a search longer than any invoice number or customer
# name finds nothing anyway (and SQLite refuses LIKE patterns of tens of kilobytes); an
# amount beyond what the mirror can hold matches nothing either.
SEARCH_MAX_LENGTH = 100
AMOUNT_LIMIT = Decimal("999999999999999")

PERIODS = {
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "last_90_days": _("Last 90 days"),
    "this_year": _("This year"),
}

YES_NO = (("true", _("Yes")), ("false", _("No")))

# Invoices gone upstream (not returned by their provider's last complete sync): listed
# and flagged, but left out of the money figures unless the user asks for them.
GONE_CHOICES = (
    ("hide", _("Hidden")),
    ("include", _("Shown and counted in the totals")),
    ("only", _("Only these, counted in the totals")),
)
GONE_COUNTED = frozenset({"include", "only"})

# Follow-up notes (kept here, never at the provider: see `notes`).
NOTE_CHOICES = (
    ("any", _("Has notes")),
    ("follow_up", _("Follow-up due")),
    ("none", _("No notes")),
)

# The tabs above the table: each sets the filters in VIEW_FIELDS (and only those), so a
# tab and the filter form never disagree; their counts come from one query
# (`selectors.invoice_view_counts`, whose names these are).
QUICK_VIEWS: tuple[tuple[str, Any, dict[str, str]], ...] = (
    # (A tab names invoices: "quick view" tells translators so, e.g. for plural forms.)
    ("all", pgettext_lazy("quick view", "All"), {}),
    ("unpaid", pgettext_lazy("quick view", "Unpaid"), {"status": "unpaid"}),
    ("overdue", pgettext_lazy("quick view", "Overdue"), {"overdue": "true"}),
    ("incasso", _("Incasso pending"), {"incasso": "true", "status": "unpaid"}),
    ("errors", _("Delivery errors"), {"delivery_error": "true"}),
    ("paid", pgettext_lazy("quick view", "Paid"), {"status": "paid"}),
)
VIEW_FIELDS = ("status", "overdue", "incasso", "delivery_error")


def period_range(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Inclusive issue-date bounds of a preset, relative to `today`."""
    if period == "this_month":
        return today.replace(day=1), today
    if period == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return last.replace(day=1), last
    if period == "last_90_days":
        return today - dt.timedelta(days=89), today
    if period == "this_year":
        return today.replace(month=1, day=1), today
    raise ValueError(period)


class YesNoFilter(django_filters.ChoiceFilter):
    """A tri-state filter shown as Any / Yes / No."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", YES_NO)
        kwargs.setdefault("empty_label", _("Any"))
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if value in ("true", "false"):
            return self.apply(qs, value == "true")
        return qs

    def apply(self, qs: QuerySet, value: bool) -> QuerySet:
        return qs.filter(**{self.field_name: value})


class DeliveryErrorFilter(YesNoFilter):
    def apply(self, qs: QuerySet, value: bool) -> QuerySet:
        return qs.exclude(delivery_error="") if value else qs.filter(delivery_error="")


def aging_left_out(values: Mapping[str, Any]) -> str | None:
    """Why the days-overdue filter is left out beside these other filter values (it
    contradicts Overdue, or asks paid invoices for days past due), or None. The form and
    the quick views' counts (each tab with its own status or overdue) both ask here."""
    aging, overdue = values.get("aging"), values.get("overdue")
    if not aging:
        return None
    if (aging == "current" and overdue == "true") or (aging != "current" and overdue == "false"):
        return _("This contradicts the Overdue filter: it is left out.")
    if values.get("status") == InvoiceStatus.PAID:
        return _("Paid invoices are not past due: this filter is left out.")
    return None


class InvoiceFilterForm(forms.Form):
    """The filters that contradict each other say so (each such filter is then ignored,
    with the list's notice) instead of silently matching nothing or something else."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("Enter an amount of at least “Amount from”."))
        after, before = cleaned.get("issued_after"), cleaned.get("issued_before")
        if after and before and after > before:
            self.add_error("issued_before", _("Enter a date on or after “Issued from”."))
        reason = aging_left_out(cleaned)
        if reason:
            self.add_error("aging", reason)
        period = cleaned.get("period")
        if period in PERIODS and (cleaned.get("issued_after") or cleaned.get("issued_before")):
            self.add_error(
                "period",
                _("Choose a period or dates, not both: the dates are used."),
            )
        return cleaned


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Invoice number or customer")}
        ),
    )
    status = django_filters.ChoiceFilter(
        choices=InvoiceStatus.choices, empty_label=_("Paid or unpaid"), label=_("Payment")
    )
    overdue = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label=_("Any"), method="filter_overdue", label=_("Overdue")
    )
    incasso = YesNoFilter(label=_("Incasso (direct debit)"))
    # Choices from the connections already loaded for the user (no query of its own).
    connection = django_filters.ChoiceFilter(
        field_name="connection_id", choices=(), empty_label=_("All connections"),
        label=_("Connection"),
    )  # fmt: skip
    account = django_filters.ModelChoiceFilter(
        queryset=None, widget=forms.HiddenInput, label=_("Customer")
    )
    batch = django_filters.ModelChoiceFilter(
        queryset=None, widget=forms.HiddenInput, label=_("Batch")
    )
    period = django_filters.ChoiceFilter(
        choices=list(PERIODS.items()), empty_label=_("Any time"), method="filter_period",
        label=pgettext_lazy("filter of a period", "Issued"),
    )  # fmt: skip
    issued_after = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="gte", label=_("Issued from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    issued_before = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="lte", label=_("Issued until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    amount_min = django_filters.NumberFilter(
        field_name="total", lookup_expr="gte", label=_("Amount from"),
        min_value=-AMOUNT_LIMIT, max_value=AMOUNT_LIMIT,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )  # fmt: skip
    amount_max = django_filters.NumberFilter(
        field_name="total", lookup_expr="lte", label=_("Amount to"),
        min_value=-AMOUNT_LIMIT, max_value=AMOUNT_LIMIT,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )  # fmt: skip
    currency = django_filters.ChoiceFilter(
        choices=(), empty_label=_("All currencies"), label=_("Currency")
    )
    exported = YesNoFilter(label=_("Exported"))
    delivery_error = DeliveryErrorFilter(label=_("Delivery error"))
    gone = django_filters.ChoiceFilter(
        choices=GONE_CHOICES, empty_label=_("Shown, not in the totals"), method="filter_gone",
        label=_("Gone upstream"),
    )  # fmt: skip
    # Days past the due date (unpaid only), in the aging page's buckets.
    aging = django_filters.ChoiceFilter(
        choices=[(bucket.key, bucket.label) for bucket in BUCKETS], empty_label=_("Any"),
        method="filter_aging", label=_("Days overdue"),
    )  # fmt: skip
    notes = django_filters.ChoiceFilter(
        choices=NOTE_CHOICES, empty_label=_("Any"), method="filter_notes", label=_("Notes"),
    )  # fmt: skip

    class Meta:
        model = Invoice
        fields: list[str] = []
        form = InvoiceFilterForm

    def __init__(
        self,
        *args: Any,
        request: Any,
        connections: list[Connection] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, request=request, **kwargs)
        user = request.user
        if connections is None:
            connections = list(connections_for_user(user))
        self.connections = connections
        self.filters["account"].queryset = accounts_for_user(user)
        self.filters["batch"].queryset = Batch.objects.filter(
            connection__in=connections_for_user(user)
        )
        # The currencies of the invoices the user may see (not of their accounts: an
        # account may be invoiced in several), cached until those invoices change.
        currencies = invoice_currencies(
            invoices=self.queryset,
            summaries=self._summaries_of_scope(),
            cache_key=invoice_summary_key(
                connections=connections, filters={}, today=timezone.localdate(),
                kind="currencies",
            ),
        )  # fmt: skip
        # `self.form` is built on first access: only now that the querysets are scoped.
        self.form.label_suffix = ""
        # django-filter's field puts its own empty choice ("All currencies") first.
        self.form.fields["currency"].choices = [(code, code) for code in currencies]
        self.form.fields["connection"].choices = [(str(c.pk), c.name) for c in connections]

    def qs_without(self, names: tuple[str, ...]) -> QuerySet:
        """The invoices matching every filter the user set except `names` (the quick
        views' counts: each tab over the other filters), from this form's cleaned values,
        as `qs` would filter them."""
        queryset = self.queryset.select_related(None)
        self.errors  # noqa: B018 - validates the form, as `qs` does
        for name, value in self.form.cleaned_data.items():
            if name not in names:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def summaries(
        self, without: tuple[str, ...] = (), *, per_account: bool = False
    ) -> QuerySet[InvoiceSummary] | QuerySet[AccountSummary] | None:
        """The summaries (`InvoiceSummary`; `per_account`: `AccountSummary`) of what
        `qs_without(without)` matches, filtered the same way, or None where they cannot
        answer: a filter is set that they do not hold (search, customer, batch, amounts,
        exported, notes; per account also the dates and delivery errors), or a
        connection in scope has invoices written since its summaries were built."""
        scope = self._summaries_of_scope(AccountSummary if per_account else InvoiceSummary)
        if scope is None:
            return None
        self.errors  # noqa: B018 - validates the form, as `qs` does
        applied = {
            name: value
            for name, value in self.form.cleaned_data.items()
            if name not in without and value not in (None, "", [], ())
        }
        if set(applied) - (ACCOUNT_SUMMARY_FILTERS if per_account else SUMMARY_FILTERS):
            return None
        queryset = scope
        for name, value in applied.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def _summaries_of_scope(self, model: type[Model] = InvoiceSummary) -> QuerySet | None:
        """Every summary of the user's connections, or None if one is behind."""
        if not summaries_current(self.connections):
            return None
        return model.objects.filter(connection__in=[c.pk for c in self.connections])

    @property
    def gone_counted(self) -> bool:
        """Whether the user asked for invoices gone upstream to count in the figures."""
        return self.form.cleaned_data.get("gone") in GONE_COUNTED

    def filter_gone(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value == "hide":
            return qs.filter(missing=False)
        if value == "only":
            return qs.filter(missing=True)
        return qs

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(number__icontains=value) | Q(customer_name__icontains=value))

    def filter_period(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value not in PERIODS:
            return qs
        start, end = period_range(value, timezone.localdate())
        return qs.filter(issue_date__gte=start, issue_date__lte=end)

    def filter_aging(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value not in BUCKET_KEYS:
            return qs
        return qs.filter(
            aging_bucket_q(value, connections=self.connections, today=timezone.localdate())
        )

    def filter_notes(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value == "any":
            return qs.filter(has_notes_q())
        if value == "none":
            return qs.exclude(has_notes_q())
        if value == "follow_up":
            return qs.filter(follow_up_due_q(today=timezone.localdate()))
        return qs

    def filter_overdue(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value not in ("true", "false"):
            return qs
        overdue = invoice_overdue_q(today=timezone.localdate(), connections=self.connections)
        return qs.filter(overdue) if value == "true" else qs.exclude(overdue)


class AuditEntryFilter(django_filters.FilterSet):
    """The audit log's filters: who, what, when, on which connection, how it ended. The
    connection's choices are those whose entries the user may read."""

    who = django_filters.CharFilter(
        field_name="username", lookup_expr="icontains", label=_("Who"), max_length=150
    )
    action = django_filters.ChoiceFilter(
        choices=AuditAction.choices, empty_label=_("Anything"), label=_("What")
    )
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    connection = django_filters.ModelChoiceFilter(
        queryset=None, empty_label=_("All connections"), label=_("Connection")
    )
    outcome = django_filters.ChoiceFilter(
        choices=AuditOutcome.choices, empty_label=_("Any"), label=_("Outcome")
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def __init__(self, *args: Any, connections: QuerySet[Connection], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["connection"].queryset = connections.order_by("name")
        self.form.label_suffix = ""
