"""A large partner's mirror, written straight into the database for the benchmarks.

Shape (per the issue): two connections (Acronis-like in EUR with ~200 batches,
Hostway-like in USD without), ~500 accounts, ~30 % unpaid, ~20 % Incasso, issue
dates over the last two years, cent amounts, customer names with non-ASCII and
markup characters. The same `seed` gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ..models import (
    Access,
    Account,
    Batch,
    Connection,
    Invoice,
    InvoiceStatus,
    Role,
    SyncRun,
    SyncState,
)
from ..sandbox.acronis import CUSTOMER_NAMES
from ..summaries import summaries_rebuild
from ..sync import connection_data_changed, database_statistics_refresh

ACRONIS_NAME = "Bench Acronis EU"
HOSTWAY_NAME = "Bench Hostway US"
FINANCE_USERNAME = "bench-finance"
ADMIN_USERNAME = "bench-admin"
CHUNK = 5_000
ACCOUNTS = 500
ACRONIS_ACCOUNTS = 300
BATCHES = 200
ACRONIS_SHARE = 0.7
UNPAID_SHARE = 0.3
INCASSO_SHARE = 0.2
DAYS = 730
# A fragment in ~1 % of the invoices' customer names (and in no invoice number): the search
# scenario. Three Acronis accounts (of 300, 70 % of invoices) and two Hostway ones (of 200).
SEARCH_TERM = "zephyr"
SEARCH_ACCOUNTS = (7, 107, 207, 307, 407)

# The sandbox's names that exercise escaping and non-ASCII text, so the benchmark
# renders the same awkward strings the demo does.
SPECIAL_NAMES = CUSTOMER_NAMES
FIRST = (
    "Alpine", "Baltic", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quartz",
    "Riverside", "Summit", "Tundra", "Umber", "Vertex", "Willow", "Yarrow", "Zenith",
)  # fmt: skip
SECOND = (
    "Backup", "Cloud", "Data", "Hosting", "IT", "Logistics", "Media", "Networks", "Retail",
    "Systems", "Software", "Telecom", "Dental", "Legal", "Bakery", "Garage", "Studio",
    "Consulting", "Architects", "Pharma",
)  # fmt: skip
SUFFIX = ("GmbH", "B.V.", "Ltd", "SARL", "AB", "ApS", "S.L.", "Inc.", "s.r.o.", "Oy")


@dataclass(frozen=True)
class BenchData:
    """What was generated, and what the scenarios need to know about it."""

    invoices: int
    accounts: int
    batches: int
    unpaid: int
    incasso: int
    search_term: str
    search_matches: int
    connections: tuple[Connection, ...]
    finance_user: Any
    admin_user: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoices": self.invoices,
            "accounts": self.accounts,
            "batches": self.batches,
            "unpaid": self.unpaid,
            "incasso": self.incasso,
            "connections": [c.name for c in self.connections],
            "currencies": sorted({c.config.get("currency", "") for c in self.connections}),
            "search_term": self.search_term,
            "search_matches": self.search_matches,
        }


def bench_data_delete() -> None:
    """Remove what a previous `bench_data_create` wrote (invoices first: they PROTECT accounts)."""
    names = [ACRONIS_NAME, HOSTWAY_NAME]
    Invoice.objects.filter(connection__name__in=names).delete()
    Connection.objects.filter(name__in=names).delete()
    get_user_model().objects.filter(username__in=[FINANCE_USERNAME, ADMIN_USERNAME]).delete()


def _account_names(rng: random.Random) -> list[str]:
    names = list(SPECIAL_NAMES)
    combos = [f"{a} {b} {c}" for a in FIRST for b in SECOND for c in SUFFIX]
    rng.shuffle(combos)
    names += combos[: ACCOUNTS - len(names)]
    rng.shuffle(names)
    return names


def _cents(rng: random.Random) -> Decimal:
    # Log-uniform between 9 and 2,500: many small invoices, a few large ones.
    cents = int(math.exp(rng.uniform(math.log(900), math.log(250_000))))
    return Decimal(cents).scaleb(-2)


def bench_data_create(*, invoices: int, seed: int = 1) -> BenchData:
    """Write a mirror of `invoices` invoices (bulk inserts), replacing any previous one,
    and leave the table as a sync's end does (statistics; on PostgreSQL vacuumed too,
    which cannot happen inside the transaction that wrote it)."""
    with transaction.atomic():
        data = _bench_data_write(invoices=invoices, seed=seed)
    database_statistics_refresh()
    return data


def _bench_data_write(*, invoices: int, seed: int) -> BenchData:
    bench_data_delete()
    rng = random.Random(seed)
    today = timezone.now().date()
    start = today - dt.timedelta(days=DAYS)
    now = timezone.now()

    acronis = Connection.objects.create(
        provider="acronis",
        name=ACRONIS_NAME,
        config={"base_url": "http://127.0.0.1:9", "currency": "EUR"},
        payment_terms_days=14,
        sync_interval_minutes=0,
    )
    hostway = Connection.objects.create(
        provider="hostway",
        name=HOSTWAY_NAME,
        config={"base_url": "http://127.0.0.1:9", "currency": "USD"},
        sync_interval_minutes=0,
    )
    runs = {
        conn.pk: SyncRun.objects.create(
            connection=conn,
            state=SyncState.SUCCEEDED,
            trigger="bench",
            started_at=now,
            finished_at=now,
        )
        for conn in (acronis, hostway)
    }

    names = [
        f"Zephyr {name}" if k in SEARCH_ACCOUNTS else name
        for k, name in enumerate(_account_names(rng))
    ]
    incasso_names = set(rng.sample(names, int(ACCOUNTS * INCASSO_SHARE)))
    Account.objects.bulk_create(
        [
            Account(
                connection=acronis if k < ACRONIS_ACCOUNTS else hostway,
                provider_id=str(uuid.UUID(int=rng.getrandbits(128), version=4))
                if k < ACRONIS_ACCOUNTS
                else str(100_000 + k),
                name=name,
                currency="EUR" if k < ACRONIS_ACCOUNTS else "USD",
            )
            for k, name in enumerate(names)
        ]
    )
    # (pk, name, incasso) per connection; plain tuples keep 100k invoices cheap to build.
    accounts = {
        conn.pk: [
            (pk, name, name in incasso_names)
            for pk, name in Account.objects.filter(connection=conn)
            .order_by("pk")
            .values_list("pk", "name")
        ]
        for conn in (acronis, hostway)
    }

    batch_dates = [
        start + dt.timedelta(days=round((b + 1) * DAYS / BATCHES)) for b in range(BATCHES)
    ]
    Batch.objects.bulk_create(
        [Batch(connection=acronis, number=str(b + 1), size=0) for b in range(BATCHES)]
    )
    batch_rows = list(Batch.objects.filter(connection=acronis).order_by("pk"))

    n_acronis = round(invoices * ACRONIS_SHARE)
    sizes = [0] * BATCHES
    unpaid = incasso = search_matches = 0
    chunk: list[Invoice] = []
    for i in range(invoices):
        is_acronis = i < n_acronis
        conn = acronis if is_acronis else hostway
        account_id, customer, is_incasso = rng.choice(accounts[conn.pk])
        if is_acronis:
            b = i * BATCHES // max(1, n_acronis)
            sizes[b] += 1
            batch_id = batch_rows[b].pk
            issue = batch_dates[b]
            number = f"{b + 1}-{issue:%Y%m%d}-0-48213-{i + 1}"
            provider_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        else:
            batch_id = None
            issue = start + dt.timedelta(days=rng.randrange(DAYS + 1))
            number = f"HW-{i + 1:07d}"
            provider_id = str(900_000 + i)
        total = _cents(rng)
        is_unpaid = rng.random() < UNPAID_SHARE
        exported = issue < today - dt.timedelta(days=90) and rng.random() < 0.06
        created_at = dt.datetime.combine(issue, dt.time(7), dt.UTC) + dt.timedelta(
            seconds=rng.randrange(3600)
        )
        unpaid += is_unpaid
        incasso += is_incasso
        search_matches += SEARCH_TERM in customer.lower()
        chunk.append(
            Invoice(
                connection_id=conn.pk,
                account_id=account_id,
                batch_id=batch_id,
                provider_id=provider_id,
                number=number,
                customer_name=customer,
                issue_date=issue,
                scheduled_date=issue if is_acronis else None,
                provider_created_at=created_at,
                payment_date=None
                if is_unpaid
                else min(today, issue + dt.timedelta(days=rng.randint(1, 40))),
                total=total,
                amount_due=total if is_unpaid else Decimal("0.00"),
                currency=conn.config["currency"],
                status=InvoiceStatus.UNPAID if is_unpaid else InvoiceStatus.PAID,
                raw_status="Payment not confirmed" if is_unpaid else "Payment confirmed",
                incasso=is_incasso,
                exported=exported,
                exported_at=created_at + dt.timedelta(days=1) if exported else None,
                delivery_error="Ledger account 8000 is not mapped" if rng.random() < 0.02 else "",
                description="" if is_acronis else "Hosting and domains",
                fingerprint=f"{rng.getrandbits(128):032x}",
                last_seen_run_id=runs[conn.pk].pk,
            )
        )
        if len(chunk) >= CHUNK:
            Invoice.objects.bulk_create(chunk)
            chunk = []
    if chunk:
        Invoice.objects.bulk_create(chunk)
    for batch, size in zip(batch_rows, sizes, strict=True):
        batch.size = size
    Batch.objects.bulk_update(batch_rows, ["size"])
    connection_data_changed(connection_ids=[acronis.pk, hostway.pk], summaries_later=False)
    summaries_rebuild(connection_ids=[acronis.pk, hostway.pk])  # as a sync's end does

    user_model = get_user_model()
    finance = user_model.objects.create_user(FINANCE_USERNAME, password=None)
    admin = user_model.objects.create_superuser(ADMIN_USERNAME, email="", password=None)
    Access.objects.bulk_create(
        [Access(user=finance, connection=conn, role=Role.FINANCE) for conn in (acronis, hostway)]
    )
    return BenchData(
        invoices=invoices,
        accounts=len(names),
        batches=BATCHES,
        unpaid=unpaid,
        incasso=incasso,
        search_term=SEARCH_TERM,
        search_matches=search_matches,
        connections=(acronis, hostway),
        finance_user=finance,
        admin_user=admin,
    )
