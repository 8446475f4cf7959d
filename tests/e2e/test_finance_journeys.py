"""The finance journey in a real browser, at 1280 by 800 unless said otherwise: open an
invoice from the list by keyboard (and at its own address), download its PDF, confirm a
payment and see the totals behind the panel follow, select across pages and export
exactly that, follow the aging picture into the list, share a saved view with another
user, the panel and the selection bar on a phone, and axe-core on the pages of the way."""

from __future__ import annotations

import csv
import dataclasses
import re
from decimal import Decimal
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ROWS = "#invoice-table tbody tr[data-row]"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The facts of an invoice that do not change from one second to the next (no "5 minutes
# ago", no live read).
STEADY_FACTS = (
    "Total", "Amount due", "Currency", "Customer", "Connection", "Invoice id at the provider",
    "Batch", "Status at the provider", "Issued", "Scheduled", "Due", "Paid on",
    "Direct debit (Incasso)", "Delivery", "Gone upstream",
)  # fmt: skip


# -- helpers ----------------------------------------------------------------------------


def settled(page) -> None:
    """Wait until htmx has no request in flight (it marks the requesting element)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def signed_in(new_page, dashboard, **context):
    page = new_page(**{"viewport": DESKTOP, **context})
    login(page, dashboard)
    return page


def money(text: str) -> Decimal:
    """An amount as the page shows it ("€1,234.56", "-$3.00") as a Decimal."""
    cleaned = re.sub(r"[^\d.\-]", "", text.replace("\u2212", "-"))
    assert cleaned, f"no amount in {text!r}"
    return Decimal(cleaned)


def shown_count(page) -> int:
    return int(page.inner_text(".result-bar .count strong").replace(",", ""))


def invoice_id(link) -> int:
    href = link.get_attribute("href")
    match = re.fullmatch(r"/invoices/(\d+)/", href or "")
    assert match, href
    return int(match.group(1))


def facts(scope) -> dict[str, str]:
    """The invoice view's facts (every <dt> with its <dd>), as shown."""
    return scope.evaluate(
        """(root) => Object.fromEntries([...root.querySelectorAll('dl.facts dt')].map(
             (dt) => [dt.textContent.trim(), dt.nextElementSibling.innerText.trim()]))"""
    )


def open_filters(page) -> None:
    if page.locator("#filter-toggle").get_attribute("aria-expanded") != "true":
        page.locator("#filter-toggle").click()


def quick_view(page, name: str, url_part: str) -> None:
    page.locator(f"#views a[data-focus-key='view-{name}']").click()
    page.wait_for_url(re.compile(re.escape(url_part)))
    settled(page)


def open_panel(page, link):
    """Open an invoice from its link in the list; the panel, once its title has focus."""
    link.click()
    panel = page.locator("#invoice-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#invoice-title")).to_be_focused()
    settled(page)
    return panel


def selected(page):
    """What the selection bar says is selected."""
    return page.locator("#selection-bar .selection-count")


def tick(page, box, count: int, why: str | None = None) -> None:
    """Tick a row's box and wait for the bar to count `count`."""
    box.click()
    word = "invoice" if count == 1 else "invoices"
    expect(selected(page), why).to_have_text(re.compile(rf"^{count} {word} selected"))


def outstanding_card(page, currency: str):
    """The Outstanding figure on the totals card of `currency`."""
    card = page.locator(".cards article.card.total").filter(
        has=page.locator("h3", has_text=re.compile(rf"^\s*{currency}\b"))
    )
    expect(card).to_have_count(1)
    return card.locator("dd.amount.bad")


def unpaid_per_currency(page) -> dict[str, int]:
    """From the list's totals cards: how many invoices are unpaid, per currency."""
    found = {}
    for card in page.locator(".cards article.card.total").all():
        currency = card.locator("h3").inner_text().split()[0]
        count = re.search(r"([\d,]+) unpaid", card.inner_text()).group(1)
        found[currency] = int(count.replace(",", ""))
    return found


# -- 1. open an invoice from the list, by keyboard ------------------------------------------


def test_an_invoice_opens_by_keyboard_beside_the_list_and_at_its_own_url(new_page, dashboard):
    page = signed_in(new_page, dashboard)
    list_url = page.url
    row = page.locator(ROWS).first
    link = row.locator("a[data-open-invoice]")
    number = link.inner_text().strip()
    href = link.get_attribute("href")
    invoice_id(link)  # /invoices/<id>/

    page.locator("h1").click()  # nothing in a field has focus, as after any click
    page.keyboard.press("j")
    expect(row).to_be_focused()
    page.keyboard.press("Enter")

    panel = page.locator("#invoice-panel")
    expect(panel).to_be_visible()
    title = panel.locator("#invoice-title")
    expect(title).to_have_text(f"Invoice {number}")
    expect(title).to_be_focused()
    expect(page).to_have_url(dashboard.url + href)
    settled(page)
    in_panel = facts(panel)
    assert in_panel.keys() >= set(STEADY_FACTS), in_panel

    page.keyboard.press("Escape")

    expect(panel).to_be_hidden()
    expect(page).to_have_url(list_url)
    expect(row).to_be_focused()  # back on the row, where j and k go on from

    # The same address opened directly (a shared link, a reload): a whole page of it.
    page.goto(dashboard.url + href)
    expect(page).to_have_title(re.compile(rf"^Invoice {re.escape(number)}\b"))
    expect(page.locator("#invoice-panel")).to_have_count(0)  # no list around it
    expect(page.get_by_role("link", name=re.compile("All invoices"))).to_be_visible()
    view = page.locator(".invoice-page #invoice-view")
    expect(view.locator("#invoice-title")).to_have_text(f"Invoice {number}")
    on_page = facts(view)
    assert {k: on_page.get(k) for k in STEADY_FACTS} == {k: in_panel[k] for k in STEADY_FACTS}


def test_a_search_answered_while_an_invoice_is_open_keeps_the_invoices_address(new_page, dashboard):
    page = signed_in(new_page, dashboard)
    link = page.locator(ROWS).first.locator("a[data-open-invoice]")
    href = link.get_attribute("href")
    link.click()
    expect(page.locator("#invoice-panel")).to_be_visible()
    expect(page).to_have_url(dashboard.url + href)

    # The list beside the panel answers a search (typed there, or just before opening).
    with page.expect_response(re.compile(r"[?&]q=FA")):
        page.locator("#id_q").fill("FA")
    settled(page)

    expect(page).to_have_url(dashboard.url + href)  # the bar still names the open invoice
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"[?&]q=FA"))  # and closing it shows the newer list


# -- 2. its PDF -----------------------------------------------------------------------------


def test_the_panel_downloads_the_invoice_pdf(new_page, dashboard):
    from invoices.models import Invoice

    page = signed_in(new_page, dashboard)
    link = page.locator(ROWS).first.locator("a[data-open-invoice]")
    provider = Invoice.objects.get(pk=invoice_id(link)).connection.provider
    panel = open_panel(page, link)

    with page.expect_download() as info:
        panel.get_by_role("link", name="Download PDF").click()

    download = info.value
    assert download.failure() is None
    name = download.suggested_filename
    assert name.endswith(".pdf"), name
    assert name.startswith(provider), (name, provider)
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")


# -- 3. confirm a payment, and the totals follow ------------------------------------------


def test_confirming_a_payment_lowers_the_outstanding_total_behind_the_panel(new_page, dashboard):
    acronis = dashboard.connections["acronis"]
    page = signed_in(new_page, dashboard)
    open_filters(page)
    page.select_option("#id_connection", label=acronis.name)
    page.wait_for_url(re.compile(rf"connection={acronis.pk}\b"))
    settled(page)
    quick_view(page, "unpaid", "status=unpaid")
    figure = outstanding_card(page, "EUR")
    before_text = figure.inner_text()
    before = money(before_text)
    row = (
        page.locator(ROWS)
        .filter(has=page.locator("td[data-label='Amount due']", has_text="€"))
        .first
    )
    number = row.locator("td[data-label='Invoice']").inner_text().strip()
    customer = row.locator("td[data-label='Customer']").inner_text().strip()
    due_text = row.locator("td[data-label='Amount due']").inner_text().strip()
    due = money(due_text)
    assert due > 0

    panel = open_panel(page, row.locator("a[data-open-invoice]"))
    panel.get_by_role("link", name="Confirm payment…").click()

    step = panel.locator("#invoice-view")
    expect(step.locator("#confirm-title")).to_have_text("Confirm the payment?")
    assert step.locator("p strong").all_inner_texts() == [number, customer, due_text]
    with page.expect_response(lambda r: "/confirm-payment/" in r.url) as answer:
        step.get_by_role("button", name="Yes, confirm the payment").click()
    assert answer.value.ok, answer.value.status

    expect(panel.locator("#payment-outcome")).to_contain_text("Confirmed")
    expect(panel.locator(".invoice-badges .badge.paid")).to_have_text("Paid")
    # The list behind the panel redraws itself ("invoices-changed").
    expect(figure).not_to_have_text(before_text)
    settled(page)
    assert money(figure.inner_text()) == before - due
    expect(page.locator(f"{ROWS} a[data-open-invoice]", has_text=number)).to_have_count(0)


# -- 4. select across two pages, export exactly that --------------------------------------


def test_a_selection_across_two_pages_exports_exactly_those_invoices(new_page, dashboard):
    page = signed_in(new_page, dashboard)
    boxes = page.locator(f"{ROWS} input[data-pick]")
    numbers = page.locator(f"{ROWS} a[data-open-invoice]")
    picked = [numbers.nth(0).inner_text().strip(), numbers.nth(1).inner_text().strip()]
    tick(page, boxes.nth(0), 1)
    # Known bug (reported): the second tick's request sends the page's every row as
    # "shown" and only the new box as "pick", so the server unticks the first row.
    tick(page, boxes.nth(1), 2, "ticking a second row on the same page dropped the first")

    page.locator("nav.pagination a", has_text=re.compile(r"^2$")).click()
    page.wait_for_url(re.compile(r"[?&]page=2\b"))
    settled(page)
    expect(page.locator("nav.pagination .current")).to_have_text("2")
    expect(boxes.first).not_to_be_checked()
    picked.append(numbers.nth(0).inner_text().strip())
    assert len(set(picked)) == 3, picked
    tick(page, boxes.nth(0), 3)

    expect(selected(page)).to_have_text(re.compile(r"^3 invoices selected"))
    page.select_option("#selection-action", label="Export CSV")
    with page.expect_download() as info:
        page.locator("#selection-bar").get_by_role("button", name="Go").click()

    download = info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    with open(download.path(), newline="", encoding="utf-8-sig") as file:
        rows = list(csv.reader(file))
    assert rows[0][0] == "Invoice"
    assert sorted(row[0] for row in rows[1:]) == sorted(picked)


def test_shift_click_ticks_the_rows_in_between(new_page, dashboard):
    page = signed_in(new_page, dashboard)
    boxes = page.locator(f"{ROWS} input[data-pick]")

    tick(page, boxes.nth(0), 1)
    boxes.nth(3).click(modifiers=["Shift"])

    expect(selected(page)).to_have_text(re.compile(r"^4 invoices selected"))
    for i in range(4):
        expect(boxes.nth(i)).to_be_checked()
    expect(boxes.nth(4)).not_to_be_checked()


# -- 5. the aging picture, and a bucket of it ----------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_aging_chart_reads_at_the_pages_own_size_on_every_screen(new_page, dashboard, viewport):
    page = signed_in(new_page, dashboard, viewport=viewport)
    page.goto(dashboard.url + "/aging/")
    chart = page.locator(".aging-chart").first
    expect(chart).to_be_visible()
    sizes = chart.evaluate(
        """(chart) => [...chart.querySelectorAll('.aging-label, .aging-value')].map((t) =>
            [t.textContent.trim(), t.getBoundingClientRect().height])"""
    )
    assert len(sizes) == 10, sizes  # five buckets, a label and an amount each
    small = [(text, round(h, 1)) for text, h in sizes if h < 14]  # 12px text needs ~14px
    assert small == [], small
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_the_aging_picture_leads_to_the_list_of_one_bucket(new_page, dashboard):
    page = signed_in(new_page, dashboard)
    unpaid = {c: n for c, n in unpaid_per_currency(page).items() if n}
    assert "EUR" in unpaid, unpaid

    page.get_by_role("link", name=re.compile(r"^Aging")).click()
    page.wait_for_url(re.compile(r"/aging/"))

    sections = page.locator("section.card.aging")
    expect(sections).to_have_count(len(unpaid))
    for currency, count in unpaid.items():
        section = page.locator("section.card.aging").filter(
            has=page.locator(f"h2#aging-{currency}")
        )
        expect(section.locator(".aging-chart")).to_have_count(1)
        expect(section.locator(".aging-chart")).to_be_attached()
        table = section.locator("table.aging-table")
        expect(table).to_be_visible()
        expect(table.locator("tbody tr")).to_have_count(5)
        # The buckets add up to the currency's outstanding count, which is the list's.
        in_buckets = [int(t.replace(",", "")) for t in
                      table.locator("tbody td.num:nth-of-type(1)").all_inner_texts()]  # fmt: skip
        assert sum(in_buckets) == count, (currency, in_buckets, count)
        expect(table.locator("tfoot td.num").first).to_have_text(f"{count:,}")

    eur = page.locator("section.card.aging").filter(has=page.locator("h2#aging-EUR"))
    # "Over 90 days" if it holds any, else the oldest bucket that does.
    counts = {}
    for tr in eur.locator("table.aging-table tbody tr").all():
        counts[tr.locator("a").get_attribute("data-bucket")] = (
            tr,
            int(tr.locator("td.num").first.inner_text().replace(",", "")),
        )
    key = next(k for k in ("90+", "61-90", "31-60", "1-30", "current") if counts[k][1])
    bucket, expected = counts[key]
    label = bucket.locator("a").inner_text().strip()

    bucket.locator("a").click()
    page.wait_for_url(re.compile(r"[?&]aging="))

    chip = page.locator(".chips .chip", has_text="Days overdue")
    expect(chip).to_be_visible()
    expect(chip).to_contain_text(label)
    assert shown_count(page) == expected


# -- 6. a shared view, opened by someone else -----------------------------------------------


def test_a_shared_view_opens_for_another_user_with_only_what_they_may_see(new_page, dashboard):
    from django.contrib.auth import get_user_model

    from invoices.models import Access, Invoice, Role

    name = "Unpaid for the team"
    page = signed_in(new_page, dashboard)
    quick_view(page, "unpaid", "status=unpaid")
    unpaid_for_admin = shown_count(page)
    page.locator("details#saved-views > summary").click()
    form = page.locator("#saved-views form.saved-new")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Share with everyone who has access").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Save view").click()
    expect(page.locator(".messages")).to_contain_text(f"View “{name}” saved.")
    assert "status=unpaid" in page.url and "saved=" in page.url

    hostway = dashboard.connections["hostway"]
    finance = get_user_model().objects.create_user("e2e-finance", password="e2e-password-2")
    Access.objects.create(user=finance, connection=hostway, role=Role.FINANCE)
    expected = Invoice.objects.filter(connection=hostway, status="unpaid").count()
    assert 0 < expected < unpaid_for_admin
    other = new_page(viewport=DESKTOP)
    login(other, dataclasses.replace(dashboard, username="e2e-finance", password="e2e-password-2"))

    other.locator("details#saved-views > summary").click()
    shared = other.locator("#saved-views .saved-list li").filter(has_text=name)
    expect(shared).to_contain_text(f"shared by {dashboard.username}")
    shared.get_by_role("link", name=name).click()
    other.wait_for_url(re.compile(r"[?&]saved=\d+"))

    expect(other.locator("#id_status")).to_have_value("unpaid")
    expect(other.locator("#views a.active")).to_contain_text("Unpaid")
    assert shown_count(other) == expected
    rows = other.locator(ROWS)
    expect(rows.first).to_be_visible()
    assert set(rows.locator("td[data-label='Connection']").all_inner_texts()) == {hostway.name}
    assert set(rows.locator("td[data-label='Status'] .badge:is(.paid, .unpaid)")
               .all_inner_texts()) == {"Unpaid"}  # fmt: skip


# -- 7. on a phone -----------------------------------------------------------------------------


def test_on_a_phone_tapping_the_invoice_number_opens_the_invoice(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=PHONE)
    link = page.locator(ROWS).first.locator("a[data-open-invoice]")
    number = link.inner_text().strip()

    # Where a finger lands on the number: the link itself, not something drawn over it.
    on_top = link.evaluate(
        """(a) => { const b = a.getBoundingClientRect();
             const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
             return a.contains(hit) ? 'the link' : hit.outerHTML.slice(0, 80); }"""
    )
    # Known bug (reported): at <= 600 px the tick box's cell shares grid area 1 / 1 with
    # the number's cell, stretches over it (z-index 1) and takes the tap.
    assert on_top == "the link", f"a tap on the invoice number lands on {on_top}"
    link.click()

    expect(page.locator("#invoice-panel #invoice-title")).to_have_text(f"Invoice {number}")


def test_on_a_phone_the_panel_fills_the_width_and_the_selection_bar_stays_in_view(
    new_page, dashboard
):
    page = signed_in(new_page, dashboard, viewport=PHONE)
    row = page.locator(ROWS).first
    # Opened from the keyboard (j, Enter): a tap on the number is the test above.
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(row).to_be_focused()
    page.keyboard.press("Enter")
    panel = page.locator("#invoice-panel")
    expect(panel.locator("#invoice-title")).to_be_focused()
    settled(page)

    box = panel.bounding_box()
    assert box["x"] <= 0.5 and box["width"] >= PHONE["width"] - 1, box
    sizes = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, innerWidth,"
        " panel: document.getElementById('invoice-panel').scrollWidth,"
        " panelBox: document.getElementById('invoice-panel').clientWidth})"
    )
    assert sizes["page"] <= sizes["innerWidth"], sizes
    assert sizes["panel"] <= sizes["panelBox"], sizes  # nothing in it scrolls sideways

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    tick(page, row.locator("input[data-pick]"), 1)

    bar = page.locator("#selection-bar")
    expect(bar.locator("#selection-action")).to_be_visible()
    box = bar.bounding_box()
    inside = (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= PHONE["width"]
        and box["y"] + box["height"] <= PHONE["height"]
    )
    assert inside, box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# -- axe-core --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["invoice-panel", "aging", "confirm-payments"])
def test_axe_finds_nothing_on_the_finance_pages(new_page, dashboard, where):
    page = signed_in(new_page, dashboard)
    if where == "invoice-panel":
        open_panel(page, page.locator(f"{ROWS} a[data-open-invoice]").first)
    elif where == "aging":
        page.get_by_role("link", name=re.compile(r"^Aging")).click()
        page.wait_for_url(re.compile(r"/aging/"))
        expect(page.locator(".aging-chart").first).to_be_attached()
    else:
        boxes = page.locator(f"{ROWS} input[data-pick]")
        tick(page, boxes.nth(0), 1)
        # A range, not a second plain tick: that one currently drops the first (see the
        # selection test above); this test is about the page it leads to.
        boxes.nth(2).click(modifiers=["Shift"])
        expect(selected(page)).to_have_text(re.compile(r"^3 invoices selected"))
        page.select_option("#selection-action", label="Confirm payments…")
        with page.expect_navigation():
            page.locator("#selection-bar").get_by_role("button", name="Go").click()
        expect(page.locator("h1")).to_have_text("Confirm payments")
        expect(page.get_by_role("button", name="Yes, confirm these payments")).to_be_visible()
    page.wait_for_load_state("networkidle")

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})

    assert results.violations_count == 0, results.generate_report()
