"""A JSON field encrypted at rest (Fernet), for connection credentials.

The key comes from `settings.CREDENTIALS_KEYS` (Fernet keys; the first encrypts, all
decrypt, so keys can be rotated) or, when unset, is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        keys = (_derived_key(secret_key),)
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("CREDENTIALS_KEYS holds an invalid Fernet key") from exc


def credentials_keys() -> list[str]:
    """The keys in use: `CREDENTIALS_KEYS`, or the one derived from SECRET_KEY (for a
    process that must read what this one wrote, e.g. the benchmark's server)."""
    keys = list(getattr(settings, "CREDENTIALS_KEYS", ()))
    return keys or [_derived_key(settings.SECRET_KEY)]


def _derived_key(secret_key: str) -> str:
    digest = hashlib.sha256(b"billingportal-credentials:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def fernet() -> MultiFernet:
    return _fernet(tuple(getattr(settings, "CREDENTIALS_KEYS", ())), settings.SECRET_KEY)


class EncryptedJSONField(models.TextField):
    """Stores `json.dumps(value)` encrypted; reads back the value."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        try:
            return json.loads(fernet().decrypt(value.encode()))
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "Stored credentials cannot be decrypted: SECRET_KEY or CREDENTIALS_KEYS changed."
            ) from exc

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()
