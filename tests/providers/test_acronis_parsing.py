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
# Fields the client does not read: whatever they hold, the invoice parses.
_UNREAD = {
    "Tenant",
    "SendByEmail",
    "InvoicerDeleted",
    "InvoiceXml",
    "InvoiceQueueId",
    "InvoiceQueueLastUpdateTime",
    "InvoiceQueueErrorCount",
    "IsConsolidateBillingStructure",
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 2), changes=_changes(_INVOICE_KEYS))
def test_odd_invoices_parse_or_raise_bad_payload(index: int, changes: dict[str, Any]) -> None:
    raw = _mutated(_SEED["Invoices"][index], changes)
    try:
        invoice = parse_invoice(raw, currency="EUR")
    except ProviderBadPayload:
        # Only a field the invoice is read from can make it unreadable.
        assert not set(changes) <= _UNREAD, changes
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
    # Every entry is an invoice or a problem that names it; the untouched ones parse.
    unread = [p for p in result.problems if p.what.startswith("Acronis invoice")]
    assert len(result.invoices) + len(unread) == result.sent
    if not set(top) & {"Invoices", "InvoicesPagedSearchResult"}:
        assert len(unread) <= 1  # only the one mutated entry (a replaced list may be all bad)


# -- the issue date is CreationDate as written -----------------------------------------


@pytest.mark.parametrize(
    ("creation", "issued", "instant"),
    [
        ("2024-10-10T00:30:00+02:00", dt.date(2024, 10, 10), dt.datetime(2024, 10, 9, 22, 30)),
        ("2024-10-10T23:30:00-05:00", dt.date(2024, 10, 10), dt.datetime(2024, 10, 11, 4, 30)),
        ("2024-10-10T07:55:09.3546699+00:00", dt.date(2024, 10, 10), None),
    ],
)
def test_the_issue_date_is_the_creation_date_in_its_own_offset(seed, creation, issued, instant):
    raw = seed["Invoices"][0] | {"CreationDate": creation, "ScheduledAt": "2024-10-12T00:00:00"}

    invoice = parse_invoice(raw, currency="EUR")

    assert invoice.issue_date == issued  # never shifted through UTC
    assert invoice.scheduled_date == dt.date(2024, 10, 12)  # kept beside it
    if instant is not None:
        assert invoice.created_at == instant.replace(tzinfo=dt.UTC)


def test_scheduled_at_stands_in_when_the_creation_date_is_not_set(seed):
    raw = seed["Invoices"][0] | {"CreationDate": "0001-01-01T00:00:00+00:00"}

    invoice = parse_invoice(raw, currency="EUR")

    assert (invoice.issue_date, invoice.created_at) == (dt.date(2024, 10, 10), None)


# -- an entry that cannot be read is skipped and named, never the whole page -----------


def test_an_unreadable_invoice_entry_is_a_problem_of_its_own(seed):
    seed["Invoices"][1]["Total"] = "n/a"

    page = parse_invoice_page(seed, page=1, currency="EUR")

    assert [invoice.number for invoice in page.invoices] == [
        "1-20241010-0-11111-4",
        "2-20241010-0-11111-5",
    ]
    (problem,) = page.problems
    assert problem.what == "Acronis invoice 2-20241010-0-11111-6"
    assert (
        problem.reason
        == "Acronis invoice f2a3f46e-d6d8-4692-8271-4f8600fb2bb0.Total is not an amount"
    )
    assert (problem.provider_id, problem.account_id, problem.whole_listing) == (
        "f2a3f46e-d6d8-4692-8271-4f8600fb2bb0",
        None,
        False,
    )
    assert page.sent == 3


@pytest.mark.parametrize(
    ("changes", "account_id", "whole_listing"),
    [
        ({"Id": "not-a-guid"}, "ce570f06-f444-426b-b9b0-3aa8ef9b951e", False),
        ({"Id": None, "Customer": None}, None, True),
    ],
    ids=["customer-known", "nothing-known"],
)
def test_an_entry_without_a_readable_id_keeps_what_it_may_be_from_being_taken_as_gone(
    seed, changes, account_id, whole_listing
):
    seed["Invoices"][0].update(changes)

    (problem,) = parse_invoice_page(seed, page=1, currency="EUR").problems

    assert (problem.provider_id, problem.account_id, problem.whole_listing) == (
        None,
        account_id,
        whole_listing,
    )


def test_an_unreadable_batch_entry_loses_only_its_size(seed):
    seed["Batches"][0]["BatchLength"] = "many"

    page = parse_invoice_page(seed, page=1, currency="EUR")

    assert len(page.invoices) == 3
    assert page.batches == (Batch("2", 2),)
    (problem,) = page.problems
    assert (problem.what, problem.provider_id, problem.whole_listing) == (
        "Acronis batch list",
        None,
        False,
    )


# -- valid input always parses, to the value ----------------------------------------------

_guids = st.uuids(version=4).map(str)
_moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0)
)
_offsets = st.integers(-12 * 60, 14 * 60).map(lambda minutes: dt.timedelta(minutes=minutes))
_cents = st.decimals(min_value=-(10**9), max_value=10**9, places=2)


def _dotnet(moment: dt.datetime, offset: dt.timedelta) -> str:
    """.NET's round-trip format: 7 fractional digits and the offset."""
    sign = "-" if offset < dt.timedelta(0) else "+"
    hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.1234567{sign}{hours:02d}:{minutes:02d}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    guid=_guids,
    customer=_guids,
    name=st.text(min_size=1, max_size=30).filter(str.strip),
    number=st.from_regex(r"\d{1,3}-20\d{6}-0-\d{5}-\d{1,6}", fullmatch=True),
    created=_moments,
    offset=_offsets,
    scheduled=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    total=_cents,
    paid=st.booleans(),
    incasso=st.one_of(st.none(), st.booleans()),
    batch=st.integers(1, 10**6).map(str),
)
def test_well_formed_invoices_always_parse_to_their_values(
    guid, customer, name, number, created, offset, scheduled, total, paid, incasso, batch
):
    raw = _SEED["Invoices"][0] | {
        "Id": guid.upper(),
        "Customer": customer,
        "CustomerName": name,
        "InvoiceNumber": number,
        "CreationDate": _dotnet(created, offset),
        "ScheduledAt": f"{scheduled:%Y-%m-%d}T00:00:00",
        "Total": parsing.loads(str(total)),
        "PaymentStatus": paid,
        "Incasso": incasso,
        "BatchNumber": batch,
    }

    invoice = parse_invoice(raw, currency="USD")

    assert (invoice.provider_id, invoice.account_id) == (guid.lower(), customer)
    assert (invoice.account_name, invoice.number, invoice.batch) == (name.strip(), number, batch)
    assert invoice.issue_date == created.date()
    assert invoice.created_at == (created - offset).replace(tzinfo=dt.UTC, microsecond=123456)
    assert invoice.scheduled_date == scheduled
    assert (invoice.total, invoice.currency, invoice.paid) == (total, "USD", paid)
    assert invoice.amount_due == (Decimal(0) if paid else total)
    assert invoice.incasso is bool(incasso)
