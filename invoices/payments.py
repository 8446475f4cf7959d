"""Confirming payments at the provider (Acronis `POST /InvoiceOverview`), never blindly.

The rules, for one invoice:

- who: finance staff and partner admins of the invoice's connection; the connection's
  provider must offer the write (`ProviderClient.payments_unsupported`);
- once: a confirmation in flight is a row (`PaymentConfirmation`, state "sending") that
  the database allows once per invoice, so a double click or two users at once send
  one POST; an invoice the mirror already holds as paid is not sent again;
- never retried blindly: after a timeout or a 5xx the invoice is read again from the
  provider, and only an answer that it is still unpaid lets the user try again; when it
  cannot be read either, the user is told that nobody knows yet and offered a check;
- the mirror changes only from what the provider answers when the invoice is read
  again after the POST, written as a sync writes it (`sync.invoices_refresh`), so every
  total and count follows.

Every attempt is kept (who, when, what happened): the trail of payment confirmations.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .clients import connection_client, domain_invoice
from .explain import provider_error_words
from .models import AuditAction, AuditOutcome, Invoice, InvoiceStatus, PaymentConfirmation, Role
from .providers import ProviderError, ProviderNotFound, ProviderUnavailable
from .providers.registry import get_client_class, provider_label
from .selectors import connection_role, invoices_for_user
from .sync.write import invoices_refresh

logger = logging.getLogger(__name__)

# A confirmation still "sending" after this long belongs to a request that died (a web
# worker lost mid-call): it no longer blocks a new attempt, which reads the invoice first.
STALE_AFTER = dt.timedelta(minutes=2)
# The most invoices one request confirms (each is a POST and a read at the provider).
MAX_PER_REQUEST = 50
CONFIRMING_ROLES = frozenset({Role.FINANCE, Role.PARTNER_ADMIN})

State = PaymentConfirmation.State

# How an attempt reads in the audit trail: done; refused (by these rules, by another
# attempt in flight, or by the provider); failed (not applied, or nobody knows yet).
AUDIT_OUTCOMES = {
    State.CONFIRMED: AuditOutcome.OK,
    "already_paid": AuditOutcome.OK,
    "skipped": AuditOutcome.REFUSED,
    State.SENDING: AuditOutcome.REFUSED,
    State.REFUSED: AuditOutcome.REFUSED,
    State.NOT_APPLIED: AuditOutcome.FAILED,
    State.UNKNOWN: AuditOutcome.FAILED,
}


@dataclass(frozen=True)
class PaymentOutcome:
    """What happened to one invoice, in words for the person who asked."""

    invoice: Invoice
    state: str  # a `PaymentConfirmation.State`, or "skipped"
    message: str
    detail: str = ""  # the provider's own (redacted) words, for partner admins
    can_retry: bool = False  # the provider said it is still unpaid: trying again is safe
    can_check: bool = False  # nobody knows yet: read it again before anything else

    @property
    def ok(self) -> bool:
        return self.state in (State.CONFIRMED, "already_paid")


def payment_unavailable_reason(invoice: Invoice) -> str | None:
    """Why this invoice's payment cannot be confirmed here (None: it can be), in words.
    No HTTP, no access check (the caller holds a scoped invoice)."""
    try:
        client_class = get_client_class(invoice.connection.provider)
    except LookupError:
        return _("This connection's provider is not known to this app.")
    if client_class.payments_unsupported is not None:
        return _(
            "%(provider)s's API offers no way to confirm a payment: confirm it in "
            "%(provider)s's own portal; the next sync brings it here."
        ) % {"provider": client_class.label}
    return None


def payment_confirm(*, user: Any, invoice: Invoice, request: Any = None) -> PaymentOutcome:
    """Confirm at the provider that `invoice` is paid, by the rules above; returns what
    happened (never raises a `ProviderError`). Http404 if `user` may not see it.

    Each attempt is one audit entry: what was asked and what came of it (`request`: the
    web request it came from, for its address; None from code)."""
    invoice = _scoped(user, invoice)
    asked = {"invoice": invoice.number, "amount": invoice.amount_due, "currency": invoice.currency}
    outcome = _payment_confirm(user, invoice)
    audit.record(
        request if request is not None else user, AuditAction.PAYMENT,
        connection=invoice.connection, target=invoice.number,
        outcome=AUDIT_OUTCOMES.get(outcome.state, AuditOutcome.FAILED), message=outcome.message,
        detail={"request": asked, "state": outcome.state, "answer": outcome.detail},
    )  # fmt: skip
    return outcome


def _payment_confirm(user: Any, invoice: Invoice) -> PaymentOutcome:
    refused = _refusal(user, invoice)
    if refused is not None:
        return refused
    if invoice.status == InvoiceStatus.PAID:
        return PaymentOutcome(invoice, "already_paid", _("Already paid."))
    attempt = _attempt_start(user, invoice)
    if attempt is None:
        return PaymentOutcome(
            invoice,
            State.SENDING,
            _("Someone is confirming this payment right now. Check again in a moment."),
            can_check=True,
        )
    label = provider_label(invoice.connection.provider)
    try:
        with connection_client(invoice.connection, live=True) as client:
            sent = domain_invoice(invoice)
            try:
                client.confirm_payment(sent)
            except ProviderUnavailable as exc:
                # It may have taken effect all the same: ask before offering anything.
                return _after_lost_answer(attempt, invoice, client, label, exc)
            except ProviderError as exc:
                return _finish(
                    attempt, invoice, State.REFUSED,
                    _("%(provider)s refused the confirmation: %(reason)s")
                    % {"provider": label, "reason": provider_error_words(exc, label=label)},
                    detail=str(exc), can_retry=not isinstance(exc, ProviderNotFound),
                )  # fmt: skip
            return _after_answer(attempt, invoice, client, label)
    except Exception:
        # A bug, not the provider: nobody knows what was sent, so nothing is offered
        # but a check, and the attempt no longer blocks one.
        logger.exception("payment confirmation of invoice %s crashed", invoice.pk)
        return _finish(
            attempt, invoice, State.UNKNOWN,
            _("Something went wrong in this app; it has been logged. Check the invoice "
              "before confirming it again."),
            can_check=True,
        )  # fmt: skip


def payment_check(*, user: Any, invoice: Invoice) -> PaymentOutcome:
    """Read the invoice again from its provider and write what it says (after an attempt
    whose outcome nobody knows). Http404 if `user` may not see it."""
    invoice = _scoped(user, invoice)
    refused = _refusal(user, invoice)
    if refused is not None:
        return refused
    label = provider_label(invoice.connection.provider)
    try:
        with connection_client(invoice.connection, live=True) as client:
            current = _reread(invoice, client)
    except ProviderError as exc:
        return PaymentOutcome(
            invoice,
            State.UNKNOWN,
            provider_error_words(exc, label=label),
            detail=str(exc),
            can_check=True,
        )
    _close_unknown(invoice, paid=current.status == InvoiceStatus.PAID)
    if current.status == InvoiceStatus.PAID:
        return PaymentOutcome(
            current, State.CONFIRMED, _("%(provider)s has it as paid.") % {"provider": label}
        )
    return PaymentOutcome(
        current,
        State.NOT_APPLIED,
        _("%(provider)s still has it as unpaid. You can confirm it again.") % {"provider": label},
        can_retry=True,
    )


def payments_confirm(
    *, user: Any, invoices: list[Invoice], request: Any = None
) -> list[PaymentOutcome]:
    """`payment_confirm` for each invoice (at most `MAX_PER_REQUEST`; the rest are
    reported as skipped, as are those whose provider has no payment write)."""
    outcomes = []
    for n, invoice in enumerate(invoices):
        if n >= MAX_PER_REQUEST:
            outcomes.append(
                PaymentOutcome(
                    invoice,
                    "skipped",
                    _("Not sent: at most %(count)d payments are confirmed at a time.")
                    % {"count": MAX_PER_REQUEST},
                )
            )
            continue
        outcomes.append(payment_confirm(user=user, invoice=invoice, request=request))
    return outcomes


# -- the steps -----------------------------------------------------------------------


def _scoped(user: Any, invoice: Invoice) -> Invoice:
    """`invoice` fresh from the mirror, through the user's scope (else 404)."""
    found = (
        invoices_for_user(user)
        .select_related("connection", "account", "batch")
        .filter(pk=invoice.pk)
        .first()
    )
    if found is None:
        raise Http404("No such invoice")
    return found


def _refusal(user: Any, invoice: Invoice) -> PaymentOutcome | None:
    reason = payment_unavailable_reason(invoice)
    if reason is not None:
        return PaymentOutcome(invoice, "skipped", reason)
    if connection_role(user=user, connection=invoice.connection) not in CONFIRMING_ROLES:
        return PaymentOutcome(
            invoice, "skipped", _("Only finance staff and partner admins confirm payments.")
        )
    if invoice.missing:
        return PaymentOutcome(
            invoice,
            "skipped",
            _("The provider no longer lists this invoice; there is nothing to confirm."),
        )
    return None


def _attempt_start(user: Any, invoice: Invoice) -> PaymentConfirmation | None:
    """The row that lets this request, and only this one, send the POST (None: another
    request holds it)."""
    PaymentConfirmation.objects.filter(
        invoice=invoice, state=State.SENDING, started_at__lt=timezone.now() - STALE_AFTER
    ).update(
        state=State.UNKNOWN,
        message="the request sending it stopped before it knew the answer",
        finished_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            return PaymentConfirmation.objects.create(
                invoice=invoice,
                user=user if getattr(user, "pk", None) else None,
                state=State.SENDING,
                amount=invoice.amount_due,
                currency=invoice.currency,
            )
    except IntegrityError:
        return None


def _reread(invoice: Invoice, client: Any) -> Invoice:
    """Ask the provider for the invoice again and write its answer; the mirror's row."""
    current = client.invoice(domain_invoice(invoice))
    (written,) = invoices_refresh(connection=invoice.connection, read=[(invoice, current)])
    return written


def _after_answer(
    attempt: PaymentConfirmation, invoice: Invoice, client: Any, label: str
) -> PaymentOutcome:
    """The provider accepted the POST: read the invoice to see it, and write that."""
    try:
        current = _reread(invoice, client)
    except ProviderError as exc:
        return _finish(
            attempt, invoice, State.CONFIRMED,
            _("%(provider)s accepted the confirmation. It shows here after the next sync "
              "(the invoice could not be read back just now).") % {"provider": label},
            detail=str(exc),
        )  # fmt: skip
    if current.status == InvoiceStatus.PAID:
        return _finish(
            attempt, current, State.CONFIRMED,
            _("Confirmed: %(provider)s has it as paid.") % {"provider": label},
        )  # fmt: skip
    return _finish(
        attempt, current, State.UNKNOWN,
        _("%(provider)s accepted the confirmation but still shows the invoice as unpaid. "
          "Check it again in a minute before confirming it again.") % {"provider": label},
        can_check=True,
    )  # fmt: skip


def _after_lost_answer(
    attempt: PaymentConfirmation,
    invoice: Invoice,
    client: Any,
    label: str,
    error: ProviderError,
) -> PaymentOutcome:
    """The POST timed out or failed on the provider's side: did it take effect?"""
    try:
        current = _reread(invoice, client)
    except ProviderError as exc:
        return _finish(
            attempt, invoice, State.UNKNOWN,
            _("%(provider)s did not answer, and whether the payment was confirmed is not "
              "known yet. Check again in a minute; do not confirm it elsewhere meanwhile.")
            % {"provider": label},
            detail=f"{error}; reading it again: {exc}", can_check=True,
        )  # fmt: skip
    if current.status == InvoiceStatus.PAID:
        return _finish(
            attempt, current, State.CONFIRMED,
            _("Confirmed: %(provider)s answered late, but has it as paid.") % {"provider": label},
            detail=str(error),
        )  # fmt: skip
    return _finish(
        attempt, current, State.NOT_APPLIED,
        _("%(provider)s did not answer, and still has the invoice as unpaid: nothing was "
          "confirmed. You can try again.") % {"provider": label},
        detail=str(error), can_retry=True,
    )  # fmt: skip


def _finish(
    attempt: PaymentConfirmation,
    invoice: Invoice,
    state: str,
    message: str,
    *,
    detail: str = "",
    can_retry: bool = False,
    can_check: bool = False,
) -> PaymentOutcome:
    attempt.state = state
    attempt.message = message[:500]
    attempt.detail = detail[:1000]
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["state", "message", "detail", "finished_at"])
    return PaymentOutcome(invoice, state, message, detail, can_retry, can_check)


def _close_unknown(invoice: Invoice, *, paid: bool) -> None:
    """A check settled what earlier attempts could not know."""
    PaymentConfirmation.objects.filter(invoice=invoice, state=State.UNKNOWN).update(
        state=State.CONFIRMED if paid else State.NOT_APPLIED,
        message=("a later check found it paid" if paid else "a later check found it still unpaid"),
    )
