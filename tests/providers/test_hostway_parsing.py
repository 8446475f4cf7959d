from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.providers import parsing
from invoices.providers.errors import ProviderBadPayload
from invoices.providers.hostway import (
    error_message,
    parse_account_list,
    parse_invoice,
    parse_invoice_list,
    resolve_link,
)
from invoices.providers.types import Invoice

SEED_PAGE = Path(__file__).parent.parent / "fixtures" / "hostway_invoices_page.json"
BASE = "https://api.hostway.com"


def seed_payload() -> Any:
    return parsing.loads(SEED_PAGE.read_bytes())


def test_seed_page_parses_into_the_documented_invoice():
    invoices = parse_invoice_list(seed_payload(), account_id="test731993").items

    assert invoices == [
        Invoice(
            provider_id="test731993/SO-360704",
            number="SO-360704",
            account_id="test731993",
            account_name="test731993",
            issue_date=dt.date(2011, 4, 19),
            total=Decimal("1023.7200"),
            amount_due=Decimal("0.0000"),
            currency="USD",
            paid=True,
            raw_status="Invoice Paid",
            description="Invoice #SO-360704",
            extra=(("status", "invoice_paid"),),
        )
    ]


def test_seed_amount_is_exact_not_float():
    (invoice,) = parse_invoice_list(seed_payload(), account_id="test731993").items

    assert invoice.total == Decimal("1023.72")
    assert str(invoice.total) == "1023.7200"


def test_seed_next_link_is_found_and_resolves_against_the_base_url():
    links = parse_invoice_list(seed_payload(), account_id="test731993").links

    assert links["next"] == "{{APIBaseURL}}/accounts/test731993/invoices?page=2&pageSize=3"
    assert resolve_link(links["next"], f"{BASE}/accounts/test731993/invoices", BASE) == (
        f"{BASE}/accounts/test731993/invoices?page=2&pageSize=3"
    )


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("?page=2&pageSize=3", f"{BASE}/accounts/a1/invoices?page=2&pageSize=3"),
        ("/accounts/a1/invoices?page=2", f"{BASE}/accounts/a1/invoices?page=2"),
        (f"{BASE}/accounts/a1/invoices?page=2", f"{BASE}/accounts/a1/invoices?page=2"),
    ],
)
def test_relative_and_absolute_links_resolve_against_the_current_page(href, expected):
    assert resolve_link(href, f"{BASE}/accounts/a1/invoices?page=1&pageSize=3", BASE) == expected


def test_invoice_with_amount_due_is_unpaid():
    invoice = parse_invoice(
        {
            "status": "invoice_open",
            "currency": "eur",
            "amount": "99.5000",
            "amountDue": "40.0000",
            "date": "2024-02-01",
            "invoiceNumber": "SO-000001",
        },
        account_id="a1",
    )

    assert (invoice.paid, invoice.amount_due, invoice.currency) == (False, Decimal("40"), "EUR")


def test_undocumented_status_is_kept_verbatim():
    invoice = parse_invoice(
        {
            "status": "invoice_disputed",
            "statusName": None,
            "currency": "USD",
            "amount": "10.0000",
            "amountDue": "10.0000",
            "date": "2024-02-01",
            "invoiceNumber": "SO-000002",
        },
        account_id="a1",
    )

    assert invoice.raw_status == "invoice_disputed"


@pytest.mark.parametrize("payload", [[], "list", None, 3, {"links": []}, {"list": {}}])
def test_page_that_is_not_a_list_object_is_bad_payload(payload):
    with pytest.raises(ProviderBadPayload):
        parse_invoice_list(payload, account_id="a1")


def test_accounts_page_uses_the_number_as_name():
    accounts = parse_account_list(
        {"list": [{"accountNumber": "test731993", "status": "active", "currency": "usd"}]}
    ).items

    assert [(a.id, a.name, a.currency, a.status) for a in accounts] == [
        ("test731993", "test731993", "USD", "active")
    ]


def test_error_message_comes_from_the_wrapper_object():
    response = requests.Response()
    response.status_code = 404
    response._content = (
        b'{"itemNotFound": {"guid": "", "message": "Resource not found", "code": 404}}'
    )

    assert error_message(response) == "Resource not found"


# -- properties: odd but plausible payloads never escape as anything else ----------

ODD_AMOUNT_TEXTS = [
    "1,5",
    "NaN",
    "1e400",
    " 12.0000 ",
    "-0",
    "Infinity",
    "1e999999999999",
    "١٢",
    "",
    "0.0000",
]
ODD_AMOUNTS = st.sampled_from(ODD_AMOUNT_TEXTS)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=12),
    ODD_AMOUNTS,
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
)
INVOICE_KEYS = [
    "status",
    "currency",
    "amount",
    "amountDue",
    "description",
    "date",
    "statusName",
    "invoiceNumber",
]
PLAUSIBLE = {
    "status": st.sampled_from(["invoice_paid", "invoice_open", "Ünbekannt", ""]),
    "currency": st.sampled_from(["USD", "eur", "", "€"]),
    "amount": st.one_of(ODD_AMOUNTS, st.decimals(places=4, allow_nan=False).map(str)),
    "amountDue": st.one_of(ODD_AMOUNTS, st.decimals(places=4, allow_nan=False).map(str)),
    "description": st.text(max_size=20),
    "date": st.one_of(st.dates().map(str), st.sampled_from(["2011-02-30", "19/04/2011", ""])),
    "statusName": st.text(max_size=10),
    "invoiceNumber": st.one_of(st.text(max_size=10), st.integers()),
}
SEED_INVOICE = {
    "status": "invoice_paid",
    "currency": "USD",
    "amount": "1023.7200",
    "amountDue": "0.0000",
    "description": "Invoice #SO-360704",
    "date": "2011-04-19",
    "statusName": "Invoice Paid",
    "invoiceNumber": "SO-360704",
}
DROP = object()


def _mutated(changes: dict[str, Any]) -> dict[str, Any]:
    invoice = dict(SEED_INVOICE)
    for key, value in changes.items():
        if value is DROP:
            invoice.pop(key)
        else:
            invoice[key] = value
    return invoice


# The seed invoice with up to three fields dropped or made odd, so every field's
# parsing is reached (a payload odd everywhere fails at the first field).
INVOICES = st.one_of(
    st.lists(
        st.sampled_from(INVOICE_KEYS).flatmap(
            lambda key: st.tuples(st.just(key), st.one_of(st.just(DROP), PLAUSIBLE[key], VALUES))
        ),
        max_size=3,
    ).map(lambda changes: _mutated(dict(changes))),
    st.fixed_dictionaries(
        {}, optional={key: st.one_of(PLAUSIBLE[key], VALUES) for key in INVOICE_KEYS}
    ),
)
LINKS = st.lists(
    st.one_of(
        st.fixed_dictionaries({"rel": st.sampled_from(["next", "self"]), "href": st.text()}),
        st.fixed_dictionaries({}, optional={"rel": VALUES, "href": VALUES}),
    ),
    max_size=3,
)
PAGES = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "list": st.one_of(st.lists(INVOICES, max_size=3), VALUES),
            "links": st.one_of(LINKS, VALUES),
        },
    ),
)


@pytest.mark.parametrize("field", ["amount", "amountDue"])
@pytest.mark.parametrize("text", ODD_AMOUNT_TEXTS)
def test_odd_amount_is_an_exact_amount_or_bad_payload(field, text):
    try:
        invoice = parse_invoice(_mutated({field: text}), account_id="a1")
    except ProviderBadPayload:
        return
    amount = invoice.total if field == "amount" else invoice.amount_due
    assert amount == Decimal(text.strip())
    assert amount.is_finite() and amount.copy_abs() < Decimal("1e15")


@settings(max_examples=200, deadline=None)
@given(payload=st.one_of(INVOICES, VALUES))
def test_any_invoice_payload_is_an_invoice_or_bad_payload(payload):
    try:
        invoice = parse_invoice(payload, account_id="acc-ü")
    except ProviderBadPayload:
        return
    assert invoice.total.is_finite() and invoice.amount_due.is_finite()
    assert invoice.paid == (invoice.amount_due <= 0)
    assert invoice.provider_id == f"acc-ü/{invoice.number}"
    assert isinstance(invoice.issue_date, dt.date) and invoice.currency


@settings(max_examples=200, deadline=None)
@given(
    number=st.from_regex(r"[A-Z]{2}-\d{6}", fullmatch=True),
    day=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)),
    amount=st.decimals(min_value=0, max_value=10**9, places=4),
    share=st.integers(0, 100),
    status=st.sampled_from(["invoice_paid", "invoice_open", "invoice_overdue", "Ünbekannt"]),
    currency=st.sampled_from(["USD", "eur", "CAD"]),
    description=st.text(max_size=40),
)
def test_well_formed_invoices_always_parse_to_their_values(
    number, day, amount, share, status, currency, description
):
    due = (amount * share / 100).quantize(Decimal("0.0001"))
    payload = {
        "status": status,
        "currency": currency,
        "amount": f"{amount:.4f}",
        "amountDue": f"{due:.4f}",
        "description": description,
        "date": day.isoformat(),
        "statusName": status.replace("_", " ").title(),
        "invoiceNumber": number,
    }

    invoice = parse_invoice(payload, account_id="acc-1")

    assert (invoice.provider_id, invoice.number) == (f"acc-1/{number}", number)
    assert (invoice.issue_date, invoice.total, invoice.amount_due) == (day, amount, due)
    assert (invoice.currency, invoice.paid) == (currency.upper(), due <= 0)
    assert invoice.description == description.strip()


@settings(max_examples=200, deadline=None)
@given(payload=PAGES)
def test_any_page_payload_is_invoices_and_links_or_bad_payload(payload):
    try:
        invoices, links, problems = parse_invoice_list(
            payload, account_id="a1", default_currency="USD"
        )
    except ProviderBadPayload:
        return
    assert all(isinstance(invoice, Invoice) for invoice in invoices)
    # Every entry is an invoice, or a problem that names it.
    assert len(invoices) + len(problems) == len(payload["list"])
    assert all(isinstance(rel, str) and isinstance(href, str) for rel, href in links.items())


def test_an_unreadable_invoice_is_a_problem_of_its_own_and_the_rest_parse():
    broken = {**SEED_INVOICE, "invoiceNumber": "SO-1", "currency": None}
    nameless = {**SEED_INVOICE, "invoiceNumber": " "}
    payload = {"list": [SEED_INVOICE, broken, nameless], "links": []}

    invoices, _, problems = parse_invoice_list(payload, account_id="test731993")

    assert [invoice.number for invoice in invoices] == ["SO-360704"]
    assert [(p.what, p.provider_id, p.account_id) for p in problems] == [
        ("Hostway invoice test731993/SO-1", "test731993/SO-1", None),
        ("Hostway invoice test731993/(without a number)", None, "test731993"),
    ]
    assert problems[0].reason == "hostway invoice test731993/SO-1 has no currency"


def test_the_connection_currency_stands_in_for_an_invoice_without_one():
    payload = {"list": [{**SEED_INVOICE, "currency": ""}], "links": []}

    (invoice,) = parse_invoice_list(payload, account_id="a1", default_currency="CAD").items

    assert invoice.currency == "CAD"
