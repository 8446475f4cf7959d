"""Provider name -> client class, an explicit dict overridable in settings.

`settings.INVOICE_PROVIDERS` may replace or add entries (dotted paths), the way
Django's CACHES/EMAIL_BACKEND name their backends.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import ProviderClient
from .http import secret_strings

DEFAULT_PROVIDERS: dict[str, str] = {
    "acronis": "invoices.providers.acronis.AcronisClient",
    "hostway": "invoices.providers.hostway.HostwayClient",
    "masstack": "invoices.providers.masstack.MasStackClient",
}


def provider_paths() -> dict[str, str]:
    return {**DEFAULT_PROVIDERS, **getattr(settings, "INVOICE_PROVIDERS", {})}


def provider_names() -> list[str]:
    return sorted(provider_paths())


def get_client_class(name: str) -> type[ProviderClient]:
    try:
        path = provider_paths()[name]
    except KeyError:
        known = ", ".join(provider_names())
        raise LookupError(f"unknown provider '{name}' (known: {known})") from None
    return import_string(path)


def provider_label(name: str) -> str:
    """The provider's name as people know it ("MasStack"); the registry name if unknown."""
    try:
        return get_client_class(name).label
    except LookupError:
        return name


def http_options_from_settings() -> dict[str, Any]:
    return {
        "connect_timeout": settings.PROVIDER_CONNECT_TIMEOUT,
        "read_timeout": settings.PROVIDER_READ_TIMEOUT,
        "max_retries": settings.PROVIDER_MAX_RETRIES,
    }


def build_client(
    name: str, config: dict[str, Any], credentials: dict[str, Any], **http_options: Any
) -> ProviderClient:
    """A ready client for provider `name`, with the settings' timeouts unless overridden.

    Every string in `credentials` is a secret its errors never repeat (`http.Redactor`).
    """
    options = {
        **http_options_from_settings(),
        "secrets": secret_strings(credentials),
        **http_options,
    }
    return get_client_class(name).from_config(config, credentials, **options)
