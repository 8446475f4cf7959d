"""Invoice PDFs, fetched from the provider through the app (credentials stay here).

- one invoice's PDF: `invoice_pdf_get`, checked by the client (a `%PDF-` start, at
  most `providers.base.MAX_PDF_BYTES`);
- many as one ZIP: `invoice_pdfs_zip`, streamed (one PDF in memory at a time), at most
  `MAX_ZIP_PDFS` of them; a PDF the provider could not give is not left out silently:
  the archive ends with `REPORT.txt`, saying per invoice what happened.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from zipstream import ZIP_STORED, ZipStream

from . import audit
from .clients import connection_client, domain_invoice
from .explain import provider_error_words
from .models import AuditAction, AuditOutcome, Connection, Invoice
from .money import moment
from .providers import ProviderError
from .providers.registry import get_client_class, provider_label
from .selectors import invoices_for_user

logger = logging.getLogger(__name__)

# The most PDFs one ZIP holds: each is a call to the provider (about 0.1-1 s), and a
# download that runs for many minutes is one a browser or a proxy gives up on.
MAX_ZIP_PDFS = 200


def pdf_filename(invoice: Invoice) -> str:
    """e.g. "acronis-1-20241010-0-11111-4.pdf": the provider and the invoice number, in
    characters every file system and browser keeps."""
    number = re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.number).strip("._") or str(invoice.pk)
    return f"{invoice.connection.provider}-{number[:100]}.pdf"


def pdf_unavailable_reason(invoice: Invoice) -> str | None:
    """Why this invoice has no PDF here (None: it has one), without HTTP."""
    try:
        client_class = get_client_class(invoice.connection.provider)
    except LookupError:
        return _("This connection's provider is not known to this app.")
    if not client_class.supports_pdf:
        return _("%(provider)s offers no invoice documents.") % {"provider": client_class.label}
    return None


def invoice_pdf_get(*, user: Any, invoice: Invoice) -> bytes:
    """The invoice's PDF from its provider. Http404 if `user` may not see it; a
    `ProviderError` (in words: `explain.provider_error_words`) if it could not be had."""
    if not invoices_for_user(user).filter(pk=invoice.pk).exists():
        raise Http404("No such invoice")
    with connection_client(invoice.connection, live=True) as client:
        return _fetch(client, invoice)


def _fetch(client: Any, invoice: Invoice) -> bytes:
    try:
        return client.download_pdf(domain_invoice(invoice))
    except ProviderError:
        raise
    except Exception:
        logger.exception("PDF download of invoice %s crashed", invoice.pk)
        raise ProviderError(
            f"{invoice.connection.provider}: the document could not be read"
        ) from None


def invoice_pdfs_zip(*, user: Any, invoices: list[Invoice], request: Any = None) -> Iterator[bytes]:
    """A ZIP of the invoices' PDFs, produced as it is sent; ends with REPORT.txt.

    `invoices` must be scoped to `user` (they are checked again here) and at most
    `MAX_ZIP_PDFS` (the caller says so before starting; beyond it, `ValueError`).
    When the stream ends it writes one audit entry (`request`: the web request, for its
    address): how many PDFs went in, which did not, and whether the archive was finished.
    """
    if len(invoices) > MAX_ZIP_PDFS:
        raise ValueError("too many invoices for one archive")
    allowed = set(
        invoices_for_user(user).filter(pk__in=[i.pk for i in invoices]).values_list("pk", flat=True)
    )
    if len(allowed) != len({i.pk for i in invoices}):
        raise Http404("No such invoice")
    # The archive is made while it is sent, after the request's language and time zone
    # are switched back: it keeps the ones the user asked in.
    actor = request if request is not None else user
    return _zip_stream(invoices, translation.get_language(), timezone.get_current_timezone(), actor)


@dataclass
class _Tally:
    included: int = 0
    left_out: list[str] = field(default_factory=list)


def _zip_stream(invoices: list[Invoice], language: str, zone: Any, actor: Any) -> Iterator[bytes]:
    tally = _Tally()
    outcome = AuditOutcome.FAILED
    try:
        with translation.override(language), timezone.override(zone):
            yield from _zip_parts(invoices, tally)
        outcome = AuditOutcome.OK
    finally:
        # Also when the download stopped part way (the stream is closed) or an error
        # ended it: that archive is not complete, and the entry says so.
        with translation.override(language), timezone.override(zone):
            _zip_recorded(actor, invoices, tally, outcome)


def _zip_recorded(actor: Any, invoices: list[Invoice], tally: _Tally, outcome: str) -> None:
    connections = {invoice.connection_id: invoice.connection for invoice in invoices}
    audit.record(
        actor, AuditAction.PDF,
        connection=next(iter(connections.values())) if len(connections) == 1 else None,
        target=zip_filename(timezone.localdate()),
        outcome=outcome,
        message="" if outcome == AuditOutcome.OK
        else _("The archive was not finished: the download stopped or an error ended it."),
        detail={"format": "zip", "invoices": len(invoices), "included": tally.included,
                "left_out": tally.left_out},
    )  # fmt: skip


def _zip_parts(invoices: list[Invoice], tally: _Tally) -> Iterator[bytes]:
    archive = ZipStream(compress_type=ZIP_STORED, sized=False)
    report: list[str] = []
    clients: dict[int, Any] = {}
    names: set[str] = set()
    included = 0
    try:
        for invoice in invoices:
            label = provider_label(invoice.connection.provider)
            reason = pdf_unavailable_reason(invoice)
            if reason is None:
                try:
                    client = clients.get(invoice.connection_id)
                    if client is None:
                        client = clients[invoice.connection_id] = _client(invoice.connection)
                    document = _fetch(client, invoice)
                except ProviderError as exc:
                    reason = provider_error_words(exc, label=label)
            if reason is not None:
                tally.left_out.append(invoice.number)
                report.append(
                    _("%(number)s: not included. %(reason)s")
                    % {"number": invoice.number, "reason": reason}
                )
                continue
            name = _unique(pdf_filename(invoice), names)
            archive.add(document, name)
            report.append(f"{invoice.number}: {name}")
            included += 1
            tally.included = included
            yield from archive.all_files()
    finally:
        for client in clients.values():
            client.close()
    heading = _("%(included)d of %(count)d invoice PDFs, made %(time)s.") % {
        "included": included,
        "count": len(invoices),
        "time": moment(timezone.now()),
    }
    archive.add("\r\n".join([heading, "", *report, ""]).encode("utf-8"), "REPORT.txt")
    yield from archive.finalize()


def _client(connection: Connection) -> Any:
    # A download of many files is not a live read: each call has the sync's patience.
    return connection_client(connection)


def _unique(name: str, taken: set[str]) -> str:
    stem, n = name[:-4], 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.pdf"
    taken.add(name)
    return name


def zip_filename(today: dt.date) -> str:
    return f"invoices-{today:%Y-%m-%d}.zip"
