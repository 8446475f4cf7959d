"""The filter form is cached as a fragment (partials/filter_form.html): a cached copy is
only ever served for the same query, language, page size and scope, so nobody sees
another's choices, another query's values, or another language's words."""

from __future__ import annotations

import re

from django.test import Client


def _form(response) -> str:
    page = response.content.decode()
    return page[
        page.index('<form id="filters"') : page.index("</form>", page.index('<form id="filters"'))
    ]


def _value(form: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', form)
    return match.group(1) if match else None


def test_each_query_shows_its_own_values(as_finance: Client):
    first = _form(as_finance.get("/?q=alpha&amount_min=5"))
    second = _form(as_finance.get("/?q=beta"))
    again = _form(as_finance.get("/?q=alpha&amount_min=5"))

    assert _value(first, "q") == "alpha" and _value(first, "amount_min") == "5"
    assert _value(second, "q") == "beta" and _value(second, "amount_min") is None
    assert again == first


def test_each_scope_shows_its_own_connections(as_finance: Client, as_partner: Client):
    partner = _form(as_partner.get("/"))
    finance = _form(as_finance.get("/"))

    assert ">Bravo</option>" in partner
    assert ">Alpha</option>" in finance and "Bravo" not in finance


def test_each_language_shows_its_own_words(as_finance: Client):
    english = _form(as_finance.get("/", HTTP_ACCEPT_LANGUAGE="en"))
    dutch = _form(as_finance.get("/", HTTP_ACCEPT_LANGUAGE="nl"))

    assert "All connections" in english
    assert "All connections" not in dutch


def test_an_invalid_pair_is_marked_only_while_it_is_asked_for(as_finance: Client):
    wrong = _form(as_finance.get("/?amount_min=50&amount_max=5"))
    right = _form(as_finance.get("/?amount_min=5&amount_max=50"))

    assert 'aria-invalid="true"' in wrong
    assert 'aria-invalid="true"' not in right


def test_the_page_size_and_grouping_shown_are_the_ones_asked_for(as_finance: Client):
    fifty = _form(as_finance.get("/?per_page=50&group=batch"))
    default = _form(as_finance.get("/"))

    assert '<option value="50" selected>' in fifty and 'id="id_group" checked' in fifty
    assert '<option value="50" selected>' not in default and "checked" not in default
