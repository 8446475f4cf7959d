"""CSV and XLSX downloads of the filtered invoice set."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django_tables2 import RequestConfig

from ..exports import csv_lines, xlsx_file
from ..tables import InvoiceTable
from .dashboard import invoice_filter_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def invoice_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The whole filtered set, in the table's current sort order."""
    if fmt not in ("csv", "xlsx"):
        raise Http404("Unknown export format")
    filterset = invoice_filter_for(request)
    if not filterset.is_valid():
        # The list ignores a bad filter with a notice; a file has no room for one, so it
        # would silently hold other rows than asked for. Another connection's or customer's
        # id is "not found", as everywhere else.
        raise Http404("Some filters are not valid")
    invoices = filterset.qs
    # Same ordering as the table the user looks at (the sort parameter is validated there).
    table = InvoiceTable(invoices, today=timezone.localdate(), live={})
    RequestConfig(request, paginate=False).configure(table)
    invoices = table.data.data
    filename = f"invoices-{timezone.localdate():%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(invoices), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(xlsx_file(invoices), as_attachment=True, filename=filename,
                        content_type=XLSX)  # fmt: skip
