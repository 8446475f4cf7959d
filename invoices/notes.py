"""Follow-up notes on invoices: kept in this app's database, never sent to a provider.

A note has an author, a time, its text and optionally a follow-up date ("customer
promised payment by 15 Dec"). The list flags invoices with notes and filters on them
("has notes", "follow-up due": an unpaid invoice whose latest follow-up date has come).
Everyone who may see an invoice may read and add its notes; an author may delete their
own note.

Adding and deleting a note is audited (one entry per note, or per note on a selection),
without its text: a deleted note's words do not live on in the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import audit
from .models import AuditAction, Connection, Invoice, InvoiceNote, InvoiceStatus
from .selectors import invoices_for_user
from .services import ServiceError

MAX_TEXT = 2000
# A follow-up date further out than this is almost certainly a typing mistake.
MAX_FOLLOW_UP_DAYS = 3 * 366


def _clean(text: str, follow_up_on: dt.date | None, today: dt.date) -> str:
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("A note needs some text."))
    if len(text) > MAX_TEXT:
        raise ServiceError(_("A note holds at most %(count)d characters.") % {"count": MAX_TEXT})
    if follow_up_on is not None and not (
        today - dt.timedelta(days=MAX_FOLLOW_UP_DAYS)
        <= follow_up_on
        <= today + dt.timedelta(days=MAX_FOLLOW_UP_DAYS)
    ):
        raise ServiceError(_("The follow-up date must be within three years of today."))
    return text


def invoice_note_add(
    *,
    user: Any,
    invoice: Invoice,
    text: str,
    follow_up_on: dt.date | None,
    today: dt.date,
    request: Any = None,
) -> InvoiceNote:
    """Attach a note to an invoice `user` may see (Http404 otherwise); `ServiceError` for
    an empty or over-long text or an implausible date. (`request`: the web request, for
    the audit entry's address.)"""
    text = _clean(text, follow_up_on, today)
    if not invoices_for_user(user).filter(pk=invoice.pk).exists():
        raise Http404("No such invoice")
    with transaction.atomic():
        note = InvoiceNote.objects.create(
            invoice=invoice, author=user, text=text, follow_up_on=follow_up_on
        )
        _notes_changed([invoice.connection_id])
    audit.record(
        request if request is not None else user, AuditAction.NOTE,
        connection=invoice.connection, target=invoice.number, message=_("Note added."),
        detail={"change": "added", "note": note.pk, "follow_up_on": follow_up_on},
    )  # fmt: skip
    return note


def invoice_notes_add(
    *,
    user: Any,
    invoices: QuerySet[Invoice],
    text: str,
    follow_up_on: dt.date | None,
    today: dt.date,
    limit: int,
    request: Any = None,
) -> int:
    """The same note on each of `invoices` (re-scoped to `user`), in one transaction, at
    most `limit` of them (`ServiceError` beyond: nothing is written). Returns how many.
    One audit entry for them all (on their connection, if they share one)."""
    text = _clean(text, follow_up_on, today)
    rows = list(
        invoices_for_user(user)
        .filter(pk__in=invoices.values("pk"))
        .values_list("pk", "connection_id")[: limit + 1]
    )
    ids = [pk for pk, _connection_id in rows]
    connection_ids = {connection_id for _pk, connection_id in rows}
    if len(ids) > limit:
        raise ServiceError(
            _("A note is added to at most %(count)d invoices at a time; narrow the selection.")
            % {"count": limit}
        )
    with transaction.atomic():
        InvoiceNote.objects.bulk_create(
            [
                InvoiceNote(invoice_id=pk, author=user, text=text, follow_up_on=follow_up_on)
                for pk in ids
            ]
        )
        _notes_changed(connection_ids)
    audit.record(
        request if request is not None else user, AuditAction.NOTE,
        connection=Connection.objects.get(pk=connection_ids.pop())
        if len(connection_ids) == 1 else None,
        target=ngettext("%(count)d invoice", "%(count)d invoices", len(ids)) % {"count": len(ids)},
        message=_("Note added."),
        detail={"change": "added", "invoices": len(ids), "follow_up_on": follow_up_on},
    )  # fmt: skip
    return len(ids)


def invoice_note_delete(*, user: Any, invoice: Invoice, note_id: int, request: Any = None) -> None:
    """Delete a note `user` wrote on `invoice`, which they may see (Http404 otherwise)."""
    with transaction.atomic():
        deleted, _by_model = InvoiceNote.objects.filter(
            pk=note_id, author=user, invoice=invoice, invoice__in=invoices_for_user(user)
        ).delete()
        _notes_changed([invoice.connection_id] if deleted else [])
    if not deleted:
        raise Http404("No such note")
    audit.record(
        request if request is not None else user, AuditAction.NOTE,
        connection=invoice.connection, target=invoice.number, message=_("Note deleted."),
        detail={"change": "deleted", "note": note_id},
    )  # fmt: skip


def _notes_changed(connection_ids: Iterable[int]) -> None:
    """Record, in the transaction that wrote them, that these connections' notes changed
    (see `Connection.notes_version`)."""
    ids = sorted(set(connection_ids))
    if ids:
        Connection.objects.filter(pk__in=ids).update(notes_version=F("notes_version") + 1)


def invoice_notes(*, invoice: Invoice) -> QuerySet[InvoiceNote]:
    """The notes of a (scoped) invoice, newest first, with their authors."""
    return invoice.notes.select_related("author").order_by("-created_at", "-pk")


def has_notes_q() -> Q:
    return Q(Exists(InvoiceNote.objects.filter(invoice=OuterRef("pk"))))


def follow_up_due_q(*, today: dt.date) -> Q:
    """Unpaid invoices whose latest follow-up date is today or earlier (a later note
    moving the date on puts the follow-up off)."""
    notes = InvoiceNote.objects.filter(invoice=OuterRef("pk"))
    return (
        Q(status=InvoiceStatus.UNPAID)
        & Q(Exists(notes.filter(follow_up_on__lte=today)))
        & ~Q(Exists(notes.filter(follow_up_on__gt=today)))
    )


def with_note_flags(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """`invoices` with `has_notes` and `follow_up_on` (the latest follow-up date of their
    notes, or None), for the list's flags: subqueries of the page's own query."""
    notes = InvoiceNote.objects.filter(invoice=OuterRef("pk"))
    latest = (
        notes.filter(follow_up_on__isnull=False).order_by("-follow_up_on").values("follow_up_on")
    )
    return invoices.annotate(has_notes=Exists(notes), follow_up_on=Subquery(latest[:1]))
