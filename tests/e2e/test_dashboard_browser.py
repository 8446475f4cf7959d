"""The dashboard in a real browser: htmx swaps, history, lazy live reads, downloads, no-JS."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from invoices.exports import COLUMNS

from .conftest import login

pytestmark = pytest.mark.e2e

ROWS = "#invoice-table tbody tr:not(.group-head)"
PAYMENT_BADGES = "#invoice-table tbody td[data-label='Status'] .badge:is(.paid, .unpaid)"


def settled(page) -> None:
    """Wait until htmx has no request in flight (it marks the requesting element)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def htmx_swap(page, action: Callable[[], None], url_part: str) -> None:
    """Run `action`, wait for the htmx request whose URL holds `url_part`, its swap and the
    pushed URL."""
    with page.expect_response(
        lambda r: url_part in r.url and r.request.header_value("hx-request") == "true"
    ) as response:
        action()
    assert response.value.ok, response.value.status
    page.wait_for_url(re.compile(re.escape(url_part)))
    settled(page)


def mark_window(page) -> None:
    page.evaluate("window.__marker = 1")


def window_marked(page) -> bool:
    """True while the page set up by `mark_window` is still the same document."""
    return page.evaluate("window.__marker") == 1


def shown_count(page) -> int:
    return int(page.inner_text(".result-bar .count strong").replace(",", ""))


def amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", text))


CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD"}


def shown_totals(page, rows: int = 10) -> list[tuple[str, Decimal]]:
    """(currency, amount) of the first `rows` rows' totals."""
    texts = page.locator(f"{ROWS} td[data-label='Total']").all_inner_texts()
    return [(CURRENCY_SYMBOLS[t.strip()[0]], amount(t)) for t in texts[:rows]]


def open_filters(page) -> None:
    """The filters wait behind their button (the results come first)."""
    if page.locator("#filter-toggle").get_attribute("aria-expanded") != "true":
        page.locator("#filter-toggle").click()


def choose(page, selector: str, value: str | None = None, **options) -> None:
    open_filters(page)
    if value is None:
        page.select_option(selector, **options)
    else:
        page.select_option(selector, value, **options)


def first_number(page) -> str:
    return page.locator(f"{ROWS} td[data-label='Invoice']").first.inner_text().strip()


def filter_connection(page, connection) -> None:
    htmx_swap(
        page,
        lambda: choose(page, "#id_connection", label=connection.name),
        f"connection={connection.pk}",
    )


def test_logging_in_through_the_form_opens_the_dashboard(new_page, dashboard):
    page = new_page()

    login(page, dashboard)

    expect(page.get_by_role("heading", name="Invoices", level=1)).to_be_visible()
    expect(page.locator(".topbar .user")).to_contain_text(dashboard.username)
    assert shown_count(page) > 0
    assert page.locator(ROWS).count() == 25


def test_the_payment_filter_swaps_the_table_in_place(dashboard_page):
    page = dashboard_page
    everything = shown_count(page)
    mark_window(page)

    htmx_swap(page, lambda: choose(page, "#id_status", "unpaid"), "status=unpaid")

    assert window_marked(page), "a full page load happened"
    assert "status=unpaid" in page.url
    badges = page.locator(PAYMENT_BADGES).all_inner_texts()
    assert badges, "no rows shown"
    assert len(badges) == page.locator(ROWS).count()
    assert set(badges) == {"Unpaid"}
    assert 0 < shown_count(page) < everything


def test_clicking_total_twice_sorts_by_amount_descending(dashboard_page):
    page = dashboard_page
    header = page.locator("#invoice-table thead th", has_text=re.compile(r"^\s*Total"))

    htmx_swap(page, lambda: header.locator("a").click(), "sort=total")
    expect(header).to_have_attribute("aria-sort", "ascending")
    htmx_swap(page, lambda: header.locator("a").click(), "sort=-total")

    expect(header).to_have_attribute("aria-sort", "descending")
    totals = shown_totals(page)
    assert len(totals) == 10
    # By currency, then amount: never a dollar amount ranked among euro amounts.
    assert totals == sorted(totals, reverse=True)


def test_page_two_loads_through_htmx_without_a_reload(dashboard_page):
    page = dashboard_page
    page_one_first = first_number(page)
    mark_window(page)

    with page.expect_request(lambda r: "page=2" in r.url) as request:
        page.locator("nav.pagination a", has_text=re.compile(r"^2$")).click()
    page.wait_for_url(re.compile(r"[?&]page=2"))
    settled(page)

    assert request.value.all_headers().get("hx-request") == "true"
    assert window_marked(page), "a full page load happened"
    expect(page.locator("nav.pagination .current")).to_have_text("2")
    assert first_number(page) != page_one_first


def test_back_returns_to_page_one(dashboard_page):
    page = dashboard_page
    page_one_first = first_number(page)
    htmx_swap(
        page,
        lambda: page.locator("nav.pagination a", has_text=re.compile(r"^2$")).click(),
        "page=2",
    )
    assert first_number(page) != page_one_first

    page.go_back()

    page.wait_for_url(lambda url: "page=2" not in url)
    expect(page.locator("nav.pagination .current")).to_have_text("1")
    assert first_number(page) == page_one_first


def test_a_filter_change_keeps_the_sort_chosen_in_the_table(dashboard_page):
    page = dashboard_page
    header = page.locator("#invoice-table thead th", has_text=re.compile(r"^\s*Total"))
    htmx_swap(page, lambda: header.locator("a").click(), "sort=total")
    htmx_swap(page, lambda: header.locator("a").click(), "sort=-total")

    htmx_swap(page, lambda: choose(page, "#id_status", "unpaid"), "status=unpaid")

    assert "sort=-total" in page.url
    expect(header).to_have_attribute("aria-sort", "descending")


def test_after_back_the_form_shows_the_filters_of_the_table(dashboard_page):
    page = dashboard_page
    htmx_swap(page, lambda: choose(page, "#id_status", "unpaid"), "status=unpaid")
    htmx_swap(page, lambda: choose(page, "#id_overdue", "true"), "overdue=true")

    page.go_back()
    page.wait_for_url(lambda url: "overdue" not in url)
    settled(page)

    expect(page.locator("#id_status")).to_have_value("unpaid")
    expect(page.locator("#id_overdue")).to_have_value("")
    htmx_swap(page, lambda: choose(page, "#id_incasso", "true"), "incasso=true")
    assert "status=unpaid" in page.url


def test_group_by_batch_shows_group_headers_with_counts(dashboard_page):
    page = dashboard_page

    open_filters(page)
    htmx_swap(page, lambda: page.check("#id_group"), "group=batch")

    expect(page.locator(".result-bar .count")).to_contain_text("grouped by batch")
    heads = page.locator("#invoice-table tbody tr.group-head")
    assert heads.count() >= 1
    titles = heads.locator(".group-title").all_inner_texts()
    assert titles[0].startswith("Batch ")
    assert all(re.fullmatch(r"Batch \S.*|No batch", t.strip()) for t in titles), titles
    for text in heads.all_inner_texts():
        assert re.search(r"\b\d+ invoices?\b", text), text


def test_get_public_link_on_a_masstack_invoice(dashboard_page, dashboard):
    page = dashboard_page
    filter_connection(page, dashboard.connections["masstack"])
    # Any row but the sandbox account whose links are plain http (shown as text, no link).
    rows = page.locator(ROWS)
    row = next(
        rows.nth(i)
        for i in range(rows.count())
        if rows.nth(i).locator("td[data-label='Customer']").inner_text().strip()
        != dashboard.http_link_customer
    )

    with page.expect_response(lambda r: "/public-link/" in r.url) as response:
        row.get_by_role("button", name=re.compile(r"^Get public link")).click()
    assert response.value.ok

    link = row.locator("a.live-url")
    expect(link).to_be_visible()
    assert link.get_attribute("href").startswith("https://")
    assert link.inner_text().startswith("https://")
    expect(row.locator("button.copy")).to_be_visible()


def test_masstack_rows_lazy_load_the_next_billing_date(dashboard_page, dashboard):
    page = dashboard_page
    filter_connection(page, dashboard.connections["masstack"])

    cells = page.locator(f"{ROWS} td[data-label='Next billing']")
    assert cells.count() > 0
    for i in range(min(5, cells.count())):
        cell = cells.nth(i)
        expect(cell).to_contain_text("Next billing")
        expect(cell.locator(".live-loading")).to_have_count(0)
        day = dt.date.fromisoformat(cell.locator("time").get_attribute("datetime"))
        assert day >= dt.date.today() - dt.timedelta(days=1)


def test_csv_export_holds_the_filtered_invoices(dashboard_page):
    page = dashboard_page
    htmx_swap(page, lambda: choose(page, "#id_status", "unpaid"), "status=unpaid")
    count = shown_count(page)

    with page.expect_download() as download:
        page.locator(".exports a", has_text="CSV").click()

    assert download.value.suggested_filename.endswith(".csv")
    with open(download.value.path(), newline="", encoding="utf-8-sig") as file:
        rows = list(csv.reader(file))
    assert rows[0] == [header for header, _ in COLUMNS]
    assert len(rows) - 1 == count
    status = rows[0].index("Status")
    assert {row[status] for row in rows[1:]} == {"unpaid"}


def test_without_javascript_the_filter_form_and_sort_links_work(new_page, dashboard):
    page = new_page(java_script_enabled=False)
    login(page, dashboard)

    page.select_option("#id_status", "unpaid")  # without a script, the filters are all there
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"status=unpaid"))
    assert set(page.locator(PAYMENT_BADGES).all_inner_texts()) == {"Unpaid"}

    header = page.locator("#invoice-table thead th", has_text=re.compile(r"^\s*Total"))
    header.locator("a").click()
    page.wait_for_url(re.compile(r"sort=total"))
    header.locator("a").click()
    page.wait_for_url(re.compile(r"sort=-total"))

    assert "status=unpaid" in page.url
    expect(header).to_have_attribute("aria-sort", "descending")
    totals = shown_totals(page)
    assert totals == sorted(totals, reverse=True)
    assert set(page.locator(PAYMENT_BADGES).all_inner_texts()) == {"Unpaid"}


def test_the_pages_work_under_the_content_security_policy(new_page, dashboard):
    """The strict policy is on (no inline script or style, no eval), and a click through
    the list (filters, sorting, paging, a live read, the admin) breaks none of it: every
    violation on any page becomes a console error, which `new_page` fails the test on."""
    page = new_page()
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    responses = []
    page.on("response", lambda r: responses.append(r) if r.request.resource_type == "document"
            else None)  # fmt: skip
    login(page, dashboard)
    htmx_swap(page, lambda: choose(page, "#id_status", "unpaid"), "status=unpaid")
    page.get_by_role("link", name=re.compile("^Total")).click()
    page.wait_for_url(re.compile("sort=total"))
    filter_connection(page, dashboard.connections["masstack"])
    expect(page.locator(f"{ROWS} td[data-label='Next billing'] time").first).to_be_visible()
    assert page.evaluate("typeof htmx") == "object"
    page.goto(dashboard.url + "/admin/")

    headers = [r.headers.get("content-security-policy", "") for r in responses]
    assert headers and all("script-src 'self'" in h and "unsafe" not in h for h in headers)


def test_a_live_read_without_a_usable_answer_offers_a_retry(
    dashboard_page, dashboard, new_page, monkeypatch
):
    """An error page (htmx swaps none) or no answer must not leave "loading…" for ever."""
    from invoices.views import live as live_views

    real = live_views.account_billing_details_get

    def broken(**kwargs):
        raise RuntimeError("the server fell over")

    page = dashboard_page
    monkeypatch.setattr(live_views, "account_billing_details_get", broken)
    filter_connection(page, dashboard.connections["masstack"])
    cell = page.locator(f"{ROWS} td[data-label='Next billing']").first

    expect(cell).to_contain_text("No answer came. Try again in a moment.")
    expect(cell.locator(".live-loading")).to_have_count(0)
    new_page.errors.clear()  # the 500s this test asked for (browser and htmx report them)

    monkeypatch.setattr(live_views, "account_billing_details_get", real)
    cell.get_by_role("link", name="Retry").click()

    expect(cell).to_contain_text("Next billing")
    expect(cell.locator("time")).to_have_count(1)
