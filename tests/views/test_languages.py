"""The dashboard in Dutch and Spanish: the list's words, money and dates in the active
language, the language picker, the password-reset e-mail, and the catalogues themselves
(every message translated, the compiled files up to date, no template text left out).

Requests choose their language as a browser does: the picker's cookie, else
Accept-Language. Expected money and dates come from Babel (what the filters use), and are
checked against the shape people expect ("€ 1.684,24", "15 jan 2025").
"""

from __future__ import annotations

import gettext
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from invoices.exports import csv_incomplete_line

from .factories import Mirror, days_ago
from .pages import Node, parse, totals

LIST = reverse("invoices:invoice_list")
LANGUAGES = ("nl", "es")
LOCALE = Path(settings.BASE_DIR) / "locale"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
APP_JS = Path(settings.BASE_DIR) / "static" / "js" / "app.js"

# What a Dutch and a Spanish finance user read on the list (the default columns).
WORDS = {
    "nl": {
        "title": "Facturen",
        "tabs": ["Alle", "Onbetaald", "Achterstallig", "Lopende incasso's", "Bezorgfouten",
                 "Betaald"],
        "headers": ["Factuur", "Klant", "Koppeling", "Batch", "Factuurdatum", "Vervaldatum",
                    "Totaal", "Te betalen", "Status"],
        "cards": ["Openstaand", "Lopende incasso's", "Betaald"],
        "count": "20 gevonden facturen",
        "invoices": "18 facturen",
        "unpaid": "Onbetaald",
        "filters": "Filters",
        "search": "Zoeken",
        "language": "Taal",
        "button": "Wijzig de taal",
        "log in": "Inloggen",
        "group": "EUR: openstaand {outstanding} · betaald {paid}",
    },
    "es": {
        "title": "Facturas",
        "tabs": ["Todas", "Sin pagar", "Vencidas", "Domiciliación pendiente", "Errores de envío",
                 "Pagadas"],
        "headers": ["Factura", "Cliente", "Conexión", "Lote", "Emisión", "Vencimiento", "Total",
                    "Pendiente", "Estado"],
        "cards": ["Pendiente", "Domiciliación pendiente", "Pagado"],
        "count": "20 facturas encontradas",
        "invoices": "18 facturas",
        "unpaid": "Sin pagar",
        "filters": "Filtros",
        "search": "Buscar",
        "language": "Idioma",
        "button": "Cambiar el idioma",
        "log in": "Iniciar sesión",
        "group": "EUR: pendiente {outstanding} · pagado {paid}",
    },
}  # fmt: skip
# The shape of money and dates in each language (Babel's CLDR data decides the details).
MONEY_SHAPE = {"nl": r"€\s1\.684,24", "es": r"1\.?684,24\s€"}
DATE_SHAPE = {"nl": r"\d{1,2} [a-z]{3}\.? \d{4}", "es": r"\d{1,2} [a-z]{3}\.? \d{4}"}


def get(client: Client, language: str, url: str = LIST, **params: str):
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response


def squash(text: str) -> str:
    """Text as `Node.text()` gives it: runs of whitespace (no-break spaces too) as one space."""
    return " ".join(text.split())


def cells_by_column(page: Node) -> list[list[str]]:
    """The invoice table's rows as lists of cell texts, in the columns' order."""
    table = page.find("table", id="invoice-table")
    return [
        [td.text() for td in tr.find_all("td") if "data-label" in td.attrs]
        for tr in table.find("tbody").find_all("tr")
        if "data-row" in tr.attrs
    ]


def header_texts(page: Node) -> list[str]:
    heads = page.find("table", id="invoice-table").find("thead").find_all("th")
    # Not the selection's tick box: it has no text, nor a labelled cell in the rows.
    return [
        head.text().strip(" ▲▼")
        for head in heads
        if "col-select" not in head.attrs.get("class", "")
    ]


# -- the list in Dutch and Spanish ---------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_list_speaks_the_users_language(as_finance: Client, language: str):
    words = WORDS[language]

    page = parse(get(as_finance, language))

    assert page.find("html").attrs["lang"] == language
    assert page.find("h1").text() == words["title"]
    tabs = [a.text().rsplit(" ", 1)[0] for a in page.find("nav", id="views").find_all("a")]
    assert tabs == words["tabs"]
    assert header_texts(page) == words["headers"]
    assert page.find("button", id="filter-toggle").text() == words["filters"]
    (search,) = [label for label in page.find_all("label") if label.attrs.get("for") == "id_q"]
    assert search.text() == words["search"]
    assert page.find("p", cls="count").text() == words["count"]
    cards = totals(get(as_finance, language))
    assert cards["EUR"]["count"] == words["invoices"]
    assert [label for label in cards["EUR"] if not label.endswith(" note")][1:] == words["cards"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_money_follows_the_language(as_finance: Client, language: str):
    response = get(as_finance, language)
    cards = totals(response)
    outstanding = WORDS[language]["cards"][0]
    expected = format_currency(Decimal("1684.24"), "EUR", locale=language)

    shown = cards["EUR"][outstanding]  # read as a person does (spaces of any kind as one)
    assert shown == squash(expected)
    assert re.fullmatch(MONEY_SHAPE[language], shown), shown
    assert expected in response.content.decode()  # the no-break space kept: never split
    usd = format_currency(Decimal("99.00"), "USD", locale=language)
    assert cards["USD"][outstanding] == squash(usd)


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_follow_the_language(as_finance: Client, mirror: Mirror, language: str):
    page = parse(get(as_finance, language, q="INV-A01"))

    (row,) = cells_by_column(page)
    headers = header_texts(page)
    issued = row[headers.index(WORDS[language]["headers"][4])]
    assert issued == squash(format_date(days_ago(5), format="medium", locale=language))
    assert re.fullmatch(DATE_SHAPE[language], issued), issued
    assert row[headers.index(WORDS[language]["headers"][-1])].startswith(WORDS[language]["unpaid"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_batch_groups_speak_the_language(as_finance: Client, language: str):
    page = get(as_finance, language, group="batch").content.decode()

    outstanding = format_currency(Decimal("350.50"), "EUR", locale=language)
    paid = format_currency(Decimal("1000.00"), "EUR", locale=language)
    assert WORDS[language]["group"].format(outstanding=outstanding, paid=paid) in page


def test_counts_are_grouped_as_the_language_groups_them():
    from invoices.money import number

    with translation.override("nl"):
        assert number(12345) == "12.345"
    with translation.override("en"):
        assert number(12345) == "12,345"


def test_english_stays_the_default_and_unknown_languages_fall_back_to_it(as_finance: Client):
    for accept in ("", "de-DE,de;q=0.9", "en-GB"):
        page = parse(as_finance.get(LIST, HTTP_ACCEPT_LANGUAGE=accept))

        assert page.find("html").attrs["lang"] == "en"
        assert page.find("h1").text() == "Invoices"


@pytest.mark.parametrize(("language", "title"), [("nl", "Niet gevonden"), ("es", "No encontrado")])
def test_error_pages_speak_the_language(as_finance: Client, language: str, title: str):
    response = as_finance.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 404
    assert parse(response).find("h1").text() == title


def test_messages_after_a_plain_post_speak_the_language(as_partner: Client, mirror: Mirror):
    url = reverse("invoices:connection_sync", args=[mirror.alpha.pk])

    response = as_partner.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="nl")

    shown = parse(response).find("ul", cls="messages").text()
    assert shown == "Synchronisatie van Alpha staat in de wachtrij."


@pytest.mark.parametrize(
    ("language", "header", "yes"),
    [
        ("nl", "Factuur,Klant,Koppeling,Batch,Factuurdatum,Totaal,Te betalen,Valuta", "ja"),
        ("es", "Factura,Cliente,Conexión,Lote,Emisión,Total,Pendiente,Moneda", "sí"),
    ],
)
def test_the_csv_export_speaks_the_language(as_finance, mirror, language, header, yes):
    url = reverse("invoices:invoice_export", args=["csv"])

    response = as_finance.get(url, {"q": "INV-A01"}, HTTP_ACCEPT_LANGUAGE=language)

    first, row = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()[:2]
    assert first.startswith(header + ",")
    assert f",{yes}," in row  # Incasso
    with translation.override(language):
        assert csv_incomplete_line().startswith("EXPORT ONVOLLEDIG" if language == "nl" else
                                                "EXPORTACIÓN INCOMPLETA")  # fmt: skip


# -- the language picker ---------------------------------------------------------------


def picker(page: Node) -> Node:
    return page.find("form", cls="language")


def test_the_picker_is_a_labelled_form_that_works_without_javascript(as_finance: Client):
    form = picker(parse(as_finance.get(LIST)))

    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == reverse("set_language")
    select = form.find("select", name="language")
    label = form.find("label")
    assert label.attrs["for"] == select.attrs["id"]
    options = {o.attrs["value"]: o.text() for o in select.find_all("option")}
    assert options == {"en": "English", "nl": "Nederlands", "es": "Español"}
    assert [o.attrs["value"] for o in select.find_all("option") if "selected" in o.attrs] == ["en"]
    assert form.find("input", name="next").attrs["value"] == LIST
    assert form.find("button").attrs["type"] == "submit"
    assert not any(name.startswith("on") for node in form.iter() for name in node.attrs)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_picker_switches_the_language_and_it_sticks(as_finance: Client, language: str):
    words = WORDS[language]

    chosen = as_finance.post(
        reverse("set_language"), {"language": language, "next": f"{LIST}?status=unpaid"}
    )

    assert chosen.status_code == 302
    assert chosen["Location"] == f"{LIST}?status=unpaid"
    assert as_finance.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    # The next requests, even with a browser asking for English, are in the chosen language.
    for _ in range(2):
        page = parse(as_finance.get(chosen["Location"], HTTP_ACCEPT_LANGUAGE="en"))
        assert page.find("html").attrs["lang"] == language
        assert page.find("h1").text() == words["title"]
        form = picker(page)
        assert form.find("label").text() == words["language"]
        assert form.find("button").text() == words["button"]
        selected = [o for o in form.find_all("option") if "selected" in o.attrs]
        assert [o.attrs["value"] for o in selected] == [language]
    back = as_finance.post(reverse("set_language"), {"language": "en", "next": LIST}, follow=True)
    assert parse(back).find("h1").text() == "Invoices"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_picker_works_signed_out(client: Client, language: str):
    login = reverse("login")
    assert picker(parse(client.get(login)))

    client.post(reverse("set_language"), {"language": language, "next": login})
    page = parse(client.get(login))

    assert page.find("h1").text() == WORDS[language]["log in"]


def test_a_language_the_site_does_not_offer_changes_nothing(as_finance: Client):
    as_finance.post(reverse("set_language"), {"language": "de", "next": LIST})

    page = parse(as_finance.get(LIST))
    assert page.find("html").attrs["lang"] == "en"
    assert page.find("h1").text() == "Invoices"


# -- the password-reset e-mail -----------------------------------------------------------

RESET_WORDS = {
    "en": ("Choose a new password for billingportal", "Hello alice,"),
    "nl": ("Kies een nieuw wachtwoord voor billingportal", "Hallo alice,"),
    "es": ("Elija una contraseña nueva para billingportal", "Hola, alice:"),
}


@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_the_password_reset_mail_arrives_in_the_users_language(db, client: Client, language):
    get_user_model().objects.create_user(
        "alice", email="alice@example.com", password="a long passphrase 7"
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    subject, greeting = RESET_WORDS[language]

    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject == subject
    assert message.body.startswith(greeting + "\n")
    assert "billingportal" in message.body
    assert not re.search(r"{[{%]|%\(|&(amp|quot|#)", message.body)  # plain text, all filled in
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)
    assert client.get(link).status_code == 302  # to the form that sets the new password


# -- the catalogues --------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|{{\s*\w+\s*}}")


def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle, locale=language)


def forms(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str):
    messages = catalog(language)
    untranslated, fuzzy, wrong = [], [], []
    assert not messages.fuzzy, "the header is marked fuzzy: msgfmt would drop Plural-Forms"
    for message in messages:
        if not message.id:
            continue
        texts = forms(message.string)
        if message.pluralizable and len(texts) != messages.num_plurals:
            wrong.append((message.id, f"{len(texts)} plural forms"))
        if not all(text.strip() for text in texts):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
        originals = forms(message.id)
        wanted = sorted(set(PLACEHOLDER.findall(originals[-1])))
        for text in texts:
            # Every placeholder kept (a singular may leave its number out, as English does).
            if sorted(set(PLACEHOLDER.findall(text))) != wanted and not (
                message.pluralizable and set(PLACEHOLDER.findall(text)) < set(wanted)
            ):
                wrong.append((message.id, text))
            # Template text goes out unescaped: a translation must not bring markup in.
            if any(char in text and char not in "".join(originals) for char in '<>&"'):
                wrong.append((message.id, text))
    assert untranslated == []
    assert fuzzy == []
    assert wrong == []
    assert len(list(messages)) > 300  # the whole interface, not a sample


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogues_are_up_to_date(language: str):
    """django.mo holds exactly what django.po says (`make messages` compiles it)."""
    compiled = io.BytesIO()
    write_mo(compiled, catalog(language))
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        shipped = gettext.GNUTranslations(handle)

    def messages(translations: gettext.GNUTranslations) -> dict:
        return {key: value for key, value in translations._catalog.items() if key != ""}

    assert messages(shipped) == messages(expected)
    assert shipped.info()["plural-forms"] == expected.info()["plural-forms"]
    assert shipped.info()["language"] == language


def test_django_uses_the_catalogues():
    with translation.override("nl"):
        assert translation.gettext("Sync now") == "Nu synchroniseren"
        assert translation.ngettext("%(n)s invoice", "%(n)s invoices", 3) == "%(n)s facturen"
    with translation.override("es"):
        assert translation.pgettext("quick view", "Paid") == "Pagadas"
        assert translation.ngettext("%(n)s invoice", "%(n)s invoices", 1) == "%(n)s factura"
        assert translation.ngettext("%(n)s invoice", "%(n)s invoices", 1_000_000) == (
            "%(n)s facturas"
        )


# -- no words outside the catalogues ---------------------------------------------------------

# What template source may hold besides translated text: template syntax, comments, the
# brand and file formats' names, key names in <kbd>, code samples.
TEMPLATE_SYNTAX = re.compile(
    r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}"
    r"|{#.*?#}"
    r"|{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}"
    r"|{%.*?%}"
    r"|{{.*?}}",
    re.DOTALL,
)
ALLOWED_WORDS = re.compile(r"\b(?:billingportal|CSV|Excel|XML|PDF)\b")
NOT_TEXT = {"kbd", "code", "script", "style"}
# Attributes people read or hear (screen readers), and the copy button's messages.
READ_ATTRIBUTES = {"title", "aria-label", "aria-description", "placeholder", "alt", "label"}
LETTER = re.compile(r"[^\W\d_]")


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in NOT_TEXT:
            self.skipping += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES or name.startswith("data-copy"):
                self._check(value or "", f"{name}=")

    def handle_endtag(self, tag: str) -> None:
        if tag in NOT_TEXT and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._check(data, "")

    def _check(self, text: str, where: str) -> None:
        if LETTER.search(ALLOWED_WORDS.sub("", text)):
            self.found.append(where + " ".join(text.split()))


def untranslated_words(source: str) -> list[str]:
    """Text a person would read that no {% translate %} or {% blocktranslate %} holds."""
    parser = _Words()
    parser.feed(TEMPLATE_SYNTAX.sub(" ", source))
    parser.close()
    return parser.found


def test_the_template_check_finds_an_untranslated_sentence():
    assert untranslated_words("<p>Nothing to see here.</p>") == ["Nothing to see here."]
    assert untranslated_words('<a title="Open it">{% translate "Open" %}</a>') == ["title=Open it"]
    assert (
        untranslated_words(
            "{% load i18n %}<p title=\"{% translate 'Hi' %}\">{% blocktranslate with n=x %}"
            "{{ n }} items{% endblocktranslate %} · {{ name }} <kbd>Esc</kbd> CSV</p>"
            "{# a note #}{% comment %}Context: none.{% endcomment %}"
        )
        == []
    )


@pytest.mark.parametrize(
    "template",
    sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.is_file()),
)
def test_no_template_has_words_outside_translation_tags(template: str):
    assert untranslated_words((TEMPLATES / template).read_text()) == []


def test_the_javascript_has_no_words_of_its_own():
    """What app.js shows comes from the page (data attributes, <template>), translated."""
    source = APP_JS.read_text()

    assert "Copied" not in source
    assert "Copy failed" not in source


def test_the_copy_button_brings_its_words_in_the_language():
    from types import SimpleNamespace

    link = SimpleNamespace(url="https://example.com/i/1", is_https=True, expires_at=None)
    invoice = SimpleNamespace(number="INV-1")
    with translation.override("nl"):
        html = render_to_string(
            "invoices/partials/public_link.html", {"link": link, "invoice": invoice}
        )

    button = parse(html).find("button", cls="copy")
    assert button.attrs["data-copied"] == "Gekopieerd"
    assert button.attrs["data-copy-failed"] == "Kopiëren mislukt: selecteer de link"
    assert button.text() == "Link kopiëren van factuur INV-1"
