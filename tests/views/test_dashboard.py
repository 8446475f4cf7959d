"""The invoice list: filters, sorting, paging, htmx partials, totals, batch groups, flags.

Expected sets refer to the mirror in `factories.py` (its docstring is the table).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoices import tables
from invoices.filters import period_range
from invoices.models import Account, Batch, Connection, Invoice
from invoices.summaries import summaries_rebuild
from invoices.sync import connection_data_changed

from .factories import A_ALL, A_FILLER, B_ALL, Mirror, days_ago, invoice_fields, make_invoice
from .pages import numbers, parse, row_of, rows, table_body, totals

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("invoices:invoice_list")
ALL = {"per_page": "50"}  # every invoice of the mirror on one page
IGNORED = "Some filters were ignored"
REMOVE = "\N{MULTIPLICATION SIGN}"  # the chip's remove link

A_UNPAID = {"INV-A01", "INV-A02", "INV-A04", "INV-A05", "INV-A07", "INV-A08", "INV-A10"}
A_INCASSO = {"INV-A01", "INV-A03", "INV-A04", "INV-A10"}


def shown(client: Client, **params: str) -> set[str]:
    """The invoices listed after changing the filter form (htmx swaps the results)."""
    response = client.get(LIST, {**ALL, **params}, **HTMX)
    assert response.status_code == 200
    assert IGNORED not in response.content.decode()
    return set(numbers(response))


# -- filters --------------------------------------------------------------------------


def test_status_unpaid(as_finance: Client):
    assert shown(as_finance, status="unpaid") == A_UNPAID


def test_status_paid(as_finance: Client):
    assert shown(as_finance, status="paid") == A_ALL - A_UNPAID


def test_incasso_yes(as_finance: Client):
    assert shown(as_finance, incasso="true") == A_INCASSO


def test_incasso_no(as_finance: Client):
    assert shown(as_finance, incasso="false") == A_ALL - A_INCASSO


def test_overdue_follows_each_connections_payment_terms(as_root: Client):
    # A02 (Alpha, 14 days' terms) and B01 (Bravo, 30 days) are both 20 days old.
    assert shown(as_root, overdue="true") == {"INV-A02", "INV-A05", "INV-A10", "INV-B02"}


def test_overdue_no(as_finance: Client):
    assert shown(as_finance, overdue="false") == A_ALL - {"INV-A02", "INV-A05", "INV-A10"}


def test_connection(as_root: Client, mirror: Mirror):
    assert shown(as_root, connection=str(mirror.bravo.pk)) == B_ALL


def test_account(as_finance: Client, mirror: Mirror):
    muller = mirror.accounts["muller"]

    assert shown(as_finance, account=str(muller.pk)) == {
        "INV-A01", "INV-A02", "INV-A06", "INV-A10",
    }  # fmt: skip


def test_account_filter_shows_a_chip_with_the_customer_name(as_finance: Client, mirror):
    response = as_finance.get(LIST, {"account": mirror.accounts["muller"].pk})

    chip = parse(response).find("span", cls="chip")
    assert chip.text() == f"Customer: Müller GmbH {REMOVE}"
    assert 'type="hidden" name="account"' in response.content.decode()


def test_batch(as_finance: Client, mirror: Mirror):
    batch = mirror.batches["100"]

    assert shown(as_finance, batch=str(batch.pk)) == {"INV-A01", "INV-A02", "INV-A03", "INV-A08"}


def test_batch_filter_shows_a_chip_with_the_batch_number(as_finance: Client, mirror: Mirror):
    response = as_finance.get(LIST, {"batch": mirror.batches["100"].pk})

    assert parse(response).find("span", cls="chip").text() == f"Batch: 2024-100 {REMOVE}"


def test_batch_link_in_a_row_filters_to_that_batch_keeping_the_others(as_finance, mirror):
    response = as_finance.get(LIST, {"status": "unpaid", "page": "1"})

    link = parse(response).find("a", cls="batch-link")
    assert link.attrs["href"] == f"?status=unpaid&batch={mirror.batches['100'].pk}"


@pytest.mark.parametrize(
    ("period", "today", "expected"),
    [
        ("this_month", dt.date(2024, 3, 15), (dt.date(2024, 3, 1), dt.date(2024, 3, 15))),
        ("last_month", dt.date(2024, 3, 15), (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
        ("last_month", dt.date(2024, 1, 1), (dt.date(2023, 12, 1), dt.date(2023, 12, 31))),
        ("last_90_days", dt.date(2024, 3, 15), (dt.date(2023, 12, 17), dt.date(2024, 3, 15))),
        ("this_year", dt.date(2024, 3, 15), (dt.date(2024, 1, 1), dt.date(2024, 3, 15))),
    ],
)
def test_period_presets_cover_the_dates_a_person_means(period, today, expected):
    assert period_range(period, today) == expected


@pytest.mark.parametrize("period", ["this_month", "last_month", "last_90_days", "this_year"])
def test_period_presets_include_both_boundaries_and_nothing_beyond(as_finance, mirror, period):
    probe = Account.objects.create(connection=mirror.alpha, provider_id="probe", name="Probe")
    start, end = period_range(period, timezone.localdate())
    one_day = dt.timedelta(days=1)
    for number, day in [("P-BEFORE", start - one_day), ("P-FIRST", start), ("P-LAST", end),
                        ("P-AFTER", end + one_day)]:  # fmt: skip
        make_invoice(probe, number, issue_date=day)

    assert shown(as_finance, period=period, account=str(probe.pk)) == {"P-FIRST", "P-LAST"}


def test_issue_date_range_is_inclusive(as_finance: Client):
    after, before = days_ago(20).isoformat(), days_ago(5).isoformat()

    assert shown(as_finance, issued_after=after, issued_before=before) == {
        "INV-A01", "INV-A02", "INV-A04", "INV-A05", "INV-A08",
    }  # fmt: skip


def test_amount_range_is_inclusive(as_finance: Client):
    assert shown(as_finance, amount_min="99.00", amount_max="250.50") == {
        "INV-A01", "INV-A02", "INV-A08",
    }  # fmt: skip


def test_amount_min_is_exact_to_the_cent(as_finance: Client):
    assert "INV-A08" not in shown(as_finance, amount_min="99.01")


def test_currency(as_root: Client):
    assert shown(as_root, currency="USD") == {"INV-A08", "INV-A09"} | B_ALL


def test_exported_yes(as_finance: Client):
    assert shown(as_finance, exported="true") == {
        "INV-A03", "INV-A06", "INV-A09", "INV-A10",
    } | A_FILLER  # fmt: skip


def test_exported_no(as_finance: Client):
    assert shown(as_finance, exported="false") == {
        "INV-A01", "INV-A02", "INV-A04", "INV-A05", "INV-A07", "INV-A08",
    }  # fmt: skip


def test_delivery_error_yes(as_root: Client):
    assert shown(as_root, delivery_error="true") == {"INV-A02", "INV-A07", "INV-B03"}


def test_delivery_error_no(as_finance: Client):
    assert shown(as_finance, delivery_error="false") == A_ALL - {"INV-A02", "INV-A07"}


def test_search_finds_a_customer_ignoring_case_with_non_ascii(as_finance: Client):
    assert shown(as_finance, q="müller") == {"INV-A01", "INV-A02", "INV-A06", "INV-A10"}


def test_search_finds_invoice_numbers_ignoring_case(as_finance: Client):
    assert shown(as_finance, q=" inv-a0 ") == {f"INV-A0{n}" for n in range(1, 10)}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_search_can_use_the_trigram_indexes_on_postgresql(mirror: Mirror):
    """At a million invoices a search that scans the table takes over a second: both
    halves of the list's search (number, customer) must be answerable from an index."""
    from invoices.filters import InvoiceFilter

    searched = InvoiceFilter.search(None, Invoice.objects.order_by(), "q", "müller")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = searched.explain()
    assert "invoice_number_trgm" in plan and "invoice_customer_trgm" in plan, plan


def test_filters_combine(as_finance: Client, mirror: Mirror):
    muller = mirror.accounts["muller"]

    assert shown(as_finance, status="unpaid", incasso="true", account=str(muller.pk)) == {
        "INV-A01", "INV-A10",
    }  # fmt: skip


# -- invalid filters ------------------------------------------------------------------


def bravo_account(mirror: Mirror) -> str:
    return str(mirror.accounts["globex"].pk)


BAD_FILTERS = {
    "amount": {"amount_min": "abc"},
    "date": {"issued_after": "2024-13-45"},
    "status": {"status": "bogus"},
    "connection not theirs": {"connection": "999999"},
    "yes/no": {"incasso": "maybe"},
    "period": {"period": "next_week"},
    "currency": {"currency": "XXX"},
}


@pytest.mark.parametrize("bad", [*BAD_FILTERS, "another connection's customer"])
def test_an_invalid_filter_is_ignored_with_a_notice(as_finance: Client, mirror: Mirror, bad):
    params = BAD_FILTERS.get(bad) or {"account": bravo_account(mirror)}
    # A valid filter alongside, which must still apply.
    valid, expected = ({"status": "paid"}, A_ALL - A_UNPAID)
    if "status" in params:
        valid, expected = ({"incasso": "true"}, A_INCASSO)

    response = as_finance.get(LIST, {**ALL, **valid, **params})

    notice = parse(response).find("div", cls="notice")
    assert response.status_code == 200
    assert IGNORED in notice.text()
    assert set(numbers(response)) == expected


def test_another_connections_customer_is_never_shown(as_finance: Client, mirror: Mirror):
    response = as_finance.get(LIST, {**ALL, "account": bravo_account(mirror)})

    html = response.content.decode()
    assert set(numbers(response)) == A_ALL
    assert "Globex" not in html


def test_another_connections_batch_shows_nothing_of_it(as_finance: Client, mirror: Mirror):
    other = Batch.objects.create(connection=mirror.bravo, number="B-SECRET")
    make_invoice(mirror.accounts["globex"], "INV-B99", batch=other)

    response = as_finance.get(LIST, {**ALL, "batch": other.pk})

    assert response.status_code == 200
    assert "INV-B99" not in numbers(response)
    assert "B-SECRET" not in response.content.decode()


# -- sorting --------------------------------------------------------------------------

# column -> (first row ascending, first row descending), over Alpha for the finance user
FIRST_ROWS = {
    "number": ("INV-A01", "INV-A20"),
    "customer_name": ("INV-A03", "INV-A10"),  # "Acme BV" … "Müller GmbH"; ties by id
    "issue_date": ("INV-A10", "INV-A07"),
    # Amounts sort by currency, then amount: EUR first going up, USD first going down.
    "total": ("INV-A10", "INV-A08"),
    "amount_due": ("INV-A03", "INV-A08"),
    "status": ("INV-A09", "INV-A10"),  # paid first, newest first; unpaid first, oldest first
}


@pytest.mark.parametrize("column", FIRST_ROWS)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_each_column_sorts(as_finance: Client, column: str, descending: bool):
    response = as_finance.get(LIST, {"sort": f"-{column}" if descending else column})

    assert numbers(response)[0] == FIRST_ROWS[column][descending]


# Within a connection or batch: newest first (going up), oldest first (going down).
@pytest.mark.parametrize(("sort", "first"), [("connection", "INV-A07"), ("-connection", "INV-B20")])
def test_connection_column_sorts(as_root: Client, sort: str, first: str):
    response = as_root.get(LIST, {"sort": sort})

    assert numbers(response)[0] == first


@pytest.mark.parametrize(("sort", "first"), [("batch", "INV-A01"), ("-batch", "INV-A10")])
def test_batch_column_sorts(as_finance: Client, sort: str, first: str):
    # Incasso invoices all have a batch: 2024-100 (A01, A03) and 2024-200 (A04, A10).
    response = as_finance.get(LIST, {"sort": sort, "incasso": "true"})

    assert numbers(response)[0] == first


@pytest.mark.parametrize("sort", [*FIRST_ROWS, "connection", "batch"])
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_every_sort_ends_on_a_unique_key_so_pages_never_repeat_rows(as_root, sort, descending):
    response = as_root.get(LIST, {"sort": f"-{sort}" if descending else sort}, **HTMX)

    ordering = response.context["table"].data.data.query.order_by
    assert ordering[-1] in ("id", "-id"), ordering


def test_the_sorted_column_carries_aria_sort(as_finance: Client):
    response = as_finance.get(LIST, {"sort": "-total"})

    sorted_headers = [th for th in parse(response).find_all("th") if "aria-sort" in th.attrs]
    assert [(th.text(), th.attrs["aria-sort"]) for th in sorted_headers] == [
        ("Total ▼", "descending")
    ]


def test_ascending_sort_carries_aria_sort_ascending(as_finance: Client):
    response = as_finance.get(LIST, {"sort": "customer_name"})

    header = parse(response).find("th", aria_sort="ascending")
    assert header.text() == "Customer ▲"


def test_default_order_is_newest_first(as_finance: Client):
    response = as_finance.get(LIST)

    assert numbers(response)[:3] == ["INV-A07", "INV-A01", "INV-A08"]
    assert parse(response).find("th", aria_sort="descending").text() == "Issued ▼"


@pytest.mark.parametrize("sort", ["bogus", "-bogus", "billing", "link", "total,bogus"])
def test_an_unknown_sort_key_is_ignored(as_finance: Client, sort: str):
    response = as_finance.get(LIST, {**ALL, "sort": sort})

    assert response.status_code == 200
    assert set(numbers(response)) == A_ALL


# -- pagination -----------------------------------------------------------------------


@pytest.fixture
def many(mirror: Mirror) -> int:
    """110 more old, paid Alpha invoices: the finance user sees 130."""
    acme = mirror.accounts["acme"]
    Invoice.objects.bulk_create(
        Invoice(**invoice_fields(acme, f"OLD-{n:03d}", issue_date=days_ago(200 + n)))
        for n in range(110)
    )
    return 130


def page_label(response) -> str:
    return parse(response).find("nav", cls="pagination").find("span", cls="muted").text()


@pytest.mark.parametrize(
    ("per_page", "expected"),
    [("25", 25), ("50", 50), ("100", 100), ("7", 25), ("1000", 100), ("abc", 25), ("", 25)],
)
def test_page_size_is_one_of_the_offered_sizes(as_finance, many, per_page, expected):
    response = as_finance.get(LIST, {"per_page": per_page})

    selected = parse(response).find("select", id="id_per_page").find("option", selected="")
    assert len(rows(response)) == expected
    assert selected.text() == str(expected)


@pytest.mark.parametrize("page", ["last", "999"])
def test_last_and_past_the_end_show_the_last_page(as_finance: Client, many: int, page: str):
    response = as_finance.get(LIST, {"page": page})

    assert len(rows(response)) == 5  # 130 = 5 * 25 + 5
    assert page_label(response) == "Page 6 of 6"


@pytest.mark.parametrize("page", ["0", "-3", "abc", ""])
def test_nonsense_pages_show_the_first_page(as_finance: Client, many: int, page: str):
    response = as_finance.get(LIST, {"page": page})

    assert numbers(response)[0] == "INV-A07"
    assert page_label(response) == "Page 1 of 6"


def test_the_next_page_continues_where_the_first_ended(as_finance: Client, many: int):
    first = numbers(as_finance.get(LIST, {"per_page": "50"}))
    second = numbers(as_finance.get(LIST, {"per_page": "50", "page": "2"}))

    assert len(set(first) | set(second)) == 100


@pytest.mark.parametrize("skip_ids_from", [500, 10], ids=["rows", "ids-first"])
@pytest.mark.parametrize("group", ["", "batch"])
@pytest.mark.parametrize("sort", ["", "-total", "customer_name", "status", "batch", "-connection"])
def test_pages_past_the_middle_hold_the_same_rows_as_reading_forward(
    as_finance: Client, many: int, sort: str, group: str, skip_ids_from: int, monkeypatch
):
    """Pages past the middle are read backwards from the end of the list, and deep pages
    read their ids first (from `SKIP_IDS_FROM` rows skipped on: shrunk here so these
    130 rows take that path); they must hold exactly the rows a forward read puts there,
    in the same order, ties included."""
    monkeypatch.setattr(tables, "SKIP_IDS_FROM", skip_ids_from)
    params = {"sort": sort, "group": group}
    by_25 = [
        number
        for page in range(1, 7)
        for number in numbers(as_finance.get(LIST, {**params, "page": page}))
    ]
    first_100 = numbers(as_finance.get(LIST, {**params, "per_page": 100}))

    assert len(by_25) == len(set(by_25)) == many
    assert by_25[:100] == first_100


@pytest.mark.parametrize("summarised", [False, True], ids=["counted", "summarised"])
@pytest.mark.parametrize("walk", [False, True], ids=["small-groups-at-once", "group-walk"])
@pytest.mark.parametrize("skip_ids_from", [500, 10], ids=["rows", "ids-first"])
@pytest.mark.parametrize("sort", ["connection", "-connection", "batch", "-batch"])
def test_a_sort_by_another_tables_column_pages_through_the_databases_order(
    as_root, mirror, many, sort, skip_ids_from, walk, summarised, monkeypatch
):
    """The connection and batch sorts read a group at a time (the groups' sizes counted
    or read from the summaries), or small groups at once; every page holds exactly the
    rows the database's own ORDER BY puts there (its collation, its NULLs)."""
    monkeypatch.setattr(tables, "SKIP_IDS_FROM", skip_ids_from)
    monkeypatch.setattr(tables, "SMALL_GROUPS", 0 if walk else 20_000)
    Connection.objects.filter(pk=mirror.bravo.pk).update(name="alpha")  # collation: a, A
    Batch.objects.create(connection=mirror.bravo, number="3")
    connection_data_changed(connection_ids=[mirror.alpha.pk, mirror.bravo.pk])
    if summarised:
        summaries_rebuild(connection_ids=Connection.objects.values_list("pk", flat=True))
    first = as_root.get(LIST, {"sort": sort})
    pages = first.context["table"].paginator.num_pages
    listed = [
        number
        for page in range(1, pages + 1)
        for number in numbers(as_root.get(LIST, {"sort": sort, "page": page}))
    ]
    ordering = first.context["table"].data.data.query.order_by

    in_sql = list(Invoice.objects.order_by(*ordering).values_list("number", flat=True))
    assert listed == in_sql
    assert len(set(listed)) > 130


def test_the_count_of_all_matching_invoices_is_shown(as_finance: Client, many: int):
    response = as_finance.get(LIST, {"status": "paid"})

    count = parse(response).find("p", cls="count").text()
    assert count == f"{many - len(A_UNPAID)} matching invoices"


def test_one_match_is_counted_in_the_singular(as_finance: Client):
    response = as_finance.get(LIST, {"q": "INV-A07"})

    assert parse(response).find("p", cls="count").text() == "1 matching invoice"


# -- htmx -----------------------------------------------------------------------------


def test_htmx_request_gets_only_the_results(as_finance: Client):
    response = as_finance.get(LIST, {"status": "unpaid"}, **HTMX)

    html = response.content.decode()
    top = [node for node in parse(response).children if not isinstance(node, str)]
    assert "<html" not in html
    assert [(node.tag, node.attrs.get("id")) for node in top] == [("section", "results")]
    assert set(numbers(response)) == A_UNPAID


def test_htmx_history_restore_gets_the_full_page(as_finance: Client):
    response = as_finance.get(
        LIST, {"status": "unpaid"}, **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    page = parse(response)
    assert "<html" in response.content.decode()
    assert page.find("form", id="filters")
    assert page.find("section", id="results")


def test_a_plain_request_gets_the_page_with_the_filter_form(as_finance: Client):
    response = as_finance.get(LIST, {"status": "unpaid"})

    form = parse(response).find("form", id="filters")
    status = form.find("select", id="id_status").find("option", selected="")
    assert "<html" in response.content.decode()
    assert (form.attrs["method"], form.attrs["action"]) == ("get", LIST)
    assert status.attrs["value"] == "unpaid"


def test_the_filter_form_swaps_the_results_and_pushes_the_url(as_finance: Client):
    form = parse(as_finance.get(LIST)).find("form", id="filters")

    assert form.attrs["hx-get"] == LIST
    assert form.attrs["hx-target"] == "#results"
    assert form.attrs["hx-push-url"] == "true"


def test_one_url_two_bodies_tells_caches_to_vary_on_hx_request(as_finance: Client):
    full = as_finance.get(LIST)
    partial = as_finance.get(LIST, **HTMX)

    assert "HX-Request" in full["Vary"]
    assert "HX-Request" in partial["Vary"]


def boosted(link) -> bool:
    return any(node.attrs.get("hx-boost") == "true" for node in link.ancestors())


def test_sort_links_are_plain_links_inside_a_boosted_container(as_finance: Client):
    response = as_finance.get(LIST, {"status": "unpaid"})

    links = parse(response).find("thead").find_all("a")
    assert len(links) == 8  # every sortable column
    for link in links:
        assert link.attrs["href"].startswith("?")
        assert "status=unpaid" in link.attrs["href"]
        assert "hx-get" not in link.attrs
        assert boosted(link)


def test_page_links_are_plain_links_inside_a_boosted_container(as_root: Client):
    response = as_root.get(LIST, {"sort": "total"})

    links = parse(response).find("nav", cls="pagination").find_all("a")
    assert {link.attrs["href"] for link in links} == {"?sort=total&page=2"}
    assert all(boosted(link) for link in links)


# -- totals ---------------------------------------------------------------------------


def test_totals_per_currency_over_everything_the_user_sees(as_finance: Client):
    cards = totals(as_finance.get(LIST))

    assert cards["EUR"] == {
        "count": "18 invoices",
        "Outstanding": "€1,684.24", "Outstanding note": "6 unpaid",
        "Incasso pending": "€179.25", "Incasso pending note": "3 direct debit",
        "Paid": "€1,755.00", "Paid note": "12 paid",
    }  # fmt: skip
    assert cards["USD"] == {
        "count": "2 invoices",
        "Outstanding": "$99.00", "Outstanding note": "1 unpaid",
        "Incasso pending": "$0.00", "Incasso pending note": "0 direct debit",
        "Paid": "$40.00", "Paid note": "1 paid",
    }  # fmt: skip


def test_totals_cover_the_whole_filtered_set_not_just_the_page(as_root: Client):
    response = as_root.get(LIST, {"page": "2"})

    cards = totals(response)
    assert len(rows(response)) == 15
    assert cards["USD"]["count"] == "22 invoices"
    assert cards["USD"]["Outstanding"] == "$444.00"
    assert cards["USD"]["Incasso pending"] == "$45.00"
    assert cards["USD"]["Paid"] == "$205.34"
    assert cards["EUR"]["Outstanding"] == "€1,684.24"


def test_totals_follow_the_filters(as_root: Client, mirror: Mirror):
    cards = totals(as_root.get(LIST, {"status": "unpaid", "connection": mirror.bravo.pk}))

    assert list(cards) == ["USD"]
    assert cards["USD"]["count"] == "2 invoices"
    assert cards["USD"]["Outstanding"] == "$345.00"
    assert cards["USD"]["Paid"] == "$0.00"


def test_totals_change_as_soon_as_a_write_changes_the_invoices(as_finance: Client, mirror):
    before = totals(as_finance.get(LIST))["USD"]
    Invoice.objects.filter(number="INV-A08").update(status="paid", amount_due=Decimal("0"))
    connection_data_changed(connection_ids=[mirror.alpha.pk])

    after = totals(as_finance.get(LIST))["USD"]

    assert (before["Outstanding"], after["Outstanding"]) == ("$99.00", "$0.00")
    assert (before["Paid"], after["Paid"]) == ("$40.00", "$139.00")


def test_totals_follow_an_invoice_deleted_in_the_admin(as_root: Client, mirror):
    before = totals(as_root.get(LIST))["USD"]["count"]
    invoice = Invoice.objects.get(number="INV-A08")

    deleted = as_root.post(
        reverse("admin:invoices_invoice_delete", args=[invoice.pk]), {"post": "yes"}
    )

    assert deleted.status_code == 302
    assert (before, totals(as_root.get(LIST))["USD"]["count"]) == ("22 invoices", "21 invoices")


def test_a_repeated_request_does_not_sum_the_invoices_again(as_finance: Client):
    as_finance.get(LIST, {"status": "unpaid"})

    with CaptureQueriesContext(connection) as queries:
        cards = totals(as_finance.get(LIST, {"status": "unpaid", "sort": "-total", "page": 2}))

    assert cards["USD"]["Outstanding"] == "$99.00"
    assert not [q for q in queries.captured_queries if "SUM(" in q["sql"].upper()]


def test_totals_follow_a_change_of_payment_terms(as_finance: Client, mirror):
    """Overdue depends on the terms; cached totals of the overdue filter must follow."""
    before = totals(as_finance.get(LIST, {"overdue": "true"}))
    Connection.objects.filter(pk=mirror.alpha.pk).update(payment_terms_days=10_000)

    after = totals(as_finance.get(LIST, {"overdue": "true"}))

    assert before and not after


def test_amounts_in_the_table_are_formatted_in_their_currency(as_finance: Client):
    response = as_finance.get(LIST, ALL)

    assert (row_of(response, "INV-A07")["Total"], row_of(response, "INV-A08")["Amount due"]) == (
        "€1,234.50", "$99.00",
    )  # fmt: skip


# -- group by batch -------------------------------------------------------------------


def headings(response) -> list[str]:
    return [
        line.removeprefix("group: ") for line in table_body(response) if line.startswith("group: ")
    ]


def test_group_by_batch_lists_each_batch_under_its_heading(as_finance: Client):
    response = as_finance.get(LIST, {"group": "batch"})

    body = [
        line if not line.startswith("group: ") else line.split(" ")[1:3]
        for line in table_body(response)
    ]
    assert body == [
        ["Batch", "2024-200"], "INV-A04", "INV-A05", "INV-A10",
        ["Batch", "2024-100"], "INV-A01", "INV-A08", "INV-A02", "INV-A03",
        ["No", "batch"], "INV-A07", "INV-A09", "INV-A06", *sorted(A_FILLER),
    ]  # fmt: skip


def test_batch_headings_summarise_each_batch(as_finance: Client):
    b200, b100, none = headings(as_finance.get(LIST, {"group": "batch"}))

    for part in ["3 invoices", "3 unpaid", "2 Incasso", "EUR: outstanding €99.24 · paid €0.00"]:
        assert part in b200
    for part in ["4 invoices of 20 in the batch", "3 unpaid", "2 Incasso",
                 "EUR: outstanding €350.50 · paid €1,000.00",
                 "USD: outstanding $99.00 · paid $0.00"]:  # fmt: skip
        assert part in b100
    for part in ["13 invoices", "1 unpaid", "0 Incasso",
                 "EUR: outstanding €1,234.50 · paid €755.00",
                 "USD: outstanding $0.00 · paid $40.00"]:  # fmt: skip
        assert part in none
    assert "of 20" not in b200  # its size is unknown


def test_grouping_follows_the_filters(as_finance: Client):
    response = as_finance.get(LIST, {"group": "batch", "status": "unpaid"})

    _, b100, none = headings(response)
    assert "3 invoices" in b100
    assert "1 Incasso" in b100
    assert "EUR: outstanding €350.50 · paid €0.00" in b100
    assert none.startswith("No batch 1 invoice ")
    assert len(rows(response)) == len(A_UNPAID)


def test_a_later_page_heads_only_its_own_batches_counted_over_all_pages(as_root: Client):
    response = as_root.get(LIST, {"group": "batch", "page": "2"})

    (only,) = headings(response)
    assert only.startswith("No batch 33 invoices ")
    assert len(rows(response)) == 15


def test_grouped_count_says_grouped(as_finance: Client):
    response = as_finance.get(LIST, {"group": "batch"})

    assert parse(response).find("p", cls="count").text() == "20 matching invoices, grouped by batch"


# -- flags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "flags"),
    [
        ("INV-A01", "Unpaid Incasso"),
        ("INV-A02", "Unpaid Overdue Delivery error Mailbox full"),
        ("INV-A03", "Paid Incasso"),
        ("INV-A04", "Unpaid Incasso"),  # issued exactly the payment terms ago: not yet due
        ("INV-A05", "Unpaid Overdue"),
        ("INV-A07", "Unpaid Delivery error Bounced"),
        ("INV-B01", "Unpaid"),  # as old as A02, but Bravo gives 30 days
        ("INV-B02", "Unpaid Overdue Incasso"),
        ("INV-B03", "Paid Delivery error Rejected by mail server"),
    ],
)
def test_status_flags_are_shown_as_words(as_root: Client, number: str, flags: str):
    response = as_root.get(LIST, ALL)

    assert row_of(response, number)["Status"] == flags


def test_the_delivery_error_is_told_on_click_or_key_not_only_on_hover(as_finance: Client):
    """A tooltip is out of reach on touch screens and by keyboard: the badge opens."""
    response = as_finance.get(LIST, {"q": "INV-A02"})

    details = parse(response).find("details", cls="badge-details")
    assert details.find("summary").text() == "Delivery error"
    assert details.find("span", cls="detail-text").text() == "Mailbox full"


# -- escaping -------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def hostile(mirror: Mirror) -> Invoice:
    account = Account.objects.create(
        connection=mirror.alpha, provider_id="evil", name=f"Evil {SCRIPT}{IMG}", currency="EUR"
    )
    batch = Batch.objects.create(connection=mirror.alpha, number=f"9{SCRIPT}")
    return make_invoice(
        account, f"X-{SCRIPT}{IMG}", batch=batch, status="unpaid", amount_due=Decimal(1),
        delivery_error=f"{IMG}{SCRIPT}",
    )  # fmt: skip


def assert_escaped(html: str) -> None:
    assert SCRIPT not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # it is there, as text


@pytest.mark.parametrize(
    "params", [{}, {"group": "batch"}, "account", "batch", {"q": SCRIPT}], ids=str
)
def test_markup_in_names_and_numbers_is_shown_as_text(as_finance, hostile, params):
    if params in ("account", "batch"):
        params = {params: getattr(hostile, f"{params}_id")}

    response = as_finance.get(LIST, params)

    assert_escaped(response.content.decode())
    assert row_of(response, hostile.number)["Customer"] == hostile.customer_name


def test_markup_in_a_customer_name_is_escaped_on_the_account_page(as_finance, hostile):
    response = as_finance.get(reverse("invoices:account_detail", args=[hostile.account_id]))

    assert_escaped(response.content.decode())
    assert parse(response).find("h1").text() == hostile.account.name
