"""The list answered from the page cache (invoices/page_cache.py): a repeated request
costs a few queries and no rendering, yet every write, to the invoices or to anything
else the page shows, shows on the very next request; no page crosses from one user or
session to another, and each answer carries a fresh CSRF token that works."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoices.models import Access, Role, SavedView, SyncRun
from invoices.notes import invoice_note_add
from invoices.services import user_columns_set
from invoices.sync import connection_data_changed

from .factories import Mirror

LIST = reverse("invoices:invoice_list")
HTMX = {"HTTP_HX_REQUEST": "true"}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ANY_TOKEN = re.compile(r'(?<=value=")[A-Za-z0-9]{64}(?=")|(?<="X-CSRFToken": ")[A-Za-z0-9]{64}')


def _html(client: Client, url: str = LIST, **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def _served_from_cache(client: Client, url: str = LIST, **headers: str) -> bool:
    # A rendered answer carries its template context; one from the cache has none.
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.context is None


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_a_repeated_request_is_answered_from_the_cache_in_a_few_queries(
    as_partner: Client, django_assert_max_num_queries, headers
):
    url = f"{LIST}?status=unpaid&sort=-total"
    first = as_partner.get(url, **headers)
    assert first.context is not None  # rendered

    with django_assert_max_num_queries(7):
        again = as_partner.get(url, **headers)

    assert again.context is None
    tokens_out = lambda html: ANY_TOKEN.sub("", html)  # noqa: E731
    assert tokens_out(again.content.decode()) == tokens_out(first.content.decode())
    assert again["Vary"] == first["Vary"] and "HX-Request" in again["Vary"]
    assert again["Content-Type"] == first["Content-Type"]


def test_the_htmx_swap_and_the_page_are_kept_apart(as_partner: Client):
    page = _html(as_partner)
    swap = _html(as_partner, **HTMX)
    assert "<html" in page and "<html" not in swap
    assert "<html" in _html(as_partner) and "<html" not in _html(as_partner, **HTMX)


def test_each_answer_carries_a_fresh_token_that_works(mirror: Mirror):
    client = Client(enforce_csrf_checks=True)
    client.force_login(mirror.users["partner"])
    first = _html(client)
    again = _html(client)
    tokens = TOKEN.findall(again)
    assert tokens and set(tokens).isdisjoint(TOKEN.findall(first))  # masked afresh
    assert '"X-CSRFToken": "' + tokens[0] + '"' in again  # htmx's header too
    posted = client.post(reverse("invoices:selection"), {"csrfmiddlewaretoken": tokens[-1],
                                                         "clear": "1"})  # fmt: skip
    assert posted.status_code in (200, 302, 303)


def test_no_page_crosses_to_another_user_or_session(mirror: Mirror):
    partner, finance = Client(), Client()
    partner.force_login(mirror.users["partner"])
    finance.force_login(mirror.users["finance"])
    seen_by_partner = _html(partner)
    assert "Bravo" in seen_by_partner

    assert "Bravo" not in _html(finance)  # finance sees Alpha alone
    other_session = Client()
    other_session.force_login(mirror.users["partner"])
    assert not _served_from_cache(other_session)


def _invoice_renamed(mirror: Mirror) -> str:
    invoice = mirror.alpha.invoices.order_by("-issue_date").first()
    type(invoice).objects.filter(pk=invoice.pk).update(customer_name="Renamed Customer BV")
    connection_data_changed(connection_ids=[mirror.alpha.pk])
    return "Renamed Customer BV"


def _note_added(mirror: Mirror) -> str:
    invoice = mirror.alpha.invoices.order_by("-issue_date").first()
    invoice_note_add(user=mirror.users["partner"], invoice=invoice, text="Call on Monday",
                     follow_up_on=timezone.localdate(), today=timezone.localdate())  # fmt: skip
    return "Follow up"


def _view_saved(mirror: Mirror) -> str:
    SavedView.objects.create(owner=mirror.users["partner"], name="Quarter close", query="")
    return "Quarter close"


def _columns_chosen(mirror: Mirror) -> str:
    user_columns_set(user=mirror.users["partner"], columns=["number", "exported_at"])
    return 'class="col-exported_at'  # the column's cells


def _connection_renamed(mirror: Mirror) -> str:
    mirror.bravo.name = "Bravo Renamed"
    mirror.bravo.save()
    return "Bravo Renamed"


def _sync_queued(mirror: Mirror) -> str:
    SyncRun.objects.create(connection=mirror.alpha, state="queued")
    return "Queued…"


def _role_raised(mirror: Mirror) -> str:
    # Finance on Alpha becomes its partner admin: the banner offers "Sync now".
    Access.objects.filter(user=mirror.users["finance"]).update(role=Role.PARTNER_ADMIN)
    return "Sync now"


def _username_changed(mirror: Mirror) -> str:
    get_user_model().objects.filter(pk=mirror.users["partner"].pk).update(username="p-renamed")
    return "p-renamed"


WRITES: dict[str, tuple[Callable[[Mirror], str], str]] = {
    "an invoice changed": (_invoice_renamed, "partner"),
    "a note added": (_note_added, "partner"),
    "a view saved": (_view_saved, "partner"),
    "columns chosen": (_columns_chosen, "partner"),
    "a connection renamed": (_connection_renamed, "partner"),
    "a sync queued": (_sync_queued, "partner"),
    "a role changed": (_role_raised, "finance"),
    "a username changed": (_username_changed, "partner"),
}


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_every_write_shows_on_the_next_request(mirror: Mirror, write: str):
    change, who = WRITES[write]
    client = Client()
    client.force_login(mirror.users[who])
    before = _html(client)
    assert _served_from_cache(client)  # kept

    shown = change(mirror)

    assert shown not in before
    assert shown in _html(client)


def test_a_selection_shows_on_the_next_request(as_partner: Client, mirror: Mirror):
    invoice = mirror.alpha.invoices.first()
    _html(as_partner)
    as_partner.post(reverse("invoices:selection"), {"pick": [invoice.pk]})
    html = _html(as_partner)
    assert re.search(rf'value="{invoice.pk}"[^>]*checked', html)


def test_the_language_and_time_zone_pick_their_own_page(as_partner: Client):
    english = _html(as_partner)
    as_partner.cookies["django_language"] = "nl"
    dutch = _html(as_partner)
    assert 'lang="en"' in english and 'lang="nl"' in dutch
    as_partner.cookies["tz"] = "Pacific/Kiritimati"
    assert not _served_from_cache(as_partner)


def test_a_message_is_shown_once_and_never_kept(mirror: Mirror):
    client = Client()
    client.force_login(mirror.users["partner"])
    _html(client)
    assert _served_from_cache(client)

    saved = client.post(reverse("invoices:saved_view_save"), {"name": "Mine", "query": ""})
    assert saved.status_code == 302
    with_message = _html(client, saved["Location"])
    assert "View “Mine” saved." in with_message
    assert "View “Mine” saved." not in _html(client, saved["Location"])  # once
    assert "View “Mine” saved." not in _html(client, saved["Location"])  # nor kept


def test_the_freshness_line_reads_just_now_for_a_minute_then_moves_on(mirror: Mirror):
    # What changes with time alone is kept only until it would: a sync that finished
    # 59.4 s ago reads "just now", and the same page asked for a second later, past the
    # minute, reads "a minute ago" (rendered again, not the kept page).
    import time as clock

    finished = timezone.now() - dt.timedelta(seconds=59.4)
    SyncRun.objects.create(connection=mirror.alpha, state="succeeded", finished_at=finished)
    client = Client()
    client.force_login(mirror.users["partner"])
    assert "just now" in _html(client)
    assert _served_from_cache(client)

    clock.sleep(max(0.0, 60.2 - (timezone.now() - finished).total_seconds()))

    again = client.get(LIST)
    assert again.context is not None  # rendered again
    assert "a minute ago" in again.content.decode()


def test_the_moment_a_freshness_line_next_changes(mirror: Mirror):
    from invoices.selectors import ConnectionOverview

    now = timezone.now()

    def until(finished_ago: float, **run: object) -> float | None:
        success = SyncRun(state="succeeded", finished_at=now - dt.timedelta(seconds=finished_ago))
        last = SyncRun(**run) if run else success
        mirror.alpha.sync_interval_minutes = 60
        moment = ConnectionOverview(mirror.alpha, None, last, success).shown_until(now)
        return None if moment is None else round((moment - now).total_seconds(), 3)

    assert until(10) == 50  # "just now" until the minute is up
    assert until(90) == 30  # "a minute ago" until 2 minutes
    assert until(2 * 3600 + 5) == 3600 - 5  # hours
    assert until(7199) == 1  # stale at twice the interval (2 h), a second from now
    lease = settings.SYNC_LEASE_SECONDS
    heartbeat = now - dt.timedelta(seconds=lease - 2)
    assert until(3 * 3600 + 600, state="running", heartbeat_at=heartbeat) == 2  # lease ends


@pytest.mark.usefixtures("rendered_each_time")
def test_a_rendered_page_reads_what_its_key_names_once(as_partner: Client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    as_partner.get(LIST)  # the totals cached
    with CaptureQueriesContext(connection) as queries:
        assert as_partner.get(LIST).context is not None  # rendered

    def first_table(sql: str) -> str:
        return re.search(r'FROM "(\w+)"', sql).group(1)

    tables = [first_table(q["sql"]) for q in queries.captured_queries]
    assert tables.count("invoices_userpreference") == 1
    assert tables.count("invoices_savedview") == 1
    assert tables.count("invoices_syncrun") == 1
    # the scope, and the menu's roles (base.html)
    assert tables.count("invoices_access") == 2
    assert len(queries.captured_queries) <= 12
