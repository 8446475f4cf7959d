"""Credentials at rest and key rotation (`CREDENTIALS_KEYS`: the first key encrypts,
every key decrypts)."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as db

from invoices.models import Connection

SECRETS = {"client_id": "rotating-id", "client_secret": "rotating-secret-Zx81"}
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
KEY_C = Fernet.generate_key().decode()

pytestmark = pytest.mark.django_db


def stored(pk: int) -> str:
    """The credentials column as the database holds it."""
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM invoices_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def decrypt_with(key: str, token: str) -> dict:
    return json.loads(Fernet(key.encode()).decrypt(token.encode()))


@pytest.fixture
def saved_under_a(settings) -> Connection:
    settings.CREDENTIALS_KEYS = [KEY_A]
    return Connection.objects.create(provider="acronis", name="Rotated", credentials=SECRETS)


def test_credentials_are_stored_encrypted_with_the_first_key(saved_under_a):
    token = stored(saved_under_a.pk)

    assert "rotating-secret" not in token
    assert decrypt_with(KEY_A, token) == SECRETS


def test_after_rotation_credentials_saved_under_the_old_key_still_read(saved_under_a, settings):
    settings.CREDENTIALS_KEYS = [KEY_B, KEY_A]

    assert Connection.objects.get(pk=saved_under_a.pk).credentials == SECRETS


def test_after_rotation_a_save_encrypts_with_the_new_key(saved_under_a, settings):
    settings.CREDENTIALS_KEYS = [KEY_B, KEY_A]
    connection = Connection.objects.get(pk=saved_under_a.pk)

    connection.save()

    token = stored(connection.pk)
    assert decrypt_with(KEY_B, token) == SECRETS
    with pytest.raises(InvalidToken):
        decrypt_with(KEY_A, token)


def test_once_re_saved_the_old_key_can_be_dropped(saved_under_a, settings):
    settings.CREDENTIALS_KEYS = [KEY_B, KEY_A]
    Connection.objects.get(pk=saved_under_a.pk).save()

    settings.CREDENTIALS_KEYS = [KEY_B]

    assert Connection.objects.get(pk=saved_under_a.pk).credentials == SECRETS


def test_the_old_key_may_sit_anywhere_in_the_list(saved_under_a, settings):
    settings.CREDENTIALS_KEYS = [KEY_B, KEY_C, KEY_A]

    assert Connection.objects.get(pk=saved_under_a.pk).credentials == SECRETS


def test_without_the_key_it_was_saved_under_reading_fails_clearly(saved_under_a, settings):
    settings.CREDENTIALS_KEYS = [KEY_B, KEY_C]

    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        Connection.objects.get(pk=saved_under_a.pk)


def test_an_invalid_key_is_a_configuration_error(saved_under_a, settings):
    settings.CREDENTIALS_KEYS = ["not-a-fernet-key", KEY_A]

    with pytest.raises(ImproperlyConfigured, match="invalid Fernet key"):
        Connection.objects.get(pk=saved_under_a.pk)
