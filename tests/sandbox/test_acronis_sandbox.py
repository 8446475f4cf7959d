"""The Acronis stand-in: wire quirks of seed 003, auth, filters, shapes, lazy data."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from invoices.providers import parsing
from invoices.sandbox import SandboxApp, SandboxConfig

API = "/api/advanced-automation/v1"
SEED = Path(__file__).resolve().parent.parent / "fixtures" / "acronis_invoice_overview.json"
ALL = {"ShowExported": "true"}


class Api:
    """A werkzeug test client holding an Acronis token."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.client = Client(app)
        self.token = self.client.post(
            "/api/2/idp/token",
            data={"grant_type": "client_credentials"},
            auth=("sandbox-client", "sandbox-secret"),
        ).json["access_token"]

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(
            f"{API}/{path}", query_string=query, headers={"Authorization": f"Bearer {self.token}"}
        )

    def post(self, path: str, body: Any) -> TestResponse:
        return self.client.post(
            f"{API}/{path}", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )

    def overview(self, **query: Any) -> dict[str, Any]:
        response = self.get("InvoiceOverview", **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = parsing.loads(response.get_data())
        return body.get("InvoicesPagedSearchResult", body)

    def everything(self) -> list[dict[str, Any]]:
        return (
            self.overview(Page=1, PageSize=1000, **ALL)["Invoices"]
            + self.overview(Page=2, PageSize=1000, **ALL)["Invoices"]
        )


@pytest.fixture
def app() -> SandboxApp:
    return SandboxApp(SandboxConfig())


@pytest.fixture
def api(app: SandboxApp) -> Api:
    return Api(app)


# -- auth ------------------------------------------------------------------------------


def test_token_answer_has_the_documented_fields(app):
    response = Client(app).post(
        "/api/2/idp/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-client", "sandbox-secret"),
    )

    body = response.json
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["access_token"]
    assert isinstance(body["expires_on"], int)
    assert abs(body["expires_on"] - (dt.datetime.now(dt.UTC).timestamp() + 7200)) < 5


def test_token_with_a_wrong_secret_is_refused(app):
    response = Client(app).post(
        "/api/2/idp/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-client", "nope"),
    )

    assert response.status_code == 401


def test_token_needs_the_client_credentials_grant(app):
    response = Client(app).post(
        "/api/2/idp/token",
        data={"grant_type": "password"},
        auth=("sandbox-client", "sandbox-secret"),
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "InvoiceOverview?Page=1&PageSize=1"),
        ("POST", "InvoiceOverview"),
        ("GET", "DownloadInvoice?id=x"),
    ],
)
def test_api_calls_without_a_token_are_unauthorized(app, method, path):
    response = Client(app).open(f"{API}/{path}", method=method)

    assert response.status_code == 401


def test_an_expired_token_is_unauthorized(app, api):
    app.tokens.expire_all()

    assert api.get("InvoiceOverview", Page=1, PageSize=1).status_code == 401


# -- wire format -----------------------------------------------------------------------


def test_invoice_fields_come_in_the_seed_order(api):
    seed_keys = list(parsing.loads(SEED.read_bytes())["Invoices"][0])

    invoice = api.overview(Page=1, PageSize=1)["Invoices"][0]

    assert list(invoice) == seed_keys


def test_dates_have_the_seed_formats(api):
    invoices = api.everything()

    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00", i["CreationDate"])
        for i in invoices
    )
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00", i["ScheduledAt"]) for i in invoices)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00", i["PaymentDate"]) for i in invoices)
    unpaid = [i for i in invoices if not i["PaymentStatus"]]
    assert {i["PaymentDate"] for i in unpaid} == {"0001-01-01T00:00:00"}
    not_exported = {i["ExportedDate"] for i in invoices if not i["Exported"]}
    assert not_exported == {"0001-01-01T00:00:00+00:00"}


def test_none_is_the_all_zero_guid(api):
    invoices = api.everything()

    assert {i["Tenant"] for i in invoices} == {"00000000-0000-0000-0000-000000000000"}
    no_queue = [i for i in invoices if i["InvoiceQueueErrorMessage"] is None]
    assert {i["InvoiceQueueId"] for i in no_queue} == {"00000000-0000-0000-0000-000000000000"}


def test_totals_are_json_numbers_and_batch_numbers_strings(api):
    response = api.get("InvoiceOverview", Page=1, PageSize=50)

    body = parsing.loads(response.get_data())
    assert re.search(rb'"Total": \d+(\.\d{1,2})?,', response.get_data())
    assert all(isinstance(i["Total"], Decimal | int) for i in body["Invoices"])
    assert all(isinstance(i["BatchNumber"], str) for i in body["Invoices"])


def test_invoice_numbers_follow_the_seed_pattern(api):
    for invoice in api.overview(Page=1, PageSize=200)["Invoices"]:
        batch, day, zero, partner, n = invoice["InvoiceNumber"].split("-")
        assert batch == invoice["BatchNumber"]
        assert day == invoice["ScheduledAt"][:10].replace("-", "")
        assert zero == "0" and re.fullmatch(r"\d{5}", partner) and n.isdigit()


def test_batch_lengths_match_the_invoices_of_each_batch(api):
    counts = Counter(invoice["BatchNumber"] for invoice in api.everything())

    lengths = {}
    for page in (1, 3, 5, 7, 9, 11):  # odd pages: top-level shape with Batches
        for batch in api.overview(Page=page, PageSize=100, **ALL)["Batches"]:
            lengths[batch["BatchNumber"]] = batch["BatchLength"]
    assert lengths == {number: counts[number] for number in lengths}
    assert len(counts) == 24


# -- shapes and paging -------------------------------------------------------------------


def test_shapes_alternate_by_page_and_the_wrapped_one_omits_total_items(api):
    first = parsing.loads(api.get("InvoiceOverview", Page=1, PageSize=10).get_data())
    second = parsing.loads(api.get("InvoiceOverview", Page=2, PageSize=10).get_data())

    assert set(first) == {"Invoices", "Paging", "Batches"}
    assert set(second) == {"InvoicesPagedSearchResult"}
    assert set(second["InvoicesPagedSearchResult"]["Paging"]) == {
        "AmountRecordsFound",
        "AmountOfPages",
    }


@pytest.mark.parametrize(
    ("wrapped", "key"), [(True, "InvoicesPagedSearchResult"), (False, "Batches")]
)
def test_a_shape_can_be_forced(app, api, wrapped, key):
    app.acronis.wrapped_shape = wrapped

    for page in (1, 2):
        assert key in parsing.loads(api.get("InvoiceOverview", Page=page, PageSize=5).get_data())


def test_paging_counts_and_pages(api, app):
    paging = api.overview(Page=1, PageSize=100, **ALL)["Paging"]

    assert paging == {
        "AmountTotalItems": app.acronis.total,
        "AmountRecordsFound": app.acronis.total,
        "AmountOfPages": -(-app.acronis.total // 100),
    }


def test_a_page_past_the_end_is_empty(api):
    assert api.overview(Page=99, PageSize=100, **ALL)["Invoices"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"PageSize": 10},
        {"Page": 1},
        {"page": 1, "pageSize": 10},
        {"Page": 0, "PageSize": 10},
        {"Page": "x", "PageSize": 1},
    ],
    ids=["no-page", "no-size", "lower-case", "page-zero", "not-a-number"],
)
def test_page_and_page_size_are_required_and_case_sensitive(api, query):
    assert api.get("InvoiceOverview", **query).status_code == 400


def test_page_size_is_capped(api):
    assert len(api.overview(Page=1, PageSize=5000, **ALL)["Invoices"]) == 1000


# -- filters and sorting --------------------------------------------------------------


def test_exported_invoices_show_only_when_asked(api):
    default = api.overview(Page=1, PageSize=1000)
    shown = api.overview(Page=1, PageSize=1000, ShowExported="True")

    assert not any(invoice["Exported"] for invoice in default["Invoices"])
    assert any(invoice["Exported"] for invoice in shown["Invoices"])


@pytest.mark.parametrize(
    ("param", "field", "value"),
    [
        ("PaymentStatusNotConfirmed", "PaymentStatus", False),
        ("PaymentStatusConfirmed", "PaymentStatus", True),
        ("PaymentSentSent", "PaymentSent", True),
        ("PaymentSentNotSent", "PaymentSent", False),
        ("DeliveryMethodByEmail", "SendByEmail", True),
        ("DeliveryMethodByPost", "SendByEmail", False),
    ],
)
def test_flag_filters_select_exactly_their_invoices(api, param, field, value):
    expected = [i["Id"] for i in api.everything() if i[field] is value]

    result = api.overview(Page=1, PageSize=1000, **ALL, **{param: "True"})

    assert [invoice["Id"] for invoice in result["Invoices"]] == expected
    assert result["Paging"]["AmountRecordsFound"] == len(expected) > 0


def test_a_flag_that_is_not_a_boolean_is_a_bad_request(api):
    assert (
        api.get("InvoiceOverview", Page=1, PageSize=1, PaymentStatusConfirmed="yes").status_code
        == 400
    )


def test_customer_and_invoice_number_filters(api, app):
    customer = app.acronis.customer(3)
    mine = api.overview(Page=1, PageSize=1000, Customer=customer.id.upper(), **ALL)["Invoices"]
    number = mine[5]["InvoiceNumber"]

    (found,) = api.overview(Page=1, PageSize=10, InvoiceNumber=number, **ALL)["Invoices"]

    assert {invoice["CustomerName"] for invoice in mine} == {"<script>alert('x')</script> Ltd"}
    assert found["InvoiceNumber"] == number


def test_sort_by_customer_name_descending(api):
    names = [
        i["CustomerName"]
        for i in api.overview(
            Page=1, PageSize=1000, SortColumn="CustomerName", SortDirection="Desc"
        )["Invoices"]
    ]

    assert names == sorted(names, key=str.casefold, reverse=True)


def test_schedule_at_is_the_sort_column_and_scheduled_at_is_not(api):
    ok = api.overview(Page=1, PageSize=1000, SortColumn="ScheduleAt", SortDirection="Desc")
    refused = api.get("InvoiceOverview", Page=1, PageSize=10, SortColumn="ScheduledAt")

    dates = [invoice["ScheduledAt"] for invoice in ok["Invoices"]]
    assert dates == sorted(dates, reverse=True)
    assert refused.status_code == 400


# -- data ------------------------------------------------------------------------------


def test_the_data_looks_like_a_partner_with_two_years_of_billing(api):
    invoices = api.everything()

    unpaid = [i for i in invoices if not i["PaymentStatus"]]
    latest = [i for i in invoices if i["BatchNumber"] == "24"]
    assert 950 <= len(invoices) <= 1100
    assert len({i["Customer"] for i in invoices}) == 40
    assert 0.25 <= len(unpaid) / len(invoices) <= 0.35
    assert sum(not i["PaymentStatus"] for i in latest) / len(latest) > 0.6
    assert 0.1 <= sum(i["Incasso"] for i in invoices) / len(invoices) <= 0.3
    assert sum(i["Exported"] for i in invoices) >= 5
    assert sum(i["InvoiceQueueErrorMessage"] is not None for i in invoices) >= 5
    assert sum(i["PaymentSent"] for i in invoices) >= 5


def test_customer_names_need_escaping_and_unicode(api):
    names = {invoice["CustomerName"] for invoice in api.everything()}

    assert {"Müller & Söhne GmbH", 'Café "Zoë" SARL', "Ιωάννης ΕΠΕ", "株式会社テスト"} <= names
    assert "<script>alert('x')</script> Ltd" in names and "O'Brien & Co" in names


def test_the_same_seed_gives_the_same_invoices():
    first = Api(SandboxApp(SandboxConfig(seed=5))).overview(Page=3, PageSize=20)
    again = Api(SandboxApp(SandboxConfig(seed=5))).overview(Page=3, PageSize=20)
    other = Api(SandboxApp(SandboxConfig(seed=6))).overview(Page=3, PageSize=20)

    assert first == again
    assert first["Invoices"] != other["Invoices"]


def test_an_exact_invoice_count_is_generated_lazily(monkeypatch):
    app = SandboxApp(SandboxConfig(acronis_invoices=100_000))
    api = Api(app)
    calls = Counter()
    generate = app.acronis.invoice
    monkeypatch.setattr(app.acronis, "invoice", lambda i: calls.update([i]) or generate(i))

    last = api.overview(Page=1000, PageSize=100, **ALL)

    assert len(last["Invoices"]) == 100 and last["Paging"]["AmountRecordsFound"] == 100_000
    assert sorted(calls) == list(range(99_900, 100_000))
    assert last["Invoices"][-1]["InvoiceNumber"].endswith("-100000")


def test_an_odd_invoice_count_ends_with_a_short_page():
    api = Api(SandboxApp(SandboxConfig(acronis_invoices=1234)))

    assert len(api.overview(Page=13, PageSize=100, **ALL)["Invoices"]) == 34


# -- payment confirmation and PDFs ------------------------------------------------------


def test_confirming_a_payment_marks_the_invoice_paid_today(api):
    invoice = api.overview(Page=1, PageSize=1, PaymentStatusNotConfirmed="true")["Invoices"][0]

    first_day = dt.datetime.now(dt.UTC).date()
    response = api.post(
        "InvoiceOverview", {"invoice": invoice["Id"], "paymentConfirmed": True, "intPaymentType": 2}
    )
    last_day = dt.datetime.now(dt.UTC).date()  # the UTC day may turn during the call

    (after,) = api.overview(Page=1, PageSize=5, InvoiceNumber=invoice["InvoiceNumber"])["Invoices"]
    assert (response.status_code, response.json) == (200, {})
    assert after["PaymentStatus"] is True and after["PaymentType"] == 2
    assert after["PaymentDate"] in {f"{day}T00:00:00" for day in (first_day, last_day)}


def test_confirming_an_unknown_invoice_is_not_found(api):
    body = {
        "invoice": "0a0b0c0d-0000-4000-8000-000000000000",
        "paymentConfirmed": True,
        "intPaymentType": 3,
    }

    assert api.post("InvoiceOverview", body).status_code == 404


def test_a_confirmation_without_an_invoice_is_a_bad_request(api):
    assert api.post("InvoiceOverview", {"paymentConfirmed": True}).status_code == 400


def test_download_answers_a_pdf(api):
    invoice = api.overview(Page=1, PageSize=1)["Invoices"][0]

    response = api.get("DownloadInvoice", id=invoice["Id"])

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF-") and response.get_data().rstrip().endswith(
        b"%%EOF"
    )


def test_download_of_an_unknown_invoice_is_not_found(api):
    assert api.get("DownloadInvoice", id="0a0b0c0d-0000-4000-8000-000000000000").status_code == 404


def test_connection_points_a_client_at_the_sandbox(app):
    config, credentials = app.acronis.connection("http://127.0.0.1:8001")

    assert config == {"base_url": "http://127.0.0.1:8001", "currency": "EUR"}
    assert credentials == {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
