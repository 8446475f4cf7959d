"""AcronisClient against the live sandbox (real HTTP on a real socket)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest

from invoices.providers.acronis import AcronisClient
from invoices.providers.errors import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderNotFound,
    ProviderUnavailable,
)
from invoices.providers.registry import build_client
from invoices.sandbox import SandboxApp, SandboxConfig, SandboxServer
from invoices.sandbox.acronis import AcronisSandbox

OVERVIEW = "/api/advanced-automation/v1/InvoiceOverview"


@pytest.fixture
def acronis(sandbox: SandboxServer) -> Iterator[AcronisSandbox]:
    stand_in = sandbox.app.acronis
    yield stand_in
    stand_in.wrapped_shape = None


@pytest.fixture
def connect(sandbox: SandboxServer, fast_http: dict[str, float]):
    made: list[AcronisClient] = []

    def connect(credentials: dict[str, str] | None = None, **config: Any) -> AcronisClient:
        base_config, base_credentials = sandbox.app.acronis.connection(sandbox.url)
        client = build_client(
            "acronis", {**base_config, **config}, credentials or base_credentials, **fast_http
        )
        assert isinstance(client, AcronisClient)
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close()


def every_invoice(acronis: AcronisSandbox) -> list[dict[str, Any]]:
    """The sandbox's ground truth, straight from its generator."""
    return [acronis.invoice(i) for i in range(acronis.total)]


def test_reads_every_page_once_and_stops(connect, sandbox, acronis):
    client = connect()

    ids = [invoice.provider_id for invoice in client.iter_invoices()]

    assert len(ids) == acronis.total
    assert len(set(ids)) == len(ids)
    pages = math.ceil(acronis.total / client.page_size)
    assert sandbox.app.calls() == [("POST", "/api/2/idp/token")] + [("GET", OVERVIEW)] * pages


def test_a_smaller_page_size_reads_the_same_invoices(connect, acronis):
    ids = [invoice.provider_id for invoice in connect(page_size=333).iter_invoices()]

    assert ids == [invoice["Id"] for invoice in every_invoice(acronis)]


def test_both_response_shapes_parse_through_the_client(connect, acronis):
    pages = list(connect().iter_invoice_pages())

    top_level, wrapped = pages[0], pages[1]  # the sandbox alternates shapes by page
    assert top_level.batches and all(batch.size > 0 for batch in top_level.batches)
    assert wrapped.batches == ()
    assert top_level.total_pages == wrapped.total_pages == len(pages)


@pytest.mark.parametrize("shape", [True, False])
def test_either_shape_alone_still_reads_everything(connect, acronis, shape):
    acronis.wrapped_shape = shape

    assert sum(1 for _ in connect().iter_invoices()) == acronis.total


def test_unpaid_filter_returns_exactly_the_unpaid_invoices(connect, acronis):
    unpaid = list(connect().iter_invoices(payment_status=False))

    expected = {inv["Id"] for inv in every_invoice(acronis) if not inv["PaymentStatus"]}
    assert {invoice.provider_id for invoice in unpaid} == expected
    assert all(not invoice.paid and invoice.amount_due == invoice.total for invoice in unpaid)


def test_customer_filter_returns_only_that_customer(connect, acronis):
    customer = acronis.customer(0)

    invoices = list(connect().iter_invoices(customer=customer.id.upper()))

    assert invoices
    assert {(i.account_id, i.account_name) for i in invoices} == {(customer.id, customer.name)}


def test_delivery_by_post_returns_the_post_customers_invoices(connect, acronis):
    invoices = list(connect().iter_invoices(delivery_method="post"))

    expected = {inv["Id"] for inv in every_invoice(acronis) if not inv["SendByEmail"]}
    assert {invoice.provider_id for invoice in invoices} == expected


def test_exported_invoices_are_hidden_unless_asked_for(connect, acronis):
    client = connect()

    listed = client.invoice_overview(page=1, page_size=1000)
    everything = client.invoice_overview(page=1, page_size=1000, show_exported=True)

    assert not any(invoice.exported for invoice in listed.invoices)
    assert any(invoice.exported for invoice in everything.invoices)


def test_sorting_by_total_descending(connect):
    page = connect().invoice_overview(page=1, sort_column="InvoiceTotal", sort_direction="Desc")

    totals = [invoice.total for invoice in page.invoices]
    assert totals == sorted(totals, reverse=True)
    assert len(totals) == 100


def test_sorting_by_schedule_date_uses_the_documented_column_name(connect):
    page = connect().invoice_overview(page=1, sort_column="ScheduleAt", sort_direction="Desc")

    dates = [invoice.scheduled_date for invoice in page.invoices]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == max(dates) and dates[0] is not None


def test_an_unknown_sort_column_is_refused_before_any_call(connect, sandbox):
    with pytest.raises(ValueError, match="sort_column"):
        connect().invoice_overview(page=1, sort_column="ScheduledAt")

    assert sandbox.app.calls() == []


def test_wrong_secret_is_an_auth_error_that_hides_the_secret(connect):
    client = connect({"client_id": "sandbox-client", "client_secret": "s3cr3t-wrong"})

    with pytest.raises(ProviderAuthError) as error:
        client.check()

    assert "s3cr3t-wrong" not in str(error.value) + repr(error.value.args)
    assert error.value.status == 401


def test_missing_credentials_are_a_clear_configuration_error(sandbox):
    with pytest.raises(ProviderBadPayload, match="client_secret"):
        AcronisClient.from_config({"base_url": sandbox.url}, {"client_id": "x"})


def test_a_base_url_that_already_names_the_api_is_accepted(connect, sandbox):
    client = connect(base_url=f"{sandbox.url}/api/advanced-automation/v1/")

    client.check()

    assert client.root_url == sandbox.url


def test_check_costs_one_token_and_one_invoice(connect, sandbox):
    connect().check()

    assert [path for _, path in sandbox.app.calls()] == ["/api/2/idp/token", OVERVIEW]


def test_list_accounts_gives_each_customer_once(connect, acronis):
    accounts = connect().list_accounts()

    assert len(accounts) == acronis.config.acronis_customers
    assert len({account.id for account in accounts}) == len(accounts)
    assert "Müller & Söhne GmbH" in {account.name for account in accounts}
    assert {account.currency for account in accounts} == {"EUR"}


def test_the_configured_currency_is_applied(connect):
    page = connect(currency="chf").invoice_overview(page=1, page_size=5)

    assert {invoice.currency for invoice in page.invoices} == {"CHF"}


def test_pdf_download_returns_the_pdf(connect):
    client = connect()
    invoice = client.invoice_overview(page=1, page_size=1).invoices[0]

    pdf = client.download_pdf(invoice)

    assert pdf.startswith(b"%PDF")
    assert invoice.number.encode() in pdf


def test_pdf_of_an_unknown_invoice_is_not_found(connect):
    client = connect()
    invoice = client.invoice_overview(page=1, page_size=1).invoices[0]

    with pytest.raises(ProviderNotFound):
        client.download_pdf(_replace_id(invoice, "0a0b0c0d-0000-4000-8000-000000000000"))


def _replace_id(invoice, new_id):
    from dataclasses import replace

    return replace(invoice, provider_id=new_id)


@pytest.fixture(scope="module")
def private_server() -> Iterator[SandboxServer]:
    """A sandbox of its own for tests that change invoice state (the shared one stays clean)."""
    app = SandboxApp(SandboxConfig(acronis_customers=6, acronis_months=4, seed=7))
    server = SandboxServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def private_sandbox(private_server, fast_http) -> Iterator[tuple[SandboxServer, AcronisClient]]:
    private_server.app.reset()
    config, credentials = private_server.app.acronis.connection(private_server.url)
    client = AcronisClient.from_config(config, credentials, **fast_http)
    yield private_server, client
    client.close()
    private_server.app.reset()


def test_confirm_payment_marks_the_invoice_paid(private_sandbox):
    _, client = private_sandbox
    unpaid = client.invoice_overview(page=1, page_size=1, payment_status=False).invoices[0]

    first_day = dt.datetime.now(dt.UTC).date()
    client.confirm_payment(unpaid)
    last_day = dt.datetime.now(dt.UTC).date()  # the UTC day may turn during the call

    (after,) = client.invoice_overview(page=1, page_size=5, invoice_number=unpaid.number).invoices
    assert (after.provider_id, after.paid, after.amount_due) == (unpaid.provider_id, True, 0)
    assert after.payment_date in {first_day, last_day}


def test_confirm_payment_of_an_unknown_invoice_is_not_found(private_sandbox):
    _, client = private_sandbox

    unpaid = client.invoice_overview(page=1, page_size=1, payment_status=False).invoices[0]

    with pytest.raises(ProviderNotFound):
        client.confirm_payment(_replace_id(unpaid, "0a0b0c0d-0000-4000-8000-000000000000"))


def test_confirm_payment_is_never_retried_blindly(private_sandbox):
    server, client = private_sandbox
    unpaid = client.invoice_overview(page=1, page_size=1, payment_status=False).invoices[0]
    server.app.reset()
    server.app.faults.add("status", status=502, times=1)

    with pytest.raises(ProviderUnavailable):
        client.confirm_payment(unpaid)

    assert server.app.calls() == [("POST", OVERVIEW)]
