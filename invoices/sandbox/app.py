"""The sandbox: stand-ins for the three vendor APIs in one WSGI app.

Each vendor lives in its own module (`acronis`, `hostway`, `masstack`) as a
`VendorSandbox` that owns the vendor's real paths (they do not collide:
`/api/...` Acronis, `/accounts...` Hostway, `/v1/...` `/v2/...` `/oauth2/...`
MasStack), so a client's base URL is just the sandbox's address.

Faults are injected in front of every vendor (see `core.Faults`), configurable in
process (tests) or over HTTP at `/_sandbox/faults` (a running `manage.py sandbox`).
Werkzeug does the routing and serving: small, well kept, and threaded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from .acronis import AcronisSandbox
from .core import (
    Faults,
    SandboxConfig,
    TokenStore,
    VendorSandbox,
    _TruncatedResponse,
    json_response,
)
from .hostway import HostwaySandbox
from .masstack import MasStackSandbox


class SandboxApp:
    """The WSGI application: faults first, then the vendor routes."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.faults = Faults(self.config.seed)
        self.tokens = TokenStore(self.config.token_ttl)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, for tests
        self.queries: list[tuple[str, str]] = []  # (path, query string) of every call
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
        """Back to a clean state between tests: no faults, default token lifetime, each
        vendor's data and quirks as they started."""
        self.faults.clear()
        self.tokens.ttl = self.config.token_ttl
        for vendor in self.vendors:
            vendor.reset()
        with self._requests_lock:
            self.requests.clear()
            self.queries.clear()

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
                self.queries.append((path, request.query_string.decode()))
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
            elif fault.kind == "echo_auth" and response is None:
                sent = [request.headers.get("Authorization", "")]
                sent += [f"{name}={value}" for name, value in request.form.items()]
                message = "rejected " + " ".join(part for part in sent if part)
                response = self._error(path, fault.status, message)
        if response is None:
            response = self._dispatch(request)
        kinds = {fault.kind for fault in faults}
        for fault in faults:
            if fault.kind == "slow_answer":
                time.sleep(fault.delay)
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
