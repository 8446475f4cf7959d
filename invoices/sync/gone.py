"""What a listing proves gone upstream, and marking it so.

An invoice is marked missing ("gone upstream") only when a run read, to the end and
without contradiction, a part of the provider's invoices that holds it (a `Coverage`
the client declared) and did not see it. Outside every coverage nothing is evidence:
an account that could not be read, a listing that contradicted itself, a date window
the client did not ask for, an invoice the client could not parse (`Problem`).
Invoices are never deleted.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Account, Invoice, SyncRun
from ..providers import types as domain
from .upsert import chunks
from .write import connection_data_changed

# Beyond this many unreadable invoices, the run does not remember each one to keep it
# from being taken as gone: it takes nothing as gone.
MAX_PROTECTED = 10_000


class Sightings:
    """The primary keys of the invoices a run saw unchanged (and so did not rewrite): one
    bit per key, so a million cost 125 kB. With the rows the run wrote (their
    `last_seen_run` is the run), they are what the run saw."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add_all(self, pks: Iterable[int]) -> None:
        bits = self._bits
        for pk in pks:
            byte = pk >> 3
            if byte >= len(bits):
                bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))
            bits[byte] |= 1 << (pk & 7)

    def __contains__(self, pk: int) -> bool:
        byte = pk >> 3
        return byte < len(self._bits) and bool(self._bits[byte] >> (pk & 7) & 1)


@dataclass
class Listing:
    """What a run learned about the listing as a whole, page by page."""

    coverage: list[domain.Coverage] = field(default_factory=list)
    problems: list[domain.Problem] = field(default_factory=list)
    problem_count: int = 0
    invoices_seen: int = 0
    # Kept from being taken as gone in this run (see `domain.Problem`).
    protected: set[str] = field(default_factory=set)
    void_accounts: set[str] = field(default_factory=set)
    void_all: bool = False
    sighted: Sightings = field(default_factory=Sightings)

    def add(self, page: domain.InvoicePage) -> None:
        self.invoices_seen += len(page.invoices)
        self.coverage.extend(page.covers)
        for problem in page.problems:
            self.problem(problem)

    def problem(self, problem: domain.Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < SyncRun.MAX_PROBLEMS:
            self.problems.append(problem)
        if problem.provider_id is not None:
            self.protected.add(problem.provider_id)
            if len(self.protected) > MAX_PROTECTED:
                self.void_all = True
        elif problem.account_id is not None:
            self.void_accounts.add(problem.account_id)
        elif problem.whole_listing:
            self.void_all = True


def invoices_mark_gone(*, run: SyncRun, listing: Listing) -> int:
    """Mark missing what `listing` proves gone; returns how many. Call it in the
    transaction that ends the run.

    A covered part in which the run saw no invoice at all, while the mirror holds some,
    is not taken as gone either (a provider answering an empty list by mistake would
    otherwise empty the mirror): it becomes a problem of the run instead.
    """
    if listing.void_all or not listing.coverage:
        return 0
    connection = run.connection
    account_pks = dict(
        Account.objects.filter(
            connection=connection,
            provider_id__in={c.account_id for c in listing.coverage if c.account_id},
        ).values_list("provider_id", "pk")
    )
    held = Invoice.objects.filter(connection=connection, missing=False)
    parts: list[Q] = []
    for coverage in listing.coverage:
        if coverage.account_id in listing.void_accounts:
            continue
        part = Q()
        if coverage.account_id is not None:
            if coverage.account_id not in account_pks:
                continue  # the mirror has nothing of this account
            part &= Q(account_id=account_pks[coverage.account_id])
        if coverage.issued_from is not None:
            part &= Q(issue_date__gte=coverage.issued_from)
        in_part = held.filter(part)
        if not _seen_in(in_part, run, listing.sighted):
            count = in_part.count()
            if count:
                listing.problem(_empty_part_problem(coverage, count))
            continue
        parts.append(part)
    if not parts:
        return 0
    # An empty part is the whole connection (Q's `|` would drop it, not widen to it).
    scope = Q() if not all(parts) else functools.reduce(operator.or_, parts)
    gone = [
        pk
        for pk, provider_id in held.filter(scope)
        .filter(~Q(last_seen_run=run) | Q(last_seen_run__isnull=True))
        .order_by()
        .values_list("pk", "provider_id")
        if pk not in listing.sighted and provider_id not in listing.protected
    ]
    for chunk in chunks(gone):
        Invoice.objects.filter(pk__in=chunk).update(missing=True)
    if gone:
        connection_data_changed(connection_ids=[connection.pk], summaries_later=False)
    return len(gone)


def _seen_in(invoices: QuerySet[Invoice], run: SyncRun, sighted: Sightings) -> bool:
    """Whether `run` saw any of `invoices` (wrote it, or saw it unchanged)."""
    if invoices.filter(last_seen_run=run).exists():
        return True
    return any(
        pk in sighted for pk in invoices.order_by().values_list("pk", flat=True).iterator(2000)
    )


def _empty_part_problem(coverage: domain.Coverage, count: int) -> domain.Problem:
    where = (
        _("account %(account)s") % {"account": coverage.account_id}
        if coverage.account_id
        else _("the listing")
    )
    reason = ngettext(
        "The provider listed no invoices here, while the mirror holds %(count)d; so as not "
        "to lose it by mistake, it was not marked gone upstream.",
        "The provider listed no invoices here, while the mirror holds %(count)d; so as not "
        "to lose them by mistake, none was marked gone upstream.",
        count,
    ) % {"count": count}
    return domain.Problem(what=where, reason=reason, account_id=coverage.account_id)
