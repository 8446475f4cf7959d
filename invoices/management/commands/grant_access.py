"""`manage.py grant_access --user U --connection NAME --role finance|partner-admin`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoices.models import Role
from invoices.services import ServiceError, access_grant


class Command(BaseCommand):
    help = "Let a user see a connection, as finance staff or as partner admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)
        parser.add_argument("--connection", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            access = access_grant(
                username=options["user"],
                connection_name=options["connection"],
                role=options["role"],
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{access.user} is now {access.get_role_display().lower()} on '{access.connection}'."
        )
