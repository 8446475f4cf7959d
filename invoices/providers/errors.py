"""The domain errors every provider client raises.

No `requests` exception, `KeyError` or `ValueError` leaves a client: callers catch
`ProviderError` (or one of its subclasses) and show `str(error)`, which never holds
a credential or a token.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Something went wrong talking to a billing provider."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProviderAuthError(ProviderError):
    """Credentials were refused (401/403), or a token could not be obtained."""


class ProviderNotFound(ProviderError):
    """The provider says the account, invoice or path does not exist (404)."""


class ProviderUnavailable(ProviderError):
    """Timeouts, connection errors, 429 and 5xx after the retries ran out."""


class ProviderBadPayload(ProviderError):
    """The provider answered, but not with something we can understand."""


class ProviderNotSupported(ProviderError):
    """The provider does not offer this operation (e.g. public links on Acronis)."""


def ends_listing(error: ProviderError) -> bool:
    """Whether `error` is about the whole login or server (bad credentials, unavailable),
    not one account: reading the other accounts would fare no better."""
    return isinstance(error, ProviderUnavailable) or (
        isinstance(error, ProviderAuthError) and error.status == 401
    )
