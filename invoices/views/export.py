"""CSV and XLSX downloads of the filtered invoice set.

A file has no room for the list's "some filters were ignored" notice, so a filter that
is not valid refuses the download (in plain words) rather than widen it; another
connection's or customer's id is "not found", as everywhere else. What can fail is
tried before the download starts: the filters, and the first rows of the query. A CSV
that fails part way ends with a line saying it is incomplete, and the response is
aborted, so the browser marks the download failed instead of keeping a file that looks
complete.

Each export is one audit entry (format, what was asked for, the rows written), made
where the row count is known: an XLSX once its file is built, a CSV when its stream
ends (failed if it broke off or the download stopped part way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from .. import audit
from ..exports import Tally, csv_incomplete_line, csv_lines, export_probe, xlsx_file
from ..models import AuditAction, AuditOutcome, Connection, Invoice
from ..tables import InvoiceTable
from .dashboard import invoice_filter_for

logger = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Filters whose invalid value is an id the user may not see: "not found", never "invalid".
SCOPED = ("connection", "account", "batch")


@login_required
def invoice_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The whole filtered set, in the table's current sort order."""
    if fmt not in ("csv", "xlsx"):
        raise Http404("Unknown export format")
    filterset = invoice_filter_for(request)
    if not filterset.is_valid():
        errors = filterset.form.errors
        if any(name in errors for name in SCOPED):
            raise Http404("No such connection, customer or batch")
        fields = filterset.form.fields
        problems = [(fields[name].label, error) for name, items in errors.items()
                    for error in items]  # fmt: skip
        return _refused(request, problems, status=400)
    # Same ordering as the table the user looks at (the sort parameter is validated there).
    table = InvoiceTable(filterset.qs, today=timezone.localdate(), live={})
    RequestConfig(request, paginate=False).configure(table)
    applied = {
        name: value
        for name, value in filterset.form.cleaned_data.items()
        if value not in (None, "", [], ())
    }
    return export_response(request, table.data.data, fmt, asked={"filters": applied})


def export_response(
    request: HttpRequest,
    invoices: QuerySet[Invoice],
    fmt: str,
    *,
    name: str = "invoices",
    asked: dict[str, Any] | None = None,
) -> HttpResponse:
    """`invoices` (scoped and ordered by the caller) as a CSV or XLSX download, or the
    refusal page if it fails before the download starts. `asked`: what the user asked
    for (the filters, the selection), for the audit entry."""
    filename = f"{name}-{timezone.localdate():%Y%m%d}.{fmt}"
    tally = Tally()
    recorded = _export_recorder(request, invoices, fmt, filename, asked or {}, tally)
    if fmt == "xlsx":
        try:
            workbook = xlsx_file(invoices, tally=tally)
        except Exception:
            logger.exception("XLSX export failed")
            recorded(AuditOutcome.FAILED, _("The file could not be made."))
            return _refused(request, [], status=500)
        recorded(AuditOutcome.OK, "")
        return FileResponse(workbook, as_attachment=True, filename=filename, content_type=XLSX)
    try:
        export_probe(invoices)
    except Exception:
        logger.exception("CSV export failed before it started")
        recorded(AuditOutcome.FAILED, _("The export failed before it started."))
        return _refused(request, [], status=500)
    response = StreamingHttpResponse(
        _finished_or_marked(csv_lines(invoices, tally=tally), recorded),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_recorder(
    request: HttpRequest,
    invoices: QuerySet[Invoice],
    fmt: str,
    filename: str,
    asked: dict[str, Any],
    tally: Tally,
) -> Callable[[str, str], None]:
    """The export's one audit entry, to be written when its outcome is known."""
    # The entry belongs to a connection's log when every exported invoice is of that
    # connection (one cheap query, before the download starts).
    try:
        ids = list(invoices.order_by().values_list("connection_id", flat=True).distinct()[:2])
    except DatabaseError:  # the export's own probe reports it
        ids = []
    connection = Connection.objects.filter(pk=ids[0]).first() if len(ids) == 1 else None

    def recorded(outcome: str, message: str) -> None:
        audit.record(
            request, AuditAction.EXPORT, connection=connection, target=filename,
            outcome=outcome, message=message,
            detail={"format": fmt, **asked, "rows": tally.rows},
        )  # fmt: skip

    return recorded


def _finished_or_marked(
    lines: Iterator[str | bytes], recorded: Callable[[str, str], None]
) -> Iterator[str | bytes]:
    outcome, message = AuditOutcome.FAILED, _("The download stopped before the end.")
    try:
        yield from lines
        outcome, message = AuditOutcome.OK, ""
    except Exception:
        logger.exception("CSV export failed part way")
        message = _("An error stopped the export part way.")
        yield csv_incomplete_line()
        raise  # the server aborts the response: the browser marks the download failed
    finally:
        recorded(outcome, message)


def _refused(request: HttpRequest, problems: list[tuple[str, str]], *, status: int) -> HttpResponse:
    context = {
        "problems": problems,
        "title": _("These filters cannot be exported") if problems else _("The export failed"),
        "back_url": f"{reverse('invoices:invoice_list')}?{request.GET.urlencode()}",
    }
    return render(request, "invoices/export_refused.html", context, status=status)
