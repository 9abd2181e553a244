"""The `open311` command; each group lives in a module of its own, imported when one of its commands runs."""

from __future__ import annotations

import click

from open311.cli.lazy import LazyGroup

# The command groups kept in modules of their own, imported only when one of their commands runs.
LAZY = {
    "serve": "open311.cli.serve:serve",
    "check-config": "open311.cli.check:check_config",
    "db": "open311.cli.check:db",
    "keys": "open311.cli.keys:keys",
    "relay": "open311.cli.delivery:relay",
    "sync": "open311.cli.delivery:sync",
    "sla": "open311.cli.sla:sla",
    "outbox": "open311.cli.delivery:outbox",
    "areas": "open311.cli.areas:areas",
    "purge": "open311.cli.admin:purge",
    "requests": "open311.cli.admin:requests_group",
    "staff": "open311.cli.staff:staff",
    "audit": "open311.cli.staff:audit_command",
    "notices": "open311.cli.notices:notices",
    "export": "open311.cli.export:export",
    "sandbox": "open311.cli.sandbox:sandbox",
}


@click.group(cls=LazyGroup, lazy=LAZY)
def main() -> None:
    """Open311 GeoReport v2 gateway."""


