"""The sandbox: stand-ins for the three vendor APIs in one WSGI app.

Each vendor lives in its own module (`acronis`, `hostway`, `masstack`) as a
`VendorSandbox` that owns the vendor's real paths (they do not collide:
`/api/...` Acronis, `/accounts...` Hostway, `/v1/...` `/v2/...` `/oauth2/...`
MasStack), so a client's base URL is just the sandbox's address.

Faults are injected in front of every vendor (see `Faults`), configurable in
process (tests) or over HTTP at `/_sandbox/faults` (a running `manage.py sandbox`).
Werkzeug does the routing and serving: small, well kept, and threaded.
"""

from __future__ import annotations

import abc
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

Endpoint = Callable[..., Response]


@dataclass
class SandboxConfig:
    """Sizes and credentials of the generated data. Same seed -> same data."""

    seed: int = 2024
    token_ttl: float = 7200.0  # Acronis documents 2 hours
    # Acronis: one partner, ~40 customers, two years of monthly batches (~1,000 invoices).
    acronis_customers: int = 40
    acronis_months: int = 24
    # When set, exactly this many Acronis invoices (benchmarks: 100_000), generated lazily.
    acronis_invoices: int | None = None
    acronis_client_id: str = "sandbox-client"
    acronis_client_secret: str = "sandbox-secret"  # noqa: S105 - the sandbox's own demo login
    # Hostway: one login, a handful of accounts in two currencies.
    hostway_accounts: int = 5
    hostway_username: str = "sandbox"
    hostway_password: str = "sandbox-password"  # noqa: S105 - the sandbox's own demo login
    # MasStack: one org, ~10 accounts.
    masstack_org: str = "org-sandbox"
    masstack_accounts: int = 10


@dataclass
class Fault:
    """One injected fault.

    kind: "status" (answer `status` instead), "latency" (sleep `delay` first),
    "malformed" (answer broken JSON), "truncated" (declare a longer body than is
    sent, then close), "expire_tokens" (every issued token dies before this call).
    It applies to the next `times` matching calls, or to a `rate` share of them, or
    (neither set) to every one until cleared, once `after` matching calls have gone
    through unharmed (a provider that fails half way). `path` is a prefix filter.
    """

    kind: str
    status: int = 503
    delay: float = 0.0
    times: int | None = None
    rate: float | None = None
    path: str = ""
    retry_after: float | None = None
    after: int = 0

    KINDS = ("status", "latency", "malformed", "truncated", "expire_tokens")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")


class Faults:
    """Thread-safe list of active faults; `pick` consumes the ones that fire."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, path: str) -> list[Fault]:
        fired: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if not path.startswith(fault.path):
                    continue
                # One fault of a kind per call: stacked faults fire on successive calls.
                if any(other.kind == fault.kind for other in fired):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.rate is not None and self._random.random() >= fault.rate:
                    continue
                fired.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return fired


class TokenStore:
    """Bearer tokens the sandbox issued: opaque, expiring, revocable."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self.issued = 0

    def issue(self, subject: str) -> tuple[str, float]:
        token = secrets.token_urlsafe(24)
        expires_at = time.time() + self.ttl
        with self._lock:
            self._tokens[token] = (subject, expires_at)
            self.issued += 1
        return token, expires_at

    def subject(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()


def bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def json_response(payload: Any, status: int = 200, **headers: str) -> Response:
    """JSON the way vendors send it; Decimal amounts are written as JSON numbers."""
    return Response(
        json.dumps(payload, default=_json_default, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def _json_default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        # Vendors serialize doubles; the shortest repr of a cent amount round-trips
        # exactly (123.75 -> "123.75"), which is what clients must parse as Decimal.
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class VendorSandbox(abc.ABC):
    """One vendor's stand-in: its routes, and the error body it answers with."""

    #: path prefixes this vendor owns (used to shape injected errors)
    prefixes: tuple[str, ...] = ()

    def __init__(self, sandbox: SandboxApp) -> None:
        self.sandbox = sandbox
        self.config = sandbox.config

    @abc.abstractmethod
    def rules(self) -> Iterable[Rule]:
        """werkzeug `Rule`s whose `endpoint` is a callable `(request, **values) -> Response`."""

    def error(self, status: int, message: str) -> Response:
        return json_response({"error": message}, status)

    @abc.abstractmethod
    def connection(self, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """`(config, credentials)` for `registry.build_client` to reach this stand-in at
        `base_url` (the sandbox server's root URL, no trailing slash)."""


class SandboxApp:
    """The WSGI application: faults first, then the vendor routes."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        from .acronis import AcronisSandbox
        from .hostway import HostwaySandbox
        from .masstack import MasStackSandbox

        self.config = config or SandboxConfig()
        self.faults = Faults(self.config.seed)
        self.tokens = TokenStore(self.config.token_ttl)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, for tests
        self._requests_lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Condition()
        self.acronis = AcronisSandbox(self)
        self.hostway = HostwaySandbox(self)
        self.masstack = MasStackSandbox(self)
        self.vendors: list[VendorSandbox] = [self.acronis, self.hostway, self.masstack]
        control = [
            Rule(
                "/_sandbox/faults",
                endpoint=self._faults_endpoint,
                methods=["GET", "POST", "DELETE"],
            ),
            Rule("/_sandbox/health", endpoint=lambda request: json_response({"ok": True})),
        ]
        self.url_map = Map(
            control + [rule for vendor in self.vendors for rule in vendor.rules()],
            strict_slashes=False,
            merge_slashes=False,
        )

    def reset(self) -> None:
        """Back to a clean state between tests: no faults, default token lifetime."""
        self.faults.clear()
        self.tokens.ttl = self.config.token_ttl
        with self._requests_lock:
            self.requests.clear()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being served (a test's delayed answer still being
        written would otherwise land in the next test); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def calls(self, prefix: str = "") -> list[tuple[str, str]]:
        with self._requests_lock:
            return [call for call in self.requests if call[1].startswith(prefix)]

    def vendor_for(self, path: str) -> VendorSandbox | None:
        for vendor in self.vendors:
            if path.startswith(vendor.prefixes):
                return vendor
        return None

    def _error(self, path: str, status: int, message: str) -> Response:
        vendor = self.vendor_for(path)
        return (
            vendor.error(status, message) if vendor else json_response({"error": message}, status)
        )

    def _faults_endpoint(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method == "POST":
            try:
                options = json.loads(request.get_data(as_text=True) or "{}")
                self.faults.add(**options)
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
        return json_response([asdict(fault) for fault in self.faults.active()])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._idle:
            self._in_flight += 1
        try:
            return self._serve(environ, start_response)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        path = request.path
        if not path.startswith("/_sandbox/"):
            with self._requests_lock:
                self.requests.append((request.method, path))
        faults = [] if path.startswith("/_sandbox/") else self.faults.pick(path)
        response: Response | None = None
        for fault in faults:
            if fault.kind == "latency":
                time.sleep(fault.delay)
            elif fault.kind == "expire_tokens":
                self.tokens.expire_all()
            elif fault.kind == "status" and response is None:
                response = self._error(path, fault.status, f"injected HTTP {fault.status}")
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = str(fault.retry_after)
        if response is None:
            response = self._dispatch(request)
        kinds = {fault.kind for fault in faults}
        if "malformed" in kinds:
            response.set_data(b'{"Invoices": [{"Id": "e96e60a2-3fec-44f7-86b7-050a8103b431",')
        if "truncated" in kinds:
            body = response.get_data()
            response = _TruncatedResponse(
                body[: len(body) // 2],
                declared=len(body) + 1,
                status=response.status_code,
                mimetype=response.mimetype,
            )
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return self._error(request.path, 404, "Resource not found")
        except MethodNotAllowed:
            return self._error(request.path, 405, "Method not allowed")
        except HTTPException as exc:  # e.g. werkzeug's redirect for a missing slash
            return exc.get_response(request.environ)  # type: ignore[return-value]
        return endpoint(request, **values)


class _TruncatedResponse(Response):
    """Declares `declared` bytes but sends fewer, then closes: a body cut off in transit."""

    def __init__(self, body: bytes, *, declared: int, **kwargs: Any) -> None:
        super().__init__(body, **kwargs)
        self.headers["Content-Length"] = str(declared)
        self.headers["Connection"] = "close"

    def get_wsgi_headers(self, environ: dict[str, Any]) -> Any:
        headers = super().get_wsgi_headers(environ)
        headers["Content-Length"] = self.headers["Content-Length"]
        return headers


class SandboxServer:
    """A threaded HTTP server for a `SandboxApp`, in a background thread."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self._server.serve_forever()
