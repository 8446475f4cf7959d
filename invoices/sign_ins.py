"""Sign-ins in the audit trail: Django's `user_logged_in` / `user_login_failed` and
django-axes' `user_locked_out`, connected in `apps.InvoicesConfig.ready`.

One entry per attempt. A failed one names the username that was tried and the address
it came from, never the password (Django hands the receivers the credentials with the
password already masked; only the username is read from them). A lock-out is a failed
sign-in whose message says so: axes sends `user_locked_out` from inside its own
`user_login_failed` receiver, for the same attempt, so the request is marked once it is
recorded and the second signal adds nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from . import audit
from .models import AuditAction, AuditOutcome

_RECORDED = "_audit_sign_in_recorded"


def sign_in_recorded(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """`user_logged_in`: who signed in, from where."""
    # The user given, not the request's: not every login() (a test's, a command's) comes
    # with a request that has one.
    address = audit.client_ip(request) if request is not None else None
    audit.record(user, AuditAction.LOGIN, ip_address=address)


def sign_in_failure_recorded(
    sender: Any, credentials: dict[str, Any] | None = None, request: Any = None, **kwargs: Any
) -> None:
    """`user_login_failed`: the username tried (the password is never read)."""
    username = str((credentials or {}).get(get_user_model().USERNAME_FIELD, "") or "")
    locked = bool(getattr(request, "axes_locked_out", False))
    _failure_recorded(request, username, locked=locked)


def lock_out_recorded(
    sender: Any, request: Any = None, username: str | None = None, **kwargs: Any
) -> None:
    """axes' `user_locked_out`: a failed sign-in that is (now) locked out."""
    _failure_recorded(request, str(username or ""), locked=True)


def _failure_recorded(request: Any, username: str, *, locked: bool) -> None:
    if request is not None and getattr(request, _RECORDED, False):
        return  # the same attempt, seen by the other signal
    if locked:
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        message = _("Locked out after too many failed sign-ins (for %(minutes)d minutes).") % {
            "minutes": minutes
        }
    else:
        message = _("Wrong username or password.")
    # The request's user is nobody yet: the entry names the username tried.
    audit.record(
        request, AuditAction.LOGIN_FAILED, outcome=AuditOutcome.FAILED, message=message,
        username=username,
    )  # fmt: skip
    if request is not None:
        setattr(request, _RECORDED, True)
