"""A throwaway database for one benchmark run, never the developer's own."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core import mail
from django.db import DEFAULT_DB_ALIAS, connections


def inside_test_run() -> bool:
    """True under a test runner (pytest-django, `manage.py test`): its database is already
    a throwaway one. `setup_test_environment()` is what installs `mail.outbox`."""
    return hasattr(mail, "outbox")


@contextmanager
def bench_database(label: str) -> Iterator[str]:
    """Create, migrate, yield and drop a fresh database (its name is yielded).

    SQLite: a file in a temporary directory (not `:memory:`, so WAL and the page cache
    behave as in production); PostgreSQL: `bench_<label>_<pid>` on the configured server.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    saved = dict(test_settings)
    tmpdir = None
    if connection.vendor == "sqlite":
        tmpdir = tempfile.mkdtemp(prefix="bench-")
        test_settings["NAME"] = os.path.join(tmpdir, f"{label}.sqlite3")
    else:
        test_settings["NAME"] = f"bench_{label}_{os.getpid()}"
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=False
    )
    try:
        yield connection.settings_dict["NAME"]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
        test_settings.clear()
        test_settings.update(saved)
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
