"""What the invoice view and the bulk actions ask of the clients: one invoice read again,
its PDF (checked, capped), a payment confirmed, an accounting export, against the sandbox."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from invoices.providers import base
from invoices.providers.acronis import AcronisClient
from invoices.providers.errors import (
    ProviderBadPayload,
    ProviderNotSupported,
    ProviderUnavailable,
)
from invoices.providers.hostway import HostwayClient
from invoices.providers.masstack import MasStackClient, madrid_today
from invoices.sandbox import SandboxApp, SandboxConfig, SandboxServer


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of its own: these tests confirm payments and export invoices."""
    app = SandboxApp(SandboxConfig(acronis_customers=6, acronis_months=4, seed=11))
    server = SandboxServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def app(server) -> Iterator[SandboxApp]:
    server.app.reset()
    server.app.masstack.today_override = madrid_today()
    yield server.app
    server.app.wait_idle()
    server.app.reset()


def _client(kind, server, fast_http, **extra):
    config, credentials = getattr(server.app, kind.name).connection(server.url)
    return kind.from_config(config, credentials, **{**fast_http, **extra})


@pytest.fixture
def acronis(server, app, fast_http) -> Iterator[AcronisClient]:
    with _client(AcronisClient, server, fast_http) as client:
        yield client


def _first(client):
    return next(i for page in client.iter_invoice_pages() for i in page.invoices)


# -- reading one invoice again -------------------------------------------------------


def test_acronis_reads_one_invoice_again_by_its_id(acronis, app):
    invoice = acronis.invoice_overview(page=1, page_size=3).invoices[2]

    assert acronis.invoice(invoice) == invoice
    assert app.calls()[-1][1].endswith("/InvoiceOverview")


def test_acronis_reading_an_invoice_it_no_longer_has_gives_none(acronis):
    invoice = acronis.invoice_overview(page=1, page_size=1).invoices[0]
    gone = dataclasses.replace(invoice, provider_id="0a0b0c0d-0000-4000-8000-000000000000")

    assert acronis.invoice(gone) is None


def test_hostway_reads_one_invoice_again_and_none_when_gone(server, app, fast_http):
    with _client(HostwayClient, server, fast_http) as client:
        invoice = _first(client)
        assert client.invoice(invoice) == invoice
        assert client.invoice(dataclasses.replace(invoice, number="NO-SUCH-1")) is None


def test_masstack_cannot_read_one_invoice_and_says_so(server, app, fast_http):
    with _client(MasStackClient, server, fast_http) as client:
        invoice = _first(client)
        with pytest.raises(ProviderNotSupported):
            client.invoice(invoice)


# -- PDFs ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [AcronisClient, HostwayClient, MasStackClient])
def test_every_provider_gives_a_pdf_naming_the_invoice(kind, server, app, fast_http):
    with _client(kind, server, fast_http) as client:
        invoice = _first(client)
        document = client.download_pdf(invoice)

    assert kind.supports_pdf
    assert document.startswith(b"%PDF-")
    assert invoice.number.encode() in document


def test_masstack_document_path_may_not_leave_the_api_host(server, app, fast_http):
    with _client(MasStackClient, server, fast_http) as client:
        invoice = _first(client)
        elsewhere = dataclasses.replace(
            invoice, extra=(("path", "https://evil.example/steal.pdf"),)
        )
        with pytest.raises(ProviderBadPayload, match="leaves the API's host"):
            client.download_pdf(elsewhere)
        without = dataclasses.replace(invoice, extra=())
        with pytest.raises(ProviderNotSupported):
            client.download_pdf(without)
    assert not [call for call in app.calls() if "steal" in call[1]]


def test_a_download_that_is_not_a_pdf_is_refused(acronis, app):
    invoice = acronis.invoice_overview(page=1, page_size=1).invoices[0]
    app.acronis.document_body = b"<html>Please sign in</html>"

    with pytest.raises(ProviderBadPayload, match="not a PDF"):
        acronis.download_pdf(invoice)


def test_a_download_larger_than_the_cap_is_refused_without_reading_it_all(
    acronis, app, monkeypatch
):
    invoice = acronis.invoice_overview(page=1, page_size=1).invoices[0]
    monkeypatch.setattr(base, "MAX_PDF_BYTES", 100_000)
    sent = []

    def endless():
        yield b"%PDF-1.4\n"
        for _ in range(10_000):
            sent.append(1)
            yield b"0" * 65_536

    app.acronis.document_body = endless()

    with pytest.raises(ProviderBadPayload, match="larger than"):
        acronis.download_pdf(invoice)
    assert len(sent) < 1000  # stopped reading long before the 650 MB were sent


def test_a_download_cut_off_in_transit_is_an_error_not_a_short_pdf(acronis, app):
    invoice = acronis.invoice_overview(page=1, page_size=1).invoices[0]
    app.faults.add("truncated", path="/api/advanced-automation/v1/DownloadInvoice")

    with pytest.raises(ProviderBadPayload):
        acronis.download_pdf(invoice)


# -- confirming a payment, exporting ------------------------------------------------


def test_a_confirmation_that_answers_too_late_still_took_effect(server, app, fast_http):
    with _client(AcronisClient, server, fast_http, read_timeout=0.3) as client:
        unpaid = client.invoice_overview(page=1, page_size=1, payment_status=False).invoices[0]
        app.faults.add(
            "slow_answer", delay=1.0, times=1,
            path="/api/advanced-automation/v1/InvoiceOverview",
        )  # fmt: skip
        posts = len([c for c in app.calls() if c[0] == "POST"])
        with pytest.raises(ProviderUnavailable, match="timed out"):
            client.confirm_payment(unpaid)
        # sent once, never again, and the provider did confirm it
        assert len([c for c in app.calls() if c[0] == "POST"]) == posts + 1
        app.wait_idle()
        assert client.invoice(unpaid).paid


def test_acronis_export_gives_the_file_and_marks_the_invoices_exported(acronis, app):
    invoices = acronis.invoice_overview(page=1, page_size=2).invoices
    assert not any(invoice.exported for invoice in invoices)

    csv = acronis.export_invoices(invoices, fmt="csv").decode()
    xml = acronis.export_invoices(invoices[:1], fmt="xml").decode()

    assert all(invoice.number in csv for invoice in invoices)
    assert xml.startswith("<?xml") and invoices[0].number in xml
    again = [acronis.invoice(invoice) for invoice in invoices]
    assert all(invoice.exported and invoice.exported_at for invoice in again)
    posts = [call for call in app.calls() if call[0] == "POST"]
    assert [path for _, path in posts if "ExportInvoice" in path] != []


def test_only_acronis_can_confirm_payments(server, app, fast_http):
    for kind in (HostwayClient, MasStackClient):
        with _client(kind, server, fast_http) as client:
            assert kind.payments_unsupported
            with pytest.raises(ProviderNotSupported):
                client.confirm_payment(_first(client))
    assert AcronisClient.payments_unsupported is None


# -- every call logged, nothing secret in the line --------------------------------------


def test_every_provider_call_is_logged_with_method_host_path_status_and_duration(
    acronis, app, caplog
):
    with caplog.at_level(logging.INFO, logger="invoices.providers.calls"):
        acronis.invoice_overview(page=1, page_size=3)

    calls = [r for r in caplog.records if r.name == "invoices.providers.calls"]
    assert calls, "no provider call was logged"
    overview = next(r for r in calls if r.path.endswith("/InvoiceOverview"))
    assert (overview.method, overview.host, overview.status) == ("GET", "127.0.0.1", 200)
    assert overview.duration_ms >= 0 and overview.provider == "acronis"
    _config, credentials = app.acronis.connection("http://x")
    for record in calls:
        line = record.getMessage()
        assert "?" not in line  # never the query string
        for secret in credentials.values():
            assert secret not in line and secret not in str(record.__dict__)
