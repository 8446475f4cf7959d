"""The throughput scenario: the dashboard as production serves it, under load.

gunicorn with the project's own `gunicorn.conf.py` (2 workers x 4 threads unless the
environment says otherwise) on the benchmark's PostgreSQL database and a Redis of its
own (a `redis-server` on a free port when the machine has one, else REDIS_URL), loaded
from a second process (`invoices.bench.load`) at two concurrencies. The targets are the
list, a filtered list, an htmx page swap (the results only), the Django admin's
changelist and a trivial view (`/healthz`), interleaved in one run so that the ratios
compare like with like. A repeated request for the same list is answered from the page
cache (invoices/page_cache.py), as it is in production; one more target, the list asked
for with a query no request repeats, shows what rendering every request sustains.
Everything started is stopped, and the files removed, at the end. The load shares the
machine's cores with the server: the trivial view's figure is the most held back by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from ..fields import credentials_keys
from .data import ADMIN_USERNAME, FINANCE_USERNAME

SIZE = 100_000
CONCURRENCIES = (8, 32)
ROUNDS = 2
SECONDS = 4.0  # per target, concurrency and round
STARTUP_TIMEOUT = 60.0
HTMX = {"HX-Request": "true", "HX-Target": "results"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} while starting")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer {url} within {STARTUP_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def _redis(tmp: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        yield os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
        return
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - the machine's redis-server, our arguments
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


def _server_env(database: str, redis_url: str, tmp: Path) -> dict[str, str]:
    db = connection.settings_dict
    user, host, port = db.get("USER") or "", db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="billingportal.settings",
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        CREDENTIALS_KEYS=",".join(credentials_keys()),
        DATABASE_URL=f"postgres://{user}{password}@{host}:{port}/{database}",
        REDIS_URL=redis_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        STATIC_ROOT=str(tmp / "static"),
        LOG_LEVEL="WARNING",
    )
    return env


@contextlib.contextmanager
def _gunicorn(env: dict[str, str], tmp: Path) -> Iterator[str]:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    port = _free_port()
    log = (tmp / "gunicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - the project's gunicorn and settings
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
         f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "billingportal.wsgi"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/healthz", process, "gunicorn")
        yield url
    finally:
        _stop(process)
        log.close()


def sign_in(url: str, username: str, password: str) -> str:
    """The session cookie of a real sign-in (the cookies are Secure outside DEBUG, so
    they are carried by hand over plain HTTP)."""
    form = requests.get(f"{url}/accounts/login/", timeout=10)
    hidden = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if hidden is None:
        raise RuntimeError(f"no sign-in form at {url}/accounts/login/ (HTTP {form.status_code})")
    answer = requests.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": hidden.group(1)},
        headers={"Cookie": f"csrftoken={form.cookies['csrftoken']}", "Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302 or "sessionid" not in answer.cookies:
        raise RuntimeError(f"the benchmark's sign-in was refused (HTTP {answer.status_code})")
    return answer.cookies["sessionid"]


def _passwords() -> dict[str, str]:
    """Fresh passwords for the benchmark's two users (made without one)."""
    passwords = {}
    for username in (FINANCE_USERNAME, ADMIN_USERNAME):
        user = get_user_model().objects.get(username=username)
        passwords[username] = secrets.token_urlsafe(16)
        user.set_password(passwords[username])
        user.save(update_fields=["password"])
    return passwords


def throughput_run(
    *,
    database: str,
    log: Callable[[str], None],
    seconds: float = SECONDS,
    rounds: int = ROUNDS,
    concurrencies: tuple[int, ...] = CONCURRENCIES,
) -> dict[str, Any]:
    """Serve the benchmark database `database` (its data already written) and load it."""
    if connection.vendor != "postgresql":
        return {"skipped": "runs on PostgreSQL + Redis (DATABASE_URL=postgres://...)"}
    passwords = _passwords()
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as name:
        tmp = Path(name)
        with _redis(tmp) as redis_url, _gunicorn(_server_env(database, redis_url, tmp), tmp) as url:
            finance = sign_in(url, FINANCE_USERNAME, passwords[FINANCE_USERNAME])
            admin = sign_in(url, ADMIN_USERNAME, passwords[ADMIN_USERNAME])
            targets = [
                {"key": "list", "label": "list", "path": "/", "session": finance},
                # The same list, never asked for twice (an unknown parameter, new for
                # every request): rendered each time, the page cache never answers.
                {"key": "rendered", "label": "list, rendered each time (`?_=` new per request)",
                 "path": "/?_=", "session": finance, "fresh": True},
                {"key": "filtered", "label": "filtered list (unpaid, EUR)",
                 "path": "/?status=unpaid&currency=EUR", "session": finance},
                {"key": "htmx", "label": "htmx page swap (page 2)", "path": "/?page=2",
                 "session": finance, "headers": HTMX},
                {"key": "admin", "label": "admin changelist",
                 "path": "/admin/invoices/invoice/", "session": admin},
                {"key": "trivial", "label": "trivial view (/healthz)", "path": "/healthz"},
            ]  # fmt: skip
            plan = {"url": url, "targets": targets, "concurrencies": list(concurrencies),
                    "rounds": rounds, "seconds": seconds}  # fmt: skip
            (tmp / "plan.json").write_text(json.dumps(plan))
            log(
                f"throughput: {len(targets)} targets x {len(concurrencies)} concurrencies x "
                f"{rounds} rounds x {seconds:g} s against gunicorn at {url} ..."
            )
            done = subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "invoices.bench.load", "--plan", str(tmp / "plan.json")],
                cwd=settings.BASE_DIR, capture_output=True, text=True, check=False,
                timeout=600 + len(targets) * len(concurrencies) * rounds * seconds,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"the load process failed:\n{done.stderr[-3000:]}")
    labels = {target["key"]: target["label"] for target in targets}
    figures = json.loads(done.stdout)
    for figure in figures:
        figure["label"] = labels[figure["key"]]
    by = {(f["key"], f["concurrency"]): f for f in figures}
    ratios = {}
    for clients in concurrencies:
        list_rps = by[("list", clients)]["rps"]
        trivial, admin_rps = by[("trivial", clients)]["rps"], by[("admin", clients)]["rps"]
        ratios[str(clients)] = {
            "list_trivial": round(list_rps / trivial, 3) if trivial else None,
            "list_admin": round(list_rps / admin_rps, 2) if admin_rps else None,
        }
    return {
        "invoices": SIZE,
        "server": "gunicorn (gunicorn.conf.py), PostgreSQL, Redis",
        "seconds": seconds,
        "rounds": rounds,
        "figures": figures,
        "ratios": ratios,
    }
