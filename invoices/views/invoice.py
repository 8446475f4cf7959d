"""One invoice: its view (a panel over the list, or a page of its own at the same URL),
its PDF, confirming its payment, its notes.

Every view reads the invoice through the user's scope (404 for anyone else's, GET or
POST). htmx requests get the panel's fragment; plain requests (no JavaScript, a shared
link, a reload) a whole page around it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import audit
from ..documents import invoice_pdf_get, pdf_filename, pdf_unavailable_reason
from ..explain import provider_error_words
from ..live import connection_live_features, connection_provider_label
from ..models import AuditAction, AuditOutcome, InvoiceStatus, PaymentConfirmation, Role
from ..notes import invoice_note_add, invoice_note_delete, invoice_notes
from ..payments import CONFIRMING_ROLES, payment_check, payment_confirm, payment_unavailable_reason
from ..providers import ProviderError
from ..selectors import connection_role, invoice_get
from ..services import ServiceError


class NoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    follow_up_on = forms.DateField(
        label=gettext_lazy("Follow up on (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def _context(request: HttpRequest, invoice: Any, **extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    connection = invoice.connection
    due = invoice.issue_date + dt.timedelta(days=connection.payment_terms_days)
    role = connection_role(user=request.user, connection=connection)
    links, billing = connection_live_features(connection)
    payment_reason = payment_unavailable_reason(invoice)
    return {
        "invoice": invoice,
        "provider_label": connection_provider_label(connection),
        "due_date": due,
        "days_overdue": (today - due).days
        if invoice.status == InvoiceStatus.UNPAID and due < today
        else None,
        "extra_rows": sorted((str(k), str(v)) for k, v in (invoice.extra or {}).items()),
        "notes": list(invoice_notes(invoice=invoice)),
        "note_form": extra.pop("note_form", None) or NoteForm(),
        "attempts": list(
            PaymentConfirmation.objects.filter(invoice=invoice).select_related("user")[:5]
        ),
        "pdf_reason": pdf_unavailable_reason(invoice),
        "pdf_name": pdf_filename(invoice),
        "payment_reason": payment_reason,
        "can_confirm": payment_reason is None
        and role in CONFIRMING_ROLES
        and invoice.status == InvoiceStatus.UNPAID
        and not invoice.missing,
        "is_partner_admin": role == Role.PARTNER_ADMIN,
        "public_links": links,
        "billing_details": billing,
        "account": invoice.account,
        **extra,
    }


def _render(request: HttpRequest, fragment: str, context: dict[str, Any], status: int = 200):
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, fragment, context, status=status)
    else:
        response = render(
            request, "invoices/invoice_page.html", {**context, "fragment": fragment}, status=status
        )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _invoice(request: HttpRequest, pk: int) -> Any:
    return invoice_get(user=request.user, pk=pk)


@login_required
@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    return _render(request, "invoices/partials/invoice_panel.html", _context(request, invoice))


@login_required
@require_GET
@never_cache
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF as an attachment, or a page saying in plain words why there is none."""
    invoice = _invoice(request, pk)
    reason = pdf_unavailable_reason(invoice)
    detail = ""
    status = 200  # no document offered: a page saying so
    outcome = AuditOutcome.REFUSED
    if reason is None:
        try:
            document = invoice_pdf_get(user=request.user, invoice=invoice)
        except ProviderError as exc:
            label = connection_provider_label(invoice.connection)
            reason = provider_error_words(exc, label=label)
            status = 502
            outcome = AuditOutcome.FAILED
            if connection_role(user=request.user, connection=invoice.connection) == (
                Role.PARTNER_ADMIN
            ):
                detail = str(exc)
        else:
            _pdf_recorded(request, invoice, AuditOutcome.OK, size=len(document))
            response = HttpResponse(document, content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="{pdf_filename(invoice)}"'
            response["Content-Length"] = str(len(document))
            return response
    _pdf_recorded(request, invoice, outcome, message=reason)
    context = _context(request, invoice, pdf_error=reason, pdf_error_detail=detail)
    return render(
        request,
        "invoices/invoice_page.html",
        {**context, "fragment": "invoices/partials/invoice_panel.html"},
        status=status,
    )


def _pdf_recorded(
    request: HttpRequest, invoice: Any, outcome: str, *, message: str = "", size: int = 0
) -> None:
    audit.record(
        request, AuditAction.PDF, connection=invoice.connection, target=invoice.number,
        outcome=outcome, message=message, detail={"format": "pdf", "bytes": size},
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def invoice_confirm_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation step, naming the invoice, customer and amount. POST: send
    it (once; see `payments`) and show what happened."""
    invoice = _invoice(request, pk)
    if request.method == "GET":
        return _render(
            request, "invoices/partials/payment_confirm.html", _context(request, invoice)
        )
    outcome = payment_confirm(user=request.user, invoice=invoice, request=request)
    return _outcome(request, outcome)


@login_required
@require_POST
@never_cache
def invoice_check_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the invoice again from the provider (after an answer that was lost)."""
    invoice = _invoice(request, pk)
    return _outcome(request, payment_check(user=request.user, invoice=invoice))


def _outcome(request: HttpRequest, outcome: Any) -> HttpResponse:
    context = _context(request, outcome.invoice, outcome=outcome)
    if not _is_partner_admin(request, outcome.invoice):
        context["outcome_detail"] = ""
    else:
        context["outcome_detail"] = outcome.detail
    response = _render(request, "invoices/partials/invoice_panel.html", context)
    if outcome.ok:
        # The list behind the panel redraws its rows and totals.
        response["HX-Trigger"] = "invoices-changed"
    return response


def _is_partner_admin(request: HttpRequest, invoice: Any) -> bool:
    return connection_role(user=request.user, connection=invoice.connection) == Role.PARTNER_ADMIN


@login_required
@require_POST
def invoice_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    form = NoteForm(request.POST)
    status = 200
    message = ""
    if form.is_valid():
        try:
            invoice_note_add(
                user=request.user,
                invoice=invoice,
                text=form.cleaned_data["text"],
                follow_up_on=form.cleaned_data["follow_up_on"],
                today=timezone.localdate(),
                request=request,
            )
        except ServiceError as exc:
            form.add_error("text", str(exc))
            status = 400
        else:
            form = NoteForm()
            message = _("Note added.")
    else:
        status = 400
    context = _context(request, invoice, note_form=form, note_message=message)
    response = _render(request, "invoices/partials/invoice_panel.html", context, status=status)
    if status == 200:
        response["HX-Trigger"] = "invoices-changed"
    return response


@login_required
@require_POST
def invoice_note_remove(request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    invoice_note_delete(user=request.user, invoice=invoice, note_id=note_pk, request=request)
    context = _context(request, invoice, note_message=_("Note deleted."))
    response = _render(request, "invoices/partials/invoice_panel.html", context)
    response["HX-Trigger"] = "invoices-changed"
    return response
