"""The MasStack stand-in, over HTTP: what a client sees of it (raw requests, no client)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import jwt
import pytest
import requests

from invoices.sandbox import SandboxApp, SandboxConfig
from invoices.sandbox.masstack import GRANT_TYPE, SERVICE_ACCOUNT_FILE, service_account


@pytest.fixture
def masstack(sandbox):
    return sandbox.app.masstack


def _assertion(audience: str, *, kid: str | None = None, lifetime: int = 600, **claims) -> str:
    account = service_account()
    now = int(time.time())
    payload = {
        "iss": account["client_email"],
        "sub": account["client_email"],
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(
        payload,
        account["private_key"],
        algorithm="RS256",
        headers={"kid": kid or account["private_key_id"]},
    )


def _token_call(sandbox, assertion: str, grant_type: str = GRANT_TYPE) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/oauth2/token",
        data={"grant_type": grant_type, "assertion": assertion},
        timeout=5,
    )


@pytest.fixture
def auth(sandbox) -> dict[str, str]:
    token = _token_call(sandbox, _assertion(f"{sandbox.url}/oauth2/token")).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _get(sandbox, path: str, headers=None, **params) -> requests.Response:
    return requests.get(f"{sandbox.url}{path}", headers=headers, params=params, timeout=5)


def test_valid_assertion_gets_a_bearer_token(sandbox):
    issued = sandbox.app.tokens.issued

    response = _token_call(sandbox, _assertion(f"{sandbox.url}/oauth2/token"))

    body = response.json()
    assert response.status_code == 200
    assert body["access_token"]
    assert 0 < body["expires_in"] <= sandbox.app.config.token_ttl
    assert sandbox.app.tokens.issued == issued + 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audience": "https://billing.masstack.com/oauth2/token"}, "audience"),
        ({"kid": "0" * 40}, "known RS256 key"),
        ({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "someone@example.com"}, "issuer"),
        ({"lifetime": 86400}, "longer than an hour"),
    ],
)
def test_refused_assertion_is_a_401_with_a_reason(sandbox, change, message):
    audience = change.pop("audience", f"{sandbox.url}/oauth2/token")

    response = _token_call(sandbox, _assertion(audience, **change))

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert message in response.json()["message"]


def test_tampered_signature_is_refused(sandbox):
    head, _, signature = _assertion(f"{sandbox.url}/oauth2/token").split(".")
    _, other_body, _ = _assertion(f"{sandbox.url}/oauth2/token", sub="admin").split(".")
    forged = f"{head}.{other_body}.{signature}"

    response = _token_call(sandbox, forged)

    assert response.status_code == 401
    assert "signature" in response.json()["message"]


@pytest.mark.parametrize(
    ("grant_type", "assertion"),
    [("client_credentials", "x.y.z"), (GRANT_TYPE, ""), (GRANT_TYPE, "not-a-jwt")],
)
def test_malformed_token_request_is_a_400(sandbox, grant_type, assertion):
    response = _token_call(sandbox, assertion, grant_type=grant_type)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer nope"}])
def test_data_needs_a_valid_bearer(sandbox, masstack, headers):
    path = f"/v1/orgs/{masstack.org}/accounts/{masstack.accounts[0]}/billing_details"

    response = _get(sandbox, path, headers)

    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "The user is not authorized"}


def test_expired_bearer_is_refused(sandbox, masstack, auth):
    path = f"/v1/orgs/{masstack.org}/accounts/{masstack.accounts[0]}/billing_details"
    sandbox.app.faults.add("expire_tokens", times=1)

    assert _get(sandbox, path, auth).status_code == 401


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/orgs/org-nope/accounts/{acc}/billing_details", "Organization org-nope not found"),
        ("/v1/orgs/{org}/accounts/ACC-000000/billing_details", "Account ACC-000000 not found"),
        ("/v1/orgs/{org}/accounts/{acc}/invoices/FA1999-000000", "Invoice FA1999-000000 not found"),
        ("/v1/orgs/{org}/nothing-here", "Resource not found"),
    ],
)
def test_unknown_resources_are_404_generic_responses(sandbox, masstack, auth, path, message):
    url = path.format(org=masstack.org, acc=masstack.accounts[0])

    response = _get(sandbox, url, auth)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": message}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start_date": "2024-01-01"},
        {"start_date": "2024-01-01", "end_date": "31/12/2024"},
        {"start_date": "2024-02-01", "end_date": "2024-01-31"},
        {"start_date": "2020-01-01", "end_date": "2024-12-31"},
    ],
)
def test_invoice_list_rejects_bad_periods(sandbox, masstack, auth, params):
    path = f"/v2/orgs/{masstack.org}/accounts/{masstack.accounts[0]}/invoices"

    response = _get(sandbox, path, auth, **params)

    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_invoice_list_has_the_documented_shape(sandbox, masstack, auth):
    account = masstack.accounts[0]
    today = masstack.today()
    start = today - dt.timedelta(days=365)
    path = f"/v2/orgs/{masstack.org}/accounts/{account}/invoices"

    body = _get(
        sandbox, path, auth, start_date=start.isoformat(), end_date=today.isoformat()
    ).json()

    assert body["account_id"] == account
    assert body["period_date"] == {"start_date": start.isoformat(), "end_date": today.isoformat()}
    invoice = body["invoices"][-1]
    assert set(invoice) == {
        "value", "delivery_mode", "date", "pay_date", "number", "path", "status", "cycle",
    }  # fmt: skip
    assert isinstance(invoice["value"], float | int)
    assert invoice["date"].endswith("Z")
    assert invoice["path"] == f"/invoices/{invoice['number']}.pdf"
    assert invoice["number"].startswith("FA")
    assert set(invoice["status"]) == {"id", "value"}
    assert 11 <= len(body["invoices"]) <= 13


def test_data_has_paid_pending_and_returned_invoices(masstack):
    statuses = [row.status for account in masstack.accounts for row in masstack.invoices(account)]

    assert statuses.count("PAGADO") > 0.9 * len(statuses)
    assert {"PENDIENTE", "DEVUELTO"} <= set(statuses)
    assert all(
        row.wire["pay_date"] is None
        for a in masstack.accounts
        for row in masstack.invoices(a)
        if row.status != "PAGADO"
    )


def test_next_billing_dates_come_in_both_wire_forms(sandbox, masstack, auth):
    values = [
        _get(sandbox, f"/v1/orgs/{masstack.org}/accounts/{account}/billing_details", auth).json()[
            "next_billing_date"
        ]
        for account in masstack.accounts[:2]
    ]

    assert values[0].endswith(":00Z")
    assert values[1].endswith(".999999999Z")


def test_public_links_are_https_except_for_one_account(sandbox, masstack, auth):
    links = {}
    for account in masstack.accounts:
        number = masstack.invoices(account)[0].number
        path = f"/v1/orgs/{masstack.org}/accounts/{account}/invoices/{number}"
        links[account] = _get(sandbox, path, auth).json()

    plain = [account for account, link in links.items() if link["url"].startswith("http://")]
    assert plain == [masstack.http_link_account]
    assert all(link["url"].endswith(".pdf") and link["expires_at"] for link in links.values())


def test_injected_bad_gateway_uses_the_vendor_error_body(sandbox, masstack, auth):
    sandbox.app.faults.add("status", status=502, times=1)
    path = f"/v1/orgs/{masstack.org}/accounts/{masstack.accounts[0]}/billing_details"

    response = _get(sandbox, path, auth)

    assert response.status_code == 502
    assert response.json() == {"code": 502, "message": "A third party connection is not responding"}


def test_same_seed_same_data_other_seed_other_accounts():
    first = SandboxApp(SandboxConfig(seed=7)).masstack
    again = SandboxApp(SandboxConfig(seed=7)).masstack
    other = SandboxApp(SandboxConfig(seed=8)).masstack

    assert first.accounts == again.accounts
    assert len(first.accounts) == SandboxConfig().masstack_accounts
    assert [row.wire for row in first.invoices(first.accounts[0])] == [
        row.wire for row in again.invoices(again.accounts[0])
    ]
    assert other.accounts != first.accounts


def test_connection_points_a_client_at_the_sandbox(sandbox, masstack):
    config, credentials = masstack.connection(sandbox.url)

    assert config["token_url"] == f"{sandbox.url}/oauth2/token"
    assert config["accounts"] == masstack.accounts
    assert credentials["service_account"]["client_email"] == service_account()["client_email"]
    assert SERVICE_ACCOUNT_FILE.is_file()
    assert "not a secret" in service_account()["_comment"].lower()
