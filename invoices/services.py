"""Writes other than syncing: connections and access grants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .clients import connection_client
from .explain import connection_check_words
from .invitations import invitation_send
from .models import (
    Access,
    AuditAction,
    AuditOutcome,
    Connection,
    Invoice,
    Role,
    SyncRun,
    SyncState,
    UserPreference,
)
from .providers import ProviderError
from .providers.registry import get_client_class, provider_label


class ServiceError(Exception):
    """A user-facing failure with a one-line, secret-free message (in the active language:
    English on the command line)."""


# What a person may set on a connection, per provider: its plain settings (`config`) and
# its secrets (`credentials`, write-only: never shown again). The CLI and the forms give
# the same keys.
CONFIG_KEYS = {
    "acronis": ("base_url", "currency"),
    "hostway": ("base_url", "accounts", "currency"),
    "masstack": ("billing_url", "customers_url", "token_url", "org", "accounts", "since"),
}
SECRET_KEYS = {
    "acronis": ("client_id", "client_secret"),
    "hostway": ("username", "password"),
    "masstack": ("service_account",),
}
# Where the credentials are sent.
URL_KEYS = ("base_url", "billing_url", "customers_url", "token_url")


def connection_create(
    *,
    provider: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    check: bool = True,
    actor: Any = None,
    created_by: Any = None,
    **fields: Any,
) -> Connection:
    """Create a connection; with `check`, prove the URL and credentials work first.

    `actor` (a request, a user or None: the command line) is who the audit log names;
    `created_by` (a staff user, not a superuser) becomes the new connection's partner
    admin. Raises `ServiceError` (unknown provider, taken name) or a `ProviderError`
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
        try:
            with connection_client(connection) as client:
                client.check()
        except ProviderError as exc:
            words = connection_check_words(exc, label=provider_label(provider))
            audit.record(
                actor, AuditAction.CONNECTION_ADDED, target=name,
                outcome=AuditOutcome.REFUSED, message=words, detail={"provider": provider},
            )  # fmt: skip
            raise
    try:
        with transaction.atomic():
            connection.save()
            if created_by is not None and not created_by.is_superuser:
                Access.objects.create(
                    user=created_by, connection=connection, role=Role.PARTNER_ADMIN
                )
    except IntegrityError:
        raise ServiceError(
            _("a connection named '%(name)s' already exists") % {"name": name}
        ) from None
    audit.record(
        actor, AuditAction.CONNECTION_ADDED, connection=connection, target=name,
        detail={"provider": provider, "checked": check},
    )  # fmt: skip
    return connection


def _config_merged(connection: Connection, config: dict[str, Any]) -> dict[str, Any]:
    """The stored config with the keys a person may set replaced by `config` (a key left
    out of `config` is cleared; others, like `page_size`, are kept)."""
    editable = CONFIG_KEYS.get(connection.provider, ())
    kept = {
        k: v for k, v in (connection.config or {}).items() if k not in editable or k not in config
    }
    return {**kept, **{k: v for k, v in config.items() if k in editable}}


def _origins(config: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Scheme and host of each address the credentials go to."""
    return {
        key: (urlsplit(str(config[key])).scheme.lower(), urlsplit(str(config[key])).netloc.lower())
        for key in URL_KEYS
        if config.get(key)
    }


def _candidate(
    connection: Connection, *, config: dict[str, Any], credentials: dict[str, Any]
) -> Connection:
    """An unsaved copy of `connection` with other settings and credentials, to check."""
    return Connection(
        pk=connection.pk, provider=connection.provider, name=connection.name,
        config=config, credentials=credentials,
    )  # fmt: skip


def connection_update(
    *,
    connection: Connection,
    actor: Any,
    name: str,
    config: dict[str, Any],
    payment_terms_days: int,
    sync_interval_minutes: int,
    paused: bool,
) -> list[str]:
    """Change a connection's plain settings; returns the names of what changed.

    The credentials go only where they went: a new host in an address needs the
    credentials typed again (`connection_credentials_rotate`), or anyone who may edit
    could send the stored secrets to a server of theirs.
    """
    name = name.strip()
    if not name:
        raise ServiceError(_("a connection needs a name"))
    if Connection.objects.filter(name=name).exclude(pk=connection.pk).exists():
        raise ServiceError(_("a connection named '%(name)s' already exists") % {"name": name})
    merged = _config_merged(connection, config)
    if _origins(merged) != _origins(connection.config or {}):
        raise ServiceError(
            _(
                "A new server address needs the credentials typed again: change it under "
                "Credentials."
            )
        )
    values = {
        "name": name,
        "config": merged,
        "payment_terms_days": payment_terms_days,
        "sync_interval_minutes": sync_interval_minutes,
        "paused": paused,
    }
    changed = [key for key, value in values.items() if getattr(connection, key) != value]
    if "config" in changed:
        old = connection.config or {}
        changed.remove("config")
        changed += sorted(k for k in set(old) | set(merged) if old.get(k) != merged.get(k))
    for key, value in values.items():
        setattr(connection, key, value)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        raise ServiceError(
            _("a connection named '%(name)s' already exists") % {"name": name}
        ) from None
    audit.record(
        actor, AuditAction.CONNECTION_EDITED, connection=connection, target=name,
        detail={"changed": changed},
    )  # fmt: skip
    return changed


def connection_check(
    *,
    connection: Connection,
    credentials: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    """Check `connection` against its provider without saving anything: its stored
    credentials, with any newly typed ones (`credentials`, empty values ignored) and
    addresses (`config`) in their place. Raises a `ProviderError` when it fails."""
    typed = {k: v for k, v in (credentials or {}).items() if v}
    merged = _config_merged(connection, config) if config is not None else connection.config
    candidate = _candidate(
        connection, config=dict(merged or {}), credentials={**connection.credentials, **typed}
    )
    if (
        config is not None
        and _origins(candidate.config) != _origins(connection.config or {})
        and set(typed) != set(SECRET_KEYS.get(connection.provider, ()))
    ):
        raise ServiceError(_("To try a new server address, type every credential again."))
    with connection_client(candidate) as client:
        client.check()


def connection_credentials_rotate(
    *,
    connection: Connection,
    actor: Any,
    credentials: dict[str, Any],
    config: dict[str, Any] | None = None,
    check: bool = True,
) -> list[str]:
    """Replace some or all of a connection's credentials (an empty value keeps the
    stored one), and with them, if given, its addresses (`config`); checked against the
    provider first (nothing is saved when that fails). Returns the names replaced.

    A new host in an address needs every credential typed again: the stored ones never
    go to a server they were not given for.
    """
    typed = {k: v for k, v in credentials.items() if v and k in SECRET_KEYS[connection.provider]}
    merged_config = _config_merged(connection, config) if config is not None else connection.config
    moved = _origins(merged_config) != _origins(connection.config or {})
    if moved and set(typed) != set(SECRET_KEYS[connection.provider]):
        raise ServiceError(_("A new server address needs every credential typed again."))
    if not typed and merged_config == connection.config:
        raise ServiceError(
            _("Type at least one new credential (empty fields keep the stored ones).")
        )
    candidate = _candidate(
        connection, config=dict(merged_config), credentials={**connection.credentials, **typed}
    )
    if check:
        try:
            with connection_client(candidate) as client:
                client.check()
        except ProviderError as exc:
            words = connection_check_words(exc, label=provider_label(connection.provider))
            audit.record(
                actor, AuditAction.CREDENTIALS_ROTATED, connection=connection,
                target=connection.name, outcome=AuditOutcome.REFUSED, message=words,
                detail={"fields": sorted(typed)},
            )  # fmt: skip
            raise
    connection.config, connection.credentials = candidate.config, candidate.credentials
    connection.save(update_fields=["config", "credentials", "updated_at"])
    audit.record(
        actor, AuditAction.CREDENTIALS_ROTATED, connection=connection, target=connection.name,
        detail={"fields": sorted(typed), "addresses_changed": moved},
    )  # fmt: skip
    return sorted(typed)


def connection_pause_set(*, connection: Connection, actor: Any, paused: bool) -> None:
    """Pause (no scheduled syncs; a person can still sync by hand) or resume."""
    connection.paused = paused
    connection.save(update_fields=["paused", "updated_at"])
    audit.record(
        actor, AuditAction.CONNECTION_PAUSED, connection=connection, target=connection.name,
        message=_("Paused") if paused else _("Resumed"), detail={"paused": paused},
    )  # fmt: skip


def connection_archive(*, connection: Connection, actor: Any) -> int:
    """Remove a connection from the app: hidden everywhere, its invoices with it, never
    synced again; nothing is deleted (an administrator can restore it in the Django admin
    by clearing "removed on"). A queued run is called off. Returns the invoices hidden."""
    hidden = Invoice.objects.filter(connection=connection).count()
    now = timezone.now()
    with transaction.atomic():
        connection.archived_at = now
        connection.save(update_fields=["archived_at", "updated_at"])
        SyncRun.objects.filter(connection=connection, state=SyncState.QUEUED).update(
            state=SyncState.FAILED, finished_at=now, error="the connection was removed",
            error_kind="removed",
        )  # fmt: skip
    audit.record(
        actor, AuditAction.CONNECTION_REMOVED, connection=connection, target=connection.name,
        detail={"invoices_hidden": hidden, "archived": True},
    )  # fmt: skip
    return hidden


def user_columns_set(*, user: Any, columns: list[str]) -> None:
    """Keep the list columns `user` chose (names the caller checked; empty: defaults)."""
    UserPreference.objects.update_or_create(user=user, defaults={"columns": list(columns)})


# -- Team and access ------------------------------------------------------------------
# Who may change a connection's team: its partner admins, staff and superusers (and the
# command line, `by=None`, which acts as an administrator). Nobody gives more than they
# have, nobody raises their own role, and a connection always keeps a partner admin once
# it has one, so someone can still manage it.

ADMINISTRATOR = "administrator"  # staff, superusers, the command line: above every role
ROLE_RANK = {Role.FINANCE: 1, Role.PARTNER_ADMIN: 2, ADMINISTRATOR: 3}


@dataclass(frozen=True)
class AccessChange:
    """What a grant did: `previous_role` None for a new grant; equal to the role when
    nothing changed (then nothing was recorded either)."""

    access: Access
    previous_role: str | None

    @property
    def changed(self) -> bool:
        return self.previous_role != self.access.role


@dataclass(frozen=True)
class Invitation:
    access: Access
    user_created: bool  # no user had the address: one was made (no password yet)
    sent: bool  # an e-mail with a link to choose a password went out
    previous_role: str | None


def access_level(*, user: Any, connection: Connection) -> str | None:
    """What `user` may do to `connection`'s team: `ADMINISTRATOR` (staff, superusers,
    None for the command line), else their role there (or None)."""
    if user is None or user.is_superuser or user.is_staff:
        return ADMINISTRATOR
    return (
        Access.objects.filter(user=user, connection=connection)
        .values_list("role", flat=True)
        .first()
    )


def access_may_manage(*, user: Any, connection: Connection) -> bool:
    """Whether `user` may grant, change and revoke access to `connection`."""
    return (
        ROLE_RANK.get(access_level(user=user, connection=connection) or "", 0)
        >= ROLE_RANK[Role.PARTNER_ADMIN]
    )


def access_user_find(identifier: str) -> Any:
    """The user with this username, else the one user with this e-mail address."""
    identifier = identifier.strip()
    user_model = get_user_model()
    if not identifier:
        raise ServiceError(_("Enter a username or an e-mail address."))
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: identifier}).first()
    if user is not None:
        return user
    by_email = (
        list(user_model.objects.filter(email__iexact=identifier)[:2]) if "@" in identifier else []
    )
    if len(by_email) > 1:
        raise ServiceError(
            _("Several users have the e-mail address %(email)s: enter the username instead.")
            % {"email": identifier}
        )
    if not by_email:
        raise ServiceError(
            _("There is no user named '%(name)s' and none with that e-mail address.")
            % {"name": identifier}
        )
    return by_email[0]


def access_grant(*, by: Any, connection: Connection, user: Any, role: str) -> AccessChange:
    """Give `user` (a user, or a username or e-mail address) `role` on `connection`,
    replacing the role they had there.

    `by`: the request (audited with its address), the acting user, or None for the
    command line. Raises `ServiceError` when `by` may not, or when it would leave the
    connection without a partner admin.
    """
    if isinstance(user, str):
        user = access_user_find(user)
    actor = _actor(by)
    previous = _access_set(actor=actor, connection=connection, user=user, role=role)
    access = Access.objects.select_related("user", "connection").get(
        user=user, connection=connection
    )
    if previous != role:
        _access_record(by, connection=connection, user=user, role=role, previous=previous)
    return AccessChange(access=access, previous_role=previous)


def access_change(*, by: Any, access: Access, role: str) -> Access:
    """Change the role of an existing grant (see `access_grant` for `by` and the rules)."""
    previous = _access_set(
        actor=_actor(by), connection=access.connection, user=access.user, role=role
    )
    if previous != role:
        _access_record(
            by, connection=access.connection, user=access.user, role=role, previous=previous
        )
    access.role = role
    return access


def access_revoke(*, by: Any, access: Access) -> None:
    """Take `access.user`'s access to `access.connection` away (not the last partner
    admin's)."""
    previous = _access_set(
        actor=_actor(by), connection=access.connection, user=access.user, role=None
    )
    _access_record(by, connection=access.connection, user=access.user, role=None, previous=previous)


def access_invite(
    *, by: Any, connection: Connection, email: str, role: str, domain: str, use_https: bool
) -> Invitation:
    """Invite someone by e-mail to `connection` with `role`.

    No user has the address: one is made (username from the address, no usable
    password), granted `role`, and sent a one-time link to choose a password. A user has
    it: they are granted `role` instead; one who never chose a password gets a new link.
    `by` is the request (or the inviting user); the e-mail is in the active language.
    """
    actor = _actor(by)
    if actor is None:
        raise ServiceError(_("Only a person can send an invitation."))
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            _("Enter an e-mail address in the right format, like name@example.com.")
        ) from None
    _access_check(actor=actor, connection=connection, user=None, role=role)
    user_model = get_user_model()
    existing = list(user_model.objects.filter(email__iexact=email)[:2])
    if len(existing) > 1:
        raise ServiceError(
            _("Several users have the e-mail address %(email)s: grant access by username.")
            % {"email": email}
        )
    if existing:
        user, created = existing[0], False
        previous = _access_set(actor=actor, connection=connection, user=user, role=role)
    else:
        with transaction.atomic():
            user = user_model.objects.create_user(_username_from_email(email), email=email)
            previous = _access_set(actor=actor, connection=connection, user=user, role=role)
        created = True
    access = Access.objects.select_related("user", "connection").get(
        user=user, connection=connection
    )
    if not created and user.has_usable_password():  # they can sign in: a grant
        if previous != role:
            _access_record(by, connection=connection, user=user, role=role, previous=previous)
        return Invitation(access=access, user_created=False, sent=False, previous_role=previous)
    detail = {"email": email, "role": role, "previous_role": previous, "new_user": created}
    try:
        invitation_send(access=access, inviter=actor, domain=domain, use_https=use_https)
    except Exception as exc:  # any mail backend's failure: the grant stands, say so
        audit.record(
            by,
            AuditAction.INVITED,
            connection=connection,
            target=user.get_username(),
            outcome=AuditOutcome.FAILED,
            message=type(exc).__name__,
            detail=detail,
        )
        raise ServiceError(
            _(
                "%(user)s can now see %(connection)s, but the e-mail could not be sent. "
                "Try inviting them again in a moment."
            )
            % {"user": user.get_username(), "connection": connection.name}
        ) from None
    audit.record(
        by, AuditAction.INVITED, connection=connection, target=user.get_username(), detail=detail
    )
    return Invitation(access=access, user_created=created, sent=True, previous_role=previous)


def _actor(by: Any) -> Any:
    return by.user if hasattr(by, "META") else by


def _access_check(*, actor: Any, connection: Connection, user: Any, role: str | None) -> None:
    """Refuse what `actor` may not do: touch a team they do not manage, give more than
    they have, raise their own role."""
    if role is not None and role not in Role.values:
        raise ServiceError(
            _("unknown role '%(role)s' (use one of: %(roles)s)")
            % {"role": role, "roles": ", ".join(Role.values)}
        )
    level = access_level(user=actor, connection=connection)
    if ROLE_RANK.get(level or "", 0) < ROLE_RANK[Role.PARTNER_ADMIN]:
        raise ServiceError(
            _("Only a partner admin of %(connection)s can change who has access to it.")
            % {"connection": connection.name}
        )
    if role is not None and ROLE_RANK[role] > ROLE_RANK[level]:
        raise ServiceError(_("You cannot give more access than you have."))
    if role is not None and actor is not None and user is not None and user.pk == actor.pk:
        own = Access.objects.filter(user=actor, connection=connection).first()
        if not actor.is_superuser and ROLE_RANK[role] > ROLE_RANK.get(own.role if own else "", 0):
            raise ServiceError(_("You cannot give yourself more access than you have."))


def _access_set(*, actor: Any, connection: Connection, user: Any, role: str | None) -> str | None:
    """Give `user` `role` on `connection` (None: take their access away), after the
    checks; the role they had before."""
    _access_check(actor=actor, connection=connection, user=user, role=role)
    with transaction.atomic():
        # Locked (on PostgreSQL; SQLite writes one at a time): two partner admins
        # demoting each other at once must not leave the connection with none.
        grants = list(Access.objects.select_for_update().filter(connection=connection))
        current = next((a for a in grants if a.user_id == user.pk), None)
        previous = current.role if current is not None else None
        if current is None and role is None:
            raise ServiceError(
                _("%(user)s has no access to %(connection)s.")
                % {"user": user.get_username(), "connection": connection.name}
            )
        if (
            current is not None
            and current.role == Role.PARTNER_ADMIN
            and role != Role.PARTNER_ADMIN
        ):
            others = [a for a in grants if a.role == Role.PARTNER_ADMIN and a.pk != current.pk]
            if not others:
                raise ServiceError(_last_partner_admin(actor, user, connection))
        if role is None:
            current.delete()
        elif current is None:
            Access.objects.create(user=user, connection=connection, role=role)
        elif current.role != role:
            current.role = role
            current.save(update_fields=["role"])
    return previous


def _last_partner_admin(actor: Any, user: Any, connection: Connection) -> str:
    if actor is not None and actor.pk == user.pk:
        return _(
            "You are the last partner admin of %(connection)s: make someone else partner "
            "admin first, so that someone can still manage it."
        ) % {"connection": connection.name}
    return _(
        "%(user)s is the last partner admin of %(connection)s: make someone else partner "
        "admin first, so that someone can still manage it."
    ) % {"user": user.get_username(), "connection": connection.name}


def _access_record(
    by: Any, *, connection: Connection, user: Any, role: str | None, previous: str | None
) -> None:
    if role is None:
        action, detail = AuditAction.ACCESS_REVOKED, {"previous_role": previous}
    elif previous is None:
        action, detail = AuditAction.ACCESS_GRANTED, {"role": role}
    else:
        action, detail = AuditAction.ACCESS_CHANGED, {"role": role, "previous_role": previous}
    if by is None:
        detail["via"] = "command line"
    audit.record(by, action, connection=connection, target=user.get_username(), detail=detail)


def _username_from_email(email: str) -> str:
    """The part before the @ (characters a username may hold), numbered if taken."""
    user_model = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", email.split("@", 1)[0])[:140] or "user"
    name, n = base, 1
    while user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": name}).exists():
        n += 1
        name = f"{base}{n}"
    return name
