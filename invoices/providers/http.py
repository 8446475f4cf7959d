"""HTTP mechanics shared by every provider client, written once.

- one `requests.Session` per client, (connect, read) timeouts on every call;
- GETs retried with exponential backoff and full jitter on 429/5xx and on
  connection errors/timeouts, `Retry-After` honoured but capped; other methods are
  never retried blindly (Acronis payment confirmation is not idempotent);
- bearer tokens cached and refreshed ahead of expiry, and one re-authentication
  on a 401, thread-safe;
- every failure becomes a `ProviderError` subclass whose message names the method
  and path but never a header, a credential or a token: what a provider's error body
  says is redacted (`Redactor`) of every secret of the connection and of everything
  the request carried (its `Authorization` value, token, Basic login, form fields), in
  each form a server might echo them (as is, base64, URL- or JSON-escaped), before the
  message exists. Nothing built from a provider's answer leaves this module unredacted.
"""

from __future__ import annotations

import base64
import email.utils
import json as jsonlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, quote_plus, urljoin, urlsplit

import requests

from . import parsing
from .errors import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)

logger = logging.getLogger(__name__)
# Every call to a provider, one line each (LOG_LEVEL=INFO shows them).
call_logger = logging.getLogger("invoices.providers.calls")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # not re-exported at the top of `requests`
)
USER_AGENT = "billingportal/0.1 (+invoice dashboard)"
REDACTED = "[redacted]"
# Shorter values are not redacted on their own (they would blank out ordinary words);
# they still are inside the forms they make with others (a Basic login's base64).
MIN_SECRET = 4
# Error details are cut to this length, after redaction (a cut secret would not match).
DETAIL_LENGTH = 200


def secret_strings(value: Any) -> list[str]:
    """Every string in a connection's credentials (nested: a service-account file)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in secret_strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in secret_strings(item)]
    return []


class Redactor:
    """Replaces secrets, in every form a server might echo them, by `REDACTED`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        lines = [line.strip() for line in secret.splitlines() if len(line.strip()) >= 16]
        for text in {secret.strip(), *lines}:
            if len(text) < MIN_SECRET:
                continue
            raw = text.encode()
            encoded = base64.b64encode(raw).decode()
            self._forms.update(
                {
                    text,
                    encoded,
                    encoded.rstrip("="),
                    base64.urlsafe_b64encode(raw).decode().rstrip("="),
                    quote(text, safe=""),
                    quote_plus(text),
                    jsonlib.dumps(text)[1:-1],
                }
            )

    def add_basic(self, username: str, password: str) -> None:
        """A Basic login: the two values, and the base64 of `user:password` it is sent as."""
        self.add(username)
        self.add(password)
        self._forms.add(base64.b64encode(f"{username}:{password}".encode()).decode())

    def child(self) -> Redactor:
        copy = Redactor()
        copy._forms = set(self._forms)
        return copy

    def __call__(self, text: str) -> str:
        # Longest first: a secret inside a longer one is not left half-replaced.
        for form in sorted(self._forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, REDACTED)
        return text


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float  # Unix epoch seconds
    lifetime: float  # seconds the token was valid for when issued


class TokenStore(Protocol):
    """Where tokens are kept beyond one client (e.g. a cache every process shares)."""

    def get(self) -> Token | None: ...

    def set(self, token: Token) -> None: ...

    def discard(self, value: str) -> None: ...


class TokenCache:
    """Holds one bearer token; fetches a new one ahead of expiry, one thread at a time.

    `fetch` returns `(token, expires_at_epoch)`. The token is refreshed when less than
    a tenth of its lifetime (at most 60 s) is left, so a request never leaves with a
    token about to die in flight. With a `store` (see `share`), a token another process
    fetched is used before asking for a new one, and a new one is kept there too.
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        *,
        clock: Callable[[], float] = time.time,
        max_margin: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._max_margin = max_margin
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._store: TokenStore | None = None

    def share(self, store: TokenStore) -> None:
        self._store = store

    def _fresh(self, token: Token | None) -> bool:
        if token is None:
            return False
        margin = min(self._max_margin, token.lifetime / 10)
        return self._clock() < token.expires_at - margin

    def get(self) -> str:
        token = self._token
        if self._fresh(token):
            return token.value  # type: ignore[union-attr]
        with self._lock:
            if not self._fresh(self._token):
                shared = self._store.get() if self._store is not None else None
                if self._fresh(shared):
                    self._token = shared
                else:
                    value, expires_at = self._fetch()
                    now = self._clock()
                    self._token = Token(value, expires_at, max(expires_at - now, 0.0))
                    if self._store is not None:
                        self._store.set(self._token)
            return self._token.value  # type: ignore[union-attr]

    def invalidate(self, value: str) -> None:
        """Forget `value` (a 401 told us it is dead) unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None
            if self._store is not None:
                self._store.discard(value)


def _retry_after(response: requests.Response, cap: float) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), cap)


class HttpClient:
    """A `requests.Session` with the project's timeouts, retries and error mapping."""

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        token_cache: TokenCache | None = None,
        auth: requests.auth.AuthBase | tuple[str, str] | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        backoff_cap: float = 8.0,
        retry_after_cap: float = 30.0,
        error_message: Callable[[requests.Response], str | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        secrets: Iterable[str] = (),
        budget: float | None = None,
        token_store: TokenStore | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.provider = provider
        self.token_cache = token_cache
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self._error_message = error_message
        self._sleep = sleep
        # At most this many seconds for one call, retries and their waits included (a
        # web request waiting on a provider must answer in time); None: no such bound.
        self.budget = budget
        # Told when a call waits before retrying, and why (a sync shows it as progress).
        self._on_wait = on_wait
        if token_cache is not None and token_store is not None:
            token_cache.share(token_store)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self.session.max_redirects = 5  # a safety net; clients that expect redirects handle them
        self.session.trust_env = False  # no proxy or .netrc credentials picked up by surprise
        if auth is not None:
            self.session.auth = auth
        # Every secret of the connection (see `registry.build_client`) and this client's
        # login; what each request carries is added per request (`_redactor_for`).
        self.redact = Redactor(secrets)
        if isinstance(auth, tuple):
            self.redact.add_basic(*auth)
        elif isinstance(auth, requests.auth.HTTPBasicAuth):
            self.redact.add_basic(auth.username, auth.password)

    def url(self, path: str) -> str:
        """Absolute URL for `path`, relative to the base URL unless already absolute."""
        return urljoin(self.base_url, path.lstrip("/") if "://" not in path else path)

    def close(self) -> None:
        self.session.close()

    # -- the one request loop -------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        allow_redirects: bool = True,
        ok: Callable[[requests.Response], bool] | None = None,
        retry: bool | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request, retrying where safe; return a successful response.

        `stream`: the body is not read yet (the caller reads it, e.g. with a size cap, and
        closes the response).

        `ok` decides which responses are returned as they are (default: 2xx, and 3xx
        when redirects are not followed); anything else becomes a `ProviderError`.
        `retry` overrides the by-method default, e.g. for a token POST that is safe
        to repeat.
        """
        method = method.upper()
        url = self.url(path)
        where = f"{self.provider}: {method} {urlsplit(url).path}"
        retryable = method in IDEMPOTENT_METHODS if retry is None else retry
        reauthenticated = False
        attempt = 0
        deadline = time.monotonic() + self.budget if self.budget is not None else None
        while True:
            timeout = self._timeout(deadline, where)
            request_headers = dict(headers or {})
            token = None
            if self.token_cache is not None:
                token = self.token_cache.get()
                request_headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=request_headers,
                    timeout=timeout,
                    allow_redirects=allow_redirects,
                    stream=stream,
                )
            except requests.TooManyRedirects as exc:
                self._log_call(method, url, None, started)
                raise ProviderBadPayload(f"{where}: too many redirects") from exc
            except TRANSIENT_ERRORS as exc:
                self._log_call(method, url, None, started)
                if isinstance(exc, requests.Timeout):
                    kind = "timed out"
                elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
                    kind = "response body was cut off"
                else:
                    kind = "connection failed"
                if retryable and attempt < self.max_retries:
                    attempt += 1
                    if self._wait(attempt, None, where, kind, deadline):
                        continue
                raise ProviderUnavailable(f"{where}: {kind}") from exc
            except requests.RequestException as exc:
                raise ProviderError(f"{where}: request failed ({exc.__class__.__name__})") from exc

            status = response.status_code
            self._log_call(method, url, status, started)
            if (ok or _default_ok(allow_redirects))(response):
                return response
            if status == 401 and token is not None and not reauthenticated:
                # The token died early (revoked, clock skew): fetch a new one, once.
                self.token_cache.invalidate(token)  # type: ignore[union-attr]
                reauthenticated = True
                response.close()
                continue
            if status in RETRY_STATUSES and retryable and attempt < self.max_retries:
                attempt += 1
                delay = _retry_after(response, self.retry_after_cap)
                if self._wait(attempt, delay, where, f"HTTP {status}", deadline):
                    response.close()
                    continue
            raise self._error_for(response, where, self._redactor_for(request_headers, token, data))

    def _log_call(self, method: str, url: str, status: int | None, started: float) -> None:
        """One line per call: method, host, path, status, duration. Never the query string
        (it may carry a key) or any header; the line carries the request id of whoever
        caused the call (billingportal/observability.py)."""
        parts = urlsplit(url)
        call_logger.info(
            "%s %s %s %s %.0fms",
            method,
            parts.hostname or "",
            parts.path,
            status if status is not None else "no answer",
            (time.perf_counter() - started) * 1000,
            extra={
                "provider": self.provider,
                "method": method,
                "host": parts.hostname or "",
                "path": parts.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    def _redactor_for(self, headers: Mapping[str, str], token: str | None, data: Any) -> Redactor:
        """The client's redactor, plus what this request carried."""
        redact = self.redact.child()
        redact.add(token)
        authorization = headers.get("Authorization")
        if authorization:
            redact.add(authorization)
            redact.add(authorization.partition(" ")[2])
        if isinstance(data, Mapping):
            for value in data.values():
                if isinstance(value, str):
                    redact.add(value)
        return redact

    def _timeout(self, deadline: float | None, where: str) -> tuple[float, float]:
        """(connect, read) timeouts for the next attempt, within the call's budget."""
        if deadline is None:
            return self.timeout
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise ProviderUnavailable(f"{where}: no answer within {self.budget:g} s")
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def _wait(
        self,
        attempt: int,
        retry_after: float | None,
        where: str,
        why: str,
        deadline: float | None,
    ) -> bool:
        """Wait before retry `attempt`; False (no wait) when the budget would not last."""
        if retry_after is None:
            # Exponential backoff with full jitter (AWS architecture blog): spreads
            # retries of several workers instead of having them hit together.
            retry_after = random.uniform(
                0, min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
            )
        if deadline is not None and time.monotonic() + retry_after >= deadline - 0.05:
            return False
        logger.warning(
            "%s: %s, retry %d/%d in %.2fs", where, why, attempt, self.max_retries, retry_after
        )
        if self._on_wait is not None and retry_after >= 1:
            self._on_wait(
                f"waiting {retry_after:.0f} s before retry {attempt} of {self.max_retries} ({why})"
            )
        self._sleep(retry_after)
        return True

    def _error_for(
        self, response: requests.Response, where: str, redact: Redactor
    ) -> ProviderError:
        status = response.status_code
        detail = None
        if self._error_message is not None:
            try:
                detail = self._error_message(response)
            except ProviderError:
                detail = None
        if detail:
            detail = redact(detail)[:DETAIL_LENGTH]
        suffix = f": {detail}" if detail else ""
        message = f"{where}: HTTP {status}{suffix}"
        if status in (401, 403):
            return ProviderAuthError(message, status=status)
        if status == 404:
            return ProviderNotFound(message, status=status)
        if status in RETRY_STATUSES:
            return ProviderUnavailable(message, status=status)
        return ProviderError(message, status=status)

    # -- conveniences --------------------------------------------------------

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.json(self.request("GET", path, **kwargs))

    def json(self, response: requests.Response) -> Any:
        """`json_body`, its errors naming the call (`hostway: GET /accounts: ...`)."""
        try:
            return json_body(response)
        except ProviderBadPayload as exc:
            request = response.request
            path = urlsplit(request.url or "").path if request is not None else "?"
            method = request.method if request is not None else "?"
            raise ProviderBadPayload(f"{self.provider}: {method} {path}: {exc}") from exc


def _default_ok(allow_redirects: bool) -> Callable[[requests.Response], bool]:
    if allow_redirects:
        return lambda response: 200 <= response.status_code < 300
    return lambda response: 200 <= response.status_code < 400


def json_body(response: requests.Response) -> Any:
    """The body as JSON (floats as Decimal); bad or truncated bodies are `ProviderBadPayload`."""
    try:
        content = response.content
    except requests.RequestException as exc:  # body cut off mid-read
        raise ProviderBadPayload("response body could not be read") from exc
    return parsing.loads(content)


def error_field(response: requests.Response, *path: str) -> str | None:
    """A message at `path` in a JSON error body, or None; for `error_message` hooks."""
    try:
        body: Any = parsing.loads(response.content)
    except (ProviderBadPayload, requests.RequestException):
        return None
    for key in path:
        if not isinstance(body, Mapping) or key not in body:
            return None
        body = body[key]
    # Whole: the client redacts it, then cuts it to `DETAIL_LENGTH`.
    return str(body) if body not in (None, "") else None
