"""The list as a finished product, in a real browser at 1280 by 800 and 390 by 844: it fits,
keeps what people type and where their focus is, works from the keyboard, and passes
axe-core at WCAG 2.2 AA (light and dark)."""

from __future__ import annotations

import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ROWS = "#invoice-table tbody tr[data-row]"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def settled(page) -> None:
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def signed_in(new_page, dashboard, **context):
    page = new_page(**context)
    login(page, dashboard)
    return page


LAYOUT = """() => {
  const rows = [...document.querySelectorAll('#invoice-table tbody tr[data-row]')];
  const inView = rows.filter((r) => { const b = r.getBoundingClientRect();
    return b.top >= 0 && b.bottom <= innerHeight; });
  const escaping = [];
  for (const card of document.querySelectorAll('.card, .conn-status')) {
    const box = card.getBoundingClientRect();
    for (const child of card.querySelectorAll('*')) {
      const b = child.getBoundingClientRect();
      if (b.width && (b.right > box.right + 1 || b.left < box.left - 1)) {
        const text = child.textContent.trim().slice(0, 30);
        escaping.push(card.className + ' > ' + child.tagName + ' ' + text);
      }
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth,
    rowsInView: inView.length,
    rowHeights: [...new Set(rows.slice(0, 25).map(
      (r) => Math.round(r.getBoundingClientRect().height)))],
    firstRowTop: rows.length ? rows[0].getBoundingClientRect().top : null,
    escaping,
  };
}"""


def default_columns(dashboard) -> None:
    from invoices.models import UserPreference

    UserPreference.objects.filter(user__username=dashboard.username).delete()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_at_1280_the_list_fits_with_a_dozen_rows_of_one_line(new_page, dashboard, scheme):
    default_columns(dashboard)
    page = signed_in(new_page, dashboard, viewport=DESKTOP, color_scheme=scheme)

    layout = page.evaluate(LAYOUT)

    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert layout["escaping"] == [], layout
    assert layout["rowsInView"] >= 12, layout
    assert max(layout["rowHeights"]) < 40, layout  # one line per row


def test_with_every_column_chosen_only_the_table_scrolls_sideways(new_page, dashboard):
    """Hidden labels (of buttons in cells) once escaped the table's box and widened the page."""
    from invoices.models import UserPreference
    from invoices.tables import COLUMNS

    UserPreference.objects.filter(user__username=dashboard.username).update(columns=list(COLUMNS))
    page = signed_in(new_page, dashboard, viewport=DESKTOP)

    layout = page.evaluate(LAYOUT)
    table = page.evaluate(
        "() => { const box = document.querySelector('.table-scroll');"
        " return [box.scrollWidth, box.clientWidth]; }"
    )

    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert table[0] > table[1]  # the table is wider than its box, which scrolls


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_at_390_the_list_comes_first_and_never_scrolls_sideways(new_page, dashboard, scheme):
    page = signed_in(new_page, dashboard, viewport=PHONE, color_scheme=scheme)

    layout = page.evaluate(LAYOUT)

    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert layout["escaping"] == [], layout
    assert layout["firstRowTop"] < PHONE["height"] - 100, layout  # the first invoice, whole
    expect(page.locator("#filter-grid")).to_be_hidden()
    toggle = page.locator("#filter-toggle")
    expect(toggle).to_have_text(re.compile(r"^Filters"))
    toggle.click()
    expect(page.locator("#filter-grid")).to_be_visible()
    assert page.evaluate(LAYOUT)["scrollWidth"] <= PHONE["width"]


def test_the_filter_button_counts_the_filters_that_apply(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=PHONE)
    page.locator("#filter-toggle").click()

    page.select_option("#id_status", "unpaid")
    settled(page)
    page.select_option("#id_incasso", "true")
    page.wait_for_url(re.compile("incasso=true"))
    settled(page)

    expect(page.locator("#filter-toggle")).to_have_text("Filters (2 active)")


def test_typing_during_slow_answers_loses_no_character(new_page, dashboard, monkeypatch):
    """Each answer takes 300 ms while the user keeps typing: the field is never reset."""
    from invoices.views import dashboard as views

    real = views.invoice_totals

    def slow(**kwargs):
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(views, "invoice_totals", slow)
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    search = page.locator("#id_q")

    search.click()
    page.keyboard.type("Müller", delay=180)  # pauses long enough to send requests
    page.wait_for_timeout(900)
    settled(page)

    expect(search).to_have_value("Müller")
    assert "q=M%C3%BCller" in page.url
    assert set(page.locator(f"{ROWS} td[data-label='Customer']").all_inner_texts()) == {
        "Müller & Söhne GmbH"
    }


def test_an_amount_typed_while_an_answer_arrives_stays(new_page, dashboard, monkeypatch):
    from invoices.views import dashboard as views

    real = views.invoice_totals

    def slow(**kwargs):
        time.sleep(0.4)
        return real(**kwargs)

    monkeypatch.setattr(views, "invoice_totals", slow)
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    page.locator("#filter-toggle").click()

    page.select_option("#id_status", "unpaid")  # an answer is on its way...
    page.locator("#id_amount_min").click()
    page.keyboard.type("100", delay=150)  # ...and arrives while this is typed
    page.wait_for_timeout(700)

    expect(page.locator("#id_amount_min")).to_have_value("100")


def test_focus_stays_on_the_sort_header_used_and_the_count_is_announced(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    total = page.locator("#invoice-table thead a[data-focus-key='sort-total']")

    total.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("sort=total"))
    settled(page)

    page.wait_for_function("() => document.activeElement.dataset.focusKey === 'sort-total'")
    expect(page.locator("#results-announce")).to_have_text(re.compile(r"^\d[\d,]* matching"))


def test_focus_stays_on_the_pager_after_next(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    nxt = page.locator(".pagination a[data-focus-key='page-next']")

    nxt.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("page=2"))
    settled(page)

    page.wait_for_function("() => document.activeElement.dataset.focusKey === 'page-next'")


def test_a_tab_keeps_focus_and_shows_its_own_count(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    unpaid = page.locator("#views a[data-focus-key='view-unpaid']")
    count = unpaid.locator(".view-count").inner_text()

    unpaid.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("status=unpaid"))
    settled(page)

    page.wait_for_function("() => document.activeElement.dataset.focusKey === 'view-unpaid'")
    expect(page.locator("#views a.active")).to_contain_text("Unpaid")
    shown = page.inner_text(".result-bar .count strong")
    assert shown == count
    expect(page.locator("#id_status")).to_have_value("unpaid")  # the form agrees


def test_get_public_link_keeps_the_focus_on_what_it_became(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    page.locator("#filter-toggle").click()
    page.select_option("#id_connection", label=dashboard.connections["masstack"].name)
    page.wait_for_url(re.compile("connection="))
    settled(page)
    rows = page.locator(ROWS)
    row = next(
        rows.nth(i)
        for i in range(rows.count())
        if rows.nth(i).locator("td[data-label='Customer']").inner_text().strip()
        != dashboard.http_link_customer
    )
    button = row.get_by_role("button", name=re.compile(r"^Get public link"))

    button.focus()
    page.keyboard.press("Enter")
    expect(row.locator("a.live-url")).to_be_visible()
    settled(page)

    page.wait_for_function("() => document.activeElement.classList.contains('live-url')")


def test_a_skip_link_leads_to_the_results(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)

    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "results-heading"


def test_keyboard_shortcuts_and_never_while_typing(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)

    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type("jk")  # typed into the search, not taken as shortcuts
    expect(page.locator("#id_q")).to_have_value("jk")
    expect(page).to_have_url(re.compile(r"q=jk"))
    page.locator("#id_q").fill("")
    expect(page).not_to_have_url(re.compile(r"q=jk"))  # the search's delay is over
    settled(page)
    page.locator("h1").click()

    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator(ROWS).nth(1)
    expect(second).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(ROWS).first).to_be_focused()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    first = page.locator(ROWS).first
    first.focus()
    page.keyboard.press("Enter")  # opens the row's invoice beside the list
    expect(page.locator("#invoice-panel")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/invoices/\d+/$"))
    page.keyboard.press("Escape")
    expect(page.locator("#invoice-panel")).to_be_hidden()
    expect(first).to_be_focused()


def test_the_chosen_columns_are_kept_for_the_next_visit(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)

    page.locator(".columns-chooser > summary").click()
    page.check("input[name=columns][value=scheduled_date]")
    page.uncheck("input[name=columns][value=batch]")
    page.locator(".columns-chooser button", has_text="Show").click()
    settled(page)
    expect(page.locator("#invoice-table thead th", has_text="Scheduled")).to_have_count(1)

    page.goto(dashboard.url + "/")
    headers = page.locator("#invoice-table thead th").all_inner_texts()
    assert any("SCHEDULED" in h.upper() for h in headers)
    assert not any(h.strip().upper().startswith("BATCH") for h in headers)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("where", ["list", "grouped", "account", "login", "filters-open"], ids=str)
def test_axe_finds_nothing_at_wcag_2_2_aa(new_page, dashboard, scheme, where):
    from invoices.models import Account

    page = new_page(viewport=DESKTOP, color_scheme=scheme)
    if where == "login":
        page.goto(dashboard.url + reverse("login"))
    else:
        login(page, dashboard)
        if where == "grouped":
            page.goto(dashboard.url + "/?group=batch")
        elif where == "account":
            account = Account.objects.filter(connection=dashboard.connections["masstack"]).first()
            page.goto(dashboard.url + reverse("invoices:account_detail", args=[account.pk]))
        elif where == "filters-open":
            page.locator("#filter-toggle").click()
    page.wait_for_load_state("networkidle")

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})

    assert results.violations_count == 0, results.generate_report()


# -- in Dutch and Spanish ---------------------------------------------------------------

# What the row cards must not do on a phone with longer words: a cell's text running out
# of it, or two cells of one card drawn over each other.
CELLS = """() => {
  const found = [];
  for (const tr of document.querySelectorAll('#invoice-table tbody tr[data-row]')) {
    const cells = [...tr.querySelectorAll('td')].filter((td) => td.getBoundingClientRect().width);
    for (const td of cells) {
      if (!td.classList.contains('clip') && td.scrollWidth > td.clientWidth + 1) {
        found.push('overflows: ' + td.className + ' ' + td.textContent.trim().slice(0, 30));
      }
      for (const other of cells) {
        const a = td.getBoundingClientRect(), b = other.getBoundingClientRect();
        if (other !== td && a.left < b.right - 1 && b.left < a.right - 1
            && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          found.push('overlaps: ' + td.className + ' / ' + other.className);
        }
      }
    }
  }
  return found;
}"""


def choose_language(page, language: str) -> None:
    """With the picker in the top bar, as a person does (its button, not on change)."""
    page.select_option("#language-select", language)
    with page.expect_navigation():
        page.locator("form.language button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_the_language_picker_comes_back_to_the_address_shown_now(new_page, dashboard):
    page = signed_in(new_page, dashboard, viewport=DESKTOP)
    page.locator("#filter-toggle").click()
    page.select_option("#id_status", "unpaid")  # htmx pushes ?status=unpaid
    page.wait_for_url(re.compile("status=unpaid"))
    settled(page)

    choose_language(page, "nl")

    assert "status=unpaid" in page.url
    expect(page.locator("h1")).to_have_text("Facturen")
    expect(page.locator("#views a.active")).to_contain_text("Onbetaald")
    page.goto(dashboard.url + "/")  # and it sticks
    expect(page.locator("#language-select")).to_have_value("nl")
    choose_language(page, "en")
    expect(page.locator("h1")).to_have_text("Invoices")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
@pytest.mark.parametrize("language", ["nl", "es"])
def test_in_dutch_and_spanish_nothing_overflows(new_page, dashboard, language, viewport):
    default_columns(dashboard)
    page = signed_in(new_page, dashboard, viewport=viewport)
    choose_language(page, language)

    layout = page.evaluate(LAYOUT)

    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert layout["escaping"] == [], layout
    assert page.evaluate(CELLS) == []
    page.locator("#filter-toggle").click()
    assert page.evaluate(LAYOUT)["scrollWidth"] <= viewport["width"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("language", ["nl", "es"])
def test_axe_finds_nothing_in_dutch_and_spanish(new_page, dashboard, language, scheme):
    page = signed_in(new_page, dashboard, viewport=PHONE, color_scheme=scheme)
    choose_language(page, language)
    page.locator("#filter-toggle").click()
    page.wait_for_load_state("networkidle")

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})

    assert results.violations_count == 0, results.generate_report()
