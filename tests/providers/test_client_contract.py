"""What every provider client does the same way, tested once per client over real sockets.

The sandbox's fault injection stands in for a misbehaving vendor; the clients under
test are the real ones, built by the registry from each stand-in's `connection()`.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from invoices.providers import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderError,
    ProviderUnavailable,
)
from invoices.providers.registry import build_client

PROVIDERS = ["acronis", "hostway", "masstack"]
TOKEN_PROVIDERS = ["acronis", "masstack"]


@pytest.fixture(params=PROVIDERS)
def provider(request) -> str:
    return request.param


@pytest.fixture
def make_client(sandbox, fast_http, provider):
    made = []

    def make(**overrides):
        config, credentials = sandbox_settings(sandbox, provider)
        client = build_client(provider, config, credentials, **{**fast_http, **overrides})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def sandbox_settings(sandbox, provider: str) -> tuple[dict, dict]:
    config, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    if provider == "masstack":  # its first page then holds invoices (the data is two years)
        config["since"] = (dt.date.today() - dt.timedelta(days=700)).isoformat()
    return config, credentials


def api_calls(sandbox) -> list[tuple[str, str]]:
    """Calls to the vendor API proper (token requests left out)."""
    return [call for call in sandbox.app.calls() if not call[1].endswith("/token")]


def first_page(client):
    return next(iter(client.iter_invoice_pages()))


def warmed(client, sandbox):
    """A client that already holds its token, with the call log cleared."""
    first_page(client)
    sandbox.app.reset()
    return client


def extra_calls(sandbox, client) -> int:
    """API calls made beyond what one fault-free first page costs this client."""
    made = len(api_calls(sandbox))
    sandbox.app.reset()
    first_page(client)
    return made - len(api_calls(sandbox))


def test_reading_all_pages_twice_gives_the_same_invoices_once_each(make_client):
    client = make_client()

    first = [inv.provider_id for inv in client.iter_invoices()]
    second = [inv.provider_id for inv in client.iter_invoices()]

    assert len(first) > 50
    assert len(first) == len(set(first))
    assert first == second


def test_502_and_503_are_retried_until_the_call_succeeds(make_client, sandbox):
    client = warmed(make_client(), sandbox)
    sandbox.app.faults.add("status", status=502, times=1)
    sandbox.app.faults.add("status", status=503, times=1)

    page = first_page(client)

    assert page.invoices
    assert extra_calls(sandbox, client) == 2


@pytest.mark.parametrize("status", [429, 500, 504])
def test_other_transient_statuses_are_retried_too(make_client, sandbox, status):
    client = warmed(make_client(), sandbox)
    sandbox.app.faults.add("status", status=status, times=2)

    assert first_page(client).invoices


def test_gives_up_with_unavailable_after_the_retry_limit(make_client, sandbox):
    client = warmed(make_client(max_retries=2), sandbox)
    sandbox.app.faults.add("status", status=503)

    with pytest.raises(ProviderUnavailable) as error:
        first_page(client)

    assert "503" in str(error.value)
    assert api_calls(sandbox)[-3:] == [api_calls(sandbox)[-1]] * 3  # the call, two retries


def test_retry_after_is_honoured_but_capped(make_client, sandbox):
    waits: list[float] = []
    client = warmed(make_client(sleep=waits.append, retry_after_cap=5.0), sandbox)
    sandbox.app.faults.add("status", status=429, times=1, retry_after=2)
    sandbox.app.faults.add("status", status=429, times=1, retry_after=3600)

    first_page(client)

    assert waits == [2.0, 5.0]


def test_backoff_without_retry_after_grows_and_is_jittered(make_client, sandbox):
    waits: list[float] = []
    client = warmed(make_client(sleep=waits.append, backoff=1.0, backoff_cap=3.0), sandbox)
    sandbox.app.faults.add("status", status=503, times=3)

    first_page(client)

    assert len(waits) == 3
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(waits, [1, 2, 3], strict=True))


def test_a_slow_provider_times_out_as_unavailable(make_client, sandbox):
    client = warmed(make_client(read_timeout=0.2, max_retries=1), sandbox)
    sandbox.app.faults.add("latency", delay=1.0, times=2)

    with pytest.raises(ProviderUnavailable, match="timed out"):
        first_page(client)


def test_a_refused_connection_is_unavailable(provider, fast_http, sandbox):
    config, credentials = getattr(sandbox.app, provider).connection("http://127.0.0.1:9")
    client = build_client(provider, config, credentials, **{**fast_http, "max_retries": 1})

    with pytest.raises(ProviderUnavailable):
        client.check()


ENDPOINTS = {
    "acronis": "acronis: GET /api/advanced-automation/v1/InvoiceOverview",
    "hostway": "hostway: GET /accounts",
    "masstack": "masstack: GET /v2/orgs/org-sandbox/accounts/",
}


def test_malformed_json_is_a_bad_payload_that_names_the_call(make_client, sandbox, provider):
    client = warmed(make_client(), sandbox)
    sandbox.app.faults.add("malformed", times=1)

    if provider != "masstack":
        with pytest.raises(ProviderBadPayload) as raised:
            first_page(client)
        assert str(raised.value).startswith(ENDPOINTS[provider] + ": response is not valid")
        return
    # MasStack reads account by account: the account is reported and skipped.
    page = first_page(client)
    assert not page.invoices
    assert [problem.account_id for problem in page.problems] == [client.accounts[0]]
    assert page.problems[0].reason.startswith(ENDPOINTS[provider])
    assert "not valid JSON" in page.problems[0].reason


def test_a_body_cut_off_in_transit_is_retried(make_client, sandbox):
    client = warmed(make_client(), sandbox)
    sandbox.app.faults.add("truncated", times=1)

    assert first_page(client).invoices
    assert extra_calls(sandbox, client) == 1


def test_a_body_always_cut_off_ends_in_a_domain_error(make_client, sandbox):
    client = warmed(make_client(max_retries=1), sandbox)
    sandbox.app.faults.add("truncated")

    with pytest.raises(ProviderError, match="cut off"):
        first_page(client)


def test_errors_never_carry_credentials(provider, sandbox, fast_http):
    config, credentials = getattr(sandbox.app, provider).connection(sandbox.url)
    sandbox.app.faults.add("status", status=401)
    client = build_client(provider, config, credentials, **fast_http)

    with pytest.raises(ProviderAuthError) as error:
        client.check()

    text = str(error.value) + repr(error.value.args)
    for secret in _secret_strings(credentials):
        assert secret not in text


def _secret_strings(credentials) -> list[str]:
    found = []
    for value in credentials.values():
        if isinstance(value, dict):
            found += [str(v) for k, v in value.items() if "key" in k and v]
        else:
            found.append(str(value))
    return found


# -- bearer-token providers ----------------------------------------------------


@pytest.fixture(params=TOKEN_PROVIDERS)
def token_provider(request) -> str:
    return request.param


@pytest.fixture
def make_token_client(sandbox, fast_http, token_provider):
    def make(**overrides):
        config, credentials = sandbox_settings(sandbox, token_provider)
        return build_client(token_provider, config, credentials, **{**fast_http, **overrides})

    return make


def test_the_token_is_reused_across_calls(make_token_client, sandbox):
    client = make_token_client()
    issued = sandbox.app.tokens.issued

    for _ in range(3):
        first_page(client)

    assert sandbox.app.tokens.issued == issued + 1


class FakeClock:
    """The client's clock, moved by the test (the sandbox keeps real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("later", "refreshed"), [(50.0, False), (55.0, True)])
def test_an_expiring_token_is_refreshed_before_it_dies(
    make_token_client, sandbox, later, refreshed
):
    """A token of 60 s is renewed once less than a tenth of it (6 s) is left, before any
    request could leave with it and meet a 401."""
    sandbox.app.tokens.ttl = 60
    clock = FakeClock()
    client = make_token_client(clock=clock)
    first_page(client)
    issued = sandbox.app.tokens.issued
    clock.now += later
    sandbox.app.reset()  # count only the calls from here on

    first_page(client)

    assert sandbox.app.tokens.issued == issued + refreshed
    assert extra_calls(sandbox, client) == 0  # no 401 round trip


def test_a_401_triggers_exactly_one_reauthentication(make_token_client, sandbox):
    client = warmed(make_token_client(), sandbox)
    issued = sandbox.app.tokens.issued
    sandbox.app.faults.add("expire_tokens", times=1)

    assert first_page(client).invoices
    assert sandbox.app.tokens.issued == issued + 1
    assert extra_calls(sandbox, client) == 1


def test_a_persistent_401_is_an_auth_error_after_one_retry(make_token_client, sandbox):
    client = warmed(make_token_client(), sandbox)
    sandbox.app.faults.add("status", status=401, path="/api/advanced-automation/")
    sandbox.app.faults.add("status", status=401, path="/v2/")

    with pytest.raises(ProviderAuthError):
        first_page(client)

    calls = api_calls(sandbox)
    assert len(calls) == 2
    assert calls[0] == calls[1]
