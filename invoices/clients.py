"""A provider client for a stored connection: where a `Connection` meets the registry.

Tokens are shared: a client keeps its bearer token in Django's cache (Redis across
processes and machines), encrypted with the credentials keys, so a web request or a
sync does not ask the provider for a new token each time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.cache import cache

from .fields import fernet
from .models import Connection, Invoice, InvoiceStatus
from .providers import types as domain
from .providers.base import ProviderClient
from .providers.http import Token
from .providers.registry import build_client

logger = logging.getLogger(__name__)


def connection_client(
    connection: Connection, *, live: bool = False, **http_options: Any
) -> ProviderClient:
    """A provider client for `connection`, built from its config and credentials.

    `live`: for a web request waiting on the answer: a short budget for the whole call
    and at most one retry (`LIVE_PROVIDER_*` settings), instead of the sync's patience.
    """
    options: dict[str, Any] = {"token_store": CachedTokens(connection)}
    if live:
        options.update(
            connect_timeout=settings.LIVE_PROVIDER_CONNECT_TIMEOUT,
            read_timeout=settings.LIVE_PROVIDER_READ_TIMEOUT,
            max_retries=settings.LIVE_PROVIDER_MAX_RETRIES,
            budget=settings.LIVE_PROVIDER_BUDGET,
        )
    return build_client(
        connection.provider,
        dict(connection.config),
        dict(connection.credentials),
        **{**options, **http_options},
    )


def domain_invoice(invoice: Invoice) -> domain.Invoice:
    """The mirrored invoice as the clients take it (to read it again, fetch its PDF,
    confirm its payment). `invoice` should come with its account and batch selected."""
    return domain.Invoice(
        provider_id=invoice.provider_id,
        number=invoice.number,
        account_id=invoice.account.provider_id,
        account_name=invoice.customer_name,
        issue_date=invoice.issue_date,
        total=invoice.total,
        amount_due=invoice.amount_due,
        currency=invoice.currency,
        paid=invoice.status == InvoiceStatus.PAID,
        raw_status=invoice.raw_status,
        batch=invoice.batch.number if invoice.batch_id else None,
        scheduled_date=invoice.scheduled_date,
        created_at=invoice.provider_created_at,
        payment_date=invoice.payment_date,
        incasso=invoice.incasso,
        exported=invoice.exported,
        exported_at=invoice.exported_at,
        delivery_error=invoice.delivery_error or None,
        description=invoice.description,
        extra=tuple(sorted((str(k), str(v)) for k, v in (invoice.extra or {}).items())),
    )


class CachedTokens:
    """A connection's bearer token in the shared cache (`http.TokenStore`).

    The key names the connection and a keyed digest of its settings and credentials:
    new credentials or another server never get an old token. The cache is an
    optimisation: when it is down, the client asks the provider.
    """

    def __init__(self, connection: Connection) -> None:
        material = json.dumps([connection.config, connection.credentials], sort_keys=True)
        digest = hmac.new(settings.SECRET_KEY.encode(), material.encode(), hashlib.sha256)
        self.key = f"tokens:v1:{connection.pk}:{digest.hexdigest()[:32]}"

    def get(self) -> Token | None:
        try:
            stored = cache.get(self.key)
            if stored is None:
                return None
            value, expires_at, lifetime = json.loads(fernet().decrypt(stored))
        except (InvalidToken, ValueError, TypeError):
            return None
        except Exception:
            logger.warning("token cache read failed", exc_info=True)
            return None
        return Token(value, expires_at, lifetime)

    def set(self, token: Token) -> None:
        ttl = int(token.expires_at - time.time())
        if ttl <= 0:
            return
        sealed = fernet().encrypt(
            json.dumps([token.value, token.expires_at, token.lifetime]).encode()
        )
        try:
            cache.set(self.key, sealed, ttl)
        except Exception:
            logger.warning("token cache write failed", exc_info=True)

    def discard(self, value: str) -> None:
        current = self.get()
        if current is not None and current.value == value:
            try:
                cache.delete(self.key)
            except Exception:
                logger.warning("token cache delete failed", exc_info=True)
