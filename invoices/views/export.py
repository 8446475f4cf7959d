"""CSV and XLSX downloads of the filtered invoice set.

A file has no room for the list's "some filters were ignored" notice, so a filter that
is not valid refuses the download (in plain words) rather than widen it; another
connection's or customer's id is "not found", as everywhere else. What can fail is
tried before the download starts: the filters, and the first rows of the query. A CSV
that fails part way ends with a line saying it is incomplete, and the response is
aborted, so the browser marks the download failed instead of keeping a file that looks
complete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from ..exports import csv_incomplete_line, csv_lines, export_probe, xlsx_file
from ..models import Invoice
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
    return export_response(request, table.data.data, fmt)


def export_response(
    request: HttpRequest, invoices: QuerySet[Invoice], fmt: str, *, name: str = "invoices"
) -> HttpResponse:
    """`invoices` (scoped and ordered by the caller) as a CSV or XLSX download, or the
    refusal page if it fails before the download starts."""
    filename = f"{name}-{timezone.localdate():%Y%m%d}.{fmt}"
    if fmt == "xlsx":
        try:
            workbook = xlsx_file(invoices)
        except Exception:
            logger.exception("XLSX export failed")
            return _refused(request, [], status=500)
        return FileResponse(workbook, as_attachment=True, filename=filename, content_type=XLSX)
    try:
        export_probe(invoices)
    except Exception:
        logger.exception("CSV export failed before it started")
        return _refused(request, [], status=500)
    response = StreamingHttpResponse(
        _finished_or_marked(csv_lines(invoices)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _finished_or_marked(lines: Iterator[str]) -> Iterator[str]:
    try:
        yield from lines
    except Exception:
        logger.exception("CSV export failed part way")
        yield csv_incomplete_line()
        raise  # the server aborts the response: the browser marks the download failed


def _refused(request: HttpRequest, problems: list[tuple[str, str]], *, status: int) -> HttpResponse:
    context = {
        "problems": problems,
        "title": _("These filters cannot be exported") if problems else _("The export failed"),
        "back_url": f"{reverse('invoices:invoice_list')}?{request.GET.urlencode()}",
    }
    return render(request, "invoices/export_refused.html", context, status=status)
