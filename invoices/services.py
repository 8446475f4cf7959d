"""Writes other than syncing: connections and access grants."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .clients import connection_client
from .models import Access, Connection, Role, UserPreference
from .providers.registry import get_client_class


class ServiceError(Exception):
    """A user-facing failure with a one-line, secret-free message (in the active language:
    English on the command line)."""


def connection_create(
    *,
    provider: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    check: bool = True,
    **fields: Any,
) -> Connection:
    """Create a connection; with `check`, prove the URL and credentials work first.

    Raises `ServiceError` (unknown provider, taken name) or a `ProviderError`
    (unreachable, credentials refused) - nothing is saved then.
    """
    try:
        get_client_class(provider)
    except LookupError as exc:
        raise ServiceError(str(exc)) from None
    name = name.strip()
    if not name:
        raise ServiceError(_("a connection needs a name"))
    if Connection.objects.filter(name=name).exists():
        raise ServiceError(_("a connection named '%(name)s' already exists") % {"name": name})
    connection = Connection(
        provider=provider, name=name, config=config, credentials=credentials, **fields
    )
    if check:
        with connection_client(connection) as client:
            client.check()
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        raise ServiceError(
            _("a connection named '%(name)s' already exists") % {"name": name}
        ) from None
    return connection


def access_grant(*, username: str, connection_name: str, role: str) -> Access:
    """Give `username` the `role` on a connection (replacing any role they had there)."""
    if role not in Role.values:
        raise ServiceError(
            _("unknown role '%(role)s' (use one of: %(roles)s)")
            % {"role": role, "roles": ", ".join(Role.values)}
        )
    user_model = get_user_model()
    try:
        user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
    except user_model.DoesNotExist:
        raise ServiceError(_("no user named '%(name)s'") % {"name": username}) from None
    try:
        connection = Connection.objects.get(name=connection_name)
    except Connection.DoesNotExist:
        raise ServiceError(
            _("no connection named '%(name)s'") % {"name": connection_name}
        ) from None
    access, _created = Access.objects.update_or_create(
        user=user, connection=connection, defaults={"role": role}
    )
    return access


def user_columns_set(*, user: Any, columns: list[str]) -> None:
    """Keep the list columns `user` chose (names the caller checked; empty: defaults)."""
    UserPreference.objects.update_or_create(user=user, defaults={"columns": list(columns)})
