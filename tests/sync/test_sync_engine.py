from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from invoices.models import Account, Batch, Connection, Invoice, SyncRun, SyncState
from invoices.sync import SyncAlreadyActive, connection_sync, sync_run_create
from invoices.sync import pull as pull_module
from invoices.sync import write as write_module

from .fakes import ScriptedClient, invoice, paged

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection() -> Connection:
    return Connection.objects.create(provider="acronis", name="A", config={"currency": "EUR"})


def sync(connection, pages, **kwargs) -> SyncRun:
    return connection_sync(connection=connection, client=ScriptedClient(pages, **kwargs))


def test_first_sync_creates_every_invoice_with_accounts_and_batches(connection):
    run = sync(connection, paged([invoice(n) for n in range(10)], 4))

    assert run.state == SyncState.SUCCEEDED
    assert (run.created, run.updated, run.unchanged, run.missing) == (10, 0, 0, 0)
    assert (run.pages_done, run.pages_total) == (3, 3)
    assert Invoice.objects.count() == 10
    assert Account.objects.filter(connection=connection).count() == 3
    assert Batch.objects.filter(connection=connection).count() == 4
    row = Invoice.objects.get(provider_id="inv-7")
    assert row.total == Decimal("107.10")
    assert row.account.name == "Customer 1"
    assert row.batch.number == "3"


def test_extras_are_stored_as_a_json_object_and_a_changed_one_is_an_update(connection):
    extra = (("PaymentType", "3"), ("InvoicedBy", "Automatic <billing>"))
    sync(connection, [[invoice(1, extra=extra)]])

    row = Invoice.objects.get(provider_id="inv-1")
    assert row.extra == {"PaymentType": "3", "InvoicedBy": "Automatic <billing>"}
    # An object in the database, not a string holding one: its keys can be queried.
    assert Invoice.objects.filter(extra__PaymentType="3").count() == 1

    run = sync(connection, [[invoice(1, extra=(("PaymentType", "4"),))]])

    assert (run.created, run.updated, run.unchanged) == (0, 1, 0)
    assert Invoice.objects.get(provider_id="inv-1").extra == {"PaymentType": "4"}


def test_running_the_same_sync_twice_changes_nothing(connection):
    pages = paged([invoice(n) for n in range(10)], 4)
    sync(connection, pages)
    before = list(Invoice.objects.order_by("pk").values())

    run = sync(connection, pages)

    assert (run.created, run.updated, run.unchanged, run.missing) == (0, 0, 10, 0)
    after = list(Invoice.objects.order_by("pk").values())
    assert [{**r, "last_seen_run_id": None} for r in before] == [
        {**r, "last_seen_run_id": None} for r in after
    ]


def test_a_changed_invoice_is_updated_in_place(connection):
    sync(connection, [[invoice(1), invoice(2)]])
    original_pk = Invoice.objects.get(provider_id="inv-2").pk

    run = sync(connection, [[invoice(1), invoice(2, paid=False, amount_due=Decimal("102.10"))]])

    assert (run.created, run.updated, run.unchanged) == (0, 1, 1)
    row = Invoice.objects.get(provider_id="inv-2")
    assert row.pk == original_pk
    assert row.status == "unpaid"
    assert row.amount_due == Decimal("102.10")


def test_a_failed_run_keeps_the_mirror_and_records_what_it_did(connection):
    sync(connection, paged([invoice(n) for n in range(12)], 4))
    changed = [invoice(n, raw_status="changed") for n in range(12)]

    run = sync(connection, paged(changed, 4), fail_at_page=3)

    assert run.state == SyncState.FAILED
    assert "HTTP 503" in run.error
    assert run.pages_done == 2
    assert run.updated == 8
    assert run.missing == 0
    assert Invoice.objects.count() == 12
    assert Invoice.objects.filter(missing=True).count() == 0
    assert Invoice.objects.filter(raw_status="changed").count() == 8


def test_a_later_run_completes_what_a_failed_one_left(connection):
    everything = paged([invoice(n) for n in range(12)], 4)
    sync(connection, everything, fail_at_page=2)

    run = sync(connection, everything)

    assert run.state == SyncState.SUCCEEDED
    assert (run.created, run.unchanged) == (8, 4)
    assert Invoice.objects.count() == 12


def test_invoices_gone_upstream_are_marked_missing_not_deleted(connection):
    sync(connection, [[invoice(n) for n in range(5)]])

    run = sync(connection, [[invoice(n) for n in range(3)]])

    assert run.missing == 2
    assert Invoice.objects.count() == 5
    assert set(Invoice.objects.filter(missing=True).values_list("provider_id", flat=True)) == {
        "inv-3",
        "inv-4",
    }


def test_a_failed_run_marks_nothing_missing(connection):
    sync(connection, paged([invoice(n) for n in range(8)], 4))

    sync(connection, [*paged([invoice(n) for n in range(4)], 4), []], fail_at_page=2)

    assert Invoice.objects.filter(missing=True).count() == 0


def test_a_missing_invoice_that_returns_is_no_longer_missing(connection):
    sync(connection, [[invoice(1), invoice(2)]])
    sync(connection, [[invoice(1)]])

    run = sync(connection, [[invoice(1), invoice(2)]])

    assert run.unchanged == 2
    assert not Invoice.objects.filter(missing=True).exists()


def test_other_connections_are_untouched(connection):
    other = Connection.objects.create(provider="hostway", name="B")
    connection_sync(connection=other, client=ScriptedClient([[invoice(1), invoice(2)]]))

    sync(connection, [[invoice(1)]])

    assert Invoice.objects.filter(connection=other, missing=False).count() == 2
    assert Invoice.objects.filter(connection=connection).count() == 1


def test_only_one_active_run_per_connection(connection):
    sync_run_create(connection=connection)

    with pytest.raises(SyncAlreadyActive):
        sync_run_create(connection=connection)


def test_a_run_can_start_once_the_previous_one_finished(connection):
    sync(connection, [[invoice(1)]])

    assert sync(connection, [[invoice(1)]]).state == SyncState.SUCCEEDED
    assert SyncRun.objects.filter(connection=connection).count() == 2


def test_a_foreground_sync_takes_over_a_queued_run(connection):
    queued = sync_run_create(connection=connection)

    run = sync(connection, [[invoice(1)]])

    assert run.pk == queued.pk
    assert run.state == SyncState.SUCCEEDED


def test_a_foreground_sync_refuses_while_another_runs(connection):
    queued = sync_run_create(connection=connection)
    SyncRun.objects.filter(pk=queued.pk).update(state=SyncState.RUNNING)

    with pytest.raises(SyncAlreadyActive):
        sync(connection, [[invoice(1)]])


def test_a_run_whose_worker_died_is_reaped(connection, settings):
    from django.utils import timezone

    settings.SYNC_LEASE_SECONDS = 60
    dead = sync_run_create(connection=connection)
    SyncRun.objects.filter(pk=dead.pk).update(
        state=SyncState.RUNNING, heartbeat_at=timezone.now() - timezone.timedelta(minutes=5)
    )

    run = sync(connection, [[invoice(1)]])

    dead.refresh_from_db()
    assert dead.state == SyncState.FAILED
    assert "stopped responding" in dead.error
    assert run.state == SyncState.SUCCEEDED


def test_a_queued_run_whose_task_was_lost_no_longer_blocks_the_connection(connection, settings):
    from django.utils import timezone

    settings.SYNC_QUEUED_MAX_HOURS = 6
    lost = sync_run_create(connection=connection)
    SyncRun.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - dt.timedelta(hours=7))
    waiting = Connection.objects.create(provider="acronis", name="B", config={})
    young = sync_run_create(connection=waiting)  # queued an hour ago: a worker will come

    run = sync(connection, [[invoice(1)]])

    lost.refresh_from_db()
    assert (lost.state, lost.error_kind) == (SyncState.FAILED, "lost")
    assert run.state == SyncState.SUCCEEDED
    young.refresh_from_db()
    assert young.state == SyncState.QUEUED


def test_a_task_that_fails_before_its_run_starts_fails_the_run(connection, monkeypatch):
    from invoices import tasks

    def broken(*, run):
        raise RuntimeError("a worker on older code")

    monkeypatch.setattr(tasks, "sync_run_execute", broken)
    run = sync_run_create(connection=connection)

    with pytest.raises(RuntimeError):
        tasks.sync_connection_task.call(run.pk)

    run.refresh_from_db()
    assert (run.state, run.error_kind) == (SyncState.FAILED, "internal")
    assert sync_run_create(connection=connection).state == SyncState.QUEUED  # not blocked


def test_progress_is_recorded_with_each_write(connection, monkeypatch):
    monkeypatch.setattr(pull_module, "WRITE_INVOICES", 6)
    seen = []
    connection_sync(
        connection=connection,
        client=ScriptedClient(paged([invoice(n) for n in range(9)], 3)),
        progress=lambda run: seen.append((run.pages_done, run.pages_total, run.created)),
    )

    assert seen == [(2, 3, 6), (3, 3, 9)]


def test_pages_of_a_slow_provider_are_written_without_waiting_for_a_full_write(
    connection, monkeypatch
):
    """Progress and the heartbeat move on when pages come slowly, not only every
    `WRITE_INVOICES` invoices (a run whose heartbeat stops is reaped as dead)."""
    monkeypatch.setattr(pull_module, "WRITE_INVOICES", 1_000_000)
    monkeypatch.setattr(pull_module, "WRITE_SECONDS", 0)  # every page has waited long enough
    seen = []
    connection_sync(
        connection=connection,
        client=ScriptedClient(paged([invoice(n) for n in range(9)], 3)),
        progress=lambda run: seen.append((run.pages_done, run.created)),
    )

    assert seen == [(1, 3), (2, 6), (3, 9)]


def test_pages_that_arrived_before_a_provider_failure_are_kept(connection, monkeypatch):
    """Pages wait to be written together; a failure mid-way still writes those that came."""
    monkeypatch.setattr(pull_module, "WRITE_INVOICES", 100)

    run = sync(connection, [*paged([invoice(n) for n in range(6)], 2), []], fail_at_page=4)

    assert run.state == SyncState.FAILED
    assert (run.pages_done, run.created) == (3, 6)
    assert Invoice.objects.filter(connection=connection).count() == 6


def test_an_unexpected_error_fails_the_run_without_a_traceback_in_it(connection):
    class Broken(ScriptedClient):
        def iter_invoice_pages(self):
            raise RuntimeError("secret-token-123 leaked?")
            yield  # pragma: no cover

    run = connection_sync(connection=connection, client=Broken([]))

    assert run.state == SyncState.FAILED
    assert run.error == "Internal error (RuntimeError); see the worker log."


def test_a_batch_size_survives_a_page_that_reports_other_batches_only(connection):
    from invoices.providers import Batch as DomainBatch
    from invoices.providers import InvoicePage

    class Pages(ScriptedClient):
        def __init__(self, page: InvoicePage) -> None:
            super().__init__([])
            self.page = page

        def iter_invoice_pages(self):
            yield self.page

    first = InvoicePage((invoice(1, batch="8"),), 1, 1, batches=(DomainBatch("8", 12),))
    # Batch 8 is on an invoice here, but the page's Batches list only batch 7.
    second = InvoicePage(
        (invoice(1, batch="8"), invoice(2, batch="7")), 1, 1, batches=(DomainBatch("7", 40),)
    )
    connection_sync(connection=connection, client=Pages(first))

    run = connection_sync(connection=connection, client=Pages(second))

    assert run.state == SyncState.SUCCEEDED
    sizes = dict(Batch.objects.filter(connection=connection).values_list("number", "size"))
    assert sizes == {"7": 40, "8": 12}


def data_version(connection: Connection) -> int:
    return Connection.objects.values_list("data_version", flat=True).get(pk=connection.pk)


def test_a_run_that_writes_invoices_moves_the_connection_data_version(connection):
    pages = paged([invoice(n) for n in range(6)], 3)
    sync(connection, pages)
    first = data_version(connection)

    sync(connection, [[invoice(0, paid=False, amount_due=Decimal("100.00"))], *pages[1:]])

    assert first > 0
    assert data_version(connection) > first


def test_a_run_that_changes_nothing_keeps_the_data_version(connection):
    """Cached totals survive a sync that found nothing new."""
    pages = paged([invoice(n) for n in range(6)], 3)
    sync(connection, pages)
    before = data_version(connection)

    sync(connection, pages)

    assert data_version(connection) == before


def test_marking_invoices_missing_and_back_moves_the_data_version(connection):
    sync(connection, [[invoice(1), invoice(2)]])
    complete = data_version(connection)
    sync(connection, [[invoice(1)]])
    gone = data_version(connection)

    sync(connection, [[invoice(1), invoice(2)]])

    assert complete < gone < data_version(connection)


@pytest.mark.parametrize("write_invoices", [1, 100], ids=["a write per page", "one write"])
def test_an_invoice_on_two_pages_is_one_row_with_the_later_values(
    connection, monkeypatch, write_invoices
):
    """Paging can shift while a sync reads: an invoice seen twice is one invoice."""
    monkeypatch.setattr(pull_module, "WRITE_INVOICES", write_invoices)
    later = invoice(2, total=Decimal("999.00"))

    run = sync(connection, [[invoice(1), invoice(2)], [later, invoice(3)]])

    assert run.state == SyncState.SUCCEEDED
    assert (run.created, run.updated + run.unchanged) == (3, 1 if write_invoices == 1 else 0)
    assert Invoice.objects.filter(connection=connection).count() == 3
    assert Invoice.objects.get(provider_id="inv-2").total == Decimal("999.00")


def test_a_write_that_fails_leaves_nothing_half_written_and_the_next_run_works(
    connection, monkeypatch
):
    """A failure inside a write's transaction takes the whole write back (on
    PostgreSQL its temporary table too, or the next write could not create it)."""
    sync(connection, [[invoice(1, total=Decimal("1.00"))]])
    real = write_module.connection_data_changed

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(write_module, "connection_data_changed", broken)
    run = sync(connection, [[invoice(1, total=Decimal("2.00")), invoice(2)]])

    assert run.state == SyncState.FAILED
    assert list(Invoice.objects.values_list("provider_id", "total")) == [("inv-1", Decimal("1.00"))]

    monkeypatch.setattr(write_module, "connection_data_changed", real)
    run = sync(connection, [[invoice(1, total=Decimal("2.00")), invoice(2)]])

    assert run.state == SyncState.SUCCEEDED
    assert (run.created, run.updated) == (1, 1)
    assert Invoice.objects.get(provider_id="inv-1").total == Decimal("2.00")


# -- every stored value reaches the mirror ---------------------------------------------

CHANGES = {
    "number": "N-CHANGED",
    "account_name": "Customer renamed",
    "issue_date": dt.date(2030, 1, 1),
    "total": Decimal("1.23"),
    "amount_due": Decimal("0.01"),
    "currency": "CHF",
    "paid": False,
    "raw_status": "disputed",
    "batch": "B-77",
    "scheduled_date": dt.date(2031, 2, 3),
    "created_at": dt.datetime(2030, 1, 1, 8, 0, tzinfo=dt.UTC),
    "payment_date": dt.date(2030, 2, 2),
    "incasso": True,
    "exported": True,
    "exported_at": dt.datetime(2030, 3, 3, 9, 30, tzinfo=dt.UTC),
    "delivery_error": "Mailbox full",
    "description": "Hosting, March",
    "extra": (("PaymentType", "9"),),
}
STORED_AS = {"account_name": "customer_name", "paid": "status", "created_at": "provider_created_at",
             "scheduled_date": "scheduled_date", "batch": "batch__number"}  # fmt: skip


def test_every_value_the_domain_invoice_carries_is_covered_by_a_change_below():
    from dataclasses import fields

    from invoices.providers.types import Invoice as DomainInvoice

    carried = {f.name for f in fields(DomainInvoice)} - {"provider_id", "account_id"}
    assert carried == set(CHANGES)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_change_to_any_single_value_upstream_reaches_the_mirror(connection, name):
    """The fingerprint digests every stored value: leaving one out would keep the old
    value in the mirror for ever (the sync would take the invoice as unchanged)."""
    sync(connection, [[invoice(1)]])

    run = sync(connection, [[invoice(1, **{name: CHANGES[name]})]])

    assert (run.created, run.updated, run.unchanged) == (0, 1, 0)
    column = STORED_AS.get(name, name)
    stored = Invoice.objects.filter(provider_id="inv-1").values_list(column, flat=True).get()
    expected = {
        "paid": "unpaid",
        "extra": {"PaymentType": "9"},
    }.get(name, CHANGES[name])
    assert stored == expected


# -- a run that lost its lease writes nothing more --------------------------------------


def test_a_run_reaped_by_another_process_writes_nothing_more(connection, monkeypatch):
    """Another process took the connection over (it found the lease expired): this run's
    next write must not land, nor its end, whatever it still reads."""
    monkeypatch.setattr(pull_module, "WRITE_SECONDS", 0)  # a write per page

    def reaped_after_first_write(run: SyncRun) -> None:
        if run.pages_done == 1:
            SyncRun.objects.filter(pk=run.pk).update(state=SyncState.FAILED, error="taken over")

    run = connection_sync(
        connection=connection,
        client=ScriptedClient([[invoice(1)], [invoice(2)], [invoice(3)]]),
        progress=reaped_after_first_write,
    )

    assert (run.state, run.error) == (SyncState.FAILED, "taken over")
    assert list(Invoice.objects.values_list("provider_id", flat=True)) == ["inv-1"]
    assert run.pages_done == 1


def test_a_run_whose_lease_expired_is_taken_over_at_once(connection, settings):
    """A killed worker's run blocks the connection only for the lease, not minutes."""
    from django.utils import timezone

    settings.SYNC_LEASE_SECONDS = 20
    dead = sync_run_create(connection=connection)
    SyncRun.objects.filter(pk=dead.pk).update(
        state=SyncState.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(seconds=21)
    )

    run = sync(connection, [[invoice(1)]])

    dead.refresh_from_db()
    assert (dead.state, run.state) == (SyncState.FAILED, SyncState.SUCCEEDED)


def test_a_run_with_a_live_lease_is_never_joined_by_a_second(connection, settings):
    from django.utils import timezone

    settings.SYNC_LEASE_SECONDS = 20
    live = sync_run_create(connection=connection)
    SyncRun.objects.filter(pk=live.pk).update(
        state=SyncState.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(seconds=15)
    )

    with pytest.raises(SyncAlreadyActive) as refused:
        sync(connection, [[invoice(1)]])

    assert refused.value.run.pk == live.pk
    assert SyncRun.objects.get(pk=live.pk).state == SyncState.RUNNING


def test_the_lease_is_renewed_while_a_slow_provider_keeps_the_run_waiting(
    connection, settings, monkeypatch
):
    """Between two pages the provider takes longer than a lease: the run stays alive."""
    import time

    from invoices.sync import runs

    settings.SYNC_LEASE_SECONDS = 1  # renewed every 0.2 s
    beats = []
    real = runs.run_update

    def counted(run, **fields):
        beats.append(set(fields))
        real(run, **fields)

    monkeypatch.setattr(runs, "run_update", counted)

    class Slow(ScriptedClient):
        def iter_invoice_pages(self):
            pages = super().iter_invoice_pages()
            yield next(pages)
            time.sleep(1.5)  # longer than the lease
            yield from pages

    run = connection_sync(connection=connection, client=Slow([[invoice(1)], [invoice(2)]]))

    assert run.state == SyncState.SUCCEEDED
    # Bare renewals (no progress with them): one fences the run's end, the rest came
    # every 0.2 s of the 1.5 s wait.
    assert beats.count(set()) >= 1 + 4


# -- a re-issued invoice is counted once -----------------------------------------------


def test_an_invoice_reissued_under_a_new_id_is_counted_once(connection):
    from invoices.selectors import invoice_totals

    unpaid = {"paid": False, "amount_due": Decimal("101.10")}
    sync(connection, [[invoice(1, **unpaid)]])

    sync(connection, [[invoice(1, provider_id="inv-1-reissued", **unpaid)]])

    (totals,) = invoice_totals(invoices=Invoice.objects.filter(connection=connection))
    assert (totals.count, totals.outstanding_count, totals.outstanding) == (
        1,
        1,
        Decimal("101.10"),
    )
