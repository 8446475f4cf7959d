"""Live reads: the two things the UI asks a provider for on demand, cached.

- an account's next billing date (`account_billing_details_get`);
- an invoice's public link (`invoice_public_link_get`).

Each re-checks access through the scoped selectors (404 for anything the user may
not see), refuses without any HTTP when the provider lacks the capability, caches
successes only (so a retry after an error really asks again) and closes its client.
Cache keys hold the connection id and a digest of the provider ids, never raw input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from .clients import connection_client
from .models import Account, Connection, Invoice
from .providers import BillingDetails, ProviderBadPayload, ProviderError, PublicLink
from .providers.base import ProviderClient
from .providers.errors import ProviderNotSupported
from .providers.registry import get_client_class, provider_label
from .selectors import accounts_for_user, invoices_for_user

logger = logging.getLogger(__name__)

T = TypeVar("T")

CACHE_PREFIX = "live:v1"
# A link is dropped from the cache this long before the provider says it expires, so
# nobody is handed a link that dies as they click it.
LINK_EXPIRY_MARGIN = dt.timedelta(seconds=30)


def connection_live_features(connection: Connection) -> tuple[bool, bool]:
    """`(public_links, billing_details)` the connection's provider offers; no HTTP."""
    client_class = _client_class(connection)
    if client_class is None:
        return False, False
    return client_class.supports_public_links, client_class.supports_billing_details


def connection_provider_label(connection: Connection) -> str:
    """The provider's name as people know it (e.g. "MasStack")."""
    return provider_label(connection.provider)


def account_billing_details_get(*, user: Any, account: Account) -> BillingDetails:
    """The account's next billing date, live from its provider (cached
    `BILLING_DATE_CACHE_SECONDS`). Raises Http404, ProviderNotSupported or ProviderError."""
    if not accounts_for_user(user).filter(pk=account.pk).exists():
        raise Http404("No such account")
    connection = account.connection
    _require(connection, "supports_billing_details", "has no next billing date")
    key = _key("billing", connection, account.provider_id)
    cached = _cache_get(key)
    if cached is not None:
        return BillingDetails(account_id=cached[0], next_billing_date=cached[1])

    with connection_client(connection, live=True) as client:
        details = _call(connection, lambda: client.billing_details(account.provider_id))
    if not isinstance(details, BillingDetails) or not (
        details.next_billing_date is None or isinstance(details.next_billing_date, dt.date)
    ):
        raise ProviderBadPayload(f"{connection.provider}: the billing details are not a date")
    _cache_set(
        key,
        (details.account_id, details.next_billing_date),
        settings.BILLING_DATE_CACHE_SECONDS,
    )
    return details


def invoice_public_link_get(*, user: Any, invoice: Invoice) -> PublicLink:
    """A public link to the invoice, live from its provider (cached
    `PUBLIC_LINK_CACHE_SECONDS`, never past the link's expiry). Raises Http404,
    ProviderNotSupported or ProviderError."""
    if not invoices_for_user(user).filter(pk=invoice.pk).exists():
        raise Http404("No such invoice")
    connection = invoice.connection
    _require(connection, "supports_public_links", "has no public invoice links")
    account_id = invoice.account.provider_id
    key = _key("link", connection, account_id, invoice.provider_id)
    cached = _cache_get(key)
    if cached is not None:
        return PublicLink(url=cached[0], expires_at=cached[1])

    with connection_client(connection, live=True) as client:
        link = _call(
            connection,
            lambda: client.public_link(account_id=account_id, invoice_id=invoice.provider_id),
        )
    if not isinstance(link, PublicLink) or not isinstance(link.url, str) or not link.url:
        raise ProviderBadPayload(f"{connection.provider}: the public link has no URL")
    if link.expires_at is not None and (
        not isinstance(link.expires_at, dt.datetime) or timezone.is_naive(link.expires_at)
    ):
        raise ProviderBadPayload(f"{connection.provider}: the public link expiry is not a time")
    _cache_set(key, (link.url, link.expires_at), _link_ttl(link))
    return link


# -- helpers -----------------------------------------------------------------------


def _client_class(connection: Connection) -> type[ProviderClient] | None:
    try:
        return get_client_class(connection.provider)
    except LookupError:
        return None


def _require(connection: Connection, flag: str, missing: str) -> None:
    client_class = _client_class(connection)
    if client_class is None or not getattr(client_class, flag, False):
        label = client_class.label if client_class is not None else connection.provider
        raise ProviderNotSupported(f"{label} {missing}")


def _call(connection: Connection, read: Callable[[], T]) -> T:
    """Run one provider read; anything but a ProviderError is a bug in the client, logged
    here (type only: its message might carry payload text) and shown as a ProviderError."""
    try:
        return read()
    except ProviderError:
        raise
    except Exception as exc:
        logger.exception("live call to %s crashed (%s)", connection.name, type(exc).__name__)
        raise ProviderBadPayload(
            f"{connection.provider}: the answer could not be understood"
        ) from None


def _key(kind: str, connection: Connection, *provider_ids: str) -> str:
    digest = hashlib.sha256("\x00".join(provider_ids).encode()).hexdigest()[:40]
    return f"{CACHE_PREFIX}:{kind}:{connection.pk}:{digest}"


def _link_ttl(link: PublicLink) -> int:
    ttl = int(settings.PUBLIC_LINK_CACHE_SECONDS)
    if link.expires_at is not None:
        left = (link.expires_at - LINK_EXPIRY_MARGIN - timezone.now()).total_seconds()
        ttl = min(ttl, int(left))
    return ttl


# The cache is an optimisation: if it is down (Redis restarting), ask the provider.
def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        logger.warning("cache read failed for %s", key, exc_info=True)
        return None


def _cache_set(key: str, value: Any, ttl: int) -> None:
    if ttl <= 0:
        return
    try:
        cache.set(key, value, ttl)
    except Exception:
        logger.warning("cache write failed for %s", key, exc_info=True)
