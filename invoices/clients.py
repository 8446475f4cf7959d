"""A provider client for a stored connection: where a `Connection` meets the registry."""

from __future__ import annotations

from typing import Any

from .models import Connection
from .providers.base import ProviderClient
from .providers.registry import build_client


def connection_client(connection: Connection, **http_options: Any) -> ProviderClient:
    """A provider client for `connection`, built from its config and credentials."""
    return build_client(
        connection.provider, dict(connection.config), dict(connection.credentials), **http_options
    )
