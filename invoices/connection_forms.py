"""The connection forms, one set per provider: add, edit settings, change credentials.

Secrets are write-only: their inputs never render a value (not the stored one, not the
one just typed when the form comes back with an error), and a file input carries the
MasStack service account. The keys match `services.CONFIG_KEYS` / `SECRET_KEYS` and the
options of `manage.py add_connection`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_SERVICE_ACCOUNT_BYTES = 64_000


class WriteOnlyTextInput(forms.TextInput):
    """A text input that never renders a value (an id that is kept with the secrets)."""

    def format_value(self, value: Any) -> None:
        return None


def _secret(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=500,
        strip=False,
        # Django's own message says how long the value is: not for a secret.
        error_messages={"max_length": _("This is too long for a credential.")},
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


def _identifier(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=500,
        error_messages={"max_length": _("This is too long for a credential.")},
        widget=WriteOnlyTextInput(attrs={"autocomplete": "off"}),
    )


def _url(label: str, help_text: str = "") -> forms.URLField:
    return forms.URLField(label=label, help_text=help_text, max_length=500, assume_scheme="https")


def _currency(*, required: bool, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=_("Default currency"),
        help_text=help_text,
        required=required,
        min_length=3,
        max_length=3,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )


def _accounts(*, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=_("Accounts"),
        help_text=help_text,
        required=required,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


URL_FIELDS = ("base_url", "billing_url", "customers_url", "token_url")
SECRET_FIELDS = ("client_id", "client_secret", "username", "password", "service_account")
FIELD_ORDER = [
    "name", *URL_FIELDS, "org", "accounts", "currency", "since", *SECRET_FIELDS,
    "payment_terms_days", "sync_interval_minutes", "paused",
]  # fmt: skip


def account_list(text: str) -> list[str]:
    """Account ids, one per line or separated by commas, each once, in order."""
    return list(dict.fromkeys(part.strip() for part in re.split(r"[\n,]", text) if part.strip()))


class _Settings(forms.Form):
    """What every provider's settings have: a name, payment terms, a sync interval."""

    field_order = FIELD_ORDER

    name = forms.CharField(label=_("Name"), max_length=100)
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"),
        min_value=0,
        max_value=3650,
        initial=30,
        help_text=_("Days after the issue date an unpaid invoice becomes overdue."),
    )
    sync_interval_minutes = forms.IntegerField(
        label=_("Sync interval (minutes)"),
        min_value=0,
        max_value=7 * 24 * 60,
        initial=60,
        help_text=_("Sync at least this often; 0: never on a schedule."),
    )

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if currency and not currency.isalpha():
            raise forms.ValidationError(_("Enter a currency as three letters, like EUR."))
        return currency

    def config(self) -> dict[str, Any]:
        """The provider's plain settings from the cleaned data."""
        raise NotImplementedError


class _AcronisSettings(_Settings):
    base_url = _url(_("Data center URL"), _("For example https://eu2-cloud.acronis.com"))
    currency = _currency(required=True, help_text=_("For invoices that name no currency."))

    def config(self) -> dict[str, Any]:
        return {
            "base_url": self.cleaned_data["base_url"],
            "currency": self.cleaned_data["currency"],
        }


class _HostwaySettings(_Settings):
    base_url = _url(_("API URL"), _("For example https://api.hostway.com"))
    accounts = _accounts(
        required=False,
        help_text=_("Account numbers, one per line. Empty: every account of the login."),
    )
    currency = _currency(
        required=False,
        help_text=_("Optional: for invoices that name no currency, on accounts that name none."),
    )

    def config(self) -> dict[str, Any]:
        config = {
            "base_url": self.cleaned_data["base_url"],
            "accounts": account_list(self.cleaned_data["accounts"]),
        }
        if self.cleaned_data["currency"]:
            config["currency"] = self.cleaned_data["currency"]
        return config


class _MasStackSettings(_Settings):
    billing_url = _url(_("Billing API URL"), _("For example https://billing.masstack.com/v1/"))
    customers_url = _url(
        _("Customers API URL"), _("For example https://customers.masstack.com/v2/")
    )
    token_url = _url(_("Token URL"))
    org = forms.CharField(label=_("Organisation"), max_length=200)
    accounts = _accounts(required=True, help_text=_("Account ids, one per line."))
    since = forms.DateField(
        label=_("Read invoices issued from"),
        required=False,
        help_text=_("The oldest issue date a sync asks for. Empty: ten years back."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        config = {
            "billing_url": data["billing_url"],
            "customers_url": data["customers_url"],
            "token_url": data["token_url"],
            "org": data["org"].strip(),
            "accounts": account_list(data["accounts"]),
        }
        if data["since"] is not None:
            config["since"] = data["since"].isoformat()
        return config

    def clean_accounts(self) -> str:
        text = self.cleaned_data["accounts"]
        if not account_list(text):
            raise forms.ValidationError(_("Enter at least one account id."))
        return text


# -- credentials -------------------------------------------------------------------


class _AcronisSecrets(forms.Form):
    client_id = _identifier(_("Client id"))
    client_secret = _secret(_("Client secret"))


class _HostwaySecrets(forms.Form):
    username = _identifier(_("Username"))
    password = _secret(_("Password"))


class _MasStackSecrets(forms.Form):
    service_account = forms.FileField(
        label=_("Service account file (JSON)"),
        help_text=_("The key file MasStack gave for this service account."),
        widget=forms.FileInput(attrs={"accept": "application/json,.json"}),
    )

    def clean_service_account(self) -> dict[str, Any] | None:
        upload = self.cleaned_data.get("service_account")
        if not upload:
            return None
        if upload.size > MAX_SERVICE_ACCOUNT_BYTES:
            raise forms.ValidationError(_("This file is too large for a service account file."))
        try:
            info = json.loads(upload.read())
        except (ValueError, UnicodeDecodeError):
            # Never the parser's message: it may quote the key.
            raise forms.ValidationError(_("Choose a JSON file: this one is not JSON.")) from None
        if not isinstance(info, dict) or not info.get("private_key"):
            raise forms.ValidationError(
                _("Choose a service account file: this JSON has no private key.")
            )
        return info


class _SecretsMixin:
    """The secrets of a form: only what was typed (an empty field keeps the stored value)."""

    secret_names: tuple[str, ...] = ()

    def credentials(self) -> dict[str, Any]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        return {name: data[name] for name in self.secret_names if data.get(name)}


def _optional(form: forms.Form, names: tuple[str, ...]) -> None:
    for name in names:
        field = form.fields[name]
        field.required = False
        field.help_text = _("Leave empty to keep the stored value.")


PROVIDERS: dict[str, tuple[type[_Settings], type[forms.Form]]] = {
    "acronis": (_AcronisSettings, _AcronisSecrets),
    "hostway": (_HostwaySettings, _HostwaySecrets),
    "masstack": (_MasStackSettings, _MasStackSecrets),
}


def add_form_class(provider: str) -> type[forms.Form]:
    """Settings and credentials in one form: adding a connection."""
    settings, secrets = PROVIDERS[provider]
    return type(
        f"{provider.title()}AddForm",
        (_SecretsMixin, settings, secrets),
        {"secret_names": tuple(secrets.base_fields)},
    )


def settings_form(provider: str, *args: Any, **kwargs: Any) -> _Settings:
    """The plain settings of a connection, with "paused"."""
    settings, _secrets = PROVIDERS[provider]
    form_class = type(
        f"{provider.title()}SettingsForm",
        (settings,),
        {
            "paused": forms.BooleanField(
                label=_("Paused"),
                required=False,
                help_text=_("No scheduled syncs; a partner admin can still sync by hand."),
            )
        },
    )
    return form_class(*args, **kwargs)


def settings_initial(connection: Any) -> dict[str, Any]:
    config = connection.config or {}
    initial = {
        "name": connection.name,
        "payment_terms_days": connection.payment_terms_days,
        "sync_interval_minutes": connection.sync_interval_minutes,
        "paused": connection.paused,
        **{k: v for k, v in config.items() if k in (*URL_FIELDS, "currency", "org")},
    }
    if "accounts" in config:
        initial["accounts"] = "\n".join(str(a) for a in config.get("accounts") or [])
    if config.get("since"):
        initial["since"] = dt.date.fromisoformat(str(config["since"])[:10])
    return initial


class _AddressesMixin:
    """The addresses the credentials go to (on the credentials form)."""

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        return {name: data[name] for name in URL_FIELDS if name in data}


def credentials_form(provider: str, *args: Any, **kwargs: Any) -> forms.Form:
    """New credentials (every field optional: empty keeps the stored value) and the
    addresses they are sent to."""
    settings, secrets = PROVIDERS[provider]
    urls = {name: settings.base_fields[name] for name in URL_FIELDS if name in settings.base_fields}
    form_class = type(
        f"{provider.title()}CredentialsForm",
        (_AddressesMixin, _SecretsMixin, secrets),
        {"secret_names": tuple(secrets.base_fields), "field_order": FIELD_ORDER, **urls},
    )
    form = form_class(*args, **kwargs)
    _optional(form, form.secret_names)
    return form


def addresses_initial(connection: Any) -> dict[str, Any]:
    config = connection.config or {}
    return {k: v for k, v in config.items() if k in URL_FIELDS}
