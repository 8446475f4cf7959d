"""MasStackClient against the live sandbox: JWT exchange, windows, links, errors."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from invoices.providers.errors import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderNotFound,
    ProviderUnavailable,
)
from invoices.providers.masstack import MasStackClient, madrid_today


@pytest.fixture
def masstack(sandbox):
    stand_in = sandbox.app.masstack
    # One day for the whole test: Madrid's midnight may not pass between the sandbox's
    # answer and the data the test compares it with (the sandbox resets it after).
    stand_in.today_override = madrid_today()
    return stand_in


@pytest.fixture
def connection(sandbox, masstack):
    return masstack.connection(sandbox.url)


@pytest.fixture
def client(connection, fast_http):
    config, credentials = connection
    with MasStackClient.from_config(config, credentials, **fast_http) as client:
        yield client


@pytest.fixture(scope="module")
def foreign_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_one_token_serves_billing_and_customers_calls(sandbox, client, masstack):
    issued = sandbox.app.tokens.issued
    account = masstack.accounts[0]

    client.billing_details(account)
    next(client.iter_invoice_pages())
    client.public_link(account_id=account, invoice_id=masstack.invoices(account)[0].number)

    assert sandbox.app.tokens.issued == issued + 1
    assert len(sandbox.app.calls("/oauth2/token")) == 1


def test_service_account_with_another_key_is_refused(connection, fast_http, foreign_key_pem):
    config, credentials = connection
    credentials["service_account"]["private_key"] = foreign_key_pem
    client = MasStackClient.from_config(config, credentials, **fast_http)

    with pytest.raises(ProviderAuthError) as caught:
        client.check()

    message = str(caught.value)
    assert "signature" in message
    assert "PRIVATE KEY" not in message
    assert foreign_key_pem.splitlines()[1][:20] not in message
    assert "eyJ" not in message  # no JWT (assertion) either


def test_service_account_without_private_key_is_a_configuration_error(connection):
    config, credentials = connection
    del credentials["service_account"]["private_key"]

    with pytest.raises(ProviderBadPayload, match="private_key"):
        MasStackClient.from_config(config, credentials)


def test_listing_reads_every_window_of_every_account_once(sandbox, client, masstack):
    pages = list(client.iter_invoice_pages())

    windows = len(client.windows())
    accounts = len(masstack.accounts)
    assert windows == 11  # ten years of history by default, at most a year per call
    assert [page.number for page in pages] == list(range(1, windows * accounts + 1))
    assert {page.total_pages for page in pages} == {windows * accounts}
    ids = [invoice.provider_id for page in pages for invoice in page.invoices]
    expected = {
        f"{account}/{row.number}"
        for account in masstack.accounts
        for row in masstack.invoices(account)
    }
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    assert len(sandbox.app.calls("/v2/")) == windows * accounts
    assert len(sandbox.app.calls()) == windows * accounts + 1  # + the one token call


def test_invoices_on_a_window_edge_are_listed_once(sandbox, client, masstack):
    # The sandbox answers an invoice for every window its cycle touches.
    account = masstack.accounts[0]
    client.accounts = [account]

    answered = 0
    for start, end in client.windows():
        answered += sum(
            1
            for row in masstack.invoices(account)
            if start <= row.issue_date <= end or (row.cycle_start <= end and row.cycle_end >= start)
        )
    listed = [invoice.number for invoice in client.iter_invoices()]

    assert answered > len(listed)
    assert sorted(listed) == sorted(row.number for row in masstack.invoices(account))


def test_listed_invoice_matches_the_provider(client, masstack):
    account = masstack.accounts[2]
    client.accounts = [account]
    rows = {row.number: row for row in masstack.invoices(account)}

    invoices = list(client.iter_invoices())

    for invoice in invoices:
        row = rows[invoice.number]
        assert invoice.total == row.value
        assert invoice.issue_date == row.issue_date
        assert invoice.paid is (row.status == "PAGADO")
        assert invoice.currency == "EUR"
    assert {invoice.raw_status for invoice in invoices} >= {"PAGADO", "PENDIENTE"}


def test_since_limits_the_history_read(sandbox, connection, fast_http, masstack):
    config, credentials = connection
    today = dt.date(2024, 6, 15)
    config["since"] = "2024-01-01"
    client = MasStackClient.from_config(config, credentials, today=lambda: today, **fast_http)

    assert client.windows() == [(dt.date(2024, 1, 1), today)]


def test_billing_details_gives_the_next_billing_date(client, masstack):
    for account in masstack.accounts[:2]:  # one Madrid-midnight, one nanosecond form
        details = client.billing_details(account)

        assert details.account_id == account
        assert details.next_billing_date == masstack.next_billing_date(account)
        assert details.next_billing_date >= dt.date.today() - dt.timedelta(days=1)


def test_public_link_for_a_real_invoice(client, masstack):
    account = masstack.accounts[0]
    invoice = next(iter(client.iter_invoices()))

    link = client.public_link(account_id=account, invoice_id=invoice.provider_id)

    assert link.is_https
    assert link.url.endswith(".pdf")
    assert link.expires_at > dt.datetime.now(dt.UTC)


def test_plain_http_link_is_passed_on_for_the_ui_to_refuse(client, masstack):
    account = masstack.http_link_account
    number = masstack.invoices(account)[0].number

    link = client.public_link(account_id=account, invoice_id=number)

    assert link.url.startswith("http://")
    assert not link.is_https


def test_unknown_invoice_is_not_found_with_the_provider_message(client, masstack):
    with pytest.raises(ProviderNotFound) as caught:
        client.public_link(account_id=masstack.accounts[0], invoice_id="FA1999-000000")

    assert "Invoice FA1999-000000 not found" in str(caught.value)
    assert caught.value.status == 404


def test_bad_gateway_beyond_the_retries_is_unavailable(sandbox, client, masstack, fast_http):
    client.check()  # token first: the fault is for the data call
    sandbox.app.faults.add("status", status=502, times=fast_http["max_retries"] + 1)

    with pytest.raises(ProviderUnavailable) as caught:
        client.billing_details(masstack.accounts[0])

    assert "A third party connection is not responding" in str(caught.value)
    assert caught.value.status == 502
