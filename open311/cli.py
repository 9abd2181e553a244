"""The `open311` command: serve, check-config, db, keys (relay, sync, outbox and areas join later)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from . import create_app, metrics
from .config import load_config
from .dates import format_w3c
from .errors import ConfigError
from .gateway import Gateway
from .keys import check_rate_limit, create_key, list_keys, revoke_key, set_rate_limit
from .schema import current_heads, current_revision, upgrade

log = logging.getLogger("open311.cli")


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
    click.get_current_context().call_on_close(_gateway(app).dispose)
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


def _rate_limit(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Validate a --rate-limit / LIMIT value."""
    if value is None or value == "default":
        return None
    try:
        return check_rate_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


@keys.command("create")
@click.option("--jurisdiction", "jurisdiction_id", required=True)
@click.option("--name", required=True, help="Who the key is for (an app or an organisation).")
@click.option("--rate-limit", default=None, callback=_rate_limit,
              help='POSTs allowed, e.g. "20/minute" or "20/minute;1000/day" (default: OPEN311_RATELIMIT_PER_KEY).')
def keys_create(jurisdiction_id: str, name: str, rate_limit: str | None) -> None:
    """Create a key; the key itself is printed alone on the last line (it is not stored)."""
    gateway = _gateway(_app())
    if jurisdiction_id not in gateway.config.jurisdictions:
        raise click.BadParameter(f"unknown jurisdiction {jurisdiction_id!r}", param_hint="--jurisdiction")
    with gateway.session() as session:
        row, plaintext = create_key(session, jurisdiction_id, name, gateway.clock(), rate_limit)
    click.echo(f"created key {row.id} ({row.prefix}...) for {name!r} in {jurisdiction_id} "
               f"with rate limit {row.rate_limit or 'default'}; store it now:")
    click.echo(plaintext)


@keys.command("set-limit")
@click.argument("ident")
@click.argument("limit", callback=_rate_limit)
def keys_set_limit(ident: str, limit: str | None) -> None:
    """Change a key's POST rate limit (e.g. 20/minute; "default" for the configured default), at once."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        row = set_rate_limit(session, ident, limit)
    if row is None:
        click.echo(f"no key {ident!r}", err=True)
        raise SystemExit(1)
    click.echo(f"key {row.id} ({row.prefix}...) rate limit: {row.rate_limit or 'default'}")


@keys.command("list")
@click.option("--jurisdiction", "jurisdiction_id", default=None)
def keys_list(jurisdiction_id: str | None) -> None:
    """List keys (never the keys themselves)."""
    gateway = _gateway(_app())
    with gateway.session() as session:
        rows = list_keys(session, jurisdiction_id)
    click.echo("id\tprefix\tjurisdiction\tname\tcreated\trevoked\trate_limit")
    for r in rows:
        click.echo(f"{r.id}\t{r.prefix}\t{r.jurisdiction_id}\t{r.name}\t{format_w3c(r.created_at)}\t"
                   f"{format_w3c(r.revoked_at) or '-'}\t{r.rate_limit or 'default'}")


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
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OPEN311_HOST")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), envvar="OPEN311_PORT",
              help="0 picks a free port (logged in the ready line).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), envvar="OPEN311_WORKERS",
              help="Worker processes (PostgreSQL only; SQLite runs one).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1), envvar="OPEN311_THREADS",
              help="Threads per worker.")
@click.option("--log-level", default="info", show_default=True, envvar="OPEN311_LOG_LEVEL",
              type=click.Choice(["debug", "info", "warning", "error"]))
def serve(host: str, port: int, workers: int, threads: int, log_level: str) -> None:
    """Run the HTTP server (gunicorn), logging JSON lines; refuses a database not at the newest migration."""
    from .logs import configure_logging

    configure_logging(log_level)
    cleanup = _metrics_directory()
    try:
        _serve(host, port, workers, threads, log_level)
    finally:
        cleanup()


def _serve(host: str, port: int, workers: int, threads: int, log_level: str) -> None:
    """Build the app, check the schema, and hand over to gunicorn."""
    from .server import run

    app = _app()
    gateway = _gateway(app)
    _check_schema(gateway)
    if gateway.engine.url.get_backend_name() == "sqlite" and workers > 1:
        log.warning("SQLite runs with a single worker process; use PostgreSQL to scale out.")
        workers = 1
    if workers > 1 and str(app.config["OPEN311_RATELIMIT_STORAGE"]).startswith("memory"):
        log.warning("rate limits are counted per worker with memory://; "
                    "set OPEN311_RATELIMIT_STORAGE=redis://... to share them.")
    run(app, host=host, port=port, workers=workers, threads=threads, log_level=log_level)


def _metrics_directory() -> Callable[[], None]:
    """Turn on multiprocess metrics (a private directory unless PROMETHEUS_MULTIPROC_DIR names one)."""
    given = metrics.multiprocess_directory()
    if given:
        metrics.enable_multiprocess(given)
        return lambda: None
    directory = tempfile.mkdtemp(prefix="open311-metrics-")
    metrics.enable_multiprocess(directory)
    return lambda: shutil.rmtree(directory, ignore_errors=True)


def _check_schema(gateway: Gateway) -> None:
    """Stop when the database is not at this code's migration head (before any worker starts)."""
    from .monitoring import expected_heads

    found = tuple(sorted(current_heads(gateway.engine)))
    wanted = expected_heads(gateway)
    gateway.dispose()  # the master keeps no connection; workers open their own
    if found != wanted:
        log.error("database schema at %s, expected %s: run `open311 db upgrade` first.",
                  ", ".join(found) or "nothing", ", ".join(wanted))
        raise SystemExit(2)
