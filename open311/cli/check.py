"""The `open311 check-config` and `open311 db upgrade` commands."""

from __future__ import annotations

from collections import Counter

import click
import requests

from open311.catalog.definitions import Catalog
from open311.cli.startup import services_for
from open311.config.jurisdictions import load_config
from open311.errors import ConfigError
from open311.gis.areas import build_geo
from open311.storage.schema import current_revision, upgrade


def _problems(exc: ConfigError) -> SystemExit:
    """Print every problem of a configuration and the exit to raise."""
    for problem in exc.problems:
        click.echo(problem, err=True)
    click.echo(f"{len(exc.problems)} problem(s) found.", err=True)
    return SystemExit(1)


@click.command("check-config")
@click.option("--config", "path", envvar="OPEN311_CONFIG", default="jurisdictions.yaml", show_default=True)
def check_config(path: str) -> None:
    """Validate jurisdictions.yaml, every service definition and the GIS layers; list every problem."""
    try:
        config = load_config(path)
        geo = build_geo(config, requests.Session())
    except ConfigError as exc:
        raise _problems(exc) from None
    for jur in config.jurisdictions.values():
        counts = Counter(s.department for s in jur.catalog.services.values())
        per_department = ", ".join(f"{code} {counts[code]}" for code in jur.departments)
        found = geo.get(jur.id)
        layers = f"; {found.summary()}" if found else ""
        click.echo(f"{jur.id}: {len(jur.departments)} departments, {len(jur.catalog.services)} services "
                   f"({per_department}){layers}")
        _report_languages(jur.id, jur.catalog)
    click.echo("configuration OK")


def _report_languages(jid: str, catalog: Catalog) -> None:
    """The catalog's languages, and each text still served in English for want of a translation."""
    for gap in catalog.untranslated:
        click.echo(f"warning: {gap}", err=True)
    untranslated = f" ({len(catalog.untranslated)} texts not translated yet)" if catalog.untranslated else ""
    click.echo(f"{jid}: catalog languages {', '.join(catalog.locales)}{untranslated}")


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    engine = services_for().engine
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}: "
               f"{engine.url.render_as_string(hide_password=True)}")


