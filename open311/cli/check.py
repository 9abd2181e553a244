"""The `open311 check-config` and `open311 db upgrade` commands."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
import requests

from open311.catalog.definitions import Catalog
from open311.cli.startup import services_for
from open311.config.jurisdictions import GatewayConfig, load_config
from open311.errors import ConfigError
from open311.gis.areas import ServiceAreas, build_geo
from open311.storage.db import has_tables
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
        synced = any(j.gis is not None and j.gis.synced() for j in config.jurisdictions.values())
        geo = _live_geo(config) if synced else build_geo(config, requests.Session())
    except ConfigError as exc:
        raise _problems(exc) from None
    for jur in config.jurisdictions.values():
        counts = Counter(s.department for s in jur.catalog.services.values())
        per_department = ", ".join(f"{code} {counts[code]}" for code in jur.departments)
        found = geo.get(jur.sandbox_of or jur.id)
        layers = f"; {found.summary()}" if found else ""
        click.echo(f"{jur.id}: {len(jur.departments)} departments, {len(jur.catalog.services)} services "
                   f"({per_department}){layers}")
        _report_languages(jur.id, jur.catalog)
    click.echo("configuration OK")


def _live_geo(config: GatewayConfig) -> dict[str, ServiceAreas]:
    """The areas with each synced layer at its live version, read from the database as the workers read it."""
    from open311.gis.live import LiveAreas

    gateway = services_for()
    if not has_tables(gateway.engine):
        raise ConfigError(["Layers with arcgis: are read from the database, which has no tables yet: run "
                           "`open311 db upgrade`, then `open311 areas sync` and `open311 areas approve`."])
    folder = gateway.settings.get("OPEN311_AREAS_DIR") or gateway.instance_path / "areas"
    live = LiveAreas(config, requests.Session(), gateway.sessions, Path(folder), 0.0)
    built = live.build()
    for jurisdiction in live.synced:
        for layer, version in live.live_keys().get(jurisdiction.id, ()):
            click.echo(f"{jurisdiction.id}: {layer} synced from ArcGIS REST, live version {version}")
    return built


def _report_languages(jid: str, catalog: Catalog) -> None:
    """The catalog's languages, and each text still served in English for want of a translation."""
    for gap in catalog.untranslated:
        click.echo(f"warning: {gap}", err=True)
    untranslated = f" ({len(catalog.untranslated)} texts not translated yet)" if catalog.untranslated else ""
    click.echo(f"{jid}: catalog languages {', '.join(catalog.locales)}{untranslated}")
    for locale, statuses in sorted(catalog.statuses.items()):   # what translators have left to review
        counts = Counter(statuses.values())
        click.echo(f"{jid}: {locale}: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("reviewed", "machine",
                                                                                         "missing")))


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


