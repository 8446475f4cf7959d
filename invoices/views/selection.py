"""Selecting rows of the list and acting on them.

The selection lives in the session (`invoices.selection`); ticking a box posts here and
gets back the selection bar. The actions read the selection through the user's scope
and report per invoice what happened: exports of exactly those rows (CSV, XLSX), their
PDFs as one streamed ZIP, payment confirmations, the export to accounting, one note on
all of them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import documents
from ..accounting import FORMATS as ACCOUNTING_FORMATS
from ..accounting import (
    MAX_PER_EXPORT,
    accounting_export,
    accounting_export_get,
    accounting_filename,
)
from ..notes import invoice_notes_add
from ..payments import MAX_PER_REQUEST as MAX_PAYMENTS
from ..payments import payments_confirm
from ..selection import (
    MAX_PICKED,
    Selection,
    selection_change,
    selection_get,
)
from ..services import ServiceError
from ..tables import InvoiceTable
from .dashboard import selected_queryset, selection_summary
from .export import export_response

# One note on at most this many invoices at once.
MAX_NOTES = 1000
ACTIONS = ("csv", "xlsx", "zip", "confirm", "accounting", "note")


def _ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit()][:MAX_PICKED]


@login_required
@require_POST
def selection_update(request: HttpRequest) -> HttpResponse:
    """Tick or untick rows (`pick` / `unpick`), select all that match the list's filters
    (`all` with the list's `query`), or `clear`."""
    post = request.POST
    all_matching = None
    if post.get("all"):
        all_matching = QueryDict(post.get("query", "")[:4000])
    picked = _ids(post.getlist("pick"))
    # Without JavaScript the page's form sends its ticked boxes and every row it showed.
    unticked = set(_ids(post.getlist("shown"))) - set(picked)
    selection, fits = selection_change(
        request,
        add=picked,
        remove=[*_ids(post.getlist("unpick")), *unticked],
        all_matching=all_matching,
        clear=bool(post.get("clear")),
    )
    context = {
        **selection_summary(request, selection),
        "selection_full": not fits,
        "list_query": post.get("query", "")[:4000],
        "matching_count": _int(post.get("matching")),
        "changed": True,
    }
    if request.htmx:
        response = render(request, "invoices/partials/selection_bar.html", context)
        if post.get("all") or post.get("clear"):
            response["HX-Trigger"] = "selection-changed"
        return response
    return redirect(_back(request))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class NoteForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Note"), max_length=2000, widget=forms.Textarea)
    follow_up_on = forms.DateField(
        label=gettext_lazy("Follow up on (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


@login_required
@require_POST
@never_cache
def selection_act(request: HttpRequest) -> HttpResponse:
    """Run one action on the selection and show, per invoice, what happened."""
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponseBadRequest(_("Unknown action."))
    selection = selection_get(request)
    back = _back(request)
    if selection.empty:
        return _report(request, action, back, error=_("Nothing is selected."), status=400)
    invoices = selected_queryset(request, selection)
    if action in ("csv", "xlsx"):
        table = InvoiceTable(invoices, today=timezone.localdate(), live={})
        return export_response(
            request, table.data.data, action, name="selected-invoices",
            asked={"selection": _described(selection)},
        )  # fmt: skip
    if action == "zip":
        chosen = list(invoices[: documents.MAX_ZIP_PDFS + 1])
        if len(chosen) > documents.MAX_ZIP_PDFS:
            return _report(
                request, action, back, status=400,
                error=_("A ZIP holds at most %(count)d PDFs. Select fewer invoices, or "
                        "download them in parts.") % {"count": documents.MAX_ZIP_PDFS},
            )  # fmt: skip
        stream = documents.invoice_pdfs_zip(user=request.user, invoices=chosen, request=request)
        response = StreamingHttpResponse(stream, content_type="application/zip")
        name = documents.zip_filename(timezone.localdate())
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    if action == "confirm":
        chosen = list(invoices[: MAX_PAYMENTS + 1])
        if len(chosen) > MAX_PAYMENTS:
            return _report(
                request, action, back, status=400,
                error=_("At most %(count)d payments are confirmed at a time. Select fewer "
                        "invoices.") % {"count": MAX_PAYMENTS},
            )  # fmt: skip
        if request.POST.get("confirmed") != "yes":
            return _report(request, action, back, confirm=chosen)
        outcomes = payments_confirm(user=request.user, invoices=chosen, request=request)
        return _report(request, action, back, outcomes=outcomes)
    if action == "accounting":
        fmt = request.POST.get("format", "csv")
        if fmt not in ACCOUNTING_FORMATS:
            return HttpResponseBadRequest(_("Unknown format."))
        chosen = list(invoices[: MAX_PER_EXPORT + 1])
        if len(chosen) > MAX_PER_EXPORT:
            return _report(
                request, action, back, status=400,
                error=_("At most %(count)d invoices are exported to accounting at a time. "
                        "Select fewer invoices.") % {"count": MAX_PER_EXPORT},
            )  # fmt: skip
        if request.POST.get("confirmed") != "yes":
            return _report(request, action, back, confirm=chosen, fmt=fmt)
        report = accounting_export(user=request.user, invoices=chosen, fmt=fmt, request=request)
        return _report(request, action, back, accounting=report)
    # a note on all of them: first the form, then the note
    if "text" not in request.POST:
        return _report(request, action, back, note_form=NoteForm())
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _report(request, action, back, note_form=form, status=400)
    try:
        added = invoice_notes_add(
            user=request.user,
            invoices=invoices,
            text=form.cleaned_data["text"],
            follow_up_on=form.cleaned_data["follow_up_on"],
            today=timezone.localdate(),
            limit=MAX_NOTES,
            request=request,
        )
    except ServiceError as exc:
        return _report(request, action, back, error=str(exc), status=400)
    return _report(request, action, back, notes_added=added)


def _described(selection: Selection) -> dict[str, Any]:
    """What a selection holds, for the audit trail: ticked rows, or the filters of "all
    that match" minus the unticked ones."""
    if selection.query is not None:
        return {
            "all_matching": dict(QueryDict(selection.query).lists()),
            "unticked": len(selection.excluded),
        }
    return {"ticked": len(selection.picked)}


def _report(
    request: HttpRequest, action: str, back: str, *, status: int = 200, **context: Any
) -> HttpResponse:
    return render(
        request,
        "invoices/selection_result.html",
        {"action": action, "back_url": back, **context},
        status=status,
    )


@login_required
@require_GET
@never_cache
def accounting_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The file an export to accounting made, for the user who asked for it."""
    export = accounting_export_get(user=request.user, pk=pk)
    if not export.content:
        return render(
            request,
            "invoices/selection_result.html",
            {"action": "accounting", "back_url": "/", "error": export.message},
            status=404,
        )
    response = HttpResponse(bytes(export.content), content_type=ACCOUNTING_FORMATS[export.fmt])
    response["Content-Disposition"] = f'attachment; filename="{accounting_filename(export)}"'
    return response
