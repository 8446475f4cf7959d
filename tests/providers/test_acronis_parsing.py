"""Acronis InvoiceOverview parsing: the seed payload verbatim, both shapes, odd payloads."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoices.providers import parsing
from invoices.providers.acronis import overview_params, parse_invoice, parse_invoice_page
from invoices.providers.errors import ProviderBadPayload
from invoices.providers.types import Batch, Invoice, InvoicePage

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "acronis_invoice_overview.json"


@pytest.fixture
def seed() -> dict[str, Any]:
    return parsing.loads(FIXTURE.read_bytes())


@pytest.fixture
def page(seed: dict[str, Any]) -> InvoicePage:
    return parse_invoice_page(seed, page=1, currency="EUR")


def wrapped(seed: dict[str, Any]) -> dict[str, Any]:
    return {"InvoicesPagedSearchResult": {"Invoices": seed["Invoices"], "Paging": seed["Paging"]}}


def test_seed_has_exactly_its_three_invoices(page: InvoicePage) -> None:
    assert [invoice.provider_id for invoice in page.invoices] == [
        "e96e60a2-3fec-44f7-86b7-050a8103b431",
        "f2a3f46e-d6d8-4692-8271-4f8600fb2bb0",
        "de4fcff3-cba7-40e4-8bb2-f5decf8f9246",
    ]
    assert [invoice.number for invoice in page.invoices] == [
        "1-20241010-0-11111-4",
        "2-20241010-0-11111-6",
        "2-20241010-0-11111-5",
    ]


def test_seed_customer_is_the_account(page: InvoicePage) -> None:
    assert {(i.account_id, i.account_name) for i in page.invoices} == {
        ("ce570f06-f444-426b-b9b0-3aa8ef9b951e", "cstmr_001")
    }


def test_seed_totals_are_exact_decimals_in_the_configured_currency(page: InvoicePage) -> None:
    totals = [invoice.total for invoice in page.invoices]
    assert totals == [Decimal("123.75"), Decimal("100.16"), Decimal("18.90")]
    assert all(type(total) is Decimal for total in totals)
    assert {invoice.currency for invoice in page.invoices} == {"EUR"}


def test_seed_unpaid_invoices_are_due_in_full(page: InvoicePage) -> None:
    assert [invoice.paid for invoice in page.invoices] == [False, False, False]
    assert [invoice.amount_due for invoice in page.invoices] == [
        invoice.total for invoice in page.invoices
    ]
    assert {invoice.raw_status for invoice in page.invoices} == {"Payment not confirmed"}


def test_seed_creation_date_is_aware_utc_truncated_to_microseconds(page: InvoicePage) -> None:
    first = page.invoices[0]
    assert first.created_at == dt.datetime(2024, 10, 10, 7, 55, 9, 354669, tzinfo=dt.UTC)
    assert first.issue_date == dt.date(2024, 10, 10)
    assert first.scheduled_date == dt.date(2024, 10, 10)


def test_seed_year_one_dates_mean_not_set(page: InvoicePage) -> None:
    assert {(i.payment_date, i.exported_at) for i in page.invoices} == {(None, None)}


def test_seed_flags_and_batches_per_invoice(page: InvoicePage) -> None:
    assert [invoice.incasso for invoice in page.invoices] == [True, False, False]
    assert [invoice.exported for invoice in page.invoices] == [False, False, False]
    assert [invoice.batch for invoice in page.invoices] == ["1", "2", "2"]
    assert [invoice.delivery_error for invoice in page.invoices] == [None, None, None]


def test_seed_keeps_undocumented_values_raw_and_skips_nulls(page: InvoicePage) -> None:
    extra = dict(page.invoices[0].extra)
    assert extra == {
        "PaymentType": "3",
        "InvoiceQueueStatus": "0",
        "InvoiceQueueExternalInvoiceStatus": "0",
        "BillingEntityName": "Default billing entity",
        "PaymentSent": "False",
        "InvoicedBy": "Partner Administrator",
    }


def test_seed_batches_and_paging(page: InvoicePage) -> None:
    assert page.batches == (Batch("1", 1), Batch("2", 2))
    assert (page.number, page.total_pages, page.total_items) == (1, 1, 3)


def test_wrapped_shape_parses_the_same_invoices_without_batches(
    seed: dict[str, Any], page: InvoicePage
) -> None:
    wrapped_page = parse_invoice_page(wrapped(seed), page=1, currency="EUR")
    assert wrapped_page.invoices == page.invoices
    assert wrapped_page.batches == ()
    assert wrapped_page.total_pages == 1


def test_paging_without_amount_total_items(seed: dict[str, Any]) -> None:
    del seed["Paging"]["AmountTotalItems"]
    del seed["Paging"]["AmountRecordsFound"]
    result = parse_invoice_page(wrapped(seed), page=1, currency="EUR")
    assert (len(result.invoices), result.total_pages, result.total_items) == (3, 1, None)


def test_missing_paging_leaves_the_page_count_unknown(seed: dict[str, Any]) -> None:
    del seed["Paging"]
    assert parse_invoice_page(seed, page=2, currency="EUR").total_pages is None


def test_confirmed_payment_is_paid_with_its_date(seed: dict[str, Any]) -> None:
    raw = seed["Invoices"][1] | {"PaymentStatus": True, "PaymentDate": "2024-11-02T00:00:00"}
    invoice = parse_invoice(raw, currency="USD")
    assert (invoice.paid, invoice.amount_due, invoice.payment_date) == (
        True,
        Decimal("0"),
        dt.date(2024, 11, 2),
    )
    assert (invoice.raw_status, invoice.currency) == ("Payment confirmed", "USD")


def test_queue_error_message_becomes_a_delivery_error(seed: dict[str, Any]) -> None:
    raw = seed["Invoices"][0] | {"InvoiceQueueErrorMessage": "Ledger 8000 is not mapped"}
    assert parse_invoice(raw, currency="EUR").delivery_error == "Ledger 8000 is not mapped"
    raw["InvoiceQueueErrorMessage"] = "  "
    assert parse_invoice(raw, currency="EUR").delivery_error is None


def test_export_date_with_offset_is_kept(seed: dict[str, Any]) -> None:
    raw = seed["Invoices"][0] | {
        "Exported": True,
        "ExportedDate": "2024-10-11T02:00:00.1234567+02:00",
    }
    invoice = parse_invoice(raw, currency="EUR")
    assert invoice.exported
    assert invoice.exported_at == dt.datetime(2024, 10, 11, 0, 0, 0, 123456, tzinfo=dt.UTC)


def test_nine_fractional_digits_are_tolerated(seed: dict[str, Any]) -> None:
    raw = seed["Invoices"][0] | {"CreationDate": "2024-10-10T23:59:59.999999999-01:00"}
    invoice = parse_invoice(raw, currency="EUR")
    assert invoice.created_at == dt.datetime(2024, 10, 11, 0, 59, 59, 999999, tzinfo=dt.UTC)
    assert invoice.issue_date == dt.date(2024, 10, 10)  # the date as written, not UTC's


@pytest.mark.parametrize("customer", [None, "00000000-0000-0000-0000-000000000000", "cstmr_001"])
def test_invoice_without_a_customer_guid_is_a_bad_payload(
    seed: dict[str, Any], customer: str | None
) -> None:
    with pytest.raises(ProviderBadPayload, match=r"(?i)customer"):
        parse_invoice(seed["Invoices"][0] | {"Customer": customer}, currency="EUR")


@pytest.mark.parametrize(
    "payload",
    [[], "Invoices", None, {}, {"Invoices": None}, {"InvoicesPagedSearchResult": []}],
    ids=["list", "string", "null", "empty", "null-invoices", "wrapped-list"],
)
def test_an_answer_without_an_invoice_list_is_a_bad_payload(payload: Any) -> None:
    with pytest.raises(ProviderBadPayload):
        parse_invoice_page(payload, page=1, currency="EUR")


def test_filters_map_to_the_documented_case_sensitive_parameters() -> None:
    params = overview_params(
        page=2,
        page_size=50,
        customer="CE570F06-F444-426B-B9B0-3AA8EF9B951E",
        payment_status=False,
        payment_sent=True,
        delivery_method="post",
        show_exported=False,
        sort_column="ScheduleAt",
        sort_direction="Desc",
    )
    assert params == {
        "Page": 2,
        "PageSize": 50,
        "Customer": "ce570f06-f444-426b-b9b0-3aa8ef9b951e",
        "PaymentStatusNotConfirmed": "true",
        "PaymentSentSent": "true",
        "DeliveryMethodByPost": "true",
        "ShowExported": "false",
        "SortColumn": "ScheduleAt",
        "SortDirection": "Desc",
    }


def test_the_opposite_filters_use_their_own_parameters() -> None:
    params = overview_params(
        page=1, page_size=10, payment_status=True, payment_sent=False, delivery_method="email"
    )
    assert params == {
        "Page": 1,
        "PageSize": 10,
        "PaymentStatusConfirmed": "true",
        "PaymentSentNotSent": "true",
        "DeliveryMethodByEmail": "true",
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"sort_column": "ScheduledAt"},  # the payload's name, not the sort column's
        {"sort_direction": "desc"},
        {"delivery_method": "fax"},
        {"customer": "not-a-guid"},
        {"page_size": 0},
    ],
)
def test_invalid_filters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises((ValueError, ProviderBadPayload)):
        overview_params(**({"page": 1, "page_size": 10} | bad))


# -- property tests: odd but plausible payloads ---------------------------------------

ODD_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00+00:00",
            "2024-10-10T07:55:09.354669912+00:00",
            "2024-10-10T07:55:09.3546699Z",
            "2024-02-30T00:00:00",
            "9999-12-31T23:59:59.9999999-14:00",
            "2024-10-10",
            "10/10/2024",
            "ce570f06-f444-426b-b9b0-3aa8ef9b951e",
            "00000000-0000-0000-0000-000000000000",
            "123.75",
            "1e400",
            "NaN",
            "Ιωάννης ΕΠΕ <b>&</b>",
        ]
    ),
)
ODD_VALUES = st.one_of(
    ODD_SCALARS,
    st.lists(ODD_SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=5), ODD_SCALARS, max_size=2),
)
MISSING = object()


def _mutated(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is MISSING:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _changes(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(keys), st.one_of(st.just(MISSING), ODD_VALUES), max_size=6
    )


_SEED = parsing.loads(FIXTURE.read_bytes())
_INVOICE_KEYS = list(_SEED["Invoices"][0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 2), changes=_changes(_INVOICE_KEYS))
def test_odd_invoices_parse_or_raise_bad_payload(index: int, changes: dict[str, Any]) -> None:
    raw = _mutated(_SEED["Invoices"][index], changes)
    try:
        invoice = parse_invoice(raw, currency="EUR")
    except ProviderBadPayload:
        return
    assert isinstance(invoice, Invoice)
    assert type(invoice.total) is Decimal
    assert invoice.amount_due in (Decimal("0"), invoice.total)
    assert invoice.created_at is None or invoice.created_at.utcoffset() == dt.timedelta(0)
    assert all(isinstance(value, str) for _, value in invoice.extra)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    top=_changes(["Invoices", "Paging", "Batches", "InvoicesPagedSearchResult"]),
    paging=_changes(["AmountTotalItems", "AmountRecordsFound", "AmountOfPages"]),
    batch=_changes(["BatchNumber", "BatchLength"]),
    invoice=_changes(_INVOICE_KEYS),
    wrap=st.booleans(),
)
def test_odd_pages_parse_or_raise_bad_payload(
    top: dict[str, Any],
    paging: dict[str, Any],
    batch: dict[str, Any],
    invoice: dict[str, Any],
    wrap: bool,
) -> None:
    payload = copy.deepcopy(_SEED)
    payload["Invoices"][1] = _mutated(payload["Invoices"][1], invoice)
    payload["Paging"] = _mutated(payload["Paging"], paging)
    payload["Batches"][0] = _mutated(payload["Batches"][0], batch)
    payload = _mutated(wrapped(payload) if wrap else payload, top)
    try:
        result = parse_invoice_page(payload, page=1, currency="EUR")
    except ProviderBadPayload:
        return
    assert isinstance(result, InvoicePage)
    assert all(isinstance(item, Invoice) for item in result.invoices)
    assert result.total_pages is None or result.total_pages >= 0
    assert all(isinstance(item, Batch) for item in result.batches)
