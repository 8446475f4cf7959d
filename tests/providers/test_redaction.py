"""A provider that repeats what it was sent never puts it on screen: every message built
from a provider's answer is redacted of the connection's secrets and of what the request
carried, in every form (as is, base64, URL- or JSON-escaped)."""

from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from invoices.models import Access, Connection, Role, SyncRun
from invoices.providers import ProviderError
from invoices.providers.http import REDACTED, Redactor
from invoices.providers.registry import build_client
from invoices.sync import connection_sync

# The data call each vendor makes first, and the vendor's token endpoint (if any).
DATA = {
    "acronis": "/api/advanced-automation/v1/InvoiceOverview",
    "hostway": "/accounts",
    "masstack": "/v2/",
}
TOKEN = {"acronis": "/api/2/idp/token", "masstack": "/oauth2/token"}


def secrets_of(sandbox, provider: str) -> list[str]:
    """What must never show: every credential in every form, and every token issued."""
    _, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    values: list[str] = []
    if provider == "acronis":
        values += [credentials["client_secret"]]
        login = f"{credentials['client_id']}:{credentials['client_secret']}"
        values.append(base64.b64encode(login.encode()).decode())
    elif provider == "hostway":
        values += [credentials["password"]]
        login = f"{credentials['username']}:{credentials['password']}"
        values.append(base64.b64encode(login.encode()).decode())
    else:
        account = credentials["service_account"]
        values += [account["private_key_id"]]
        values += [line for line in account["private_key"].splitlines() if len(line) > 40]
    values += list(sandbox.app.tokens._tokens)  # every bearer token issued so far
    return values


def assert_clean(text: str, sandbox, provider: str) -> None:
    for secret in secrets_of(sandbox, provider):
        assert secret not in text, f"{secret[:12]}… shown in {text!r}"
    assert "eyJ" not in text  # no JWT (MasStack's signed assertion)


def client_for(sandbox, provider: str, fast_http):
    config, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    if provider == "hostway":
        config["accounts"] = [sandbox.app.hostway.account_ids[0]]
    return build_client(provider, config, credentials, **fast_http)


def first_page(client):
    return next(iter(client.iter_invoice_pages()))


@pytest.mark.parametrize("provider", ["acronis", "hostway", "masstack"])
def test_an_error_that_echoes_the_request_s_authorization_is_redacted(sandbox, fast_http, provider):
    client = client_for(sandbox, provider, fast_http)
    sandbox.app.faults.add("echo_auth", status=401, path=DATA[provider])

    with pytest.raises(ProviderError) as raised:
        first_page(client)

    message = str(raised.value)
    assert "rejected" in message  # the provider's words are kept...
    assert REDACTED in message  # ...but not what it echoed
    assert_clean(message, sandbox, provider)


@pytest.mark.parametrize("provider", ["acronis", "masstack"])
def test_a_token_endpoint_that_echoes_the_login_is_redacted(sandbox, fast_http, provider):
    client = client_for(sandbox, provider, fast_http)
    sandbox.app.faults.add("echo_auth", status=401, path=TOKEN[provider])

    with pytest.raises(ProviderError) as raised:
        first_page(client)

    message = str(raised.value)
    assert REDACTED in message
    assert_clean(message, sandbox, provider)


def test_every_form_a_server_might_echo_is_redacted():
    secret = "pa ss/wörd+\n==line=="
    redact = Redactor([secret, "short-but-ok"])
    redact.add_basic("u", "p4ss")
    forms = [
        secret.strip(),
        base64.b64encode(secret.strip().encode()).decode(),
        base64.b64encode(b"u:p4ss").decode(),
        json.dumps(secret.strip())[1:-1],
        "pa%20ss%2Fw%C3%B6rd%2B%0A%3D%3Dline%3D%3D",
        "short-but-ok",
    ]

    for form in forms:
        assert redact(f"rejected <{form}>!") == f"rejected <{REDACTED}>!", form
    assert redact("a plain message about u and p") == "a plain message about u and p"


# -- end to end: the run, the CLI, the admin and the dashboard --------------------------


@pytest.fixture
def hostway_connection(sandbox, db) -> Connection:
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    return Connection.objects.create(
        provider="hostway", name="HW", config=config, credentials=credentials
    )


@pytest.mark.django_db
def test_an_echoed_login_reaches_neither_the_run_nor_any_page(sandbox, hostway_connection):
    from django.contrib.auth import get_user_model

    sandbox.app.faults.add("echo_auth", status=401, path="/accounts")

    run = connection_sync(connection=hostway_connection)

    assert run.state == "failed"
    assert REDACTED in run.error
    assert_clean(run.error, sandbox, "hostway")
    finance = get_user_model().objects.create_user("fin")
    Access.objects.create(user=finance, connection=hostway_connection, role=Role.FINANCE)
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    pages = []
    for user, url in [
        (finance, reverse("invoices:invoice_list")),
        (root, reverse("admin:invoices_syncrun_change", args=[run.pk])),
        (root, reverse("admin:invoices_syncrun_changelist")),
    ]:
        browser = Client()
        browser.force_login(user)
        response = browser.get(url)
        assert response.status_code == 200
        pages.append(response.content.decode())
    assert "Hostway refused this connection" in pages[0]  # finance: plain words
    assert REDACTED in pages[1]  # the admin: the provider's words, redacted
    for page in pages:
        assert_clean(page, sandbox, "hostway")


@pytest.mark.django_db
def test_the_cli_prints_an_echoed_login_redacted(sandbox, hostway_connection):
    sandbox.app.faults.add("echo_auth", status=401, path="/accounts")
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("sync_invoices", stdout=out, stderr=StringIO())

    assert REDACTED in out.getvalue()
    assert_clean(out.getvalue(), sandbox, "hostway")
    assert_clean(SyncRun.objects.get().error, sandbox, "hostway")
