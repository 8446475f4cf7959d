"""Each sensitive action writes exactly one audit entry, with when, who, which
connection, what, from where and how it ended; and none holds a secret (the
connection's credentials, a password, the public link)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.db import connection as db_connection
from django.urls import reverse

from invoices.models import (
    AuditAction,
    AuditOutcome,
    Invoice,
    InvoiceNote,
    SavedView,
    SyncRun,
)

from .conftest import assert_no_secret, entries, only

HTMX = {"HTTP_HX_REQUEST": "true"}
DOWNLOAD = "/api/advanced-automation/v1/DownloadInvoice"
OVERVIEW = "/api/advanced-automation/v1/InvoiceOverview"


def _is_from(entry, user, connection=None) -> None:
    assert entry.user == user and entry.username == user.username
    assert entry.ip_address == "127.0.0.1"
    assert entry.at is not None
    if connection is not None:
        assert entry.connection == connection and entry.connection_name == connection.name


def _select(client, invoices) -> None:
    client.post(reverse("invoices:selection"), {"pick": [i.pk for i in invoices]}, **HTMX)


# -- public links --------------------------------------------------------------------


def test_a_public_link_reveal_names_the_invoice_never_the_link(synced, all_secrets):
    invoice = synced.invoice("masstack")
    client = synced.client("partner")

    response = client.get(reverse("invoices:invoice_public_link", args=[invoice.pk]), **HTMX)

    link = response.context["link"].url
    entry = only(AuditAction.PUBLIC_LINK)
    _is_from(entry, synced.users["partner"], synced.connections["masstack"])
    assert (entry.target, entry.outcome) == (invoice.number, AuditOutcome.OK)
    assert_no_secret(entry, [*all_secrets, link, link.split("?")[0]])


def test_a_public_link_a_provider_does_not_offer_is_refused(synced):
    invoice = synced.invoice("hostway")

    synced.client("finance").get(reverse("invoices:invoice_public_link", args=[invoice.pk]))

    entry = only(AuditAction.PUBLIC_LINK)
    assert (entry.target, entry.outcome) == (invoice.number, AuditOutcome.REFUSED)


# -- PDFs ----------------------------------------------------------------------------


def test_a_pdf_download(synced, all_secrets):
    invoice = synced.invoice("acronis")

    response = synced.client("finance").get(reverse("invoices:invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    entry = only(AuditAction.PDF)
    _is_from(entry, synced.users["finance"], synced.connections["acronis"])
    assert (entry.target, entry.outcome) == (invoice.number, AuditOutcome.OK)
    assert entry.detail == {"format": "pdf", "bytes": len(response.content)}
    assert_no_secret(entry, all_secrets)


def test_a_pdf_the_provider_could_not_give_is_recorded_failed(synced, provider, all_secrets):
    invoice = synced.invoice("acronis")
    provider.faults.add("status", status=502, path=DOWNLOAD)

    synced.client("partner").get(reverse("invoices:invoice_pdf", args=[invoice.pk]))

    entry = only(AuditAction.PDF)
    assert entry.outcome == AuditOutcome.FAILED and "did not answer" in entry.message
    assert_no_secret(entry, all_secrets)


def test_a_zip_of_pdfs_is_one_entry_when_the_stream_ends(synced, all_secrets):
    client = synced.client("partner")
    chosen = [synced.invoice("acronis", 0), synced.invoice("masstack", 0)]
    _select(client, chosen)

    response = client.post(reverse("invoices:selection_act"), {"action": "zip"})
    assert entries() == []  # nothing is known until the archive is sent
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    assert len(archive.namelist()) == 3
    entry = only(AuditAction.PDF)
    _is_from(entry, synced.users["partner"])
    assert entry.connection is None  # two connections' invoices: staff's log
    assert entry.outcome == AuditOutcome.OK
    assert entry.detail == {"format": "zip", "invoices": 2, "included": 2, "left_out": []}
    assert_no_secret(entry, all_secrets)


def test_a_zip_whose_download_stopped_part_way_is_recorded_failed(synced, monkeypatch):
    client = synced.client("partner")
    _select(client, [synced.invoice("acronis", n) for n in range(3)])
    response = client.post(reverse("invoices:selection_act"), {"action": "zip"})

    stream = iter(response.streaming_content)
    next(stream)
    # The browser went away: the server closes the stream. Its request_finished would
    # also close the database connection inside the test's transaction (a real server
    # opens a new one for the next request): kept open, as the test client does.
    monkeypatch.setattr(db_connection, "close_if_unusable_or_obsolete", lambda: None)
    response.close()

    entry = only(AuditAction.PDF)
    assert entry.outcome == AuditOutcome.FAILED
    assert entry.connection == synced.connections["acronis"]
    assert entry.detail["included"] < 3


# -- exports -------------------------------------------------------------------------


def test_a_csv_of_the_list_records_format_filters_and_rows(synced):
    client = synced.client("finance")

    response = client.get(reverse("invoices:invoice_export", args=["csv"]), {"status": "unpaid"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")

    rows = list(csv.reader(io.StringIO(body)))[1:]
    entry = only(AuditAction.EXPORT)
    _is_from(entry, synced.users["finance"])
    assert entry.outcome == AuditOutcome.OK
    assert entry.detail["format"] == "csv" and entry.detail["rows"] == len(rows) > 0
    assert entry.detail["filters"]["status"] == "unpaid"
    assert entry.target.startswith("invoices-") and entry.target.endswith(".csv")


def test_an_export_of_one_connection_is_in_that_connection_s_log(synced):
    connection = synced.connections["acronis"]
    client = synced.client("finance")

    response = client.get(
        reverse("invoices:invoice_export", args=["xlsx"]), {"connection": connection.pk}
    )

    assert response.status_code == 200
    entry = only(AuditAction.EXPORT)
    assert entry.connection == connection
    expected = Invoice.objects.filter(connection=connection, missing=False).count()
    assert entry.detail["format"] == "xlsx" and entry.detail["rows"] == expected


def test_a_selection_s_csv_records_the_selection(synced):
    client = synced.client("partner")
    _select(client, [synced.invoice("acronis", 0), synced.invoice("hostway", 0)])

    response = client.post(reverse("invoices:selection_act"), {"action": "csv"})
    b"".join(response.streaming_content)

    entry = only(AuditAction.EXPORT)
    assert entry.detail["selection"] == {"ticked": 2} and entry.detail["rows"] == 2
    assert entry.target.startswith("selected-invoices-")


# -- payments, accounting ------------------------------------------------------------


def test_a_payment_confirmation_records_the_request_and_the_answer(synced, all_secrets):
    invoice = synced.unpaid("acronis")
    url = reverse("invoices:invoice_confirm_payment", args=[invoice.pk])

    synced.client("finance").post(url, **HTMX)

    entry = only(AuditAction.PAYMENT)
    _is_from(entry, synced.users["finance"], synced.connections["acronis"])
    assert (entry.target, entry.outcome) == (invoice.number, AuditOutcome.OK)
    assert entry.detail["request"] == {
        "invoice": invoice.number,
        "amount": str(invoice.amount_due),
        "currency": invoice.currency,
    }
    assert entry.detail["state"] == "confirmed" and entry.message.startswith("Confirmed")
    assert_no_secret(entry, all_secrets)


def test_a_refused_payment_is_recorded_refused_with_the_provider_s_words(
    synced, provider, all_secrets
):
    invoice = synced.unpaid("acronis")
    provider.faults.add("status", status=400, times=1, path=OVERVIEW)

    synced.client("partner").post(
        reverse("invoices:invoice_confirm_payment", args=[invoice.pk]), **HTMX
    )

    entry = only(AuditAction.PAYMENT)
    assert entry.outcome == AuditOutcome.REFUSED and entry.detail["state"] == "refused"
    assert_no_secret(entry, all_secrets)


def test_confirming_a_selection_is_one_entry_per_invoice(synced):
    client = synced.client("partner")
    chosen = [synced.unpaid("acronis", 0), synced.invoice("hostway", 0)]
    _select(client, chosen)

    client.post(reverse("invoices:selection_act"), {"action": "confirm", "confirmed": "yes"})

    written = entries(AuditAction.PAYMENT)
    assert len(entries()) == 2
    by_number = {e.target: e for e in written}
    assert by_number[chosen[0].number].outcome == AuditOutcome.OK
    assert by_number[chosen[1].number].outcome == AuditOutcome.REFUSED  # Hostway cannot


def test_an_export_to_accounting(synced, all_secrets):
    client = synced.client("finance")
    chosen = list(
        Invoice.objects.filter(connection=synced.connections["acronis"], exported=False)[:2]
    )
    _select(client, chosen)

    client.post(
        reverse("invoices:selection_act"),
        {"action": "accounting", "format": "csv", "confirmed": "yes"},
    )

    entry = only(AuditAction.ACCOUNTING)
    _is_from(entry, synced.users["finance"], synced.connections["acronis"])
    assert entry.outcome == AuditOutcome.OK and entry.detail["state"] == "done"
    assert sorted(entry.detail["sent"]) == sorted(i.number for i in chosen)
    assert_no_secret(entry, all_secrets)


# -- notes, saved views, syncs ----------------------------------------------------------


def test_a_note_added_then_deleted_is_two_entries_without_its_text(synced):
    invoice = synced.invoice("hostway")
    client = synced.client("finance")
    text = "Customer promised payment by 15 Dec"

    client.post(reverse("invoices:invoice_note_add", args=[invoice.pk]), {"text": text}, **HTMX)
    entry = only(AuditAction.NOTE)
    _is_from(entry, synced.users["finance"], synced.connections["hostway"])
    assert entry.detail["change"] == "added" and entry.target == invoice.number
    note = InvoiceNote.objects.get()

    client.post(reverse("invoices:invoice_note_delete", args=[invoice.pk, note.pk]), **HTMX)

    added, deleted = entries(AuditAction.NOTE)
    assert deleted.detail == {"change": "deleted", "note": note.pk}
    assert all(text not in str(e.detail) + e.message for e in (added, deleted))


def test_one_note_on_a_selection_is_one_entry(synced):
    client = synced.client("partner")
    _select(client, [synced.invoice("acronis", 0), synced.invoice("acronis", 1)])

    client.post(reverse("invoices:selection_act"), {"action": "note", "text": "Call them"})

    entry = only(AuditAction.NOTE)
    assert entry.connection == synced.connections["acronis"]
    assert entry.detail["invoices"] == 2


def test_each_saved_view_change_is_one_entry(synced):
    client = synced.client("partner")
    user = synced.users["partner"]

    client.post(reverse("invoices:saved_view_save"), {"name": "Unpaid", "query": "status=unpaid"})
    view = SavedView.objects.get()
    client.post(reverse("invoices:saved_view_change", args=[view.pk]), {"name": "Open"})
    client.post(reverse("invoices:saved_view_default"), {"view": view.pk})
    client.post(reverse("invoices:saved_view_delete", args=[view.pk]))

    written = entries()
    assert [e.action for e in written] == [AuditAction.SAVED_VIEW] * 4
    assert [e.detail["change"] for e in written] == [
        "created",
        "changed",
        "made-default",
        "deleted",
    ]
    assert [e.target for e in written] == ["Unpaid", "Open", "Open", "Open"]
    assert all(e.user == user and e.detail["view"] == view.pk for e in written)


def test_a_sync_started_by_hand_names_who_asked(synced):
    connection = synced.connections["hostway"]
    user = synced.users["partner"]

    synced.client("partner").post(reverse("invoices:connection_sync", args=[connection.pk]))

    entry = only(AuditAction.SYNC)
    _is_from(entry, user, connection)
    assert entry.outcome == AuditOutcome.OK
    run = SyncRun.objects.get(pk=entry.detail["run"])
    assert run.requested_by == user and run.trigger == "dashboard"


@pytest.mark.parametrize("action", ["csv", "zip"])
def test_nothing_is_recorded_for_an_empty_selection(synced, action):
    synced.client("partner").post(reverse("invoices:selection_act"), {"action": action})
    assert entries() == []
