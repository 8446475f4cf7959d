"""Browser tests: Playwright (sync API) driving Debian's Chromium against a live server.

The data is a real sync of the sandbox into the test database (pytest-django's
`live_server`, so a transactional database flushed after each test). One browser per
module; every test gets fresh contexts and leaves a screenshot in the pytest tmp dir
(`.../e2e-screenshots/<test>.png`). Chromium missing is a failure, not a skip: `make test`
installs it; without apt rights run `pytest -m "not e2e"`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from invoices.models import Access, Account, Connection, Role, SyncState, UserPreference
from invoices.sync import connection_sync
from invoices.tables import DEFAULT_COLUMNS

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium reaches out to Google services (no network here).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROVIDERS = ("acronis", "hostway", "masstack")
USERNAME = "e2e-admin"
PASSWORD = "e2e-password-1"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: `make chromium` installs it (apt), "
            'or deselect the browser tests with `pytest -m "not e2e"`.',
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, which trips Django's
    # async-unsafe guard on every ORM call made here (fixtures, the flush after each
    # test). Documented escape hatch, limited to the lifetime of the browser.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
            )
            yield browser
            browser.close()


@dataclass
class Dashboard:
    """The live server, the logged-in user's credentials and a few facts about the data."""

    url: str
    username: str
    password: str
    connections: dict[str, Connection]
    http_link_customer: str  # the MasStack account whose public links are plain http


@pytest.fixture
def dashboard(chromium_browser, live_server, sandbox, settings) -> Dashboard:
    """A real sync of all three sandbox providers, and a partner admin on each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    cache.clear()  # live reads (billing dates, links) are cached across tests otherwise
    connections = {}
    for provider in PROVIDERS:
        config, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
        connection = Connection.objects.create(
            provider=provider, name=provider, config=config, credentials=credentials
        )
        run = connection_sync(connection=connection)
        assert run.state == SyncState.SUCCEEDED, run.error
        connections[provider] = connection
    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    Access.objects.bulk_create(
        Access(user=user, connection=c, role=Role.PARTNER_ADMIN) for c in connections.values()
    )
    # The live columns too (not among the defaults): these tests read billing dates and links.
    UserPreference.objects.create(user=user, columns=[*DEFAULT_COLUMNS, "billing", "link"])
    http_account = Account.objects.get(
        connection=connections["masstack"], provider_id=sandbox.app.masstack.http_link_account
    )
    return Dashboard(live_server.url, USERNAME, PASSWORD, connections, http_account.name)


CSP_REPORTER = """document.addEventListener("securitypolicyviolation", (e) => {
  const where = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : "";
  console.error(`CSP blocked ${e.violatedDirective}: ${e.sample || "-"} at ${where}`);
});"""


@dataclass
class PageFactory:
    """Opens pages in fresh browser contexts and records their console errors."""

    browser: object
    errors: list[str] = field(default_factory=list)
    contexts: list[object] = field(default_factory=list)
    pages: list[object] = field(default_factory=list)

    def __call__(self, **context_options: object):
        options = {"viewport": {"width": 1400, "height": 1000}, **context_options}
        context = self.browser.new_context(accept_downloads=True, **options)
        context.set_default_timeout(TIMEOUT_MS)
        # A CSP violation says which element and what was blocked (the console only
        # names the script that tried).
        context.add_init_script(CSP_REPORTER)
        page = context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.contexts.append(context)
        self.pages.append(page)
        return page

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if url.endswith("/favicon.ico") or "favicon.ico" in message.text:
            return  # no favicon on purpose: the browser's 404 for it is noise
        self.errors.append(f"{message.text} ({url})")


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-screenshots", numbered=False)


@pytest.fixture
def new_page(chromium_browser, screenshot_dir, request) -> Iterator[Callable[..., object]]:
    """`new_page(**context_options)`; after the test: a screenshot of the last page, and
    no console errors on any page."""
    factory = PageFactory(chromium_browser)
    yield factory
    try:
        if factory.pages:
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            factory.pages[-1].screenshot(path=screenshot_dir / f"{name}.png", full_page=True)
    finally:
        for context in factory.contexts:
            context.close()
    assert factory.errors == [], "browser console errors"


@pytest.fixture
def dashboard_page(new_page, dashboard: Dashboard):
    """A page with JavaScript, logged in through the real login form, on the dashboard."""
    page = new_page()
    login(page, dashboard)
    return page


def login(page, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "/")
    page.wait_for_url(re.compile(r"/accounts/login/"))  # the dashboard asks to log in
    page.fill("#id_username", dashboard.username)
    page.fill("#id_password", dashboard.password)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(dashboard.url + "/")
    page.wait_for_selector("#invoice-table tbody tr")
