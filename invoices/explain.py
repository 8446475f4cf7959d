"""Provider failures in plain words, for the people who see them.

Finance users get what happened and what to do; the provider's own (technical, already
redacted) message stays for partner admins, behind a disclosure.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from .providers import (
    ProviderAuthError,
    ProviderBadPayload,
    ProviderError,
    ProviderNotFound,
    ProviderNotSupported,
    ProviderUnavailable,
)


def provider_error_words(error: ProviderError, *, label: str) -> str:
    """One sentence a finance user understands, e.g. "MasStack did not answer. Try again
    in a minute." (`label`: the provider's name)."""
    if isinstance(error, ProviderUnavailable):
        return _("%(provider)s did not answer. Try again in a minute.") % {"provider": label}
    if isinstance(error, ProviderAuthError):
        return _(
            "%(provider)s refused this connection's credentials. A partner admin needs to "
            "check them."
        ) % {"provider": label}
    if isinstance(error, ProviderNotFound):
        return _("%(provider)s does not know this (any more).") % {"provider": label}
    if isinstance(error, ProviderNotSupported):
        return _("Not offered by %(provider)s.") % {"provider": label}
    if isinstance(error, ProviderBadPayload):
        return _(
            "%(provider)s answered with something this app could not read. Try again later; "
            "if it keeps happening, a partner admin can see the details."
        ) % {"provider": label}
    return _("%(provider)s could not be reached. Try again in a minute.") % {"provider": label}


def error_kind(error: Exception) -> str:
    """The kind of a sync's failure, kept on the run (`SyncRun.error_kind`)."""
    for kind, cls in (
        ("unavailable", ProviderUnavailable),
        ("auth", ProviderAuthError),
        ("not_found", ProviderNotFound),
        ("bad_payload", ProviderBadPayload),
    ):
        if isinstance(error, cls):
            return kind
    return "provider" if isinstance(error, ProviderError) else "internal"


def sync_error_words(kind: str, *, label: str) -> str:
    """What a failed sync means, for everyone who sees the connection's panel."""
    words = {
        "unavailable": _("%(provider)s did not answer. The next sync tries again."),
        "auth": _(
            "%(provider)s refused this connection's credentials. A partner admin needs to "
            "check them."
        ),
        "not_found": _("%(provider)s does not know an account of this connection any more."),
        "bad_payload": _(
            "%(provider)s answered with something this app could not read. Nothing was lost; "
            "the next sync tries again."
        ),
        "nothing_read": _("Nothing could be read from %(provider)s. Nothing was lost."),
        "lost": _("The sync stopped responding (its worker was lost). A new sync can start."),
        "internal": _("The sync failed because of an error in this app; it has been logged."),
    }.get(kind, _("The sync with %(provider)s failed. The next sync tries again."))
    return words % {"provider": label}


def connection_check_words(error: ProviderError, *, label: str) -> str:
    """What a failed check of new connection details means, for the person who typed them
    (adding a connection, changing its credentials, "Test connection")."""
    if isinstance(error, ProviderAuthError):
        return _(
            "%(provider)s refused these credentials. Check them and try again; nothing was saved."
        ) % {"provider": label}
    if isinstance(error, ProviderUnavailable):
        return _(
            "%(provider)s did not answer at this address. Check the address, or try again in "
            "a minute; nothing was saved."
        ) % {"provider": label}
    if isinstance(error, ProviderNotFound):
        return _(
            "%(provider)s does not know what these settings name (an address, an organisation "
            "or an account). Check them; nothing was saved."
        ) % {"provider": label}
    if isinstance(error, ProviderBadPayload):
        return _(
            "The settings could not be used, or %(provider)s answered with something this app "
            "could not read. Check the address and the settings; nothing was saved."
        ) % {"provider": label}
    return _("%(provider)s could not be reached. Try again in a minute; nothing was saved.") % {
        "provider": label
    }
