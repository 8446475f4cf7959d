"""The audit log page and its CSV: who sees which entries (unauthorised: 404), the
filters, no secret anywhere; the model and the Django admin refuse changes and deletes;
an export that breaks off is recorded as failed."""

from __future__ import annotations

import contextlib
import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from invoices import audit
from invoices.models import Access, AuditAction, AuditEntry, AuditOutcome, Role

from .conftest import entries, only

PAGE = reverse("invoices:audit_log")
CSV = reverse("invoices:audit_log_export")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trail(mirror):
    """One entry on Alpha, one on Bravo, one on no connection; and `alpha_admin`,
    partner admin of Alpha only."""
    users = mirror.users
    audit.record(users["finance"], AuditAction.PDF, connection=mirror.alpha, target="INV-A01")
    audit.record(users["partner"], AuditAction.EXPORT, connection=mirror.bravo, target="B-file")
    audit.record(None, AuditAction.LOGIN_FAILED, username="mallory", outcome=AuditOutcome.FAILED)
    admin = get_user_model().objects.create_user("alpha_admin")
    Access.objects.create(user=admin, connection=mirror.alpha, role=Role.PARTNER_ADMIN)
    users["alpha_admin"] = admin
    return mirror


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("who", ["finance", "stranger"])
def test_finance_and_users_without_a_partner_admin_role_get_404(trail, who):
    client = _client(trail.users[who])
    assert client.get(PAGE).status_code == 404
    assert client.get(CSV).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(trail):
    assert Client().get(PAGE).status_code == 302
    assert Client().get(CSV).status_code == 302


def test_a_partner_admin_sees_only_their_connections_entries(trail):
    client = _client(trail.users["alpha_admin"])

    html = client.get(PAGE).content.decode()
    rows = _csv_rows(client.get(CSV))

    assert "INV-A01" in html and "B-file" not in html and "mallory" not in html
    assert [row[4] for row in rows[1:]] == ["INV-A01"]
    # another connection's id as a filter shows nothing, never that connection's entries
    other = client.get(PAGE, {"connection": trail.bravo.pk}).content.decode()
    assert "B-file" not in other and "INV-A01" not in other


def test_staff_see_everything(trail):
    client = _client(trail.users["superuser"])

    html = client.get(PAGE).content.decode()
    rows = _csv_rows(client.get(CSV))

    assert all(text in html for text in ("INV-A01", "B-file", "mallory"))
    assert {row[4] for row in rows[1:]} >= {"INV-A01", "B-file", ""}


def test_is_staff_without_superuser_sees_everything_too(trail):
    staff = get_user_model().objects.create_user("operator", is_staff=True)
    assert "B-file" in _client(staff).get(PAGE).content.decode()


def test_the_filters_narrow_the_page_and_the_csv(trail):
    client = _client(trail.users["superuser"])
    query = {"who": "finan", "action": AuditAction.PDF, "connection": trail.alpha.pk}

    html = client.get(PAGE, query).content.decode()
    rows = _csv_rows(client.get(CSV, query))

    assert "INV-A01" in html and "B-file" not in html
    assert [row[1] for row in rows[1:]] == ["finance"]
    failed = _csv_rows(client.get(CSV, {"outcome": AuditOutcome.FAILED}))
    assert [row[1] for row in failed[1:]] == ["mallory"]


def test_the_csv_has_words_for_headers_and_is_streamed(trail):
    response = _client(trail.users["superuser"]).get(CSV)

    assert response.streaming and response["Content-Type"].startswith("text/csv")
    header = _csv_rows(response)[0]
    assert header[:4] == ["When", "Who", "Connection", "What"]


def test_the_page_is_paged(trail):
    for n in range(60):
        audit.record(
            trail.users["finance"], AuditAction.PDF, connection=trail.alpha, target=f"P{n}"
        )
    client = _client(trail.users["alpha_admin"])

    first = client.get(PAGE).content.decode()
    second = client.get(PAGE, {"page": 2}).content.decode()

    assert "P59" in first and "P0<" not in first and "Page 1 of 2" in first
    assert "P0" in second and "INV-A01" in second


def test_no_secret_of_a_connection_reaches_the_page_or_the_csv(trail):
    secret = trail.alpha.credentials["client_secret"]
    audit.record(
        trail.users["finance"], AuditAction.PAYMENT, connection=trail.alpha, target="INV-A02",
        message=f"provider said: bad secret {secret}", detail={"answer": f"token={secret}"},
    )  # fmt: skip
    client = _client(trail.users["alpha_admin"])

    assert secret not in client.get(PAGE).content.decode()
    assert secret not in b"".join(client.get(CSV).streaming_content).decode()


def test_the_nav_link_is_shown_only_to_who_may_open_the_log(trail):
    link = f'href="{PAGE}"'
    assert link in _client(trail.users["alpha_admin"]).get("/?view=all").content.decode()
    assert link in _client(trail.users["superuser"]).get("/?view=all").content.decode()
    assert link not in _client(trail.users["finance"]).get("/?view=all").content.decode()


# -- append-only ---------------------------------------------------------------------


def test_the_model_refuses_changes_and_deletes(trail):
    entry = AuditEntry.objects.first()
    entry.target = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(target="changed")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).target != "changed"


def test_the_admin_shows_entries_but_refuses_add_change_and_delete(trail):
    client = _client(trail.users["superuser"])
    entry = AuditEntry.objects.filter(connection=trail.alpha).get()
    count = AuditEntry.objects.count()

    assert client.get(reverse("admin:invoices_auditentry_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:invoices_auditentry_change", args=[entry.pk])).status_code == 200
    )
    delete = reverse("admin:invoices_auditentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:invoices_auditentry_change", args=[entry.pk])
    assert client.post(change, {"target": "changed"}).status_code == 403
    assert client.get(reverse("admin:invoices_auditentry_add")).status_code == 403
    bulk = client.post(
        reverse("admin:invoices_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.count() == count
    assert AuditEntry.objects.get(pk=entry.pk).target == "INV-A01"


# -- an export that breaks off ---------------------------------------------------------


def test_a_csv_export_that_fails_part_way_is_recorded_failed_not_ok(trail, monkeypatch):
    from invoices import exports

    real = exports.csv_blocks

    def failing_after_two(invoices, tally):
        with contextlib.closing(real(invoices, tally)) as blocks:  # as a failing read does
            yield next(blocks)  # the header
            yield next(blocks)  # two rows (CHUNK)
            raise RuntimeError("the database went away")

    monkeypatch.setattr(exports, "CHUNK", 2)
    monkeypatch.setattr(exports, "csv_blocks", failing_after_two)
    before = {e.pk for e in entries()}
    response = _client(trail.users["finance"]).get(reverse("invoices:invoice_export", args=["csv"]))

    with pytest.raises(RuntimeError):
        b"".join(response.streaming_content)

    (entry,) = [e for e in entries(AuditAction.EXPORT) if e.pk not in before]
    assert entry.outcome == AuditOutcome.FAILED
    assert entry.detail["rows"] == 2 and entry.connection == trail.alpha


def test_an_export_is_recorded_once_its_rows_are_known(mirror):
    response = _client(mirror.users["finance"]).get(
        reverse("invoices:invoice_export", args=["csv"])
    )
    assert entries() == []
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()

    entry = only(AuditAction.EXPORT)
    assert entry.outcome == AuditOutcome.OK and entry.detail["rows"] == len(lines) - 1
