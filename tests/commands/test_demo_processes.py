"""`manage.py demo` (what `make run` serves) leaves nothing running when it is ended by
PID: not its task worker, not its scheduler (they were orphaned before)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


class _Process:
    """The demo started by a parent process of its own: its pid, and a wait()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return None if _alive(self.pid) else 0

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.2)

    def kill(self) -> None:
        if _alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)


def _start_demo(tmp_path: Path, parent: Path | None = None) -> tuple[object, list[int]]:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DEMO_LOGINS_FILE": str(tmp_path / "logins.json"),
    }
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    port, sandbox_port = _free_port(), _free_port()
    command = [sys.executable, str(ROOT / "manage.py"), "demo", "--port", str(port),
               "--sandbox-port", str(sandbox_port)]  # fmt: skip
    if parent is not None:
        command = [sys.executable, str(parent), *command]
    started = subprocess.Popen(  # noqa: S603
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    demo: object = started
    deadline = time.monotonic() + 90
    while parent is not None and time.monotonic() < deadline and not _children(started.pid):
        time.sleep(0.1)
    if parent is not None:
        demo = _Process(_children(started.pid)[0])
    while time.monotonic() < deadline:
        children = _children(demo.pid)
        if len(children) >= 2:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return demo, children
            except OSError:
                pass
        if demo.poll() is not None:
            break
        time.sleep(0.3)
    demo.kill()
    pytest.fail("the demo did not start its worker, scheduler and server in time")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_ending_the_demo_by_pid_ends_its_worker_and_scheduler(tmp_path, how):
    demo, children = _start_demo(tmp_path)
    try:
        os.kill(demo.pid, how)
        demo.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if demo.poll() is None:
            demo.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ending_what_started_the_demo_ends_all_of_it(tmp_path):
    """`make run` ended by PID: make does not pass the signal on; the demo hears of its
    parent's end from the kernel and stops its children."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import subprocess, sys, time\nsubprocess.Popen(sys.argv[1:])\ntime.sleep(600)\n"
    )
    demo, children = _start_demo(tmp_path, parent=script)
    try:
        parent = _parent_of(demo.pid)
        os.kill(parent, signal.SIGKILL)
        demo.wait(timeout=30)
        everything = [demo.pid, *children]
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in everything) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in everything if _alive(pid)] == []
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
