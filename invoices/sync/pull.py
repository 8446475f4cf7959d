"""Pulling a provider's pages: the next ones fetched while the arrived ones are written.

Pages are written in transactions of about `WRITE_INVOICES` invoices, so memory stays
bounded and a failure keeps everything that arrived before it (and everything the mirror
already had). Meanwhile the run's lease is kept (`runs.Lease`), also while a slow
provider keeps the run waiting.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..models import SyncRun
from ..providers import ProviderError
from ..providers import types as domain
from ..providers.base import ProviderClient
from .gone import Listing
from .runs import Lease
from .write import Lookups, database_statistics_refresh, pages_write

Progress = Callable[[SyncRun], None]

# Pages are written in transactions of at least this many invoices: each commit writes
# every index page the transaction touched, so the fewer commits the less is written
# (at 100,000 invoices on SQLite, 1,000 per transaction cost 1.4 to 2 times 5,000).
# A transaction holds the write lock for well under a second. A failed run still keeps
# every page written before it failed.
WRITE_INVOICES = 5_000
# ...or once the oldest page waiting has waited this long (looked at as pages arrive):
# a slow provider's pages are written, and the run's progress with them, without
# waiting for thousands.
WRITE_SECONDS = 5.0
# At most this many pages fetched ahead while others are written (see `fetched_ahead`).
FETCH_AHEAD = 100


@contextlib.contextmanager
def fetched_ahead(
    pages: Iterator[domain.InvoicePage], *, waiting: Callable[[], None], every: float
) -> Iterator[Iterator[domain.InvoicePage]]:
    """`pages`, with the next ones fetched and parsed in a thread while the caller
    writes: the provider's answer time overlaps the database's write time instead of
    adding to it (SQLite and psycopg release the GIL while they work).

    About one write's worth of invoices (`WRITE_INVOICES`, at most `FETCH_AHEAD` pages)
    waits, so memory stays bounded while the next write's pages arrive during this
    one; one thread advances the iterator, one page after the other. While the caller
    waits for a page, `waiting` is called every `every` seconds (the lease). An error
    fetching a page is raised where that page is asked for; when the caller stops early,
    the fetch under way is awaited, the rest cancelled and the iterator closed.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-fetch") as fetcher:

        def result(future: Future[domain.InvoicePage | None]) -> domain.InvoicePage | None:
            while True:
                try:
                    return future.result(timeout=every)
                except TimeoutError:
                    waiting()

        def ahead() -> Iterator[domain.InvoicePage]:
            pending = deque([fetcher.submit(next, pages, None)])
            largest = 1
            while (page := result(pending.popleft())) is not None:
                largest = max(largest, len(page.invoices))
                depth = min(FETCH_AHEAD, max(1, -(-WRITE_INVOICES // largest)))
                while len(pending) < depth:
                    pending.append(fetcher.submit(next, pages, None))
                yield page

        try:
            yield ahead()
        finally:
            fetcher.shutdown(wait=True, cancel_futures=True)
            close = getattr(pages, "close", None)
            if close is not None:
                close()


def pull(run: SyncRun, client: ProviderClient, lease: Lease, progress: Progress | None) -> Listing:
    """Write every page `client` lists; what the listing said about itself is returned.

    Raises what the provider raised (after writing what arrived before), or `LeaseLost`.
    """
    lookups = Lookups(run.connection)
    listing = Listing()
    arrived: list[domain.InvoicePage] = []
    waiting = writes = 0
    oldest = 0.0  # when the first page waiting to be written arrived

    def write() -> None:
        listing.sighted.add_all(pages_write(run, arrived, lookups))
        lease.renewed()
        for page in arrived:
            listing.add(page)
        if progress is not None and arrived:
            progress(run)

    def while_waiting() -> None:
        if lease.keep() and progress is not None:
            progress(run)  # what the run waits for, as it starts waiting

    # Looked at every second at least while waiting: a wait the provider asks for shows soon.
    every = min(1.0, lease.every)
    with fetched_ahead(client.iter_invoice_pages(), waiting=while_waiting, every=every) as pages:
        try:
            for page in pages:
                if not arrived:
                    oldest = time.monotonic()
                arrived.append(page)
                waiting += len(page.invoices)
                if waiting >= WRITE_INVOICES or time.monotonic() - oldest >= WRITE_SECONDS:
                    write()
                    arrived, waiting = [], 0
                    writes += 1
                    if writes & (writes - 1) == 0:
                        # 1, 2, 4, 8… writes: statistics keep up with a table this
                        # sync grows, at a cost that does not grow with it.
                        database_statistics_refresh(lookups_only=True)
                else:
                    while_waiting()
        except ProviderError:
            # The provider failed part way: what it sent before is kept.
            write()
            raise
    write()
    return listing
