"""Export to accounting (Acronis `POST /ExportInvoice`): the provider's file, kept here.

The provider makes the file and marks the invoices exported, so the export is a write
and follows the rules of payments (`payments.py`): one export in flight per connection
(`AccountingExport`, state "sending"), never retried blindly (after a timeout or a 5xx
the invoices are read again: exported means it took effect), and the mirror changes
only from the invoices as the provider has them afterwards. The file is kept in the
database for the user who asked, so a lost download loses nothing: they fetch it again
from the export's page.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import audit
from .clients import connection_client, domain_invoice
from .explain import provider_error_words
from .models import AccountingExport, AuditAction, AuditOutcome, Connection, Invoice
from .payments import CONFIRMING_ROLES
from .providers import ProviderError, ProviderUnavailable
from .providers.registry import get_client_class, provider_label
from .selectors import connection_role, connections_for_user, invoices_for_user
from .sync.write import invoices_refresh

logger = logging.getLogger(__name__)

FORMATS = {"csv": "text/csv", "xml": "application/xml"}
# The most invoices one export sends (their ids travel in the query string).
MAX_PER_EXPORT = 100
STALE_AFTER = dt.timedelta(minutes=5)

State = AccountingExport.State


@dataclass
class ExportReport:
    """What happened: the exports made (one per connection) and each skipped invoice."""

    exports: list[AccountingExport] = field(default_factory=list)
    skipped: list[tuple[Invoice, str]] = field(default_factory=list)


def export_unavailable_reason(invoice: Invoice) -> str | None:
    try:
        client_class = get_client_class(invoice.connection.provider)
    except LookupError:
        return _("This connection's provider is not known to this app.")
    if not client_class.supports_accounting_export:
        return _("%(provider)s's API offers no export to accounting.") % {
            "provider": client_class.label
        }
    return None


def accounting_export(
    *, user: Any, invoices: list[Invoice], fmt: str, request: Any = None
) -> ExportReport:
    """Export `invoices` to accounting as `fmt` ("csv" or "xml"), one provider call per
    connection; the others are reported as skipped with the reason. Http404 for an
    invoice `user` may not see.

    One audit entry per connection asked (`request`: the web request, for its address):
    the provider's answer to its export, and the invoices skipped there."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    scoped = {
        invoice.pk: invoice
        for invoice in invoices_for_user(user)
        .select_related("connection", "account", "batch")
        .filter(pk__in=[invoice.pk for invoice in invoices])
    }
    if len(scoped) != len({invoice.pk for invoice in invoices}):
        raise Http404("No such invoice")
    report = ExportReport()
    by_connection: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in (scoped[i.pk] for i in invoices):
        reason = export_unavailable_reason(invoice)
        if reason is None and invoice.missing:
            reason = _("The provider no longer lists this invoice.")
        if reason is None and (
            connection_role(user=user, connection=invoice.connection) not in CONFIRMING_ROLES
        ):
            reason = _("Only finance staff and partner admins export to accounting.")
        if reason is None and sum(len(v) for v in by_connection.values()) >= MAX_PER_EXPORT:
            reason = _("Not sent: at most %(count)d invoices are exported at a time.") % {
                "count": MAX_PER_EXPORT
            }
        if reason is not None:
            report.skipped.append((invoice, reason))
        else:
            by_connection[invoice.connection_id].append(invoice)
    for batch in by_connection.values():
        report.exports.append(_export(user, batch[0].connection, batch, fmt))
    _recorded(request if request is not None else user, report, fmt)
    return report


# How an export reads in the audit trail (see `payments.AUDIT_OUTCOMES`).
AUDIT_OUTCOMES = {State.DONE: AuditOutcome.OK, State.REFUSED: AuditOutcome.REFUSED}


def _recorded(actor: Any, report: ExportReport, fmt: str) -> None:
    connections: dict[int, Connection] = {}
    skipped: dict[int, list[dict[str, str]]] = defaultdict(list)
    for invoice, reason in report.skipped:
        connections[invoice.connection_id] = invoice.connection
        skipped[invoice.connection_id].append({"invoice": invoice.number, "reason": reason})
    exports = {}
    for export in report.exports:
        connections[export.connection_id] = export.connection
        exports[export.connection_id] = export
    for pk, connection in connections.items():
        export, left_out = exports.get(pk), skipped.get(pk, [])
        if export is None:  # nothing sent there: every invoice of it was skipped
            outcome, message, sent, state, answer = (
                AuditOutcome.REFUSED, left_out[0]["reason"], [], None, ""
            )  # fmt: skip
        else:
            outcome = AUDIT_OUTCOMES.get(export.state, AuditOutcome.FAILED)
            message, sent, state, answer = (
                export.message,
                export.numbers,
                export.state,
                export.detail,
            )
        count = len(sent) + len(left_out)
        audit.record(
            actor, AuditAction.ACCOUNTING, connection=connection,
            target=ngettext("%(count)d invoice", "%(count)d invoices", count) % {"count": count},
            outcome=outcome, message=message,
            detail={"format": fmt, "state": state, "sent": sent, "answer": answer,
                    "skipped": left_out},
        )  # fmt: skip


def _export(
    user: Any, connection: Connection, invoices: list[Invoice], fmt: str
) -> AccountingExport:
    label = provider_label(connection.provider)
    AccountingExport.objects.filter(
        connection=connection, state=State.SENDING, started_at__lt=timezone.now() - STALE_AFTER
    ).update(
        state=State.UNKNOWN, message="the request sending it stopped", finished_at=timezone.now()
    )
    try:
        with transaction.atomic():
            export = AccountingExport.objects.create(
                connection=connection, user=user, fmt=fmt, state=State.SENDING,
                invoice_ids=[invoice.pk for invoice in invoices],
                numbers=[invoice.number for invoice in invoices],
            )  # fmt: skip
    except IntegrityError:
        export = AccountingExport(
            connection=connection, user=user, fmt=fmt, state=State.REFUSED,
            invoice_ids=[invoice.pk for invoice in invoices],
            numbers=[invoice.number for invoice in invoices],
            message=_("Another export to %(provider)s is running; try again when it is done.")
            % {"provider": label},
        )  # fmt: skip
        return export
    try:
        with connection_client(connection, live=True) as client:
            try:
                content = client.export_invoices([domain_invoice(i) for i in invoices], fmt=fmt)
            except ProviderUnavailable as exc:
                return _after_lost_answer(export, client, invoices, label, exc)
            except ProviderError as exc:
                return _finish(
                    export, State.REFUSED,
                    _("%(provider)s refused the export: %(reason)s")
                    % {"provider": label, "reason": provider_error_words(exc, label=label)},
                    detail=str(exc),
                )  # fmt: skip
            export.content = content
            _reread(client, invoices)
            return _finish(
                export, State.DONE,
                ngettext(
                    "%(provider)s made the file and marked %(count)d invoice exported.",
                    "%(provider)s made the file and marked %(count)d invoices exported.",
                    len(invoices),
                )
                % {"provider": label, "count": len(invoices)},
            )  # fmt: skip
    except ProviderError as exc:
        # The file arrived (it is kept) but the invoices could not be read back.
        return _finish(
            export, State.DONE if export.content else State.UNKNOWN,
            _("%(provider)s made the file; the invoices show as exported after the next sync.")
            % {"provider": label},
            detail=str(exc),
        )  # fmt: skip
    except Exception:
        logger.exception("accounting export %s crashed", export.pk)
        return _finish(
            export, State.UNKNOWN,
            _("Something went wrong in this app; it has been logged. Check the invoices "
              "before exporting them again."),
        )  # fmt: skip


def _reread(client: Any, invoices: list[Invoice]) -> list[Invoice]:
    read = [(invoice, client.invoice(domain_invoice(invoice))) for invoice in invoices]
    return invoices_refresh(connection=invoices[0].connection, read=read)


def _after_lost_answer(
    export: AccountingExport, client: Any, invoices: list[Invoice], label: str, error: Exception
) -> AccountingExport:
    try:
        now = _reread(client, invoices)
    except ProviderError as exc:
        return _finish(
            export, State.UNKNOWN,
            _("%(provider)s did not answer, and whether it exported the invoices is not "
              "known yet. Check them in a minute before exporting them again.")
            % {"provider": label},
            detail=f"{error}; reading them again: {exc}",
        )  # fmt: skip
    exported = [invoice for invoice in now if invoice.exported]
    if not exported:
        return _finish(
            export, State.NOT_APPLIED,
            _("%(provider)s did not answer, and exported nothing. You can try again.")
            % {"provider": label},
            detail=str(error),
        )  # fmt: skip
    return _finish(
        export, State.UNKNOWN,
        ngettext(
            "%(provider)s did not answer but marked %(done)d of %(count)d invoice exported; "
            "its file did not arrive. Get it from %(provider)s's portal.",
            "%(provider)s did not answer but marked %(done)d of %(count)d invoices exported; "
            "its file did not arrive. Get it from %(provider)s's portal.",
            len(invoices),
        )
        % {"provider": label, "done": len(exported), "count": len(invoices)},
        detail=str(error),
    )  # fmt: skip


def _finish(
    export: AccountingExport, state: str, message: str, *, detail: str = ""
) -> AccountingExport:
    export.state = state
    export.message = message[:500]
    export.detail = detail[:1000]
    export.finished_at = timezone.now()
    export.save()
    return export


def accounting_export_get(*, user: Any, pk: int) -> AccountingExport:
    """An export `user` made, on a connection they may still see, else 404."""
    export = AccountingExport.objects.filter(pk=pk, user=user).select_related("connection").first()
    if export is None or not connections_for_user(user).filter(pk=export.connection_id).exists():
        raise Http404("No such export")
    return export


def accounting_filename(export: AccountingExport) -> str:
    return f"{export.connection.provider}-export-{export.started_at:%Y%m%d-%H%M%S}.{export.fmt}"
