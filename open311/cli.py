"""The `open311` command: serve, check-config, db, keys (relay, sync, outbox and areas join later)."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask

from . import create_app
from .config import load_config
from .dates import format_w3c
from .errors import ConfigError
from .gateway import Gateway
from .keys import create_key, list_keys, revoke_key
from .schema import current_revision, upgrade


def _app(**overrides: Any) -> Flask:
    """Build the app, turning configuration problems into a clean exit; its engine closes with the command."""
    try:
        app = create_app(overrides or None)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(2) from None
    except (LookupError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    click.get_current_context().call_on_close(_gateway(app).engine.dispose)
    return app


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
    for jur in config.jurisdictions.values():
        click.echo(f"{jur.id}: {len(jur.departments)} departments, {len(jur.catalog.services)} services")
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
def keys_create(jurisdiction_id: str, name: str) -> None:
    """Create a key; the key itself is printed alone on the last line (it is not stored)."""
    gateway = _gateway(_app())
    if jurisdiction_id not in gateway.config.jurisdictions:
        raise click.BadParameter(f"unknown jurisdiction {jurisdiction_id!r}", param_hint="--jurisdiction")
    with gateway.session() as session:
        row, plaintext = create_key(session, jurisdiction_id, name, gateway.clock())
    click.echo(f"created key {row.id} ({row.prefix}...) for {name!r} in {jurisdiction_id}; store it now:")
    click.echo(plaintext)


@keys.command("list")
@click.option("--jurisdiction", "jurisdiction_id", default=None)
def keys_list(jurisdiction_id: str | None) -> None:
    """List keys (never the keys themselves)."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        rows = list_keys(session, jurisdiction_id)
    click.echo("id\tprefix\tjurisdiction\tname\tcreated\trevoked")
    for r in rows:
        click.echo(f"{r.id}\t{r.prefix}\t{r.jurisdiction_id}\t{r.name}\t{format_w3c(r.created_at)}\t"
                   f"{format_w3c(r.revoked_at) or '-'}")


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


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the HTTP server (gunicorn)."""
    from .server import run

    app = _app()
    url = _gateway(app).engine.url
    if url.get_backend_name() == "sqlite" and workers > 1:
        click.echo("SQLite runs with a single worker process; use PostgreSQL to scale out.", err=True)
        workers = 1
    click.echo(f"serving on http://{host}:{port}/open311/v2/ (docs at /docs)")
    sys.stdout.flush()
    run(app, host=host, port=port, workers=workers, threads=threads)
