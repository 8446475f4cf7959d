"""Live provider reads in the UI: next billing dates, public links, the account page.

Against the sandbox over real sockets (MasStack offers both reads; Hostway neither),
plus a hostile in-process client for what no well-behaved provider sends.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from invoices import money
from invoices.models import Access, Account, Connection, Invoice, Role
from invoices.providers import PublicLink
from invoices.providers.base import ProviderClient
from invoices.sandbox.masstack import service_account

from .pages import parse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
BILLING_PATH = "/v1/orgs/"  # MasStack billing details and public links


class HostileClient(ProviderClient):
    """A provider that answers with markup in its link and crashes on billing details."""

    name = "hostile"
    label = "Hostile Billing"
    supports_public_links = True
    supports_billing_details = True
    url = 'https://evil.example/x"><script>alert(1)</script>'
    expires_in: dt.timedelta | None = None
    built: list[HostileClient] = []

    def __init__(self) -> None:
        self.closed = False
        self.calls = 0

    @classmethod
    def from_config(cls, config, credentials, **http_options):
        client = cls()
        cls.built.append(client)
        return client

    def iter_invoice_pages(self):
        return iter(())

    def list_accounts(self):
        return []

    def billing_details(self, account_id):
        raise KeyError("next_billing_date")  # a client bug: a raw exception escapes

    def public_link(self, *, account_id, invoice_id):
        expires = timezone.now() + self.expires_in if self.expires_in else None
        return PublicLink(url=self.url, expires_at=expires)

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def _clean(settings):
    cache.clear()
    HostileClient.built = []
    HostileClient.expires_in = None
    settings.INVOICE_PROVIDERS = {"hostile": "tests.views.test_live.HostileClient"}
    yield
    cache.clear()


def make_connection(sandbox, provider: str, name: str | None = None) -> Connection:
    config, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    return Connection.objects.create(
        provider=provider, name=name or provider, config=config, credentials=credentials
    )


def make_invoice(account: Account, number: str, **values) -> Invoice:
    fields = {
        "connection": account.connection,
        "account": account,
        "provider_id": f"{account.provider_id}/{number}",
        "number": number,
        "customer_name": account.name,
        "issue_date": dt.date(2025, 1, 1),
        "total": Decimal("10.00"),
        "amount_due": Decimal("0"),
        "currency": "EUR",
        "status": "paid",
        "fingerprint": "x",
        **values,
    }
    return Invoice.objects.create(**fields)


def sandbox_invoice(connection: Connection, sandbox, account_index: int = 0) -> Invoice:
    """An invoice row the MasStack sandbox knows (no sync needed)."""
    provider_account = sandbox.app.masstack.accounts[account_index]
    account, _ = Account.objects.get_or_create(
        connection=connection,
        provider_id=provider_account,
        defaults={"name": provider_account, "currency": "EUR"},
    )
    number = sandbox.app.masstack.invoices(provider_account)[0].number
    return make_invoice(account, number)


def grant(connection: Connection, role: str = Role.FINANCE, username: str = "fin"):
    user, _ = get_user_model().objects.get_or_create(username=username)
    Access.objects.create(user=user, connection=connection, role=role)
    return user


@pytest.fixture
def masstack(sandbox) -> Connection:
    return make_connection(sandbox, "masstack")


@pytest.fixture
def invoice(masstack, sandbox) -> Invoice:
    return sandbox_invoice(masstack, sandbox)


@pytest.fixture
def account(invoice) -> Account:
    return invoice.account


@pytest.fixture
def finance(client, masstack):
    user = grant(masstack)
    client.force_login(user)
    return user


def billing_url(account: Account) -> str:
    return reverse("invoices:account_next_billing_date", args=[account.pk])


def link_url(invoice: Invoice) -> str:
    return reverse("invoices:invoice_public_link", args=[invoice.pk])


def detail_url(account: Account) -> str:
    return reverse("invoices:account_detail", args=[account.pk])


# -- next billing date ---------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FINANCE, Role.PARTNER_ADMIN])
def test_billing_date_fragment_shows_the_providers_date(client, sandbox, masstack, account, role):
    client.force_login(grant(masstack, role=role))
    expected = sandbox.app.masstack.next_billing_date(account.provider_id)

    response = client.get(billing_url(account), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<time datetime="{expected.isoformat()}">' in html
    assert "Next billing <time" in html
    assert f"{money.day(expected)}</time>" in html  # as every date: in the active language


def test_billing_date_for_htmx_is_only_the_fragment(client, finance, account):
    response = client.get(billing_url(account), **HTMX)

    assert "<html" not in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_billing_date_without_htmx_is_a_full_page_with_a_back_link(client, finance, account):
    response = client.get(billing_url(account))

    html = response.content.decode()
    assert "<html" in html
    assert "Next billing <time" in html
    assert f'href="{detail_url(account)}"' in html


def test_billing_date_is_cached_until_the_cache_is_cleared(client, finance, sandbox, account):
    client.get(billing_url(account), **HTMX)
    calls = len(sandbox.app.calls(BILLING_PATH))

    client.get(billing_url(account), **HTMX)
    cached_calls = len(sandbox.app.calls(BILLING_PATH))
    cache.clear()
    client.get(billing_url(account), **HTMX)

    assert calls == 1
    assert cached_calls == 1
    assert len(sandbox.app.calls(BILLING_PATH)) == 2


def test_a_provider_error_is_an_inline_message_in_plain_words_with_a_retry(
    client, finance, sandbox, account, settings
):
    settings.LIVE_PROVIDER_MAX_RETRIES = 0
    sandbox.app.faults.add("status", status=502, path=BILLING_PATH)

    response = client.get(billing_url(account), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "MasStack did not answer. Try again in a minute." in html
    assert "A third party connection is not responding" not in html  # not for finance
    assert "HTTP 502" not in html
    assert f'hx-get="{billing_url(account)}"' in html
    assert 'hx-target="closest .live"' in html
    assert ">Retry</a>" in html


def test_a_partner_admin_also_gets_the_provider_s_own_words_behind_details(
    client, masstack, sandbox, account, settings
):
    settings.LIVE_PROVIDER_MAX_RETRIES = 0
    client.force_login(grant(masstack, Role.PARTNER_ADMIN, username="admin"))
    sandbox.app.faults.add("status", status=502, path=BILLING_PATH)

    response = client.get(billing_url(account), **HTMX)

    details = parse(response).find("details", cls="error-detail").text()
    assert "MasStack did not answer." in response.content.decode()
    assert "HTTP 502: A third party connection is not responding" in details


def test_a_provider_error_is_not_cached_so_retry_succeeds(
    client, finance, sandbox, account, settings
):
    settings.LIVE_PROVIDER_MAX_RETRIES = 0
    sandbox.app.faults.add("status", status=502, path=BILLING_PATH)
    client.get(billing_url(account), **HTMX)

    sandbox.app.faults.clear()
    response = client.get(billing_url(account), **HTMX)

    assert "Next billing <time" in response.content.decode()


def test_a_malformed_provider_answer_is_a_clear_message_not_a_500(
    client, finance, sandbox, account
):
    sandbox.app.faults.add("malformed", path=BILLING_PATH)

    response = client.get(billing_url(account), **HTMX)

    assert response.status_code == 200
    assert "MasStack answered with something this app could not read." in (
        response.content.decode()
    )


def test_a_client_bug_is_an_inline_message_not_a_500(client):
    connection = Connection.objects.create(provider="hostile", name="hostile")
    account = Account.objects.create(connection=connection, provider_id="A1", name="A1")
    client.force_login(grant(connection))

    response = client.get(billing_url(account), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "answered with something this app could not read" in html
    assert "KeyError" not in html
    assert HostileClient.built[0].closed


def test_billing_date_is_not_offered_by_hostway_and_nothing_is_called(client, sandbox):
    connection = make_connection(sandbox, "hostway")
    account = Account.objects.create(connection=connection, provider_id="1001", name="Acme")
    client.force_login(grant(connection))

    response = client.get(billing_url(account), **HTMX)

    html = response.content.decode()
    assert "Not offered by Hostway" in html
    assert "Retry" not in html
    assert sandbox.app.calls() == []


# -- public links ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FINANCE, Role.PARTNER_ADMIN])
def test_an_https_public_link_is_a_link_with_a_copy_button(client, masstack, invoice, role):
    client.force_login(grant(masstack, role=role))

    response = client.get(link_url(invoice), **HTMX)

    html = response.content.decode()
    assert '<a class="live-url" href="https://billing.sta.masstack.com/public/invoices/' in html
    assert 'rel="noopener noreferrer" target="_blank"' in html
    assert 'data-copy="https://billing.sta.masstack.com/public/invoices/' in html
    assert "not a secure link" not in html


def test_an_http_public_link_is_text_with_a_warning_not_a_link(client, finance, sandbox, masstack):
    index = sandbox.app.masstack.accounts.index(sandbox.app.masstack.http_link_account)
    invoice = sandbox_invoice(masstack, sandbox, account_index=index)

    response = client.get(link_url(invoice), **HTMX)

    html = response.content.decode()
    assert '<code class="live-url">http://billing.sta.masstack.com/' in html
    assert 'href="http://' not in html
    assert "data-copy" not in html
    assert "not a secure link" in html


def test_a_public_link_shows_its_expiry_labelled_in_the_users_time_zone(client, finance, invoice):
    before = timezone.now()
    response = client.get(link_url(invoice), **HTMX)
    after = timezone.now()

    html = response.content.decode()
    # The link lives an hour from when it was asked for (a minute may turn meanwhile),
    # written as every moment is: in the active language, in the user's zone.
    shown = {money.moment(moment + dt.timedelta(hours=1)) for moment in (before, after)}
    assert "expires <time datetime=" in html
    assert any(f">{text}</time>" in html for text in shown)
    assert " UTC</time>" in html


def test_public_link_is_cached(client, finance, sandbox, invoice):
    client.get(link_url(invoice), **HTMX)
    client.get(link_url(invoice), **HTMX)

    assert len(sandbox.app.calls(BILLING_PATH)) == 1


def test_a_public_link_is_never_cached_past_its_expiry(client):
    HostileClient.expires_in = dt.timedelta(seconds=10)  # inside the safety margin
    connection = Connection.objects.create(provider="hostile", name="hostile")
    account = Account.objects.create(connection=connection, provider_id="A1", name="A1")
    invoice = make_invoice(account, "N1")
    client.force_login(grant(connection))

    client.get(link_url(invoice), **HTMX)
    client.get(link_url(invoice), **HTMX)

    assert len(HostileClient.built) == 2
    assert all(built.closed for built in HostileClient.built)


def test_a_public_link_without_htmx_is_a_full_page(client, finance, invoice):
    response = client.get(link_url(invoice))

    html = response.content.decode()
    assert "<html" in html
    assert "https://billing.sta.masstack.com/public/invoices/" in html
    assert f"?account={invoice.account_id}" in html


def test_public_links_are_not_offered_by_hostway(client, sandbox):
    connection = make_connection(sandbox, "hostway")
    account = Account.objects.create(connection=connection, provider_id="1001", name="Acme")
    invoice = make_invoice(account, "H-1", provider_id="H-1")
    client.force_login(grant(connection))

    response = client.get(link_url(invoice), **HTMX)

    assert "Not offered by Hostway" in response.content.decode()
    assert sandbox.app.calls() == []


def test_a_provider_supplied_url_is_escaped(client):
    connection = Connection.objects.create(provider="hostile", name="hostile")
    account = Account.objects.create(connection=connection, provider_id="A1", name="A1")
    invoice = make_invoice(account, "N1")
    client.force_login(grant(connection))

    response = client.get(link_url(invoice))

    html = response.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- account page -------------------------------------------------------------------


def test_account_page_shows_outstanding_per_currency(client, finance, account):
    make_invoice(account, "E1", status="unpaid", amount_due=Decimal("10.25"), total=Decimal(11))
    make_invoice(account, "E2", status="unpaid", amount_due=Decimal("0.10"))
    make_invoice(account, "U1", status="unpaid", amount_due=Decimal("5.00"), currency="USD")

    response = client.get(detail_url(account))

    html = response.content.decode()
    rows = {row.currency: row for row in response.context["summary"]}
    assert rows["EUR"].count == 3  # the fixture's paid invoice too
    assert rows["EUR"].outstanding == Decimal("10.35")
    assert rows["USD"].outstanding == Decimal("5.00")
    assert "€10.35" in html
    assert "$5.00" in html


def test_account_page_loads_the_billing_date_lazily(client, finance, sandbox, account):
    response = client.get(detail_url(account))

    html = response.content.decode()
    assert f'hx-get="{billing_url(account)}"' in html
    assert "loading…" in html
    assert f"/?account={account.pk}" in html
    assert sandbox.app.calls() == []  # the page never waits on the provider


# -- access -------------------------------------------------------------------------


@pytest.fixture
def other_connection(sandbox) -> tuple[Account, Invoice]:
    """Connection B with one account and invoice the finance user of A may not see."""
    other = make_connection(sandbox, "masstack", name="other")
    invoice = sandbox_invoice(other, sandbox, account_index=1)
    return invoice.account, invoice


@pytest.mark.parametrize("url", ["billing", "link", "detail"])
def test_another_connections_objects_answer_404(client, finance, other_connection, url, sandbox):
    account, invoice = other_connection
    target = {
        "billing": billing_url(account),
        "link": link_url(invoice),
        "detail": detail_url(account),
    }[url]

    response = client.get(target, **HTMX)

    assert response.status_code == 404
    assert sandbox.app.calls() == []


@pytest.mark.parametrize("url", ["billing", "link", "detail"])
def test_anonymous_is_sent_to_log_in(client, invoice, url, sandbox):
    target = {
        "billing": billing_url(invoice.account),
        "link": link_url(invoice),
        "detail": detail_url(invoice.account),
    }[url]

    response = client.get(target)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert sandbox.app.calls() == []


def test_the_service_refuses_an_object_the_user_may_not_see(other_connection, masstack):
    from django.http import Http404

    from invoices.live import account_billing_details_get, invoice_public_link_get

    user = grant(masstack)
    account, invoice = other_connection
    with pytest.raises(Http404):
        account_billing_details_get(user=user, account=account)
    with pytest.raises(Http404):
        invoice_public_link_get(user=user, invoice=invoice)


def test_no_credential_appears_in_any_page(client, finance, sandbox, account, invoice, settings):
    secret = service_account()["private_key_id"]
    pages = [
        client.get(detail_url(account)),
        client.get(billing_url(account)),
        client.get(link_url(invoice)),
    ]
    settings.LIVE_PROVIDER_MAX_RETRIES = 0
    cache.clear()
    sandbox.app.faults.add("status", status=401, path="/oauth2/")
    pages.append(client.get(link_url(invoice)))

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert secret not in html
        assert "PRIVATE KEY" not in html
    assert "MasStack refused this connection's credentials" in parse(pages[-1]).text()


# -- a live read answers in time, and reuses tokens -------------------------------------


def test_a_provider_that_does_not_answer_is_given_up_on_within_the_live_budget(
    client, finance, sandbox, account, settings
):
    """A web request must not wait on a provider for as long as a sync would (42 s
    against a MasStack that accepts the connection and never answers)."""
    import time

    settings.LIVE_PROVIDER_BUDGET = 1.0
    sandbox.app.faults.add("latency", delay=3, path=BILLING_PATH)

    started = time.monotonic()
    response = client.get(billing_url(account), **HTMX)
    elapsed = time.monotonic() - started

    assert elapsed < 2.0
    html = response.content.decode()
    assert "MasStack did not answer. Try again in a minute." in html
    assert ">Retry</a>" in html


def test_live_reads_get_a_short_budget_and_at_most_one_retry(masstack, settings):
    from invoices.clients import connection_client

    with connection_client(masstack, live=True) as live, connection_client(masstack) as sync:
        assert (live.http.budget, live.http.max_retries, live.http.timeout) == (5.0, 1, (2.0, 4.0))
        assert (sync.http.budget, sync.http.max_retries) == (None, settings.PROVIDER_MAX_RETRIES)


def test_live_reads_reuse_the_token_across_requests(client, finance, sandbox, masstack):
    first = sandbox_invoice(masstack, sandbox, account_index=0).account
    second = sandbox_invoice(masstack, sandbox, account_index=1).account
    tokens = sandbox.app.tokens.issued

    for account in (first, second):
        response = client.get(billing_url(account), **HTMX)
        assert "Next billing <time" in response.content.decode()

    assert sandbox.app.tokens.issued == tokens + 1
    assert len(sandbox.app.calls("/oauth2/token")) == 1


def test_a_shared_token_the_provider_refuses_is_replaced_once(client, finance, sandbox, masstack):
    account = sandbox_invoice(masstack, sandbox).account
    client.get(billing_url(account), **HTMX)  # a token, kept in the shared cache
    sandbox.app.tokens.expire_all()  # the provider forgets it (restart, revocation)
    other = sandbox_invoice(masstack, sandbox, account_index=2).account

    response = client.get(billing_url(other), **HTMX)

    assert "Next billing <time" in response.content.decode()
    assert len(sandbox.app.calls("/oauth2/token")) == 2


def test_shared_tokens_are_encrypted_in_the_cache(client, finance, sandbox, masstack):
    from invoices.clients import CachedTokens

    client.get(billing_url(sandbox_invoice(masstack, sandbox).account), **HTMX)

    stored = cache.get(CachedTokens(masstack).key)
    token = CachedTokens(masstack).get().value
    assert token in sandbox.app.tokens._tokens  # the one the provider issued
    assert stored and token.encode() not in stored
