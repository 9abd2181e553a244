"""How a command gets its services: through open311.bootstrap, with only the parts it needs, and a clean
exit (the problems listed, exit 2) when the configuration is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from open311.bootstrap import bootstrap
from open311.errors import ConfigError
from open311.services import Services
from open311.storage.db import has_tables

if TYPE_CHECKING:  # the configuration's modules load YAML: `keys list` must not pay for them
    from open311.config.jurisdictions import GatewayConfig, Jurisdiction


@contextmanager
def clean_exit() -> Iterator[None]:
    """Turn a configuration or settings problem raised at start-up into its messages and exit 2."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(2) from None
    except (LookupError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def services_for(*parts: str, tables: bool = False) -> Services:
    """The services with `parts` built now (each closes with the command); with `tables`, check the schema."""
    with clean_exit():
        services = bootstrap(parts=parts)
    click.get_current_context().call_on_close(services.dispose)
    if tables and not has_tables(services.engine):
        click.echo("error: the database has no tables yet; run `open311 db upgrade` first.", err=True)
        raise SystemExit(2)
    return services


def pick_jurisdiction(config: GatewayConfig, jurisdiction_id: str | None) -> Jurisdiction:
    """--jurisdiction, optional when only one is configured."""
    if jurisdiction_id is None and config.single is not None:
        return config.single
    found = config.jurisdictions.get(jurisdiction_id or "")
    if found is None:
        raise click.BadParameter(f"choose one of: {', '.join(config.jurisdictions)}", param_hint="--jurisdiction")
    return found
