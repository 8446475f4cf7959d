"""Reading rendered pages the way a person does: rows, cells, totals, group headings.

A tiny tree over the stdlib HTML parser (no extra test dependency); text is unescaped,
so `text()` is what the browser shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from django.http import HttpResponse

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    def iter(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(
        self, tag: str | None = None, *, cls: str | None = None, **attrs: str
    ) -> list[Node]:
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and (cls is None or cls in node.attrs.get("class", "").split())
            and all(
                node.attrs.get(name.replace("_", "-")) == value for name, value in attrs.items()
            )
        ]

    def find(self, tag: str | None = None, *, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls=cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}>"
        return found[0]

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text(self) -> str:
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, {n: v or "" for n, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(response: HttpResponse | str) -> Node:
    html = response if isinstance(response, str) else response.content.decode()
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def rows(response: HttpResponse) -> list[dict[str, str]]:
    """The invoice table's data rows, each as {column header: cell text} (none: no table,
    the list is empty)."""
    tables = parse(response).find_all("table", id="invoice-table")
    if not tables:
        return []
    table = tables[0]
    found = []
    for tr in table.find("tbody").find_all("tr"):
        cells = {
            td.attrs["data-label"]: td.text()
            for td in tr.find_all("td")
            if "data-label" in td.attrs
        }
        if cells:
            found.append(cells)
    return found


def numbers(response: HttpResponse) -> list[str]:
    """Invoice numbers of the rows on the page, top to bottom."""
    return [row["Invoice"] for row in rows(response)]


def row_of(response: HttpResponse, number: str) -> dict[str, str]:
    matches = [row for row in rows(response) if row["Invoice"] == number]
    assert len(matches) == 1, f"{number} shown {len(matches)} times"
    return matches[0]


def totals(response: HttpResponse) -> dict[str, dict[str, str]]:
    """The totals cards: {currency: {"count": "18 invoices", "Outstanding": "€1.00", ...}}."""
    cards: dict[str, dict[str, str]] = {}
    for card in parse(response).find_all("article", cls="total"):
        heading = card.find("h3").text()
        currency, _, count = heading.partition(" · ")
        values = {"count": count}
        notes = card.find_all("p", cls="gone-note")
        if notes:
            values["gone"] = notes[0].text()
        for entry in card.find_all("div"):
            label = entry.find("dt").text()
            amount, note = (dd.text() for dd in entry.find_all("dd"))
            values[label] = amount
            values[f"{label} note"] = note
        cards[currency.strip()] = values
    return cards


def table_body(response: HttpResponse) -> list[str]:
    """Top to bottom: "group: <heading text>" for batch headings, else the invoice number."""
    table = parse(response).find("table", id="invoice-table")
    lines = []
    for tr in table.find("tbody").find_all("tr"):
        if "group-head" in tr.attrs.get("class", "").split():
            lines.append("group: " + tr.text())
        else:
            cells = {td.attrs.get("data-label"): td.text() for td in tr.find_all("td")}
            if "Invoice" in cells:
                lines.append(cells["Invoice"])
    return lines
