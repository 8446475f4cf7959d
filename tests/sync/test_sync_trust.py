"""Data you can trust over time: nothing marked gone that the provider still has, and one
bad item or account never stalls the rest of the mirror (real clients, the sandbox)."""

from __future__ import annotations

import datetime as dt

import pytest

from invoices.clients import connection_client
from invoices.models import Connection, Invoice, SyncRun, SyncState
from invoices.providers.masstack import madrid_today
from invoices.sync import connection_sync

from ..conftest import FAST_HTTP

pytestmark = pytest.mark.django_db

OVERVIEW = "/api/advanced-automation/v1/InvoiceOverview"


def sandbox_connection(sandbox, provider: str, **config: object) -> Connection:
    base, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    return Connection.objects.create(
        provider=provider, name=provider, config={**base, **config}, credentials=credentials
    )


def sync(connection: Connection, **client_options: object) -> SyncRun:
    """Sync with the connection's own client, built with `client_options` (test seams)."""
    with connection_client(connection, **FAST_HTTP, **client_options) as client:
        return connection_sync(connection=connection, client=client)


def gone(connection: Connection) -> set[str]:
    return set(
        Invoice.objects.filter(connection=connection, missing=True).values_list("number", flat=True)
    )


@pytest.fixture
def masstack(sandbox):
    stand_in = sandbox.app.masstack
    stand_in.today_override = madrid_today()  # one day for the whole test
    return stand_in


# -- MasStack: what the listing did not ask for is not gone ---------------------------


def test_masstack_invoices_are_not_marked_gone_as_the_days_pass(sandbox, masstack):
    """400 days later, with nothing changed upstream, every invoice is still there."""
    connection = sandbox_connection(sandbox, "masstack")
    first = sync(connection)
    later = masstack.today_override + dt.timedelta(days=400)

    run = sync(connection, today=lambda: later)

    assert first.state == SyncState.SUCCEEDED, first.error
    assert (run.state, run.missing, run.unchanged) == (SyncState.SUCCEEDED, 0, first.created)
    assert gone(connection) == set()


def test_invoices_before_a_later_start_date_are_left_as_they_were(sandbox, masstack):
    connection = sandbox_connection(sandbox, "masstack")
    first = sync(connection)
    since = masstack.today_override - dt.timedelta(days=180)
    connection.config = {**connection.config, "since": since.isoformat()}
    connection.save()

    run = sync(connection)

    older = Invoice.objects.filter(connection=connection, issue_date__lt=since)
    assert older.count() > 20
    assert (run.state, run.missing) == (SyncState.SUCCEEDED, 0)
    assert run.unchanged < first.created  # only the last half year was read
    assert gone(connection) == set()


def test_the_masstack_listing_reaches_back_at_least_ten_years(sandbox, masstack):
    connection = sandbox_connection(sandbox, "masstack")
    today = masstack.today_override

    with connection_client(connection, today=lambda: today) as client:
        oldest = client.windows()[0][0]

    assert oldest <= today.replace(year=today.year - 10) + dt.timedelta(days=1)


def test_an_api_that_reads_end_date_as_exclusive_still_gives_every_invoice(sandbox, masstack):
    """Windows overlap by a day: an invoice dated on a window's last day is still read
    (the sandbox's invoices are dated the 1st, and the windows here end on the 1st)."""
    masstack.end_exclusive = True
    masstack.today_override = today = dt.date(2026, 12, 15)
    since = dt.date(2024, 12, 2)
    connection = sandbox_connection(sandbox, "masstack", since=since.isoformat())
    expected = {
        f"{account}/{row.number}"
        for account in masstack.accounts
        for row in masstack.invoices(account)
        if row.issue_date >= since
    }

    first = sync(connection, today=lambda: today)
    again = sync(connection, today=lambda: today)

    listed = set(
        Invoice.objects.filter(connection=connection).values_list("provider_id", flat=True)
    )
    assert listed == expected
    assert any(provider_id.split("/")[1].startswith("FA2025-012") for provider_id in listed)
    assert (first.state, again.missing) == (SyncState.SUCCEEDED, 0)


# -- listings that contradict themselves ------------------------------------------------


def test_an_empty_acronis_page_before_the_last_marks_nothing_gone(sandbox):
    connection = sandbox_connection(sandbox, "acronis")
    first = sync(connection)
    sandbox.app.acronis.empty_pages = {3}

    run = sync(connection)

    assert first.state == SyncState.SUCCEEDED
    assert (run.state, run.missing) == (SyncState.PARTIAL, 0)
    assert run.unchanged == first.created - 100  # the other pages were read and kept
    assert "page 3 of" in run.problems[0]["reason"]
    assert "nothing was marked gone" in run.problems[0]["reason"]
    assert gone(connection) == set()


def test_an_acronis_total_that_changes_while_reading_is_an_incomplete_listing(sandbox):
    connection = sandbox_connection(sandbox, "acronis")
    sandbox.app.acronis.found_drift = (4, 7)  # from page 4 on, 7 more are announced

    run = sync(connection)

    assert run.state == SyncState.PARTIAL
    assert "changed from" in run.problems[0]["reason"]


def test_a_hostway_account_that_comes_back_empty_is_not_emptied_in_the_mirror(sandbox):
    hostway = sandbox.app.hostway
    connection = sandbox_connection(sandbox, "hostway")
    sync(connection)
    emptied = hostway.account_ids[1]
    held = hostway.invoice_counts[emptied]
    hostway.invoices[emptied] = []

    run = sync(connection)

    assert (run.state, run.missing) == (SyncState.PARTIAL, 0)
    assert run.problems == [
        {
            "what": f"account {emptied}",
            "reason": f"The provider listed no invoices here, while the mirror holds {held}; "
            "so as not to lose them by mistake, none was marked gone upstream.",
        }
    ]
    assert gone(connection) == set()


def test_invoices_really_gone_from_a_covered_account_are_still_marked(sandbox):
    hostway = sandbox.app.hostway
    connection = sandbox_connection(sandbox, "hostway")
    sync(connection)
    account = hostway.account_ids[0]
    removed = hostway.invoices[account].pop()

    run = sync(connection)

    assert (run.state, run.missing) == (SyncState.SUCCEEDED, 1)
    assert gone(connection) == {removed["invoiceNumber"]}


# -- Acronis paging on what the server returned ----------------------------------------


@pytest.mark.parametrize(
    "omitted",
    [
        {"AmountOfPages"},
        {"AmountOfPages", "AmountRecordsFound", "AmountTotalItems"},
    ],
    ids=["records-found-only", "no-paging-figures"],
)
def test_a_server_that_serves_fewer_than_asked_is_read_to_the_end(sandbox, omitted):
    acronis = sandbox.app.acronis
    acronis.paging_omitted = omitted
    acronis.page_size_cap = 40
    connection = sandbox_connection(sandbox, "acronis", page_size=100)

    run = sync(connection)

    assert (run.state, run.created) == (SyncState.SUCCEEDED, acronis.total)


def test_acronis_pages_are_read_in_a_stable_order(sandbox):
    """Invoices created while a sync reads land on the last pages instead of shifting
    the pages still to come (which would skip one invoice and read another twice)."""
    connection = sandbox_connection(sandbox, "acronis")

    sync(connection)

    queries = [query for path, query in sandbox.app.queries if path == OVERVIEW]
    assert len(queries) > 5
    assert all("SortColumn=CreationDate&SortDirection=Asc" in query for query in queries)


# -- one bad item or account never stalls the rest -------------------------------------


def test_one_unreadable_acronis_invoice_is_reported_and_the_rest_written(sandbox):
    acronis = sandbox.app.acronis
    connection = sandbox_connection(sandbox, "acronis")
    sync(connection)
    bad = acronis.invoice(7)
    acronis.broken = {7: {"Total": "n/a"}}

    run = sync(connection)

    assert (run.state, run.unchanged, run.missing) == (SyncState.PARTIAL, acronis.total - 1, 0)
    assert run.problems == [
        {
            "what": f"Acronis invoice {bad['InvoiceNumber']}",
            "reason": f"Acronis invoice {bad['Id']}.Total is not an amount",
        }
    ]
    assert gone(connection) == set()  # not seen this time, but not gone either


def test_a_hostway_invoice_without_a_currency_is_skipped_not_the_whole_sync(sandbox):
    hostway = sandbox.app.hostway
    account = hostway.account_ids[0]
    bad = hostway.invoices[account][3]
    del bad["currency"]
    connection = sandbox_connection(sandbox, "hostway", accounts=[account])

    run = sync(connection)

    assert run.state == SyncState.PARTIAL
    assert run.created == hostway.invoice_counts[account] - 1
    assert run.problems[0]["what"] == f"Hostway invoice {account}/{bad['invoiceNumber']}"
    assert "has no currency" in run.problems[0]["reason"]


def test_a_hostway_connection_can_name_the_currency_of_invoices_that_name_none(sandbox):
    hostway = sandbox.app.hostway
    account = hostway.account_ids[0]
    bad = hostway.invoices[account][3]
    del bad["currency"]
    connection = sandbox_connection(sandbox, "hostway", accounts=[account], currency="USD")

    run = sync(connection)

    assert (run.state, run.created) == (SyncState.SUCCEEDED, hostway.invoice_counts[account])
    invoice = Invoice.objects.get(connection=connection, number=bad["invoiceNumber"])
    assert invoice.currency == "USD"


def test_an_account_that_cannot_be_read_keeps_its_invoices_and_the_others_are_read(sandbox):
    hostway = sandbox.app.hostway
    first, second, third = hostway.account_ids[:3]
    connection = sandbox_connection(sandbox, "hostway", accounts=[first, second, third])
    sync(connection)
    del hostway.invoices[second]  # now answered 404
    changed = hostway.invoices[third][0]
    changed["amountDue"] = changed["amount"]

    run = sync(connection)

    assert run.state == SyncState.PARTIAL
    assert run.problems[0]["what"] == f"Hostway account {second}"
    assert "Resource not found" in run.problems[0]["reason"]
    assert (run.missing, run.updated) == (0, 1)  # the account after it was read too
    assert gone(connection) == set()


def test_when_no_account_can_be_read_the_sync_failed(sandbox):
    connection = sandbox_connection(sandbox, "hostway", accounts=["test000001", "test000002"])

    run = sync(connection)

    assert run.state == SyncState.FAILED
    assert run.error.startswith("Nothing could be read: Hostway account test000001")
