"""Adding, editing, rotating, testing, pausing and removing connections in the browser,
against the live sandbox; each action leaves exactly one audit entry, never a secret."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from invoices.models import Access, AuditEntry, Connection, Invoice, Role, SyncRun
from invoices.sandbox.masstack import SERVICE_ACCOUNT_FILE
from invoices.selectors import invoice_totals, invoices_for_user
from invoices.tasks import sync_schedule_due

from .conftest import assert_no_secret

ADD = reverse("invoices:connection_add")
WRONG = "wrong-secret-value-4711-xyz"


def url(name: str, pk: int) -> str:
    return reverse(f"invoices:{name}", args=[pk])


def entries(**filters):
    return list(AuditEntry.objects.exclude(action="login").filter(**filters))


def acronis_form(world, **changes) -> dict:
    config = world.sandbox.app.config
    return {
        "provider": "acronis", "name": "Charlie", "base_url": world.sandbox.url,
        "currency": "usd", "client_id": config.acronis_client_id,
        "client_secret": config.acronis_client_secret, "payment_terms_days": "14",
        "sync_interval_minutes": "30", **changes,
    }  # fmt: skip


def test_staff_adds_an_acronis_connection_checked_with_the_provider(world):
    response = world.client("staff").post(ADD, acronis_form(world))

    connection = Connection.objects.get(name="Charlie")
    assert response.status_code == 302
    assert response["Location"] == url("connection_detail", connection.pk)
    assert connection.config == {"base_url": world.sandbox.url, "currency": "USD"}
    assert connection.credentials["client_secret"] == world.sandbox.app.config.acronis_client_secret
    assert (connection.payment_terms_days, connection.sync_interval_minutes) == (14, 30)
    access = Access.objects.get(connection=connection)
    assert (access.user, access.role) == (world.users["staff"], Role.PARTNER_ADMIN)
    run = SyncRun.objects.get(connection=connection)
    assert (run.trigger, run.requested_by) == ("added", world.users["staff"])
    assert run.state in ("queued", "succeeded")  # queued after the commit (none in a test)
    (entry,) = entries()
    assert (entry.action, entry.outcome, entry.connection, entry.username) == (
        "connection-added", "ok", connection, "staff",
    )  # fmt: skip
    assert world.sandbox.app.config.acronis_client_secret not in str(entry.detail)


def test_a_superuser_who_adds_gets_no_access_row(world):
    world.client("root").post(ADD, acronis_form(world))

    assert not Access.objects.filter(connection__name="Charlie").exists()


def test_refused_credentials_are_shown_in_plain_words_and_nothing_is_saved(world):
    response = world.client("staff").post(ADD, acronis_form(world, client_secret=WRONG))

    page = response.content.decode()
    assert response.status_code == 200
    assert "refused these credentials" in page
    assert WRONG not in page
    assert_no_secret(response, world.secrets)
    assert not Connection.objects.filter(name="Charlie").exists()
    (entry,) = entries()
    assert (entry.action, entry.outcome) == ("connection-added", "refused")
    assert WRONG not in entry.message + str(entry.detail)


def test_a_validation_error_does_not_echo_the_typed_secret(world):
    response = world.client("staff").post(
        ADD, acronis_form(world, base_url="not a url", client_secret=WRONG)
    )

    page = response.content.decode()
    assert "There is a problem" in page
    assert WRONG not in page
    assert world.sandbox.app.config.acronis_client_id not in page  # write-only too
    assert not Connection.objects.filter(name="Charlie").exists()


def test_a_too_long_secret_is_refused_without_saying_its_length(world):
    response = world.client("staff").post(ADD, acronis_form(world, client_secret="s" * 777))

    page = response.content.decode()
    assert "too long for a credential" in page and "777" not in page


def test_a_taken_name_is_refused(world):
    response = world.client("staff").post(ADD, acronis_form(world, name="Alpha"))

    assert "already exists" in response.content.decode()
    assert Connection.objects.filter(name="Alpha").count() == 1


def test_masstack_is_added_with_the_service_account_as_a_file(world):
    config, _ = world.sandbox.app.masstack.connection(world.sandbox.url)
    upload = SimpleUploadedFile("sa.json", SERVICE_ACCOUNT_FILE.read_bytes(), "application/json")
    form = world.client("staff").get(ADD, {"provider": "masstack"}).content.decode()

    response = world.client("staff").post(
        ADD,
        {
            "provider": "masstack", "name": "Mass", "billing_url": config["billing_url"],
            "customers_url": config["customers_url"], "token_url": config["token_url"],
            "org": config["org"], "accounts": "\n".join(config["accounts"][:2]),
            "service_account": upload, "payment_terms_days": "30", "sync_interval_minutes": "0",
        },
    )  # fmt: skip

    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form
    assert response.status_code == 302
    connection = Connection.objects.get(name="Mass")
    assert connection.config["accounts"] == config["accounts"][:2]
    assert "private_key" in connection.credentials["service_account"]


def test_a_file_that_is_not_json_is_refused_in_words(world):
    upload = SimpleUploadedFile("sa.json", b"-----BEGIN PRIVATE KEY-----", "application/json")

    response = world.client("staff").post(
        ADD,
        {"provider": "masstack", "name": "Mass", "service_account": upload, "org": "o"},
    )

    page = response.content.decode()
    assert "this one is not JSON" in page and "BEGIN PRIVATE KEY" not in page


def test_hostway_is_added_with_its_accounts(world):
    config = world.sandbox.app.config
    account = world.sandbox.app.hostway.account_ids[0]

    world.client("staff").post(
        ADD,
        {
            "provider": "hostway", "name": "HW", "base_url": world.sandbox.url,
            "accounts": account, "username": config.hostway_username,
            "password": config.hostway_password, "payment_terms_days": "30",
            "sync_interval_minutes": "60",
        },
    )  # fmt: skip

    assert Connection.objects.get(name="HW").config == {
        "base_url": world.sandbox.url, "accounts": [account],
    }  # fmt: skip


def test_the_cli_and_the_form_share_the_service(world):
    config = world.sandbox.app.config
    call_command(
        "add_connection", "acronis", "--name", "FromCli", "--base-url", world.sandbox.url,
        "--client-id", config.acronis_client_id, "--client-secret", config.acronis_client_secret,
    )  # fmt: skip

    (entry,) = entries()
    assert (entry.action, entry.connection.name, entry.username) == (
        "connection-added", "FromCli", "",
    )  # fmt: skip


# -- edit, credentials, test ------------------------------------------------------


def edit_form(connection, **changes) -> dict:
    config = connection.config
    return {
        "name": connection.name, "base_url": config["base_url"],
        "currency": config.get("currency", ""), "payment_terms_days": "21",
        "sync_interval_minutes": "15", **changes,
    }  # fmt: skip


def test_a_partner_admin_edits_the_settings(world):
    response = world.client("admin_a").post(
        url("connection_edit", world.a.pk), edit_form(world.a, currency="gbp", paused="on")
    )

    connection = Connection.objects.get(pk=world.a.pk)
    assert response.status_code == 302
    assert (connection.payment_terms_days, connection.sync_interval_minutes) == (21, 15)
    assert (connection.config["currency"], connection.paused) == ("GBP", True)
    (entry,) = entries()
    assert entry.action == "connection-edited"
    assert set(entry.detail["changed"]) == {
        "payment_terms_days", "sync_interval_minutes", "paused", "currency",
    }  # fmt: skip


def test_a_new_server_address_needs_the_credentials_typed_again(world):
    response = world.client("admin_a").post(
        url("connection_edit", world.a.pk), edit_form(world.a, base_url="https://evil.example")
    )

    assert "needs the credentials typed again" in response.content.decode()
    assert Connection.objects.get(pk=world.a.pk).config["base_url"] == world.sandbox.url
    assert not entries()


def test_the_credentials_page_never_shows_a_stored_value(world):
    page = world.client("admin_a").get(url("connection_credentials", world.a.pk))

    body = page.content.decode()
    assert_no_secret(page, world.secrets)
    assert world.sandbox.app.config.acronis_client_id not in body
    assert 'type="password"' in body


def test_rotating_with_an_empty_field_keeps_the_stored_value(world):
    config = world.sandbox.app.config

    response = world.client("admin_a").post(
        url("connection_credentials", world.a.pk),
        {"base_url": world.sandbox.url, "client_id": config.acronis_client_id, "client_secret": ""},
    )

    assert response.status_code == 302
    credentials = Connection.objects.get(pk=world.a.pk).credentials
    assert credentials["client_secret"] == config.acronis_client_secret
    (entry,) = entries()
    assert (entry.action, entry.detail["fields"]) == ("credentials-rotated", ["client_id"])


def test_rotating_to_refused_credentials_saves_nothing(world):
    response = world.client("admin_a").post(
        url("connection_credentials", world.a.pk),
        {"base_url": world.sandbox.url, "client_secret": WRONG},
    )

    assert "refused these credentials" in response.content.decode()
    assert_no_secret(response, [*world.secrets, WRONG])
    stored = Connection.objects.get(pk=world.a.pk).credentials["client_secret"]
    assert stored == world.sandbox.app.config.acronis_client_secret
    (entry,) = entries()
    assert (entry.action, entry.outcome) == ("credentials-rotated", "refused")


def test_rotating_with_nothing_typed_is_refused(world):
    response = world.client("admin_a").post(
        url("connection_credentials", world.a.pk), {"base_url": world.sandbox.url}
    )

    assert "at least one new credential" in response.content.decode()
    assert not entries()


def test_test_connection_checks_the_stored_credentials(world):
    client = world.client("admin_a")

    fragment = client.post(url("connection_test", world.a.pk), HTTP_HX_REQUEST="true")
    page = client.post(url("connection_test", world.a.pk))

    assert "It works." in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert "It works." in page.content.decode() and "<html" in page.content.decode()
    assert not entries()


def test_test_connection_with_typed_credentials_saves_nothing(world):
    response = world.client("admin_a").post(
        url("connection_test", world.a.pk),
        {"typed": "1", "base_url": world.sandbox.url, "client_secret": WRONG},
        HTTP_HX_REQUEST="true",
    )

    assert "refused these credentials" in response.content.decode()
    assert_no_secret(response, [*world.secrets, WRONG])
    stored = Connection.objects.get(pk=world.a.pk).credentials["client_secret"]
    assert stored == world.sandbox.app.config.acronis_client_secret


def test_the_provider_echo_is_redacted(world):
    """A provider that repeats the login in its error: never in the page, nor the log."""
    world.sandbox.app.faults.add("echo_auth", status=401, path="/api/2/idp/token")

    response = world.client("staff").post(ADD, acronis_form(world))

    page = response.content.decode()
    assert "refused these credentials" in page and "Details from the provider" in page
    assert_no_secret(response, world.secrets)
    assert not [e for e in AuditEntry.objects.all() for s in world.secrets if s in str(e.detail)]
    assert not Connection.objects.filter(name="Charlie").exists()


# -- pause, remove, history -----------------------------------------------------------


def test_pause_toggles_and_the_scheduler_skips_paused_connections(world):
    client = world.client("admin_a")
    SyncRun.objects.all().delete()

    client.post(url("connection_pause", world.a.pk))
    queued = {run.connection.name for run in sync_schedule_due()}

    assert Connection.objects.get(pk=world.a.pk).paused
    assert queued == {"Bravo"}
    (entry,) = entries()
    assert (entry.action, entry.detail) == ("connection-paused", {"paused": True})


def test_sync_now_still_works_on_a_paused_connection(world):
    Connection.objects.filter(pk=world.a.pk).update(paused=True)

    world.client("admin_a").post(reverse("invoices:connection_sync", args=[world.a.pk]))

    run = SyncRun.objects.filter(connection=world.a).first()
    assert (run.trigger, run.requested_by) == ("dashboard", world.users["admin_a"])


def test_the_remove_page_says_what_happens_and_archives_on_post(world):
    client = world.client("admin_a")
    count = Invoice.objects.filter(connection=world.a).count()

    confirm = client.get(url("connection_remove", world.a.pk)).content.decode()
    done = client.post(url("connection_remove", world.a.pk))

    assert f"{count:,} mirrored invoices" in confirm and "Nothing is deleted" in confirm
    assert done.status_code == 302
    connection = Connection.objects.get(pk=world.a.pk)
    assert connection.archived_at is not None
    assert Invoice.objects.filter(connection=world.a).count() == count  # nothing deleted
    (entry,) = entries()
    assert (entry.action, entry.detail["invoices_hidden"]) == ("connection-removed", count)


def test_a_removed_connection_disappears_everywhere(world):
    number = Invoice.objects.filter(connection=world.a).first().number
    Access.objects.create(user=world.users["admin_a"], connection=world.b, role=Role.FINANCE)
    before = world.client("admin_a").get(reverse("invoices:invoice_list"), {"q": number})
    assert f">{number}<" in before.content.decode()
    world.client("admin_a").post(url("connection_remove", world.a.pk))
    SyncRun.objects.all().delete()

    for user in ("admin_a", "root"):
        client = world.client(user)
        listing = client.get(reverse("invoices:connections")).content.decode()
        invoices = client.get(reverse("invoices:invoice_list"), {"q": number}).content.decode()
        assert "Alpha" not in listing
        assert f">{number}<" not in invoices
        assert client.get(url("connection_detail", world.a.pk)).status_code == 404
        user_invoices = invoices_for_user(world.users[user])
        assert not user_invoices.filter(connection=world.a).exists()
        assert not invoice_totals(invoices=user_invoices)  # Bravo was never synced
    assert {run.connection.name for run in sync_schedule_due()} == {"Bravo"}
    assert "Alpha" not in call_command_output("list_connections")


def call_command_output(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_removed_connection_is_not_synced_from_the_command_line(world):
    Connection.objects.filter(pk=world.a.pk).update(archived_at=timezone.now())

    call_command_output("sync_invoices", "--connection", "Bravo")
    with pytest.raises(Exception, match="no connection named 'Alpha'"):
        call_command_output("sync_invoices", "--connection", "Alpha")


def test_the_history_lists_every_run_25_a_page(world):
    now = timezone.now()
    for n in range(30):
        SyncRun.objects.create(
            connection=world.a, state="failed", trigger="schedule", error_kind="auth",
            error="401 from the token endpoint", started_at=now,
            finished_at=now + dt.timedelta(seconds=n),
        )  # fmt: skip
    client = world.client("finance")

    first = client.get(url("connection_history", world.a.pk)).content.decode()
    second = client.get(url("connection_history", world.a.pk), {"page": 2}).content.decode()

    assert first.count('class="card conn-run') == 25
    assert second.count('class="card conn-run') == 6  # 30 and the fixture's sync
    assert "refused this connection&#x27;s credentials" in first
    assert "401 from the token endpoint" not in first  # the technical detail: admins only
    assert "On schedule" in first and "Page 1 of 2" in first
    admin = world.client("admin_a").get(url("connection_history", world.a.pk)).content.decode()
    assert "401 from the token endpoint" in admin


# -- every page and fragment, grepped for secrets ----------------------------------


def test_no_page_or_fragment_holds_a_secret(world):
    client = world.client("admin_a")
    pk = world.a.pk
    responses = [
        client.get(reverse("invoices:connections")),
        client.get(url("connection_detail", pk)),
        client.get(url("connection_edit", pk)),
        client.get(url("connection_credentials", pk)),
        client.get(url("connection_remove", pk)),
        client.get(url("connection_history", pk)),
        client.get(reverse("invoices:connection_sync_status", args=[pk])),
        client.post(url("connection_test", pk), HTTP_HX_REQUEST="true"),
        client.post(url("connection_test", pk)),
        client.post(url("connection_edit", pk), edit_form(world.a, payment_terms_days="x")),
        client.post(url("connection_credentials", pk), {"base_url": "nope", "client_secret": "y"}),
        world.client("staff").get(ADD, {"provider": "acronis"}),
        world.client("staff").get(ADD, {"provider": "hostway"}),
        world.client("staff").get(ADD, {"provider": "masstack"}),
        world.client("staff").post(ADD, acronis_form(world, name="")),
        world.client("finance").post(url("connection_edit", pk)),
        world.client("stranger").get(url("connection_detail", pk)),
    ]
    for response in responses:
        assert_no_secret(response, world.secrets)
    assert not [e for e in AuditEntry.objects.all() for s in world.secrets if s in str(e.detail)]
