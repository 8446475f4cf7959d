"""What the vendor stand-ins share: configuration, faults, tokens, JSON answers, and the
`VendorSandbox` base each vendor module implements. The app that puts them together
is `app.py` (which imports the vendors; they import only this).
"""

from __future__ import annotations

import abc
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from werkzeug.routing import Rule
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
    sent, then close), "expire_tokens" (every issued token dies before this call),
    "echo_auth" (answer `status` with an error that repeats the request's
    `Authorization` header and form fields, as careless servers do), "slow_answer" (do
    the work, then sleep `delay` before answering: a write that took effect although
    the client gave up waiting).
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

    KINDS = (
        "status",
        "latency",
        "malformed",
        "truncated",
        "expire_tokens",
        "echo_auth",
        "slow_answer",
    )

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


class Host(Protocol):
    """What a vendor stand-in uses of the app it is served in (`app.SandboxApp`)."""

    config: SandboxConfig
    tokens: TokenStore


class VendorSandbox(abc.ABC):
    """One vendor's stand-in: its routes, and the error body it answers with."""

    #: path prefixes this vendor owns (used to shape injected errors)
    prefixes: tuple[str, ...] = ()

    def __init__(self, sandbox: Host) -> None:
        self.sandbox = sandbox
        self.config = sandbox.config

    @abc.abstractmethod
    def reset(self) -> None:
        """Back to the data and behaviour it started with (tests switch quirks on)."""

    @abc.abstractmethod
    def rules(self) -> Iterable[Rule]:
        """werkzeug `Rule`s whose `endpoint` is a callable `(request, **values) -> Response`."""

    def error(self, status: int, message: str) -> Response:
        return json_response({"error": message}, status)

    @abc.abstractmethod
    def connection(self, base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """`(config, credentials)` for `registry.build_client` to reach this stand-in at
        `base_url` (the sandbox server's root URL, no trailing slash)."""


def pdf_document(lines: Iterable[str]) -> bytes:
    """A minimal, valid one-page PDF showing `lines` (Latin-1, others replaced)."""

    def escape(text: str) -> bytes:
        raw = text.encode("latin-1", "replace")
        return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    stream = (
        b"BT /F1 12 Tf 56 780 Td 16 TL "
        + b" ".join(b"(" + escape(line) + b") '" for line in lines)
        + b" ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


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
