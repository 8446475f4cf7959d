"""Where an Acronis listing ends, and when it contradicts itself: the client's real paging
over crafted `InvoiceOverview` answers (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from invoices.providers.acronis import AcronisClient
from invoices.providers.types import Coverage, InvoicePage

from ..sync.fakes import invoice

ASKED = 100  # the PageSize the client asks for


class Answers(AcronisClient):
    """An AcronisClient whose overview answers are given: entry n is page n+1."""

    def __init__(self, answers: list[InvoicePage]) -> None:  # no HTTP at all
        self.answers = answers
        self.page_size = ASKED
        self.asked: list[int] = []

    def invoice_overview(self, *, page: int, **filters: Any) -> InvoicePage:
        self.asked.append(page)
        if page <= len(self.answers):
            return self.answers[page - 1]
        return InvoicePage((), page)


def answers(sizes: list[int], *, pages: int | None = None, items: int | None = None):
    """Pages of `sizes` invoices, each announcing `pages` and `items` (None: nothing)."""
    out, start = [], 0
    for number, size in enumerate(sizes, start=1):
        invoices = tuple(invoice(n) for n in range(start, start + size))
        out.append(InvoicePage(invoices, number, total_pages=pages, total_items=items))
        start += size
    return out


def read(client: Answers) -> tuple[list[InvoicePage], list[str]]:
    pages = list(client.iter_invoice_pages())
    return pages, [problem.reason for page in pages for problem in page.problems]


def test_a_consistent_listing_is_covered_by_its_last_page():
    client = Answers(answers([100, 100, 30], pages=3, items=230))

    pages, problems = read(client)

    assert client.asked == [1, 2, 3]
    assert [page.covers for page in pages] == [(), (), (Coverage(),)]
    assert problems == []


@pytest.mark.parametrize(
    ("sizes", "pages", "items", "contradiction"),
    [
        ([100, 100, 0, 100], 4, 300, "page 3 of 4 was empty"),
        ([100, 100, 100, 0], 4, 400, "page 4 of 4 was empty"),
        ([100, 60, 100], 3, 260, "page 2 had 60 invoices where the pages before it had 100"),
        ([100, 100, 40], 3, 250, "250 invoices were announced and 240 arrived"),
    ],
    ids=["empty-page-before-the-last", "empty-last-page", "short-page", "fewer-than-announced"],
)
def test_a_listing_that_contradicts_what_it_announced_covers_nothing(
    sizes, pages, items, contradiction
):
    client = Answers(answers(sizes, pages=pages, items=items))

    read_pages, problems = read(client)

    assert client.asked == list(range(1, pages + 1))  # every page is still read
    assert sum(len(page.invoices) for page in read_pages) == sum(sizes)
    assert all(not page.covers for page in read_pages)
    assert len(problems) == 1
    assert contradiction in problems[0]
    assert problems[0].endswith("nothing was marked gone upstream in this run.")
    assert read_pages[-1].problems[0].whole_listing


def test_an_announced_total_that_changes_while_reading_covers_nothing():
    first, second, third, fourth = answers([100, 100, 100, 50], pages=4, items=350)
    first = InvoicePage(first.invoices, 1, total_pages=3, total_items=250)
    client = Answers([first, second, third, fourth])

    _, problems = read(client)

    assert client.asked == [1, 2, 3, 4]
    assert "the number of pages changed from 3 to 4 while reading" in problems[0]
    assert "the number of invoices changed from 250 to 350" in problems[0]


def test_without_paging_figures_a_server_that_serves_fewer_than_asked_is_read_on():
    """The server caps PageSize at 40 silently: a page of 40 is not the last one."""
    client = Answers(answers([40, 40, 40, 13]))

    pages, problems = read(client)

    assert client.asked == [1, 2, 3, 4]
    assert sum(len(page.invoices) for page in pages) == 133
    assert (pages[-1].covers, problems) == ((Coverage(),), [])


def test_without_paging_figures_a_short_first_page_is_confirmed_by_an_empty_second():
    client = Answers(answers([30]))

    pages, problems = read(client)

    assert client.asked == [1, 2]
    assert (pages[-1].covers, problems) == ((Coverage(),), [])


def test_with_the_record_count_alone_the_listing_ends_where_the_count_is_reached():
    client = Answers(answers([40, 40, 20], items=100))

    pages, problems = read(client)

    assert client.asked == [1, 2, 3]
    assert (pages[-1].covers, problems) == ((Coverage(),), [])


def test_an_empty_listing_is_covered_and_has_no_problem():
    client = Answers([InvoicePage((), 1, total_pages=0, total_items=0)])

    pages, problems = read(client)

    assert client.asked == [1]
    assert (pages[-1].covers, problems) == ((Coverage(),), [])
