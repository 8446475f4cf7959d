"""`http.FetchedAhead`: a listing's next page fetched in a thread while this one is read."""

from __future__ import annotations

import threading

import pytest

from invoices.providers.errors import ProviderUnavailable
from invoices.providers.http import FetchedAhead


class Fetches:
    def __init__(self, fail: int | None = None) -> None:
        self.asked: list[int] = []
        self.threads: list[str] = []
        self.fail = fail

    def __call__(self, number: int) -> str:
        self.asked.append(number)
        self.threads.append(threading.current_thread().name)
        if number == self.fail:
            raise ProviderUnavailable(f"page {number}: 503")
        return f"page {number}"


def test_a_page_fetched_ahead_is_fetched_once_in_the_thread_and_taken_in_turn():
    fetch = Fetches()
    with FetchedAhead(fetch, name="ahead-test") as pages:
        assert pages.take(1) == "page 1"
        pages.ahead(2)
        assert pages.take(2) == "page 2"
        assert pages.take(3) == "page 3"  # not fetched ahead: fetched now

    assert fetch.asked == [1, 2, 3]
    assert fetch.threads[1].startswith("ahead-test")
    assert not fetch.threads[0].startswith("ahead-test")
    assert not fetch.threads[2].startswith("ahead-test")


def test_an_error_fetching_ahead_is_raised_where_that_page_is_taken():
    fetch = Fetches(fail=2)
    with FetchedAhead(fetch) as pages:
        pages.take(1)
        pages.ahead(2)
        with pytest.raises(ProviderUnavailable, match="page 2: 503"):
            pages.take(2)


def test_an_error_on_a_page_never_taken_is_dropped_on_close():
    fetch = Fetches(fail=2)
    pages = FetchedAhead(fetch)
    pages.take(1)
    pages.ahead(2)

    pages.close()  # no error: page 2 was never asked for by the caller

    assert fetch.asked == [1, 2]
