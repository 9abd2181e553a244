"""The `open311` command: serve, check-config, db, keys, areas, purge, requests; relay, sync and outbox
come from delivery_cli."""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import requests
from flask import Flask

from . import create_app
from .config import GatewayConfig, Jurisdiction, load_config
from .dates import format_w3c
from .delivery_cli import register
from .errors import ConfigError
from .gateway import Gateway
from .keys import create_key, list_keys, revoke_key
from .moderation import hide_request, unhide_request
from .retention import purge_personal_data
from .schema import current_revision, has_tables, upgrade


def _app(**overrides: Any) -> Flask:
    """Build the app, turning configuration problems into a clean exit."""
    try:
        return create_app(overrides or None)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(2) from None
    except (LookupError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def _gateway(app: Flask) -> Gateway:
    gateway: Gateway = app.extensions["open311"]
    return gateway


@click.group()
def main() -> None:
    """Open311 GeoReport v2 gateway."""


@main.command("check-config")
@click.option("--config", "path", envvar="OPEN311_CONFIG", default="jurisdictions.yaml", show_default=True)
def check_config(path: str) -> None:
    """Validate jurisdictions.yaml and every service definition; list every problem."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} problem(s) found.", err=True)
        raise SystemExit(1) from None
    from .geo import build_geo

    try:
        geo = build_geo(config, requests.Session())
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} problem(s) found.", err=True)
        raise SystemExit(1) from None
    for jur in config.jurisdictions.values():
        counts = Counter(s.department for s in jur.catalog.services.values())
        per_department = ", ".join(f"{code} {counts[code]}" for code in jur.departments)
        areas = geo.get(jur.id)
        layers = f"; {areas.summary()}" if areas else ""
        click.echo(f"{jur.id}: {len(jur.departments)} departments, {len(jur.catalog.services)} services "
                   f"({per_department}){layers}")
    click.echo("configuration OK")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    engine = _gateway(_app()).engine
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}: "
               f"{engine.url.render_as_string(hide_password=True)}")


@main.group()
def keys() -> None:
    """API keys for POSTing service requests."""


@keys.command("create")
@click.option("--jurisdiction", "jurisdiction_id", required=True)
@click.option("--name", required=True, help="Who the key is for (an app or an organisation).")
@click.option("--department", default=None,
              help="Make a department's key: it only POSTs servicerequestupdates for that department.")
def keys_create(jurisdiction_id: str, name: str, department: str | None) -> None:
    """Create a key; the key itself is printed alone on the last line (it is not stored)."""
    gateway = _gateway(_app())
    jurisdiction = gateway.config.jurisdictions.get(jurisdiction_id)
    if jurisdiction is None:
        raise click.BadParameter(f"unknown jurisdiction {jurisdiction_id!r}", param_hint="--jurisdiction")
    if department is not None and department not in jurisdiction.departments:
        known = ", ".join(jurisdiction.departments)
        raise click.BadParameter(f"unknown department {department!r} (known: {known})", param_hint="--department")
    with gateway.session() as session:
        row, plaintext = create_key(session, jurisdiction_id, name, gateway.clock(), department)
    kind = f"department {department} key" if department else "key"
    click.echo(f"created {kind} {row.id} ({row.prefix}...) for {name!r} in {jurisdiction_id}; store it now:")
    click.echo(plaintext)


@keys.command("list")
@click.option("--jurisdiction", "jurisdiction_id", default=None)
def keys_list(jurisdiction_id: str | None) -> None:
    """List keys (never the keys themselves)."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        rows = list_keys(session, jurisdiction_id)
    click.echo("id\tprefix\tjurisdiction\tdepartment\tname\tcreated\trevoked")
    for r in rows:
        click.echo(f"{r.id}\t{r.prefix}\t{r.jurisdiction_id}\t{r.department or '-'}\t{r.name}\t"
                   f"{format_w3c(r.created_at)}\t{format_w3c(r.revoked_at) or '-'}")


@keys.command("revoke")
@click.argument("ident")
def keys_revoke(ident: str) -> None:
    """Revoke a key by id or prefix; it stops working at once."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        row = revoke_key(session, ident, gateway.clock())
    if row is None:
        click.echo(f"no key {ident!r}", err=True)
        raise SystemExit(1)
    click.echo(f"revoked key {row.id} ({row.prefix}...) at {format_w3c(row.revoked_at)}")


@main.group()
def areas() -> None:
    """GIS service areas: import official layers, look up a point."""


@areas.command("import")
@click.argument("layer")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jurisdiction", "jurisdiction_id", default=None, help="Needed when several are configured.")
@click.option("--source-layer", default=None, help="Layer inside a multi-layer file (GeoPackage ...).")
@click.option("--where", default=None, help="OGR SQL filter on the source, e.g. \"TYPE = 'LA County'\".")
@click.option("--dissolve", default=None, help="Merge features that share this property (e.g. city_name).")
@click.option("--simplify", "simplify_m", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Simplify outlines with this tolerance in metres.")
@click.option("--keep", default="", help="Comma-separated properties to keep (default: those the config reads).")
@click.option("--no-check", is_flag=True, help="Install without first building the areas with the new file.")
def areas_import(layer: str, source: Path, jurisdiction_id: str | None, source_layer: str | None,
                 where: str | None, dissolve: str | None, simplify_m: float | None, keep: str, no_check: bool) -> None:
    """Load an official file (any format and CRS geopandas reads) into a configured LAYER:
    boundary, places, facilities or district:NAME. The file is reprojected to WGS84, trimmed to the
    properties the configuration reads, checked, and written as GeoJSON to the layer's configured path."""
    from .importing import ImportOptions, import_layer
    from .layers import LayerError

    config = _config()
    jurisdiction = _pick_jurisdiction(config, jurisdiction_id)
    options = ImportOptions(source_layer=source_layer, where=where, dissolve=dissolve, simplify_m=simplify_m,
                            keep=[k.strip() for k in keep.split(",") if k.strip()], check=not no_check)
    try:
        report = import_layer(config, jurisdiction, layer, source, options)
    except LayerError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except ConfigError as exc:
        click.echo("not installed: the areas do not build with the new file:", err=True)
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    click.echo(f"imported {report.features} features from {source} ({report.source_crs}) into {report.target} "
               f"({report.size} bytes, WGS84, bounds {report.bounds})")


@areas.command("locate")
@click.option("--lat", type=float, required=True)
@click.option("--long", "long_", type=float, required=True)
@click.option("--jurisdiction", "jurisdiction_id", default=None)
def areas_locate(lat: float, long_: float, jurisdiction_id: str | None) -> None:
    """Show where a point is and which services are offered there."""
    from .geo import build_service_areas

    config = _config()
    jurisdiction = _pick_jurisdiction(config, jurisdiction_id)
    if jurisdiction.gis is None:
        raise click.ClickException(f"jurisdiction {jurisdiction.id!r} has no gis: section.")
    try:
        found = build_service_areas(jurisdiction, requests.Session())
    except ConfigError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    location = found.locate(lat, long_)
    if not location.in_county:
        click.echo(f"outside {jurisdiction.name}")
        return
    click.echo(f"{location.describe()}: {', '.join(p.name for p in location.places) or 'no place polygon'}")
    for service in found.services_at(location):
        click.echo(f"  {service.service_code}\t{service.service_name}")


def _config() -> GatewayConfig:
    """The configuration named by OPEN311_CONFIG, or a clean exit listing its problems."""
    try:
        return load_config(os.environ.get("OPEN311_CONFIG") or "jurisdictions.yaml")
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(2) from None


def _pick_jurisdiction(config: GatewayConfig, jurisdiction_id: str | None) -> Jurisdiction:
    """--jurisdiction, optional when only one is configured."""
    if jurisdiction_id is None and config.single is not None:
        return config.single
    found = config.jurisdictions.get(jurisdiction_id or "")
    if found is None:
        raise click.BadParameter(f"choose one of: {', '.join(config.jurisdictions)}", param_hint="--jurisdiction")
    return found


@main.command("purge")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Retention in days after closing (default: OPEN311_CONTACT_RETENTION_DAYS, 180).")
def purge(dry_run: bool, days: int | None) -> None:
    """Delete personal data of requests closed longer ago than the retention period (the record stays)."""
    app = _app()
    gateway = _gateway(app)
    retention = timedelta(days=app.config["OPEN311_CONTACT_RETENTION_DAYS"] if days is None else days)
    with gateway.session() as session:
        report = purge_personal_data(session, gateway.clock(), retention, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} personal data of {len(report.request_ids)} request(s) closed before "
               f"{format_w3c(report.cutoff)}; {verb} {report.expired_keys} expired submission key(s)")
    if report.request_ids:
        click.echo("requests: " + ", ".join(str(i) for i in report.request_ids[:50])
                   + (" ..." if len(report.request_ids) > 50 else ""))


@main.group("requests")
def requests_group() -> None:
    """Moderate service requests."""


def _request_id(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise click.BadParameter(f"{value[:30]!r} is not a service_request_id", param_hint="ID")
    return int(value)


@requests_group.command("hide")
@click.argument("ident", metavar="ID")
@click.option("--reason", required=True, help="Why (kept with the request, never published).")
def requests_hide(ident: str, reason: str) -> None:
    """Hide a request's description and media_url from every output; the record and its text are kept."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        row = hide_request(session, _request_id(ident), reason, gateway.clock())
    if row is None:
        click.echo(f"no request {ident}", err=True)
        raise SystemExit(1)
    click.echo(f"request {row.id} hidden at {format_w3c(row.hidden_at)}")


@requests_group.command("unhide")
@click.argument("ident", metavar="ID")
def requests_unhide(ident: str) -> None:
    """Publish a hidden request's text again."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        row = unhide_request(session, _request_id(ident), gateway.clock())
    if row is None:
        click.echo(f"no request {ident}", err=True)
        raise SystemExit(1)
    click.echo(f"request {row.id} is public again")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option("--in-process-workers/--no-in-process-workers", "in_process", default=None,
              help="Run the relay and the sync inside the server. Default: on with SQLite, off otherwise "
                   "(run `open311 relay` and `open311 sync` as their own processes).")
def serve(host: str, port: int, workers: int, threads: int, in_process: bool | None) -> None:
    """Run the HTTP server (gunicorn)."""
    from .server import run

    app = _app()
    url = _gateway(app).engine.url
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and workers > 1:
        click.echo("SQLite runs with a single worker process; use PostgreSQL to scale out.", err=True)
        workers = 1
    if in_process is None:
        in_process = sqlite
    if in_process:
        if not has_tables(_gateway(app).engine):
            click.echo("error: the database has no tables yet; run `open311 db upgrade` first.", err=True)
            raise SystemExit(2)
        _gateway(app).engine.dispose()  # no connection opened here may cross gunicorn's fork
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if in_process and workers > 1:
        click.echo("In-process relay and sync need --workers 1; run `open311 relay` and `open311 sync` instead.",
                   err=True)
        raise SystemExit(2)
    click.echo(f"serving on http://{host}:{port}/open311/v2/ (docs at /docs)"
               + ("; relay and sync in-process" if in_process else ""))
    sys.stdout.flush()
    run(app, host=host, port=port, workers=workers, threads=threads, background=in_process)


register(main, _app)
