"""The partner admin's journey in a real browser: a staff partner admin adds a sandbox
connection through the form, watches its first sync progress on the connections page,
rotates its credentials, and invites a finance colleague from the team page; the
colleague opens the link from the e-mail, chooses a password, signs in and sees only that
connection's invoices. The team page at phone and desktop widths, and axe-core on it."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.core import mail
from django.db.backends.signals import connection_created
from playwright.sync_api import expect

from invoices.models import Connection, Invoice, SyncRun
from invoices.sandbox.acronis import API
from invoices.sync import sync_run_execute

from .conftest import login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NAME = "Acronis EU"
INVITED = "fiona.finance@example.com"
NEW_PASSWORD = "fiona-chose-this-1"
SYNC_TIMEOUT_MS = 60_000


class SyncInThread:
    """The sync task, run in a thread of its own so that the page can watch it (the
    tests' immediate task backend would run it inside the request that queued it)."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def enqueue(self, run_id: int, request_id: str | None = None) -> None:
        thread = threading.Thread(target=self._run, args=(run_id,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _run(self, run_id: int) -> None:
        try:
            sync_run_execute(run=SyncRun.objects.select_related("connection").get(pk=run_id))
        except BaseException as exc:  # reported by join(), in the test's thread
            self.errors.append(exc)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), "a sync is still running"
        assert self.errors == []


def _read_uncommitted(sender: Any, connection: Any, **kwargs: Any) -> None:
    # The test database is SQLite in memory with a shared cache, one connection per
    # thread, where a reader locks the tables it reads and a writer then fails at once
    # ("database table is locked"). On a file in WAL mode (the app's own) readers never
    # block the writer; reading uncommitted rows gives the pages the same freedom here.
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture
def sync_in_thread(monkeypatch):
    runner = SyncInThread()
    # `sync_enqueue` looks the task up when the transaction commits.
    monkeypatch.setattr("invoices.tasks.sync_connection_task", runner)
    connection_created.connect(_read_uncommitted)
    yield runner
    connection_created.disconnect(_read_uncommitted)
    runner.join()


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_partner_admin_adds_a_connection_and_invites_finance(
    new_page, dashboard, sandbox, sync_in_thread, monkeypatch
):
    get_user_model().objects.filter(username=dashboard.username).update(is_staff=True)
    # Small pages, each a little slow and written on its own: the first sync takes a few
    # seconds, page by page, to watch.
    sandbox.app.acronis.page_size_cap = 50
    monkeypatch.setattr("invoices.sync.pull.WRITE_INVOICES", 50)
    sandbox.app.faults.add("latency", delay=0.2, path=f"{API}/InvoiceOverview")
    acronis = sandbox.app.config
    page = new_page(viewport=DESKTOP)
    login(page, dashboard)

    # Add the connection through the form.
    page.goto(dashboard.url + "/connections/")
    page.get_by_role("link", name="Add a connection").click()
    page.locator("a[href$='?provider=acronis']").click()
    page.fill("#id_name", NAME)
    page.fill("#id_base_url", sandbox.url)
    page.fill("#id_currency", "EUR")
    page.fill("#id_client_id", acronis.acronis_client_id)
    page.fill("#id_client_secret", acronis.acronis_client_secret)
    page.get_by_role("button", name="Check and add").click()
    page.wait_for_url(re.compile(r"/connections/\d+/$"))
    connection = Connection.objects.get(name=NAME)
    assert acronis.acronis_client_secret not in page.content()

    # Its first sync, with progress, on the connections page.
    page.goto(dashboard.url + "/connections/")
    status = page.locator(f"#conn-{connection.pk}")
    expect(status.locator("progress")).to_be_visible()
    expect(status.locator(".conn-state")).to_contain_text(re.compile(r"page \d+ of \d+"))
    expect(status.locator("time")).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    sync_in_thread.join()
    sandbox.app.faults.clear()
    synced = Invoice.objects.filter(connection=connection).count()
    assert synced > 50  # more than one page

    # Rotate its credentials: a wrong secret is refused in words, the right one saved.
    page.goto(dashboard.url + f"/connections/{connection.pk}/credentials/")
    page.fill("#id_client_id", acronis.acronis_client_id)
    page.fill("#id_client_secret", "not-the-secret-9f2")
    page.get_by_role("button", name="Check and save").click()
    expect(page.locator(".conn-refusal")).to_contain_text("Not saved.")
    assert "not-the-secret-9f2" not in page.content()
    page.fill("#id_client_id", acronis.acronis_client_id)
    page.fill("#id_client_secret", acronis.acronis_client_secret)
    page.get_by_role("button", name="Check and save").click()
    expect(page.locator(".messages")).to_contain_text("Credentials changed and checked.")
    assert acronis.acronis_client_secret not in page.content()

    # Invite a finance colleague from the team page.
    page.goto(dashboard.url + f"/connections/{connection.pk}/team/")
    expect(page.locator("h1")).to_have_text(f"Team of {NAME}")
    page.fill("#id_invite-email", INVITED)
    page.select_option("#id_invite-role", "finance")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator(".messages")).to_contain_text(f"Invitation sent to {INVITED}")
    row = page.locator("tr[data-username='fiona.finance']")
    expect(row).to_contain_text("invited, no password yet")
    expect(row.locator("select")).to_have_value("finance")
    (message,) = mail.outbox
    assert message.to == [INVITED] and NAME in message.body
    link = re.search(r"http://\S+/accounts/reset/\S+/", message.body).group(0)

    # The colleague opens the link, chooses a password and signs in.
    colleague = new_page(viewport=DESKTOP)
    colleague.goto(link)
    expect(colleague.locator("h1")).to_have_text("Choose a new password")
    colleague.fill("#id_new_password1", NEW_PASSWORD)
    colleague.fill("#id_new_password2", NEW_PASSWORD)
    colleague.get_by_role("button", name="Set the new password").click()
    expect(colleague.locator("h1")).to_have_text("Your password has been set")
    colleague.get_by_role("link", name="Sign in with it").click()
    colleague.fill("#id_username", "fiona.finance")
    colleague.fill("#id_password", NEW_PASSWORD)
    colleague.click("button[type=submit]:has-text('Log in')")
    colleague.wait_for_url(dashboard.url + "/")

    # Only that connection's invoices.
    rows = colleague.locator("#invoice-table tbody tr[data-row]")
    expect(rows.first).to_be_visible()
    names = colleague.locator("#invoice-table tbody td.col-connection").all_inner_texts()
    assert names and set(names) == {NAME}
    assert int(colleague.inner_text(".result-bar .count strong").replace(",", "")) == synced

    # The link worked once.
    again = new_page(viewport=DESKTOP)
    again.goto(link)
    expect(again.locator("h1")).to_have_text("This link no longer works")

    # The admin sees the colleague as a member now, with a password.
    page.reload()
    expect(row).not_to_contain_text("invited, no password yet")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_team_page_fits_and_axe_finds_nothing(new_page, dashboard, viewport):
    connection = dashboard.connections["acronis"]
    get_user_model().objects.create_user("someone", email="a.rather.long.address@example.com")
    page = new_page(viewport=viewport)
    login(page, dashboard)
    page.goto(dashboard.url + f"/connections/{connection.pk}/team/")
    page.fill("#id_grant-user", "a.rather.long.address@example.com")
    page.get_by_role("button", name="Give access").click()
    expect(page.locator(".messages")).to_contain_text("someone can now see acronis")
    page.wait_for_load_state("networkidle")

    no_sideways_scroll(page, viewport["width"])
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.violations_count == 0, results.generate_report()

    page.locator("tr[data-username='someone']").get_by_role("link", name="Remove…").click()
    no_sideways_scroll(page, viewport["width"])
    page.get_by_role("button", name="Yes, remove the access").click()
    expect(page.locator(".messages")).to_contain_text("someone no longer has access to acronis")
