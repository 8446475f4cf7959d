"""The invitation e-mail: a one-time, expiring link for a new user to choose a password.

The link is Django's own password-reset link (`default_token_generator`, valid for
`PASSWORD_RESET_TIMEOUT`; `PasswordResetConfirmView` answers it). The token is made from
the user's password hash and last sign-in, so it stops working once a password is set.
The text is rendered in the active language: the inviter's, in the request that sends it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import Access


def invitation_link(*, user: Any, domain: str, use_https: bool) -> str:
    """The address where `user` chooses a password (works once, until it expires)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{'https' if use_https else 'http'}://{domain}{path}"


def invitation_send(*, access: Access, inviter: Any, domain: str, use_https: bool) -> None:
    """E-mail `access.user` who invited them to which connection, and their link.

    Raises what the mail backend raises (`OSError`, `smtplib.SMTPException`).
    """
    protocol = "https" if use_https else "http"
    context = {
        "user": access.user,
        "inviter": inviter.get_full_name() or inviter.get_username(),
        "connection": access.connection,
        "role": access.get_role_display(),
        "link": invitation_link(user=access.user, domain=domain, use_https=use_https),
        "login_url": f"{protocol}://{domain}{reverse('login')}",
        "valid_for": dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
    }
    subject = render_to_string("invoices/team/invite_subject.txt", context)
    body = render_to_string("invoices/team/invite_email.txt", context)
    send_mail(
        " ".join(subject.split()),  # one line: a header
        body,
        None,  # DEFAULT_FROM_EMAIL
        [access.user.email],
    )
