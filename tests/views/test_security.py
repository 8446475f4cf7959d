"""Sign-in throttling, strict headers on every page, and the password-reset journey."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from .factories import Mirror

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user(
        "alice", "alice@example.com", PASSWORD, is_staff=True
    )


def sign_in(client: Client, url: str, username: str, password: str, **extra):
    data = {"username": username, "password": password}
    if url == ADMIN_LOGIN:
        data["this_is_the_login_form"] = "1"
    return client.post(url, data, **extra)


# -- throttling ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN], ids=["app", "admin"])
def test_the_right_password_after_five_wrong_ones_is_refused_for_a_while(alice, url, caplog):
    client = Client()
    for _ in range(4):
        assert sign_in(client, url, "alice", "wrong").status_code == 200
    with caplog.at_level(logging.WARNING, logger="axes"):
        assert sign_in(client, url, "alice", "wrong").status_code == 429  # the fifth locks

    response = sign_in(client, url, "alice", PASSWORD)

    assert response.status_code == 429
    text = response.content.decode()
    assert "After 5 failed sign-ins" in text
    assert "Try again in 15\xa0minutes." in text
    assert "_auth_user_id" not in client.session
    # django-axes logs the lock-out (username and address masked: the admin's Access
    # attempts page has them), never the password.
    logged = [r.getMessage() for r in caplog.records if "Locking out" in r.getMessage()]
    assert logged and f'path_info: "{url}"' in logged[0]
    assert "wrong" not in " ".join(r.getMessage() for r in caplog.records)


def test_one_address_trying_many_usernames_is_locked_out_too(alice):
    client = Client()
    for name in ("bob", "carol", "dave", "erin", "frank"):
        sign_in(client, LOGIN, name, "guess")

    response = sign_in(client, LOGIN, "alice", PASSWORD)

    assert response.status_code == 429


def test_a_locked_username_stays_locked_from_another_address(alice):
    for _ in range(5):
        sign_in(Client(), LOGIN, "alice", "wrong", REMOTE_ADDR="10.0.0.1")

    response = sign_in(Client(), LOGIN, "alice", PASSWORD, REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 429


def test_sign_in_works_again_after_the_cool_off(alice, settings):
    import datetime as dt

    from axes.models import AccessAttempt

    for _ in range(5):
        sign_in(Client(), LOGIN, "alice", "wrong")
    AccessAttempt.objects.update(attempt_time=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    response = sign_in(Client(), LOGIN, "alice", PASSWORD)

    assert response.status_code == 302


def test_a_few_mistakes_then_the_right_password_signs_in_and_resets_the_count(alice):
    client = Client()
    for _ in range(4):
        sign_in(client, LOGIN, "alice", "wrong")
    assert sign_in(client, LOGIN, "alice", PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        sign_in(client, LOGIN, "alice", "wrong")

    assert sign_in(client, LOGIN, "alice", PASSWORD).status_code == 302


# -- headers ------------------------------------------------------------------------------

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
    "base-uri": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.fixture
def pages(mirror: Mirror) -> dict[str, tuple[str, dict[str, str]]]:
    invoice = mirror.invoices["INV-A01"]
    account = mirror.accounts["muller"]
    return {
        "list": (reverse("invoices:invoice_list"), {}),
        "fragment": (reverse("invoices:invoice_list"), {"HTTP_HX_REQUEST": "true"}),
        "account": (reverse("invoices:account_detail", args=[account.pk]), {}),
        "status": (reverse("invoices:connection_sync_status", args=[mirror.alpha.pk]), {}),
        "csv": (reverse("invoices:invoice_export", args=["csv"]), {}),
        "xlsx": (reverse("invoices:invoice_export", args=["xlsx"]), {}),
        "link": (reverse("invoices:invoice_public_link", args=[invoice.pk]), {}),
        "missing": ("/no-such-page/", {}),
        "admin": (reverse("admin:index"), {}),
    }


@pytest.mark.parametrize(
    "name",
    ["list", "fragment", "account", "status", "csv", "xlsx", "link", "missing", "admin"],
)
def test_no_page_of_financial_data_is_kept_by_a_cache(as_root: Client, pages, name):
    url, headers = pages[name]

    response = as_root.get(url, **headers)

    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("name", ["list", "fragment", "account", "admin"])
def test_every_page_carries_a_strict_content_security_policy(as_root: Client, pages, name):
    url, headers = pages[name]

    response = as_root.get(url, **headers)

    assert policy(response).items() >= CSP.items()
    assert "unsafe" not in response["Content-Security-Policy"]


def test_the_login_page_is_not_cached_either(client: Client):
    response = client.get(LOGIN)

    assert response["Cache-Control"] == "private, no-store"
    assert "unsafe" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("url", [LOGIN, reverse("invoices:invoice_list")])
def test_no_page_has_inline_script_or_style(as_root: Client, url):
    html = as_root.get(url).content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # only scripts from files
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


# -- password reset -----------------------------------------------------------------------


def test_a_forgotten_password_can_be_reset_by_e_mail(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    assert "Forgot your password?" in client.get(LOGIN).content.decode()

    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    new = "a brand new passphrase 42"
    done = client.post(set_url, {"new_password1": new, "new_password2": new}, follow=True)
    assert "Your password has been set" in done.content.decode()
    assert sign_in(Client(), LOGIN, "alice", new).status_code == 302
    assert sign_in(Client(), LOGIN, "alice", PASSWORD).status_code == 200  # the old is gone


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        (None, "django.core.mail.backends.console.EmailBackend"),
        ("smtp+tls://u:p@mail.example.com:587", "django.core.mail.backends.smtp.EmailBackend"),
    ],
)
def test_mail_is_configured_from_the_environment(url, backend):
    """Development writes mail to the console (`make run` shows the reset link)."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "EMAIL_URL"}
    if url:
        env["EMAIL_URL"] = url
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_HOST)"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    assert shown.split()[-2] == backend
    if url:
        assert shown.split()[-1] == "mail.example.com"
