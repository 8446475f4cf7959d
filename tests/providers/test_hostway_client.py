"""HostwayClient against the live sandbox (real HTTP on a real socket)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator

import pytest

from invoices.providers.errors import ProviderAuthError, ProviderBadPayload, ProviderNotFound
from invoices.providers.hostway import HostwayClient
from invoices.providers.registry import build_client
from invoices.sandbox.hostway import SPECIAL_DESCRIPTION


@pytest.fixture
def hostway(sandbox):
    return sandbox.app.hostway


@pytest.fixture
def connect(sandbox, fast_http):
    def connect(credentials: dict[str, str] | None = None, **config: object) -> HostwayClient:
        base_config, base_credentials = sandbox.app.hostway.connection(sandbox.url)
        client = build_client(
            "hostway", {**base_config, **config}, credentials or base_credentials, **fast_http
        )
        assert isinstance(client, HostwayClient)
        return client

    return connect


@pytest.fixture
def last_page_next(hostway) -> Iterator[None]:
    """Lets a test make the sandbox emit a bad `next` link; always switched back off."""
    yield
    hostway.last_page_next = None


def invoice_calls(sandbox, account_id: str) -> int:
    return len(sandbox.app.calls(f"/accounts/{account_id}/invoices"))


def test_sync_reads_every_invoice_of_every_account_exactly_once(connect, hostway):
    invoices = list(connect().iter_invoices())

    assert Counter(invoice.account_id for invoice in invoices) == hostway.invoice_counts
    assert len({invoice.provider_id for invoice in invoices}) == len(invoices)


def test_page_numbers_run_across_the_whole_sync(connect):
    pages = list(connect().iter_invoice_pages())
    numbers = [page.number for page in pages if page.invoices]

    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) > 5  # several accounts, one of them over two pages
    # After each account, a page without invoices says it was read to its end; it
    # repeats the number of the page before it.
    markers = [(before, page) for before, page in itertools.pairwise(pages)
               if not page.invoices]  # fmt: skip
    assert all(page.number == before.number and page.covers for before, page in markers)


def test_absolute_and_relative_links_are_all_followed(sandbox, connect, hostway):
    assert set(hostway.link_style.values()) == {"absolute", "root", "query"}

    invoices = list(connect(page_size=7).iter_invoices())

    assert Counter(invoice.account_id for invoice in invoices) == hostway.invoice_counts
    for account_id, count in hostway.invoice_counts.items():
        assert invoice_calls(sandbox, account_id) == math.ceil(count / 7)


def test_page_size_over_400_is_redirected_once_and_complete(sandbox, connect, hostway):
    account = hostway.big_account

    invoices = list(connect(page_size=500, accounts=[account]).iter_invoices())

    assert len(invoices) == hostway.invoice_counts[account]
    assert invoice_calls(sandbox, account) == 2  # the 303 to pageSize=400, then the page


def test_listing_without_paging_follows_the_303_to_pages_of_100(sandbox, connect, hostway):
    account = hostway.big_account
    start = f"{sandbox.url}/accounts/{account}/invoices"

    pages = list(connect().account_invoice_pages(account, start_url=start))

    assert [len(page) for page in pages] == [100, hostway.invoice_counts[account] - 100]
    assert invoice_calls(sandbox, account) == 3


def test_starting_past_the_end_reads_from_the_start_once(sandbox, connect, hostway):
    account = hostway.account_ids[0]
    start = f"{sandbox.url}/accounts/{account}/invoices?page=99&pageSize=10"

    pages = list(connect().account_invoice_pages(account, start_url=start))

    numbers = [invoice.number for page in pages for invoice in page]
    assert len(numbers) == len(set(numbers)) == hostway.invoice_counts[account]


@pytest.mark.parametrize("bad_next", ["past_end", "start"])
def test_bad_next_link_on_the_last_page_ends_the_listing(
    sandbox, connect, hostway, last_page_next, bad_next
):
    hostway.last_page_next = bad_next
    account = hostway.big_account

    invoices = list(connect(page_size=50, accounts=[account]).iter_invoices())

    assert len(invoices) == len({i.number for i in invoices}) == hostway.invoice_counts[account]
    pages = math.ceil(hostway.invoice_counts[account] / 50)
    assert invoice_calls(sandbox, account) <= pages + 1  # at most the one 303 back to start


def test_a_listing_that_never_ends_is_cut_off(connect, hostway):
    client = connect(page_size=7, accounts=[hostway.big_account])
    client.max_pages = 3

    with pytest.raises(ProviderBadPayload, match="more than 3 pages"):
        list(client.account_invoice_pages(hostway.big_account))


def test_an_account_cut_off_is_a_problem_of_that_account_only(connect, hostway):
    big, other = hostway.big_account, hostway.account_ids[0]
    client = connect(page_size=40, accounts=[big, other])
    client.max_pages = 3  # the big account has more than 120 invoices

    pages = list(client.iter_invoice_pages())

    problems = [problem for page in pages for problem in page.problems]
    assert [(p.account_id, "more than 3 pages" in p.reason) for p in problems] == [(big, True)]
    assert [c.account_id for page in pages for c in page.covers] == [other]
    assert {i.account_id for page in pages for i in page.invoices} == {big, other}


def test_credentials_are_never_sent_to_another_origin(sandbox, connect, hostway):
    client = connect()
    start = "http://elsewhere.invalid/accounts/a1/invoices?page=1&pageSize=10"

    with pytest.raises(ProviderBadPayload, match="origin"):
        list(client.account_invoice_pages(hostway.account_ids[0], start_url=start))
    assert sandbox.app.calls() == []


def test_wrong_password_is_an_auth_error_that_does_not_show_it(connect):
    client = connect({"username": "sandbox", "password": "hunter2-wrong"})

    with pytest.raises(ProviderAuthError) as raised:
        list(client.iter_invoices())

    assert raised.value.status == 401
    assert "hunter2-wrong" not in str(raised.value)


def test_unknown_account_is_not_found_with_the_servers_message(connect):
    with pytest.raises(ProviderNotFound, match="Resource not found"):
        list(connect().account_invoice_pages("test000000"))


def test_an_unknown_account_is_reported_and_the_others_are_read(connect, hostway):
    first, second = hostway.account_ids[:2]
    pages = list(connect(accounts=[first, "test000000", second]).iter_invoice_pages())

    problems = [problem for page in pages for problem in page.problems]
    assert [(p.account_id, p.what) for p in problems] == [
        ("test000000", "Hostway account test000000")
    ]
    assert "Resource not found" in problems[0].reason
    assert [c.account_id for page in pages for c in page.covers] == [first, second]
    counts = Counter(i.account_id for page in pages for i in page.invoices)
    assert counts == {first: hostway.invoice_counts[first], second: hostway.invoice_counts[second]}


def test_list_accounts_returns_every_account_with_its_currency(connect, hostway):
    accounts = connect().list_accounts()

    assert [account.id for account in accounts] == hostway.account_ids
    assert {account.currency for account in accounts} == {"USD", "EUR"}


def test_one_invoice_matches_the_listing(connect, hostway):
    client = connect(accounts=[hostway.account_ids[1]])
    listed = next(client.iter_invoices())

    assert client.invoice(listed) == listed


def test_non_ascii_and_html_description_arrives_intact(connect):
    descriptions = {invoice.description for invoice in connect().iter_invoices()}

    assert SPECIAL_DESCRIPTION in descriptions


def test_pdf_download_is_a_pdf(connect, hostway):
    client = connect(accounts=[hostway.account_ids[0]])
    invoice = next(client.iter_invoices())

    assert client.download_pdf(invoice).startswith(b"%PDF")
