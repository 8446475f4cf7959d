"""The tabs above the list (All · Unpaid · Overdue · …): each count is the number of
invoices the list shows when that tab is clicked, over the other filters the user set,
including a filter the list leaves out for contradicting the current tab."""

from __future__ import annotations

import pytest
from django.test import Client

QUERIES = [
    "",
    "q=M%C3%BCller",
    "status=paid",
    "overdue=true&amount_min=10",
    "incasso=true&status=unpaid&currency=EUR",
    # aging contradicts status=paid: left out on this tab, it applies on the others
    "status=paid&aging=1-30",
    "overdue=false&aging=31-60",
    # an invalid pair of filters of another kind: the amounts' (min above max)
    "amount_min=500&amount_max=5",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.usefixtures("rendered_each_time")
def test_each_tab_counts_what_its_link_lists(as_partner: Client, query: str):
    tabs = as_partner.get(f"/?{query}").context["views"]

    for tab in tabs:
        listed = as_partner.get(f"/?{tab['query']}").context["count"]
        assert tab["count"] == listed, (query, tab["name"], tab["query"])
    assert {tab["name"] for tab in tabs} == {
        "all",
        "unpaid",
        "overdue",
        "incasso",
        "errors",
        "paid",
    }
