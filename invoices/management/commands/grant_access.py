"""`manage.py grant_access --user U --connection NAME --role finance|partner-admin`.

The same service as the team page (`access_grant`), acting as an administrator: the
user is found by username or e-mail address, and a connection keeps its last partner
admin."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from invoices.models import Connection, Role
from invoices.services import ServiceError, access_grant


class Command(BaseCommand):
    help = "Let a user see a connection, as finance staff or as partner admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)
        parser.add_argument("--connection", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = Connection.objects.filter(name=options["connection"]).first()
        if connection is None:
            raise CommandError(
                _("no connection named '%(name)s'") % {"name": options["connection"]}
            )
        try:
            change = access_grant(
                by=None, connection=connection, user=options["user"], role=options["role"]
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        access = change.access
        self.stdout.write(
            f"{access.user} is now {access.get_role_display().lower()} on '{access.connection}'."
        )
