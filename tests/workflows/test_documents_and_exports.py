"""PDFs through the app (one, or many as a streamed ZIP) and the export to accounting."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.http import Http404

from invoices import documents
from invoices.accounting import accounting_export, accounting_export_get
from invoices.documents import invoice_pdf_get, invoice_pdfs_zip, pdf_filename
from invoices.models import Invoice
from invoices.providers import ProviderError

EXPORT = "/api/advanced-automation/v1/ExportInvoice"


@pytest.mark.parametrize("name", ["acronis", "hostway", "masstack"])
def test_each_provider_s_pdf_comes_through_the_app(synced, name):
    invoice = synced.invoice(name)

    document = invoice_pdf_get(user=synced.users["partner"], invoice=invoice)

    assert document.startswith(b"%PDF-") and invoice.number.encode() in document
    assert pdf_filename(invoice) == f"{name}-{invoice.number}.pdf"


def test_a_file_name_keeps_only_safe_characters(synced):
    invoice = synced.invoice("acronis")
    invoice.number = '../x"; rm -rf /.pdf'
    assert pdf_filename(invoice) == "acronis-x_rm_-rf_.pdf.pdf"


def test_nobody_gets_the_pdf_of_an_invoice_they_may_not_see(synced, provider):
    with pytest.raises(Http404):
        invoice_pdf_get(user=synced.users["outsider"], invoice=synced.invoice("acronis"))
    assert provider.calls() == []


def test_a_zip_holds_each_pdf_and_a_report_naming_what_failed(synced, provider):
    invoices = [
        synced.invoice("acronis", 0),
        synced.invoice("hostway"),
        synced.invoice("acronis", 1),
    ]
    provider.faults.add("status", status=502, path="/accounts/")  # Hostway down

    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(invoice_pdfs_zip(user=synced.users["partner"], invoices=invoices)))
    )

    names = archive.namelist()
    assert names == [pdf_filename(invoices[0]), pdf_filename(invoices[2]), "REPORT.txt"]
    report = archive.read("REPORT.txt").decode()
    assert report.startswith("2 of 3 invoice PDFs")
    assert f"{invoices[1].number}: not included. Hostway did not answer" in report
    assert all(archive.read(name).startswith(b"%PDF-") for name in names[:2])


def test_a_zip_streams_one_pdf_at_a_time(synced, provider):
    invoices = list(
        Invoice.objects.filter(connection=synced.connections["acronis"]).select_related(
            "connection", "account", "batch"
        )[:5]
    )
    stream = invoice_pdfs_zip(user=synced.users["finance"], invoices=invoices)

    next(stream)  # the first file's bytes are out before the others are fetched

    downloads = [path for _, path in provider.calls() if path.endswith("DownloadInvoice")]
    assert len(downloads) == 1


def test_a_zip_beyond_the_cap_is_refused_before_anything_is_fetched(synced, provider, monkeypatch):
    monkeypatch.setattr(documents, "MAX_ZIP_PDFS", 2)
    invoices = [synced.invoice("acronis", n) for n in range(3)]
    with pytest.raises(ValueError):
        invoice_pdfs_zip(user=synced.users["finance"], invoices=invoices)
    assert provider.calls() == []


def test_export_to_accounting_gives_the_file_and_the_mirror_shows_them_exported(synced, provider):
    invoices = [
        i
        for i in Invoice.objects.filter(
            connection=synced.connections["acronis"], exported=False
        ).select_related("connection", "account", "batch")[:3]
    ]
    user = synced.users["finance"]

    report = accounting_export(
        user=user, invoices=[*invoices, synced.invoice("hostway")], fmt="csv"
    )

    (export,) = report.exports
    assert export.state == "done", export.message
    assert all(i.number in bytes(export.content).decode() for i in invoices)
    assert [(i.connection.provider, reason[:7]) for i, reason in report.skipped] == [
        ("hostway", "Hostway")
    ]
    assert all(Invoice.objects.get(pk=i.pk).exported for i in invoices)
    assert accounting_export_get(user=user, pk=export.pk) == export
    with pytest.raises(Http404):
        accounting_export_get(user=synced.users["partner"], pk=export.pk)  # not theirs


def test_an_export_whose_answer_is_lost_is_read_back_not_resent(synced, provider, settings):
    settings.LIVE_PROVIDER_READ_TIMEOUT = 0.4
    invoices = [
        i
        for i in Invoice.objects.filter(
            connection=synced.connections["acronis"], exported=False
        ).select_related("connection", "account", "batch")[:2]
    ]
    provider.faults.add("slow_answer", delay=1.0, times=1, path=EXPORT)

    (export,) = accounting_export(
        user=synced.users["finance"], invoices=invoices, fmt="xml"
    ).exports

    assert export.state == "unknown"
    assert "marked 2 of 2 invoices exported" in export.message
    assert len(provider.calls(EXPORT)) == 1
    assert all(Invoice.objects.get(pk=i.pk).exported for i in invoices)


def test_an_export_that_failed_offers_another_try(synced, provider):
    invoices = [synced.invoice("acronis", 0)]
    provider.faults.add("status", status=502, times=1, path=EXPORT)

    (export,) = accounting_export(
        user=synced.users["finance"], invoices=invoices, fmt="csv"
    ).exports

    assert export.state == "not_applied" and "try again" in export.message
    assert export.content is None


def test_nobody_exports_invoices_they_may_not_see(synced, provider):
    with pytest.raises(Http404):
        accounting_export(
            user=synced.users["outsider"], invoices=[synced.invoice("acronis")], fmt="csv"
        )
    assert provider.calls() == []


def test_a_pdf_error_is_a_provider_error(synced, provider):
    provider.faults.add("status", status=404, path="/api/")
    with pytest.raises(ProviderError):
        invoice_pdf_get(user=synced.users["finance"], invoice=synced.invoice("acronis"))
