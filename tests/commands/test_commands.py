"""The operator command line, including every error path: one line, non-zero, no secret."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from invoices.models import Access, Connection, Invoice, SyncRun, SyncState
from invoices.sandbox.masstack import SERVICE_ACCOUNT_FILE

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def add_acronis(sandbox, name="Acme", secret=None) -> str:
    return run(
        "add_connection", "acronis", "--name", name, "--base-url", sandbox.url,
        "--client-id", sandbox.app.config.acronis_client_id,
        "--client-secret", secret or sandbox.app.config.acronis_client_secret,
        "--currency", "usd",
    )  # fmt: skip


def test_add_acronis_checks_credentials_and_stores_the_connection(sandbox):
    out = add_acronis(sandbox)

    connection = Connection.objects.get(name="Acme")
    assert "Added acronis connection 'Acme'" in out
    assert connection.config == {"base_url": sandbox.url, "currency": "USD"}
    assert connection.credentials["client_secret"] == sandbox.app.config.acronis_client_secret


def test_credentials_are_encrypted_at_rest(sandbox):
    from django.db import connection as db

    add_acronis(sandbox)

    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM invoices_connection")
        (stored,) = cursor.fetchone()
    assert sandbox.app.config.acronis_client_secret not in stored


def test_add_hostway_with_selected_accounts(sandbox):
    account = sandbox.app.hostway.account_ids[0]
    run(
        "add_connection", "hostway", "--name", "HW", "--base-url", sandbox.url,
        "--username", sandbox.app.config.hostway_username,
        "--password", sandbox.app.config.hostway_password, "--account", account,
    )  # fmt: skip

    assert Connection.objects.get(name="HW").config["accounts"] == [account]


def test_add_masstack_reads_the_service_account_file(sandbox):
    config, _ = sandbox.app.masstack.connection(sandbox.url)
    accounts = [arg for account in config["accounts"][:2] for arg in ("--account", account)]
    run(
        "add_connection", "masstack", "--name", "MS",
        "--billing-url", config["billing_url"], "--customers-url", config["customers_url"],
        "--token-url", config["token_url"], "--service-account", str(SERVICE_ACCOUNT_FILE),
        "--org", config["org"], *accounts,
    )  # fmt: skip

    connection = Connection.objects.get(name="MS")
    assert connection.config["accounts"] == config["accounts"][:2]
    assert "private_key" in connection.credentials["service_account"]


def test_wrong_credentials_are_refused_and_nothing_is_saved(sandbox):
    with pytest.raises(CommandError) as error:
        add_acronis(sandbox, secret="wrong-secret-xyz")

    assert "connection not added" in str(error.value)
    assert "wrong-secret-xyz" not in str(error.value)
    assert not Connection.objects.exists()


def test_an_unreachable_url_is_a_clear_error(settings):
    settings.PROVIDER_MAX_RETRIES = 0
    with pytest.raises(CommandError, match="connection failed"):
        run(
            "add_connection", "hostway", "--name", "X", "--base-url", "http://127.0.0.1:9",
            "--username", "u", "--password", "p",
        )  # fmt: skip


def test_a_duplicate_name_is_refused(sandbox):
    add_acronis(sandbox)

    with pytest.raises(CommandError, match="already exists"):
        add_acronis(sandbox)


def test_a_missing_service_account_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read the service account file"):
        run(
            "add_connection", "masstack", "--name", "MS", "--billing-url", "http://x/v1/",
            "--customers-url", "http://x/v2/", "--token-url", "http://x/t",
            "--service-account", str(tmp_path / "nope.json"), "--org", "o", "--account", "a",
        )  # fmt: skip


def test_cli_errors_are_one_line_without_traceback():
    """Run as an operator would: a real process, its exit code and stderr."""
    unknown = _manage("add_connection", "paypal", "--name", "X")
    missing = _manage("add_connection", "acronis", "--name", "X")

    assert unknown.returncode != 0
    assert "invalid choice: 'paypal'" in unknown.stderr
    assert missing.returncode != 0
    assert "required: --base-url" in missing.stderr
    for result in (unknown, missing):
        assert "Traceback" not in result.stderr


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def test_list_connections_shows_no_secrets(sandbox):
    add_acronis(sandbox)

    out = run("list_connections")

    assert "Acme" in out and "acronis" in out and sandbox.url in out
    assert sandbox.app.config.acronis_client_secret not in out
    assert sandbox.app.config.acronis_client_id not in out


def test_list_connections_when_there_are_none():
    assert "No connections yet" in run("list_connections")


def test_sync_invoices_syncs_every_connection_and_summarises(sandbox):
    add_acronis(sandbox)
    config, credentials = sandbox.app.hostway.connection(sandbox.url)
    Connection.objects.create(provider="hostway", name="HW", config=config, credentials=credentials)

    out = run("sync_invoices")

    assert "Acme: ok" in out and "HW: ok" in out
    assert Invoice.objects.filter(connection__name="Acme").count() > 500
    assert Invoice.objects.filter(connection__name="HW").count() > 100


def test_sync_invoices_for_one_connection(sandbox):
    add_acronis(sandbox)
    add_acronis(sandbox, name="Other")

    run("sync_invoices", "--connection", "Other")

    assert SyncRun.objects.filter(connection__name="Acme").count() == 0
    assert SyncRun.objects.get(connection__name="Other").state == SyncState.SUCCEEDED


def test_sync_invoices_exits_non_zero_when_a_connection_fails(sandbox, settings):
    settings.PROVIDER_MAX_RETRIES = 0
    add_acronis(sandbox)
    sandbox.app.faults.add("status", status=503, path="/api/advanced-automation/")

    with pytest.raises(CommandError, match="sync failed or incomplete for: Acme"):
        run("sync_invoices")

    assert SyncRun.objects.get().error.endswith("HTTP 503")


def test_a_sync_that_is_already_running_is_skipped_and_says_which_run(sandbox):
    """Not a failure: another sync of the connection is under way (a live lease)."""
    from django.utils import timezone

    add_acronis(sandbox)
    started = timezone.now()
    running = SyncRun.objects.create(
        connection=Connection.objects.get(name="Acme"),
        state=SyncState.RUNNING,
        started_at=started,
        heartbeat_at=started,
    )
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("sync_invoices", stdout=out, stderr=StringIO())

    assert raised.value.returncode == 3
    assert str(raised.value) == "skipped (already running): Acme"
    assert "failed" not in out.getvalue()
    local = timezone.localtime(started)
    assert f"Acme: skipped: already running (run {running.pk}, started {local:%Y-%m-%d %H:%M}" in (
        out.getvalue()
    )


def test_a_sync_with_problems_lists_them_and_exits_non_zero(sandbox):
    add_acronis(sandbox)
    bad = sandbox.app.acronis.invoice(3)
    sandbox.app.acronis.broken = {3: {"Total": "n/a"}}
    out = StringIO()

    with pytest.raises(CommandError, match="sync failed or incomplete for: Acme"):
        call_command("sync_invoices", stdout=out, stderr=StringIO())

    assert "Acme: completed with problems" in out.getvalue()
    assert f"  - Acronis invoice {bad['InvoiceNumber']}: Acronis invoice {bad['Id']}.Total" in (
        out.getvalue()
    )


def test_add_masstack_with_a_start_date_for_the_history(sandbox):
    config, _ = sandbox.app.masstack.connection(sandbox.url)
    run(
        "add_connection", "masstack", "--name", "MS",
        "--billing-url", config["billing_url"], "--customers-url", config["customers_url"],
        "--token-url", config["token_url"], "--service-account", str(SERVICE_ACCOUNT_FILE),
        "--org", config["org"], "--account", config["accounts"][0], "--since", "2012-01-31",
    )  # fmt: skip

    assert Connection.objects.get(name="MS").config["since"] == "2012-01-31"


def test_a_start_date_that_is_no_date_is_refused_in_plain_words(sandbox):
    with pytest.raises(CommandError, match="'31/01/2012' is not a date like 2016-01-31"):
        run(
            "add_connection", "masstack", "--name", "MS", "--billing-url", "https://b/",
            "--customers-url", "https://c/", "--token-url", "https://t/",
            "--service-account", str(SERVICE_ACCOUNT_FILE), "--org", "o", "--account", "a",
            "--since", "31/01/2012",
        )  # fmt: skip
    assert not Connection.objects.exists()


def test_add_hostway_with_a_default_currency(sandbox):
    run(
        "add_connection", "hostway", "--name", "HW", "--base-url", sandbox.url,
        "--username", sandbox.app.config.hostway_username,
        "--password", sandbox.app.config.hostway_password, "--currency", "cad",
    )  # fmt: skip

    assert Connection.objects.get(name="HW").config["currency"] == "CAD"


def add_acronis_without_secret(sandbox, **options) -> str:
    out = StringIO()
    call_command(
        "add_connection", "acronis", "--name", "Acme", "--base-url", sandbox.url,
        "--client-id", sandbox.app.config.acronis_client_id, stdout=out, stderr=StringIO(),
        **options,
    )  # fmt: skip
    return out.getvalue()


def test_a_secret_can_come_from_the_environment_instead_of_the_command_line(sandbox, monkeypatch):
    monkeypatch.setenv("ACRONIS_CLIENT_SECRET", sandbox.app.config.acronis_client_secret)

    add_acronis_without_secret(sandbox, stdin=StringIO(""))

    stored = Connection.objects.get(name="Acme").credentials
    assert stored["client_secret"] == sandbox.app.config.acronis_client_secret


def test_a_secret_can_be_piped_on_standard_input(sandbox, monkeypatch):
    monkeypatch.delenv("ACRONIS_CLIENT_SECRET", raising=False)

    add_acronis_without_secret(
        sandbox, stdin=StringIO(sandbox.app.config.acronis_client_secret + "\n")
    )

    stored = Connection.objects.get(name="Acme").credentials
    assert stored["client_secret"] == sandbox.app.config.acronis_client_secret


def test_a_secret_given_nowhere_is_asked_for_in_plain_words(sandbox, monkeypatch):
    monkeypatch.delenv("ACRONIS_CLIENT_SECRET", raising=False)

    with pytest.raises(CommandError, match="no acronis client secret given: set ACRONIS_CLIENT"):
        add_acronis_without_secret(sandbox, stdin=StringIO(""))
    assert not Connection.objects.exists()


def test_a_terminal_is_prompted_for_the_secret_without_echo(sandbox, monkeypatch):
    import getpass

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    asked = []
    monkeypatch.delenv("HOSTWAY_PASSWORD", raising=False)
    monkeypatch.setattr(
        getpass, "getpass", lambda prompt: asked.append(prompt) or "sandbox-password"
    )
    call_command(
        "add_connection", "hostway", "--name", "HW", "--base-url", sandbox.url,
        "--username", sandbox.app.config.hostway_username, stdin=Terminal(),
        stdout=StringIO(),
    )  # fmt: skip

    assert asked == ["Hostway password: "]
    assert Connection.objects.get(name="HW").credentials["password"] == "sandbox-password"


def test_sync_invoices_with_an_unknown_connection():
    with pytest.raises(CommandError, match="no connection named 'nope'"):
        run("sync_invoices", "--connection", "nope")


def test_grant_access_gives_a_role(sandbox):
    add_acronis(sandbox)
    get_user_model().objects.create_user("fin")

    out = run("grant_access", "--user", "fin", "--connection", "Acme", "--role", "finance")

    assert "fin is now finance on 'Acme'" in out
    assert Access.objects.get().role == "finance"


def test_grant_access_replaces_the_previous_role(sandbox):
    add_acronis(sandbox)
    get_user_model().objects.create_user("fin")
    run("grant_access", "--user", "fin", "--connection", "Acme", "--role", "finance")

    run("grant_access", "--user", "fin", "--connection", "Acme", "--role", "partner-admin")

    assert list(Access.objects.values_list("role", flat=True)) == ["partner-admin"]


@pytest.mark.parametrize(
    ("user", "connection", "message"),
    [("ghost", "Acme", "no user named 'ghost'"), ("fin", "Nope", "no connection named 'Nope'")],
)
def test_grant_access_errors(sandbox, user, connection, message):
    add_acronis(sandbox)
    get_user_model().objects.create_user("fin")

    with pytest.raises(CommandError, match=message):
        run("grant_access", "--user", user, "--connection", connection, "--role", "finance")


def test_the_service_account_file_is_json():
    assert "private_key" in json.loads(SERVICE_ACCOUNT_FILE.read_text())
