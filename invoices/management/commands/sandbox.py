"""`manage.py sandbox --port 8001`: serve the vendor stand-ins (threaded)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from invoices.sandbox import SandboxApp, SandboxConfig, SandboxServer


class Command(BaseCommand):
    help = "Serve stand-ins for the Acronis, Hostway and MasStack APIs with generated data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--seed", type=int, default=SandboxConfig.seed)
        parser.add_argument(
            "--acronis-invoices",
            type=int,
            default=None,
            help="generate exactly this many Acronis invoices (default: ~1,000)",
        )
        parser.add_argument(
            "--token-ttl", type=float, default=SandboxConfig.token_ttl, help="seconds"
        )
        parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
        parser.add_argument(
            "--fail-rate", type=float, default=0.0, help="share of calls answered --fail-status"
        )
        parser.add_argument("--fail-status", type=int, default=503)

    def handle(self, *args: Any, **options: Any) -> None:
        config = SandboxConfig(
            seed=options["seed"],
            token_ttl=options["token_ttl"],
            acronis_invoices=options["acronis_invoices"],
        )
        app = SandboxApp(config)
        if options["latency"]:
            app.faults.add("latency", delay=options["latency"])
        if options["fail_rate"]:
            app.faults.add("status", status=options["fail_status"], rate=options["fail_rate"])
        server = SandboxServer(app, options["host"], options["port"])
        self.stdout.write(f"Sandbox APIs on {server.url} (seed {config.seed}); Ctrl-C stops.")
        self.stdout.write(
            f"  Acronis  {server.url}  client {config.acronis_client_id}\n"
            f"  Hostway  {server.url}  user {config.hostway_username}\n"
            f"  MasStack {server.url}/v1/  {server.url}/v2/  org {config.masstack_org}"
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
