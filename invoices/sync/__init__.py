"""Writes: pulling a provider's invoices into the local mirror.

- `runs`: creating and claiming runs, the lease a running run holds, reaping dead ones;
- `pull`: fetching pages ahead while the arrived ones are written;
- `write`: one write of pages (prepared outside the lock, one short transaction);
- `upsert`: the database-specific bulk statements;
- `gone`: what a listing proves gone upstream (never deleted, only marked);
- `execute`: a run from start to end.
"""

from .execute import connection_sync, sync_run_execute
from .runs import (
    ConnectionRemoved,
    SyncAlreadyActive,
    sync_run_claim,
    sync_run_create,
    sync_run_fail_unstarted,
    sync_runs_reap_stale,
)
from .write import connection_data_changed, database_statistics_refresh

__all__ = [
    "ConnectionRemoved",
    "SyncAlreadyActive",
    "connection_data_changed",
    "connection_sync",
    "database_statistics_refresh",
    "sync_run_claim",
    "sync_run_create",
    "sync_run_execute",
    "sync_run_fail_unstarted",
    "sync_runs_reap_stale",
]
