"""`manage.py add_connection acronis|hostway|masstack --name NAME ...`."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoices.providers import ProviderError
from invoices.services import ServiceError, connection_create


class Command(BaseCommand):
    help = "Add a provider connection (credentials are checked against the provider first)."
    stealth_options = ("stdin",)  # where a piped secret comes from (tests pass one)

    def add_arguments(self, parser: CommandParser) -> None:
        providers = parser.add_subparsers(
            dest="provider", required=True, title="provider", parser_class=CommandParser
        )

        def common(sub: CommandParser) -> None:
            sub.add_argument("--name", required=True)
            sub.add_argument("--payment-terms", type=int, default=30, help="days (overdue)")
            sub.add_argument("--sync-interval", type=int, default=None, help="minutes; 0 = never")
            sub.add_argument(
                "--no-check", action="store_true", help="save without contacting the provider"
            )

        acronis = providers.add_parser("acronis", help="Acronis Advanced Automation")
        common(acronis)
        acronis.add_argument("--base-url", required=True, help="data center URL")
        acronis.add_argument("--client-id", required=True)
        acronis.add_argument(
            "--client-secret",
            help=f"visible to other users in `ps` and kept in shell history: prefer "
            f"{SECRET_SOURCES['client_secret'][0]}, or the prompt",
        )
        acronis.add_argument("--currency", default="EUR")

        hostway = providers.add_parser("hostway", help="Hostway")
        common(hostway)
        hostway.add_argument("--base-url", required=True)
        hostway.add_argument("--username", required=True)
        hostway.add_argument(
            "--password",
            help=f"visible to other users in `ps` and kept in shell history: prefer "
            f"{SECRET_SOURCES['password'][0]}, or the prompt",
        )
        hostway.add_argument(
            "--account", action="append", default=[], help="repeat; all accounts when omitted"
        )
        hostway.add_argument(
            "--currency",
            default=None,
            help="for invoices that name no currency, on accounts that name none",
        )

        masstack = providers.add_parser("masstack", help="MasStack billing")
        common(masstack)
        masstack.add_argument("--billing-url", required=True)
        masstack.add_argument("--customers-url", required=True)
        masstack.add_argument("--token-url", required=True)
        masstack.add_argument("--service-account", required=True, type=Path, help="JSON file")
        masstack.add_argument("--org", required=True)
        masstack.add_argument("--account", action="append", required=True, help="repeat")
        masstack.add_argument(
            "--since",
            type=_date,
            default=None,
            help="oldest issue date to read, YYYY-MM-DD (default: ten years back)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        provider = options["provider"]
        stdin = options.get("stdin") or sys.stdin
        for name in SECRET_SOURCES:
            if name in options:
                options[name] = _secret(options[name], name, stdin)
        config, credentials = _settings_for(provider, options)
        fields: dict[str, Any] = {"payment_terms_days": options["payment_terms"]}
        if options["sync_interval"] is not None:
            fields["sync_interval_minutes"] = options["sync_interval"]
        try:
            connection = connection_create(
                provider=provider,
                name=options["name"],
                config=config,
                credentials=credentials,
                check=not options["no_check"],
                **fields,
            )
        except (ServiceError, ProviderError) as exc:
            raise CommandError(f"connection not added: {exc}") from None
        self.stdout.write(f"Added {provider} connection '{connection.name}' (id {connection.pk}).")


# The secret options: where else they may come from, and how the prompt asks for them.
SECRET_SOURCES = {
    "client_secret": ("ACRONIS_CLIENT_SECRET", "Acronis client secret: "),
    "password": ("HOSTWAY_PASSWORD", "Hostway password: "),
}


def _secret(given: str | None, name: str, stdin: TextIO) -> str:
    """The option's value, else its environment variable, else a prompt (a terminal) or
    the first line of standard input (a pipe): never on the command line by necessity."""
    variable, prompt = SECRET_SOURCES[name]
    if given:
        return given
    if os.environ.get(variable):
        return os.environ[variable]
    value = getpass.getpass(prompt) if stdin.isatty() else stdin.readline().rstrip("\r\n")
    if not value:
        flag = "--" + name.replace("_", "-")
        raise CommandError(
            f"no {prompt.rstrip(': ').lower()} given: set {variable}, type it when asked, "
            f"pipe it on standard input, or pass {flag}"
        )
    return value


def _settings_for(provider: str, options: dict[str, Any]) -> tuple[dict, dict]:
    """Split the options into the connection's plain config and its secret credentials."""
    if provider == "acronis":
        return (
            {"base_url": options["base_url"], "currency": options["currency"].upper()},
            {"client_id": options["client_id"], "client_secret": options["client_secret"]},
        )
    if provider == "hostway":
        config = {"base_url": options["base_url"], "accounts": options["account"]}
        if options["currency"]:
            config["currency"] = options["currency"].upper()
        return config, {"username": options["username"], "password": options["password"]}
    path: Path = options["service_account"]
    try:
        service_account = json.loads(path.read_text())
    except OSError as exc:
        raise CommandError(f"cannot read the service account file {path}: {exc.strerror}") from None
    except ValueError:
        raise CommandError(f"the service account file {path} is not valid JSON") from None
    if not isinstance(service_account, dict):
        raise CommandError(f"the service account file {path} is not a JSON object")
    config = {
        "billing_url": options["billing_url"],
        "customers_url": options["customers_url"],
        "token_url": options["token_url"],
        "org": options["org"],
        "accounts": options["account"],
    }
    if options["since"] is not None:
        config["since"] = options["since"].isoformat()
    return config, {"service_account": service_account}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2016-01-31") from None
