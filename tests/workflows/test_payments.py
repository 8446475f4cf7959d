"""Confirming a payment at Acronis: once, never blindly retried, the mirror only from the
provider's answer (`invoices.payments`)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection as db_connection
from django.http import Http404

from invoices.models import Invoice, PaymentConfirmation
from invoices.payments import payment_check, payment_confirm, payments_confirm
from invoices.selectors import invoice_totals, invoices_for_user

OVERVIEW = "/api/advanced-automation/v1/InvoiceOverview"


def _posts(app) -> int:
    return sum(1 for method, path in app.calls(OVERVIEW) if method == "POST")


def test_a_confirmed_payment_is_paid_in_the_mirror_and_the_totals_follow(synced, provider):
    user = synced.users["finance"]
    invoice = synced.unpaid("acronis")
    before = {t.currency: t for t in invoice_totals(invoices=invoices_for_user(user))}

    outcome = payment_confirm(user=user, invoice=invoice)

    assert outcome.state == "confirmed", outcome.message
    assert _posts(provider) == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("paid", 0)
    after = {t.currency: t for t in invoice_totals(invoices=invoices_for_user(user))}
    cur = invoice.currency
    assert after[cur].outstanding == before[cur].outstanding - outcome.invoice.total
    assert after[cur].outstanding_count == before[cur].outstanding_count - 1
    attempt = PaymentConfirmation.objects.get(invoice=invoice)
    assert (attempt.state, attempt.user) == ("confirmed", user)


def test_a_later_sync_sees_the_confirmation_and_changes_nothing(synced, provider):
    from invoices.sync import connection_sync

    invoice = synced.unpaid("acronis")
    payment_confirm(user=synced.users["finance"], invoice=invoice)
    invoice.refresh_from_db()

    run = connection_sync(connection=synced.connections["acronis"])

    assert run.updated == 0, "the re-read wrote the invoice as a sync would"
    assert Invoice.objects.get(pk=invoice.pk).fingerprint == invoice.fingerprint


def test_an_invoice_already_paid_is_not_sent_again(synced, provider):
    invoice = synced.unpaid("acronis")
    user = synced.users["finance"]
    payment_confirm(user=user, invoice=invoice)

    again = payment_confirm(user=user, invoice=invoice)

    assert again.state == "already_paid"
    assert _posts(provider) == 1


def test_a_timeout_after_the_provider_applied_it_is_learned_by_reading_it_again(
    synced, provider, settings
):
    settings.LIVE_PROVIDER_READ_TIMEOUT = 0.4
    invoice = synced.unpaid("acronis")
    provider.faults.add("slow_answer", delay=1.0, times=1, path=OVERVIEW)

    outcome = payment_confirm(user=synced.users["finance"], invoice=invoice)

    assert outcome.state == "confirmed"
    assert "answered late" in outcome.message
    assert not outcome.can_retry
    assert _posts(provider) == 1  # never sent twice
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_a_5xx_that_did_not_apply_offers_to_try_again_and_changes_nothing(synced, provider):
    invoice = synced.unpaid("acronis")
    provider.faults.add("status", status=503, times=1, path=OVERVIEW)  # the POST only

    outcome = payment_confirm(user=synced.users["finance"], invoice=invoice)

    assert outcome.state == "not_applied"
    assert outcome.can_retry
    assert _posts(provider) == 1
    assert Invoice.objects.get(pk=invoice.pk).status == "unpaid"
    # trying again is then safe, and works
    assert payment_confirm(user=synced.users["finance"], invoice=invoice).state == "confirmed"


def test_when_the_provider_cannot_be_read_back_nobody_is_offered_a_retry(synced, provider):
    invoice = synced.unpaid("acronis")
    provider.faults.add("status", status=503, path=OVERVIEW)  # every call, reads too

    outcome = payment_confirm(user=synced.users["finance"], invoice=invoice)

    assert outcome.state == "unknown"
    assert (outcome.can_retry, outcome.can_check) == (False, True)
    assert _posts(provider) == 1
    provider.faults.clear()
    checked = payment_check(user=synced.users["finance"], invoice=invoice)
    assert checked.state == "not_applied" and checked.can_retry
    assert PaymentConfirmation.objects.get(invoice=invoice).state == "not_applied"


def test_a_refusal_is_shown_in_plain_words(synced, provider):
    invoice = synced.unpaid("acronis")
    provider.faults.add("status", status=400, times=1, path=OVERVIEW)

    outcome = payment_confirm(user=synced.users["finance"], invoice=invoice)

    assert outcome.state == "refused"
    assert outcome.message.startswith("Acronis")
    assert "HTTP" not in outcome.message and "POST" not in outcome.message
    assert "400" in outcome.detail


def test_two_at_once_send_one_confirmation(synced, provider, transactional_db):
    invoice = synced.unpaid("acronis")
    provider.faults.add("latency", delay=0.5, times=1, path=OVERVIEW)
    outcomes = []

    def confirm(user):
        try:
            outcomes.append(payment_confirm(user=user, invoice=invoice))
        finally:
            db_connection.close()

    threads = [
        threading.Thread(target=confirm, args=(synced.users[name],))
        for name in ("finance", "partner")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o.state for o in outcomes) == ["confirmed", "sending"]
    assert _posts(provider) == 1


@pytest.mark.parametrize("provider_name", ["hostway", "masstack"])
def test_hostway_and_masstack_say_why_they_cannot_and_call_nothing(synced, provider, provider_name):
    invoice = synced.invoice(provider_name)

    outcome = payment_confirm(user=synced.users["partner"], invoice=invoice)

    assert outcome.state == "skipped"
    assert "offers no way to confirm a payment" in outcome.message
    assert provider.calls() == []


def test_nobody_confirms_an_invoice_they_may_not_see(synced, provider):
    invoice = synced.unpaid("acronis")

    with pytest.raises(Http404):
        payment_confirm(user=synced.users["outsider"], invoice=invoice)
    assert provider.calls() == []


def test_a_selection_reports_each_invoice_and_skips_other_providers(synced, provider):
    invoices = [synced.unpaid("acronis", 0), synced.invoice("hostway"), synced.unpaid("acronis", 1)]

    outcomes = payments_confirm(user=synced.users["partner"], invoices=invoices)

    assert [o.state for o in outcomes] == ["confirmed", "skipped", "confirmed"]
    assert _posts(provider) == 2
