"""The list offers what the invoices hold, sorts the way people read, and shows a dead
sync as dead (the mirror in `factories.py`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoices.models import Batch, SyncRun, SyncState
from invoices.sync import connection_data_changed

from .factories import Mirror, make_invoice
from .pages import numbers, parse

LIST = reverse("invoices:invoice_list")
IGNORED = "Some filters were ignored"


def currency_choices(response) -> list[str]:
    found = [
        node for node in parse(response).find_all("select") if node.attrs.get("name") == "currency"
    ]
    assert len(found) == 1, found
    select = found[0]
    return [option.text() for option in select.find_all("option")]


def test_currency_choices_are_the_currencies_of_the_invoices(as_finance: Client, mirror: Mirror):
    """A CAD invoice on a USD account (Initech): CAD is a choice, and it filters."""
    make_invoice(mirror.accounts["initech"], "INV-CAD", currency="CAD", total=Decimal("12.00"))
    connection_data_changed(connection_ids=[mirror.alpha.pk])

    response = as_finance.get(LIST, {"currency": "CAD"})

    assert IGNORED not in response.content.decode()
    assert numbers(response) == ["INV-CAD"]
    assert currency_choices(response) == ["All currencies", "CAD", "EUR", "USD"]


def test_currency_choices_are_only_those_the_user_may_see(as_finance: Client, mirror: Mirror):
    make_invoice(mirror.accounts["globex"], "INV-CHF", currency="CHF")  # Bravo: not theirs
    connection_data_changed(connection_ids=[mirror.bravo.pk])

    assert currency_choices(as_finance.get(LIST)) == ["All currencies", "EUR", "USD"]


@pytest.fixture
def batches(mirror: Mirror) -> None:
    """Batches numbered "2", "10" and "9" on three invoices of their own."""
    for number in ("2", "10", "9"):
        batch = Batch.objects.create(connection=mirror.alpha, number=number)
        make_invoice(mirror.accounts["acme"], f"INV-N{number}", batch=batch, exported=True)
    connection_data_changed(connection_ids=[mirror.alpha.pk])


@pytest.mark.parametrize(
    ("sort", "order"),
    [("batch", ["INV-N2", "INV-N9", "INV-N10"]), ("-batch", ["INV-N10", "INV-N9", "INV-N2"])],
)
def test_batch_numbers_sort_as_numbers(as_finance: Client, batches, sort, order):
    response = as_finance.get(LIST, {"sort": sort, "q": "INV-N"})

    assert numbers(response) == order


def test_batch_sort_keys_read_runs_of_digits_as_numbers():
    from invoices.models import batch_sort_key

    ordered = ["1", "2", "9", "10", "0011", "100", "B-2", "B-10", "b-11", "Batch 2024-3"]

    assert sorted(ordered, key=batch_sort_key) == ordered


def test_a_sync_whose_worker_died_is_not_shown_as_running(as_partner: Client, mirror, settings):
    settings.SYNC_LEASE_SECONDS = 20
    SyncRun.objects.create(
        connection=mirror.alpha,
        state=SyncState.RUNNING,
        started_at=timezone.now() - dt.timedelta(minutes=3),
        heartbeat_at=timezone.now() - dt.timedelta(seconds=30),
    )

    response = as_partner.get(LIST)

    panel = parse(response).find("article", id=f"conn-{mirror.alpha.pk}")
    assert "The last sync stopped responding" in panel.text()
    assert "hx-trigger" not in panel.attrs  # no polling of a run that will not move
    assert panel.find("button").text() == "Sync now Alpha"  # its hidden part names the connection


def test_a_partial_sync_says_what_it_could_not_read_to_partner_admins_only(
    as_partner: Client, as_finance: Client, mirror
):
    SyncRun.objects.create(
        connection=mirror.alpha,
        state=SyncState.PARTIAL,
        finished_at=timezone.now(),
        problem_count=1,
        problems=[{"what": "Acronis invoice 1-2024", "reason": "Total is not an amount"}],
    )

    admin = parse(as_partner.get(LIST)).find("article", id=f"conn-{mirror.alpha.pk}").text()
    finance = parse(as_finance.get(LIST)).find("article", id=f"conn-{mirror.alpha.pk}").text()

    assert "Last sync completed with problems: 1 item could not be read" in admin
    assert "Acronis invoice 1-2024: Total is not an amount" in admin
    assert "1 item could not be read" in finance
    assert "Total is not an amount" not in finance


def test_a_running_sync_says_what_it_waits_for(as_finance: Client, mirror):
    SyncRun.objects.create(
        connection=mirror.alpha,
        state=SyncState.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        pages_done=3,
        note="Acronis Advanced Automation: waiting 30 s before retry 1 of 3 (HTTP 429)",
    )

    panel = parse(as_finance.get(LIST)).find("article", id=f"conn-{mirror.alpha.pk}").text()

    assert "Running… page 3" in panel
    assert "waiting 30 s before retry 1 of 3 (HTTP 429)" in panel
