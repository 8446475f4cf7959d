"""Cross-site request forgery: Sync now (and logging out) needs the page's token.

Django's test client skips the CSRF check unless asked to enforce it, so every client
here is built with `enforce_csrf_checks=True`, as a browser on another site would be.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from invoices.models import SyncRun

from .factories import Mirror
from .pages import parse

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("invoices:invoice_list")


@pytest.fixture
def browser(mirror: Mirror) -> Client:
    """The partner admin (may sync Alpha) in a client that checks CSRF like a browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(mirror.users["partner"])
    return client


def sync_url(mirror: Mirror) -> str:
    return reverse("invoices:connection_sync", args=[mirror.alpha.pk])


def form_token(client: Client, mirror: Mirror) -> str:
    """The token in Alpha's Sync now form, as the list renders it."""
    panel = parse(client.get(LIST)).find("article", id=f"conn-{mirror.alpha.pk}")
    return panel.find("input", name="csrfmiddlewaretoken").attrs["value"]


def htmx_token(client: Client) -> str:
    """The token htmx sends as a header, from the page's `hx-headers`."""
    body = parse(client.get(LIST)).find("body")
    return json.loads(body.attrs["hx-headers"])["X-CSRFToken"]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain form"])
def test_sync_now_without_a_token_is_refused_and_queues_nothing(browser, mirror, htmx):
    browser.get(LIST)  # the CSRF cookie is set; only the token is missing

    response = browser.post(sync_url(mirror), **(HTMX if htmx else {}))

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_sync_now_with_a_forged_token_is_refused(browser: Client, mirror: Mirror):
    browser.get(LIST)

    response = browser.post(sync_url(mirror), {"csrfmiddlewaretoken": "x" * 64})

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_sync_now_with_the_token_from_the_page_queues_a_run(browser: Client, mirror: Mirror):
    token = form_token(browser, mirror)

    response = browser.post(sync_url(mirror), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert SyncRun.objects.get().connection == mirror.alpha


def test_sync_now_from_htmx_with_the_pages_header_token_queues_a_run(browser, mirror):
    token = htmx_token(browser)

    response = browser.post(sync_url(mirror), HTTP_X_CSRFTOKEN=token, **HTMX)

    assert response.status_code == 200
    assert "Sync of Alpha queued." in response.content.decode()
    assert SyncRun.objects.get().connection == mirror.alpha


def test_log_out_without_a_token_is_refused(browser: Client):
    browser.get(LIST)

    response = browser.post(reverse("logout"))

    assert response.status_code == 403
    assert browser.get(LIST).status_code == 200  # still logged in
