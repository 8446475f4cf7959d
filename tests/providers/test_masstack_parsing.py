"""MasStack payloads -> domain objects, without HTTP (seed 002 and provider-apis.md)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.providers.errors import ProviderBadPayload
from invoices.providers.masstack import (
    date_windows,
    parse_billing_details,
    parse_invoice,
    parse_invoice_list,
    parse_public_link,
)
from invoices.providers.parsing import loads
from invoices.providers.types import BillingDetails, Invoice, PublicLink

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def invoice_list() -> dict:
    return loads((FIXTURES / "masstack_invoices.json").read_bytes())


def test_paid_invoice_parses_exactly(invoice_list):
    paid, _ = parse_invoice_list(invoice_list, currency="EUR").invoices

    assert paid.provider_id == "ACC-100234/FA2024-000123"
    assert paid.number == "FA2024-000123"
    assert paid.account_id == paid.account_name == "ACC-100234"
    assert paid.total == Decimal("47.89")
    assert isinstance(paid.total, Decimal)
    assert paid.paid is True
    assert paid.amount_due == 0
    assert paid.raw_status == "PAGADO"
    assert paid.currency == "EUR"
    # 2024-01-31T23:00:00Z is midnight on 1 February in Madrid.
    assert paid.issue_date == dt.date(2024, 2, 1)
    assert paid.payment_date == dt.date(2024, 2, 5)
    assert paid.description == "Cycle 2024-01-01 \u2013 2024-01-31"
    assert dict(paid.extra) == {
        "delivery_mode": "EMAIL",
        "path": "/invoices/FA2024-000123.pdf",
        "status_id": "2",
        "cycle_start": "2024-01-01",
        "cycle_end": "2024-01-31",
    }


def test_pending_invoice_is_due_in_full(invoice_list):
    _, pending = parse_invoice_list(invoice_list, currency="EUR").invoices

    assert pending.paid is False
    assert pending.raw_status == "PENDIENTE"
    assert pending.amount_due == pending.total == Decimal("52.1")
    assert pending.payment_date is None
    assert pending.issue_date == dt.date(2024, 3, 1)
    # Instants in the cycle are Madrid business dates too (leap-year February).
    assert pending.description == "Cycle 2024-02-01 \u2013 2024-02-29"


def test_requested_account_wins_over_payload_account(invoice_list):
    invoices = parse_invoice_list(invoice_list, currency="USD", account_id="ACC-1").invoices

    assert {invoice.provider_id.split("/")[0] for invoice in invoices} == {"ACC-1"}
    assert {invoice.currency for invoice in invoices} == {"USD"}


def test_unknown_status_is_kept_verbatim_and_unpaid():
    invoice = parse_invoice(
        {
            "value": 10,
            "date": "2024-05-01",
            "number": "FA1",
            "status": {"id": 3, "value": "DEVUELTO"},
        },
        account_id="ACC-1",
        currency="EUR",
    )

    assert (invoice.paid, invoice.raw_status, invoice.amount_due) == (False, "DEVUELTO", 10)


def test_empty_invoice_list_parses_to_nothing():
    listed = parse_invoice_list({"account_id": "ACC-1", "invoices": []}, currency="EUR")

    assert listed.invoices == listed.problems == ()


def test_invoice_without_number_is_a_bad_payload():
    with pytest.raises(ProviderBadPayload, match="number"):
        parse_invoice({"value": 1, "date": "2024-01-01"}, account_id="A", currency="EUR")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        # Midnight on 1 March in Madrid (CET, UTC+1).
        ("2022-02-28T23:00:00Z", dt.date(2022, 3, 1)),
        # The last instant of 28 February in Madrid.
        ("2022-02-28T22:59:59.999999999Z", dt.date(2022, 2, 28)),
        # Summer time (CEST, UTC+2): midnight on 1 August.
        ("2022-07-31T22:00:00Z", dt.date(2022, 8, 1)),
        ("2022-03-01", dt.date(2022, 3, 1)),
        (None, None),
    ],
)
def test_next_billing_date_is_the_madrid_business_date(wire, expected):
    details = parse_billing_details({"next_billing_date": wire}, account_id="ACC-1")

    assert details == BillingDetails(account_id="ACC-1", next_billing_date=expected)


def test_garbled_next_billing_date_is_a_bad_payload():
    with pytest.raises(ProviderBadPayload, match="next billing date"):
        parse_billing_details({"next_billing_date": "next tuesday"}, account_id="ACC-1")


def test_https_public_link_with_expiry():
    link = parse_public_link(
        {"url": "https://billing.masstack.com/p/abc.pdf", "expires_at": "2024-06-01T10:00:00.5Z"}
    )

    assert link.url == "https://billing.masstack.com/p/abc.pdf"
    assert link.is_https is True
    assert link.expires_at == dt.datetime(2024, 6, 1, 10, 0, 0, 500000, tzinfo=dt.UTC)


def test_http_public_link_is_returned_but_not_https():
    link = parse_public_link({"public_link": "http://billing.masstack.com/p/abc.pdf"})

    assert link.url == "http://billing.masstack.com/p/abc.pdf"
    assert link.is_https is False
    assert link.expires_at is None


@pytest.mark.parametrize("payload", [{}, {"url": ""}, {"url": "  "}, {"url": 42}, [], None])
def test_public_link_without_a_url_is_a_bad_payload(payload):
    with pytest.raises(ProviderBadPayload):
        parse_public_link(payload)


def test_windows_cover_the_period_each_starting_on_the_day_the_one_before_ends():
    """Whether the API reads end_date as inclusive or exclusive, every day is asked for."""
    windows = date_windows(dt.date(2021, 2, 28), dt.date(2024, 2, 27))

    assert windows == [
        (dt.date(2021, 2, 28), dt.date(2022, 2, 27)),
        (dt.date(2022, 2, 27), dt.date(2023, 2, 26)),
        (dt.date(2023, 2, 26), dt.date(2024, 2, 25)),
        (dt.date(2024, 2, 25), dt.date(2024, 2, 27)),
    ]
    assert date_windows(dt.date(2024, 1, 2), dt.date(2024, 1, 1)) == []
    assert date_windows(dt.date(2024, 1, 1), dt.date(2024, 1, 1)) == [
        (dt.date(2024, 1, 1), dt.date(2024, 1, 1))
    ]


@pytest.mark.parametrize("years", [1, 3, 10, 11])
def test_no_window_is_longer_than_a_year_and_together_they_miss_no_day(years):
    since, until = dt.date(2016, 3, 1), dt.date(2016 + years, 2, 29 if years % 4 == 0 else 28)
    windows = date_windows(since, until)

    assert windows[0][0] == since and windows[-1][1] == until
    assert all((end - start).days <= 365 for start, end in windows)
    # Read exclusive of end_date, the next window still starts on that day.
    assert all(nxt[0] == prev[1] for prev, nxt in itertools.pairwise(windows))


# -- property tests: odd but plausible payloads ------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2024-02-29",
            "2023-02-29",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59.999999999-12:00",
            "2022-02-28T22:59:59.999999999Z",
            "2024-13-01",
            "PAGADO",
            "47.89",
            "1e999999",
        ]
    ),
)
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_date_text = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.datetimes().map(lambda d: d.isoformat() + ".999999999Z"),
)
_amount = st.decimals(min_value=-100_000, max_value=100_000, places=2)
_status = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(0, 9), _json),
        "value": st.one_of(st.sampled_from(["PAGADO", "PENDIENTE", "DEVUELTO", "pagado"]), _json),
    },
)
_cycle = st.fixed_dictionaries(
    {}, optional={"start_date": st.one_of(_date_text, _json), "end_date": _date_text}
)
# Each field is mostly plausible, sometimes anything JSON can hold.
_invoice = st.fixed_dictionaries(
    {},
    optional={
        "value": st.one_of(_amount, _json),
        "date": st.one_of(_date_text, _json),
        "pay_date": st.one_of(_date_text, st.none(), _json),
        "number": st.one_of(st.from_regex(r"FA20\d\d-\d{6}", fullmatch=True), _json),
        "path": st.one_of(st.text(max_size=20), _json),
        "delivery_mode": st.one_of(st.sampled_from(["EMAIL", "POSTAL"]), _json),
        "status": st.one_of(_status, _json),
        "cycle": st.one_of(_cycle, _json),
    },
)


def _domain_or_bad_payload(parse, payload):
    try:
        return parse(payload)
    except ProviderBadPayload:
        return None


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _json,
        st.fixed_dictionaries({"account_id": _json, "invoices": st.lists(_invoice, max_size=3)}),
    )
)
def test_invoice_list_parses_or_raises_bad_payload(payload):
    result = _domain_or_bad_payload(lambda p: parse_invoice_list(p, currency="EUR"), payload)

    assert result is None or all(isinstance(invoice, Invoice) for invoice in result.invoices)


_sane_day = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2200, 1, 1))


@settings(max_examples=200, deadline=None)
@given(
    value=_amount,
    day=_sane_day,
    number=st.from_regex(r"FA20\d\d-\d{6}", fullmatch=True),
    status=st.sampled_from(["PAGADO", "PENDIENTE", "DEVUELTO"]),
)
def test_well_formed_invoices_always_parse_to_the_cent(value, day, number, status):
    payload = loads(
        json.dumps(
            {
                "value": float(value),
                "date": f"{day.isoformat()}T23:00:00Z",
                "number": number,
                "status": {"id": 2, "value": status},
            }
        )
    )

    invoice = parse_invoice(payload, account_id="ACC-1", currency="EUR")

    assert invoice.total == value
    assert invoice.paid is (status == "PAGADO")
    assert day <= invoice.issue_date <= day + dt.timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(_invoice)
def test_invoice_parses_or_raises_bad_payload(payload):
    result = _domain_or_bad_payload(
        lambda p: parse_invoice(p, account_id="ACC-1", currency="EUR"), payload
    )

    if result is not None:
        assert isinstance(result.total, Decimal)
        assert result.amount_due == (0 if result.paid else result.total)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_json, st.fixed_dictionaries({"next_billing_date": _json})))
def test_billing_details_parse_or_raise_bad_payload(payload):
    result = _domain_or_bad_payload(lambda p: parse_billing_details(p, account_id="A"), payload)

    assert result is None or isinstance(result, BillingDetails)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _json,
        st.fixed_dictionaries({}, optional={"url": _json, "link": _json, "expires_at": _json}),
    )
)
def test_public_link_parses_or_raises_bad_payload(payload):
    result = _domain_or_bad_payload(parse_public_link, payload)

    assert result is None or (isinstance(result, PublicLink) and result.url)


def test_an_unreadable_invoice_is_a_problem_of_its_own_and_the_rest_parse(invoice_list):
    invoice_list["invoices"].append({"number": "FA2024-9", "value": "lots", "date": "2024-04-01"})

    listed = parse_invoice_list(invoice_list, currency="EUR")

    assert len(listed.invoices) == 2
    (problem,) = listed.problems
    assert (problem.what, problem.provider_id) == (
        "MasStack invoice ACC-100234/FA2024-9",
        "ACC-100234/FA2024-9",
    )
    assert problem.reason == "invoice FA2024-9 value is not an amount"
