"""`manage.py demo`: everything `make run` serves, in one process group.

Starts the sandbox APIs (in this process), sets up demo connections and logins,
starts a task worker and the sync scheduler as child processes, then serves the
dashboard. Ctrl-C stops all of it, and so does ending this process by PID (SIGTERM):
the children are stopped and waited for. Should this process die without a chance
to clean up (SIGKILL), the kernel ends the children too (Linux: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from invoices.demo import demo_setup
from invoices.sandbox import SandboxApp, SandboxServer


class Command(BaseCommand):
    help = "Serve the dashboard over the sandbox APIs, with a worker and the scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8001)

    def handle(self, *args: Any, **options: Any) -> None:
        # One line per sandbox request would drown the server's own log.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        call_command("migrate", interactive=False, verbosity=0)
        app = SandboxApp()
        sandbox = SandboxServer(app, options["host"], options["sandbox_port"]).start()
        logins = demo_setup(app=app, sandbox_url=sandbox.url)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # SIGTERM (a process manager, `kill PID`) ends the server the way Ctrl-C does, so
        # that the `finally` below stops the children; and this process gets SIGTERM
        # when the one that started it ends (make does not pass signals on).
        signal.signal(signal.SIGTERM, _interrupt)
        _end_with_parent()
        children = [
            _child([*manage, "db_worker", "--interval", "1"]),
            _child([*manage, "schedule_syncs", "--loop", "--every", "5"]),
        ]
        url = f"http://{options['host']}:{options['port']}/"
        lines = [
            "",
            f"  billingportal is starting at {url}",
            f"  sandbox provider APIs at {sandbox.url}",
            *[f"  log in as {lg.username} / {lg.password}   ({lg.role})" for lg in logins],
            "  (the first sync runs in the background; Ctrl-C stops everything)",
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
        try:
            call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            sandbox.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _child(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, preexec_fn=_end_with_parent)  # noqa: S603


def _end_with_parent() -> None:
    """In the child, before it runs: have the kernel send it SIGTERM when its parent
    dies, however it dies (Linux only; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
