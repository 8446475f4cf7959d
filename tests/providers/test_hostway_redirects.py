"""Hostway paging redirects: a chain of 303s to ever-new URLs is cut off after a few hops.

A tiny server of our own answers every request with a 303 to a URL never seen before
(`?hop=N+1`); the client must give up with a ProviderBadPayload after
`MAX_REDIRECT_HOPS` hops instead of following it for ever. As a safety net for this
test, after `GIVE_UP_AFTER` requests the server serves an empty page, so a client
without a cap ends normally (and the test fails) instead of hanging.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from invoices.providers.errors import ProviderBadPayload
from invoices.providers.hostway import MAX_REDIRECT_HOPS
from invoices.providers.registry import build_client

GIVE_UP_AFTER = 50
EMPTY_PAGE = {"list": [], "links": []}


@dataclass
class RedirectingApp:
    """303 to `?hop=N+1` of the same path, for `hops` hops (None: for ever), then a page."""

    hops: int | None = None
    page: dict[str, Any] = field(default_factory=lambda: dict(EMPTY_PAGE))
    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.seen.append(request.full_path)
            count = len(self.seen)
        hop = int(parse_qs(request.query_string.decode()).get("hop", ["0"])[0])
        limit = GIVE_UP_AFTER if self.hops is None else self.hops
        if hop < limit and count < GIVE_UP_AFTER:
            response = Response(status=303, headers={"Location": f"{request.path}?hop={hop + 1}"})
        else:
            response = Response(json.dumps(self.page), mimetype="application/json")
        return response(environ, start_response)


@pytest.fixture
def server() -> Iterator[tuple[RedirectingApp, str]]:
    app = RedirectingApp()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def hostway(server):
    _, url = server
    client = build_client(
        "hostway", {"base_url": url}, {"username": "u", "password": "p"}, max_retries=0
    )
    yield client
    client.close()


def test_an_endless_303_chain_of_an_invoice_listing_is_cut_off(server, hostway):
    app, _ = server

    with pytest.raises(ProviderBadPayload, match="too many redirects"):
        list(hostway.account_invoice_pages("ACC-1"))

    # the page itself, then MAX_REDIRECT_HOPS hops: a bounded number of requests
    assert len(app.seen) == MAX_REDIRECT_HOPS + 1
    assert all(path.startswith("/accounts/ACC-1/invoices") for path in app.seen)


def test_an_endless_303_chain_of_the_account_listing_is_cut_off(server, hostway):
    app, _ = server

    with pytest.raises(ProviderBadPayload, match="too many redirects"):
        hostway.list_accounts()

    assert len(app.seen) == MAX_REDIRECT_HOPS + 1


def test_a_chain_within_the_cap_is_followed_to_its_page(server, hostway):
    app, _ = server
    app.hops = MAX_REDIRECT_HOPS
    app.page = {
        "list": [{"invoiceNumber": "H-1", "date": "2025-01-15", "amount": 12.5, "currency": "USD"}],
        "links": [],
    }

    pages = list(hostway.account_invoice_pages("ACC-1"))

    assert [[invoice.number for invoice in page] for page in pages] == [["H-1"]]
    assert len(app.seen) == MAX_REDIRECT_HOPS + 1
