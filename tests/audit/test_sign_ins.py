"""Sign-ins, failed sign-ins and lock-outs: one entry per attempt, with the username
tried and the address, never the password."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from invoices.models import AuditAction, AuditEntry, AuditOutcome

PASSWORD = "correct-horse-battery-staple-7"
WRONG = "tr0ub4dor-and-3-wrong"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


def _sign_in(username: str, password: str, address: str = "10.1.2.3"):
    return Client(REMOTE_ADDR=address).post(
        reverse("login"), {"username": username, "password": password}
    )


def _all_text() -> str:
    return " ".join(
        f"{e.username} {e.target} {e.message} {e.detail}" for e in AuditEntry.objects.all()
    )


def test_a_sign_in_is_one_entry_with_who_and_where(alice):
    response = _sign_in("alice", PASSWORD)

    assert response.status_code == 302
    (entry,) = AuditEntry.objects.all()
    assert (entry.action, entry.outcome) == (AuditAction.LOGIN, AuditOutcome.OK)
    assert (entry.user, entry.username, entry.ip_address) == (alice, "alice", "10.1.2.3")
    assert PASSWORD not in _all_text()


def test_a_failed_sign_in_names_the_username_tried_never_the_password(alice):
    _sign_in("alice", WRONG)
    _sign_in("nobody-here", WRONG)

    first, second = AuditEntry.objects.order_by("pk")
    assert {first.action, second.action} == {AuditAction.LOGIN_FAILED}
    assert (first.username, first.user, first.ip_address) == ("alice", None, "10.1.2.3")
    assert second.username == "nobody-here" and first.outcome == AuditOutcome.FAILED
    assert WRONG not in _all_text()


def test_a_lock_out_is_a_failed_sign_in_saying_so_once_per_attempt(alice, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit + 1):  # the last one reaching the limit, then one while locked
        _sign_in("alice", WRONG)

    attempts = list(AuditEntry.objects.order_by("pk"))
    assert len(attempts) == limit + 1
    assert all(e.action == AuditAction.LOGIN_FAILED for e in attempts)
    assert ["Locked out" in e.message for e in attempts] == [False] * (limit - 1) + [True, True]
    assert WRONG not in _all_text()


def test_a_locked_out_user_with_the_right_password_is_still_a_failed_sign_in(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in("alice", WRONG)

    _sign_in("alice", PASSWORD)

    last = AuditEntry.objects.order_by("pk").last()
    assert last.action == AuditAction.LOGIN_FAILED and "Locked out" in last.message
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()
    assert PASSWORD not in _all_text()
