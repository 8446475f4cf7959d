"""The finance workflows through the web: the invoice view, its PDF, payment
confirmation, notes, selections and their actions, aging, saved views; and the access
line crossed for each (GET, and POST with a valid CSRF token)."""

from __future__ import annotations

import html as html_lib
import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from invoices.models import Invoice, InvoiceNote, PaymentConfirmation, SavedView
from invoices.selectors import invoice_totals, invoices_for_user

HTMX = {"HTTP_HX_REQUEST": "true"}


def csrf_client(synced, name: str) -> tuple[Client, str]:
    """A client that enforces CSRF, and a valid token for it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(synced.users[name])
    page = client.get(reverse("invoices:invoice_list")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client, token


# -- the invoice view ---------------------------------------------------------------


def test_the_invoice_page_shows_its_fields_in_words(synced):
    invoice = synced.unpaid("acronis")
    page = synced.client("finance").get(reverse("invoices:invoice_detail", args=[invoice.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert f"Invoice {invoice.number}" in html
    assert html_lib.escape(invoice.customer_name) in html and invoice.provider_id in html
    assert reverse("invoices:account_detail", args=[invoice.account_id]) in html
    for label in ("Issued", "Scheduled", "Due", "Paid on", "Exported to accounting",
                  "First seen here", "Last changed by a sync", "More from Acronis"):  # fmt: skip
        assert label in html
    extra = html[html.index('<table class="table extra-fields">') :]
    extra = extra[: extra.index("</table>")]
    assert "<code>PaymentType</code>" in extra  # the provider's extra fields, as a table
    assert "{" not in extra  # not JSON
    assert "Confirm payment" in html and "Download PDF" in html


def test_with_htmx_the_invoice_is_the_panel_alone(synced):
    invoice = synced.unpaid("hostway")
    page = synced.client("finance").get(
        reverse("invoices:invoice_detail", args=[invoice.pk]), **HTMX
    )
    html = page.content.decode()
    assert html.lstrip().startswith("<article") and "<html" not in html
    assert "offers no way to confirm a payment" in html  # Hostway invoices say why


def test_the_pdf_is_an_attachment_with_a_sensible_name(synced):
    invoice = synced.invoice("masstack")
    response = synced.client("partner").get(reverse("invoices:invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'attachment; filename="masstack-{invoice.number}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    assert b"Bearer" not in response.content


def test_a_pdf_the_provider_cannot_give_is_a_page_in_plain_words(synced, provider):
    invoice = synced.invoice("acronis")
    provider.faults.add("status", status=502, path="/api/advanced-automation/v1/DownloadInvoice")

    response = synced.client("finance").get(reverse("invoices:invoice_pdf", args=[invoice.pk]))

    html = response.content.decode()
    assert response.status_code == 502
    assert "The PDF could not be fetched: Acronis Advanced Automation did not answer" in html
    assert "Technical details" not in html  # finance staff get the words only


def test_confirming_a_payment_asks_first_then_the_totals_change(synced, provider):
    user = synced.users["finance"]
    invoice = synced.unpaid("acronis")
    client, token = csrf_client(synced, "finance")
    url = reverse("invoices:invoice_confirm_payment", args=[invoice.pk])

    step = client.get(url).content.decode()
    assert invoice.number in step and html_lib.escape(invoice.customer_name) in step
    assert "Yes, confirm the payment" in step
    before = invoice_totals(invoices=invoices_for_user(user))

    response = client.post(url, {"csrfmiddlewaretoken": token}, **HTMX)

    assert response.status_code == 200
    assert "Confirmed: Acronis Advanced Automation has it as paid." in response.content.decode()
    assert response["HX-Trigger"] == "invoices-changed"
    after = invoice_totals(invoices=invoices_for_user(user))
    eur = lambda totals: next(t for t in totals if t.currency == invoice.currency)  # noqa: E731
    assert eur(after).outstanding == eur(before).outstanding - invoice.amount_due


def test_notes_are_added_listed_and_deleted_by_their_author(synced):
    invoice = synced.invoice("hostway")
    client, token = csrf_client(synced, "finance")
    url = reverse("invoices:invoice_note_add", args=[invoice.pk])

    response = client.post(
        url, {"csrfmiddlewaretoken": token, "text": "Customer promised payment by 15 Dec",
              "follow_up_on": "2026-12-15"}, **HTMX,
    )  # fmt: skip

    assert response.status_code == 200
    html = response.content.decode()
    assert "Customer promised payment by 15 Dec" in html and "finance" in html
    note = InvoiceNote.objects.get(invoice=invoice)
    other, other_token = csrf_client(synced, "partner")
    delete = reverse("invoices:invoice_note_delete", args=[invoice.pk, note.pk])
    assert other.post(delete, {"csrfmiddlewaretoken": other_token}).status_code == 404
    assert client.post(delete, {"csrfmiddlewaretoken": token}).status_code == 200
    assert not InvoiceNote.objects.exists()


def test_an_empty_note_is_refused_in_words(synced):
    invoice = synced.invoice("hostway")
    client, token = csrf_client(synced, "finance")
    response = client.post(
        reverse("invoices:invoice_note_add", args=[invoice.pk]),
        {"csrfmiddlewaretoken": token, "text": "   "},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not InvoiceNote.objects.exists()


# -- the access line ---------------------------------------------------------------


def test_another_connection_s_invoice_is_404_for_every_view_get_and_post(synced, provider):
    invoice = synced.unpaid("acronis")
    note = InvoiceNote.objects.create(invoice=invoice, author=synced.users["finance"], text="x")
    client, token = csrf_client(synced, "outsider")
    pk = invoice.pk
    for name in ("invoice_detail", "invoice_pdf", "invoice_confirm_payment"):
        assert client.get(reverse(f"invoices:{name}", args=[pk])).status_code == 404, name
    for name, args in (
        ("invoice_confirm_payment", [pk]),
        ("invoice_check_payment", [pk]),
        ("invoice_note_add", [pk]),
        ("invoice_note_delete", [pk, note.pk]),
    ):
        response = client.post(reverse(f"invoices:{name}", args=args),
                               {"csrfmiddlewaretoken": token, "text": "x"})  # fmt: skip
        assert response.status_code == 404, name
    assert provider.calls() == []
    assert not PaymentConfirmation.objects.exists()
    assert InvoiceNote.objects.count() == 1


def test_a_selection_of_someone_else_s_ids_selects_nothing(synced):
    foreign = list(
        Invoice.objects.filter(connection=synced.connections["acronis"]).values_list(
            "pk", flat=True
        )[:3]
    )
    client, token = csrf_client(synced, "outsider")

    response = client.post(
        reverse("invoices:selection"), {"csrfmiddlewaretoken": token, "pick": foreign}, **HTMX
    )

    assert "Tick invoices to act on several" in response.content.decode()
    act = client.post(reverse("invoices:selection_act"),
                      {"csrfmiddlewaretoken": token, "action": "csv"})  # fmt: skip
    assert act.status_code == 400 and "Nothing is selected." in act.content.decode()


def test_an_accounting_file_is_only_for_who_made_it(synced, provider):
    from invoices.accounting import accounting_export

    (export,) = accounting_export(
        user=synced.users["finance"], invoices=[synced.invoice("acronis")], fmt="csv"
    ).exports
    url = reverse("invoices:accounting_file", args=[export.pk])
    assert synced.client("finance").get(url).status_code == 200
    assert synced.client("partner").get(url).status_code == 404
    assert synced.client("outsider").get(url).status_code == 404


# -- selections and their actions -------------------------------------------------


def _select(client, token, **data):
    return client.post(
        reverse("invoices:selection"), {"csrfmiddlewaretoken": token, **data}, **HTMX
    )


def test_ticked_rows_export_exactly_those_rows(synced):
    client, token = csrf_client(synced, "partner")
    chosen = [
        synced.invoice("acronis", 3),
        synced.invoice("hostway", 0),
        synced.invoice("masstack", 2),
    ]
    _select(client, token, pick=[i.pk for i in chosen])
    bar = _select(client, token, pick=[], unpick=[chosen[1].pk]).content.decode()
    assert "2 invoices selected" in bar

    response = client.post(reverse("invoices:selection_act"),
                           {"csrfmiddlewaretoken": token, "action": "csv"})  # fmt: skip

    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    numbers = {line.split(",")[0] for line in lines[1:]}
    assert numbers == {chosen[0].number, chosen[2].number}


def test_select_all_matching_holds_the_filter_minus_what_was_unticked(synced):
    client, token = csrf_client(synced, "partner")
    unpaid = Invoice.objects.filter(status="unpaid", connection__in=synced.connections.values())
    first = unpaid.order_by("pk").first()

    _select(client, token, all="1", query="status=unpaid&page=3&sort=total")
    bar = _select(client, token, unpick=[first.pk]).content.decode()

    assert f"{unpaid.count() - 1} invoices selected" in bar
    response = client.post(reverse("invoices:selection_act"),
                           {"csrfmiddlewaretoken": token, "action": "xlsx"})  # fmt: skip
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="selected-invoices-')


def test_the_pdfs_of_a_selection_come_as_one_zip(synced):
    client, token = csrf_client(synced, "partner")
    chosen = [synced.invoice("acronis", 0), synced.invoice("masstack", 0)]
    _select(client, token, pick=[i.pk for i in chosen])

    response = client.post(reverse("invoices:selection_act"),
                           {"csrfmiddlewaretoken": token, "action": "zip"})  # fmt: skip

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(archive.namelist()) == 3 and "REPORT.txt" in archive.namelist()


def test_confirming_a_selection_asks_then_reports_each_invoice(synced, provider):
    client, token = csrf_client(synced, "partner")
    chosen = [synced.unpaid("acronis", 0), synced.invoice("hostway", 0)]
    _select(client, token, pick=[i.pk for i in chosen])
    act = reverse("invoices:selection_act")

    ask = client.post(act, {"csrfmiddlewaretoken": token, "action": "confirm"}).content.decode()
    assert "Yes, confirm these payments" in ask and chosen[0].number in ask
    assert not [c for c in provider.calls() if c[0] == "POST"]

    done = client.post(act, {"csrfmiddlewaretoken": token, "action": "confirm",
                             "confirmed": "yes"}).content.decode()  # fmt: skip
    assert 'data-state="confirmed"' in done and 'data-state="skipped"' in done


def test_one_note_on_a_whole_selection(synced):
    client, token = csrf_client(synced, "partner")
    chosen = [synced.invoice("acronis", 0), synced.invoice("hostway", 1)]
    _select(client, token, pick=[i.pk for i in chosen])

    response = client.post(reverse("invoices:selection_act"), {
        "csrfmiddlewaretoken": token, "action": "note", "text": "Call them on Monday",
    })  # fmt: skip

    assert "Note added to 2 invoices." in response.content.decode()
    assert set(InvoiceNote.objects.values_list("invoice_id", flat=True)) == {i.pk for i in chosen}


# -- aging -------------------------------------------------------------------------


def test_aging_buckets_add_up_to_the_list_s_outstanding_to_the_cent(synced):
    user = synced.users["partner"]
    page = synced.client("partner").get(reverse("invoices:aging"))
    html = page.content.decode()

    assert page.status_code == 200 and "<svg" in html
    totals = invoice_totals(invoices=invoices_for_user(user))
    from invoices.aging import receivables_aging

    aging = receivables_aging(
        invoices=invoices_for_user(user), connections=list(synced.connections.values()),
        today=__import__("django.utils.timezone").utils.timezone.localdate(),
    )  # fmt: skip
    by_currency = {row.currency: row for row in aging}
    for t in totals:
        if t.outstanding_count:
            assert by_currency[t.currency].amount == t.outstanding
            assert by_currency[t.currency].count == t.outstanding_count
    assert sum((row.amount for row in aging), Decimal(0)) > 0


# -- saved views -------------------------------------------------------------------


def test_a_shared_view_opens_for_a_colleague_showing_only_what_they_may_see(synced):
    client, token = csrf_client(synced, "partner")
    response = client.post(reverse("invoices:saved_view_save"), {
        "csrfmiddlewaretoken": token, "name": "Unpaid everywhere",
        "query": "status=unpaid&sort=-total", "shared": "on",
    })  # fmt: skip
    view = SavedView.objects.get()
    assert response.status_code == 302 and f"saved={view.pk}" in response["Location"]
    assert (view.query, view.sort, view.shared) == ("status=unpaid", "-total", True)

    colleague = synced.client("finance")
    page = colleague.get(response["Location"])
    assert page.status_code == 200
    # the outsider shares MasStack with the partner: sees the view, and only MasStack rows
    outsider = synced.client("outsider")
    html = outsider.get(response["Location"]).content.decode()
    assert "Unpaid everywhere" in html


def test_only_the_owner_renames_or_deletes_a_view(synced):
    view = SavedView.objects.create(owner=synced.users["partner"], name="Mine", shared=True)
    client, token = csrf_client(synced, "finance")
    for url in (reverse("invoices:saved_view_change", args=[view.pk]),
                reverse("invoices:saved_view_delete", args=[view.pk])):  # fmt: skip
        assert client.post(url, {"csrfmiddlewaretoken": token, "name": "x"}).status_code == 404
    assert SavedView.objects.get().name == "Mine"


def test_a_private_view_is_nobody_else_s(synced):
    view = SavedView.objects.create(
        owner=synced.users["partner"], name="Private", query="status=paid"
    )
    client, token = csrf_client(synced, "finance")
    response = client.post(reverse("invoices:saved_view_default"),
                           {"csrfmiddlewaretoken": token, "view": view.pk})  # fmt: skip
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["finance", "outsider"])
def test_the_default_view_opens_at_the_root(synced, who):
    client, token = csrf_client(synced, who)
    client.post(reverse("invoices:saved_view_save"), {
        "csrfmiddlewaretoken": token, "name": "Unpaid", "query": "status=unpaid"})  # fmt: skip
    view = SavedView.objects.get(owner=synced.users[who])
    client.post(
        reverse("invoices:saved_view_default"), {"csrfmiddlewaretoken": token, "view": view.pk}
    )

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].endswith(f"?status=unpaid&saved={view.pk}")
    assert client.get("/?view=all").status_code == 200


@pytest.mark.parametrize("query", ["notes=any", "notes=follow_up"])
def test_the_list_s_figures_for_notes_follow_a_note_added_or_deleted(synced, query):
    # The totals, tab counts and selection count of a notes filter are cached until the
    # invoices change: a note is such a change.
    from django.utils import timezone

    from tests.views import pages

    invoice = synced.unpaid("hostway")
    client, token = csrf_client(synced, "finance")
    url = f"{reverse('invoices:invoice_list')}?{query}"
    assert pages.totals(client.get(url)) == {}  # no notes yet: nothing listed

    add = reverse("invoices:invoice_note_add", args=[invoice.pk])
    client.post(add, {"csrfmiddlewaretoken": token, "text": "Call on Monday",
                      "follow_up_on": timezone.localdate().isoformat()}, **HTMX)  # fmt: skip
    after_add = pages.totals(client.get(url))
    assert after_add[invoice.currency]["count"] == "1 invoice"

    note = InvoiceNote.objects.get(invoice=invoice)
    delete = reverse("invoices:invoice_note_delete", args=[invoice.pk, note.pk])
    assert client.post(delete, {"csrfmiddlewaretoken": token}).status_code == 200
    assert pages.totals(client.get(url)) == {}
