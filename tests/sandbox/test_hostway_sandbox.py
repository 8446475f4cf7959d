"""The Hostway stand-in speaks the documented wire format, traps included."""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from invoices.sandbox import SandboxConfig
from invoices.sandbox.hostway import HostwaySandbox


@pytest.fixture
def hostway(sandbox):
    return sandbox.app.hostway


@pytest.fixture
def get(sandbox, hostway):
    auth = (sandbox.app.config.hostway_username, sandbox.app.config.hostway_password)

    def get(path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("auth", auth)
        return requests.get(f"{sandbox.url}{path}", allow_redirects=False, timeout=5, **kwargs)

    return get


def rels(response: requests.Response) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in response.json()["links"]}


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_first_page_has_no_first_or_previous_link(get, hostway):
    response = get(f"/accounts/{hostway.big_account}/invoices?page=1&pageSize=50")

    assert set(rels(response)) == {"self", "next", "last"}
    assert query(rels(response)["last"])["page"] == ["3"]


def test_middle_page_has_every_link(get, hostway):
    response = get(f"/accounts/{hostway.big_account}/invoices?page=2&pageSize=50")

    assert set(rels(response)) == {"self", "first", "previous", "next", "last"}


def test_last_page_has_no_next_or_last_link(get, hostway):
    response = get(f"/accounts/{hostway.big_account}/invoices?page=3&pageSize=50")

    assert set(rels(response)) == {"self", "first", "previous"}
    assert len(response.json()["list"]) == hostway.invoice_counts[hostway.big_account] - 100


def test_long_list_without_paging_is_redirected_to_pages_of_100(get, hostway):
    response = get(f"/accounts/{hostway.big_account}/invoices")

    assert response.status_code == 303
    assert query(response.headers["Location"]) == {"page": ["1"], "pageSize": ["100"]}


def test_short_list_without_paging_is_answered_whole(get, hostway):
    account = hostway.account_ids[0]

    response = get(f"/accounts/{account}/invoices")

    assert len(response.json()["list"]) == hostway.invoice_counts[account]


def test_page_size_over_400_is_redirected_to_400(get, hostway):
    response = get(f"/accounts/{hostway.big_account}/invoices?page=2&pageSize=401")

    assert response.status_code == 303
    assert query(response.headers["Location"]) == {"page": ["2"], "pageSize": ["400"]}


def test_page_past_the_end_is_redirected_to_the_start(get, hostway):
    response = get(f"/accounts/{hostway.account_ids[0]}/invoices?page=9&pageSize=10")

    assert response.status_code == 303
    assert query(response.headers["Location"]) == {"page": ["1"], "pageSize": ["10"]}


def test_page_without_page_size_is_refused(get, hostway):
    response = get(f"/accounts/{hostway.account_ids[0]}/invoices?page=2")

    assert response.status_code == 400


def test_sort_by_status_descending(get, hostway):
    response = get(
        f"/accounts/{hostway.big_account}/invoices?page=1&pageSize=400"
        "&sortField=status&sortOrder=desc"
    )

    statuses = [item["status"] for item in response.json()["list"]]
    assert statuses == sorted(statuses, reverse=True)
    assert len(set(statuses)) > 1


def test_absolute_hrefs_use_the_requests_own_host(sandbox, get, hostway):
    account = next(a for a, style in hostway.link_style.items() if style == "absolute")

    response = get(f"/accounts/{account}/invoices?page=1&pageSize=5")

    assert rels(response)["next"].startswith(f"{sandbox.url}/accounts/{account}/invoices?")


@pytest.mark.parametrize(("style", "prefix"), [("root", "/accounts/"), ("query", "?page=")])
def test_some_accounts_send_relative_hrefs(get, hostway, style, prefix):
    account = next(a for a, s in hostway.link_style.items() if s == style)

    response = get(f"/accounts/{account}/invoices?page=1&pageSize=5")

    assert rels(response)["next"].startswith(prefix)


def test_wrong_password_is_401_in_the_error_wrapper(get):
    response = get("/accounts", auth=("sandbox", "nope"))

    assert response.status_code == 401
    assert response.json()["unauthorized"]["code"] == 401


def test_unknown_account_is_the_documented_404_body(get):
    response = get("/accounts/test000000/invoices?page=1&pageSize=10")

    assert response.status_code == 404
    assert response.json() == {
        "itemNotFound": {"guid": "", "message": "Resource not found", "code": 404, "details": ""}
    }


def test_injected_faults_use_the_error_wrapper(sandbox, get):
    sandbox.app.faults.add("status", status=503, times=1)

    response = get("/accounts")

    assert response.status_code == 503
    assert response.json()["serviceUnavailable"]["message"] == "injected HTTP 503"


def test_invoice_is_json_by_default_and_pdf_on_request(get, hostway):
    account = hostway.account_ids[0]
    number = hostway.invoices[account][0]["invoiceNumber"]
    path = f"/accounts/{account}/invoices/{number}"

    assert get(path).json()["invoiceNumber"] == number
    assert get(path, headers={"Accept": "application/pdf"}).content.startswith(b"%PDF")


def test_accounts_in_two_currencies_with_one_over_100_invoices(hostway):
    assert len(hostway.account_ids) == 5
    assert {account["currency"] for account in hostway.accounts} == {"USD", "EUR"}
    assert hostway.invoice_counts[hostway.big_account] > 100
    others = [n for a, n in hostway.invoice_counts.items() if a != hostway.big_account]
    assert all(10 <= n <= 60 for n in others)


def test_invoices_look_like_the_documented_ones(hostway):
    items = [item for invoices in hostway.invoices.values() for item in invoices]

    assert all(re.fullmatch(r"SO-\d{6}", item["invoiceNumber"]) for item in items)
    assert all(re.fullmatch(r"\d+\.\d{4}", item["amount"]) for item in items)
    assert all(item["amountDue"] == "0.0000" for item in items if item["status"] == "invoice_paid")
    unpaid = [item for item in items if item["amountDue"] != "0.0000"]
    assert 0.03 < len(unpaid) / len(items) < 0.5
    dates = sorted(item["date"] for item in items)
    assert dates[0][:4] < dates[-1][:4]


def test_same_seed_gives_the_same_data():
    def build(seed: int) -> HostwaySandbox:
        return HostwaySandbox(SimpleNamespace(config=SandboxConfig(seed=seed)))  # type: ignore[arg-type]

    assert build(7).invoices == build(7).invoices
    assert build(7).invoices != build(8).invoices
