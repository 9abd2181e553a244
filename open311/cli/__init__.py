"""The `open311` command: serve, check-config, db; keys, areas, delivery and admin commands register here."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import requests
from flask import Flask

from open311 import create_app
from open311.catalog.definitions import Catalog
from open311.cli import admin as admin_cli
from open311.cli import delivery as delivery_cli
from open311.cli import keys as keys_cli
from open311.cli.areas import areas
from open311.config.jurisdictions import load_config
from open311.core import metrics
from open311.errors import ConfigError
from open311.services import Gateway
from open311.storage.schema import current_heads, current_revision, upgrade

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


def _problems(exc: ConfigError) -> SystemExit:
    """Print every problem of a configuration and the exit to raise."""
    for problem in exc.problems:
        click.echo(problem, err=True)
    click.echo(f"{len(exc.problems)} problem(s) found.", err=True)
    return SystemExit(1)


@main.command("check-config")
@click.option("--config", "path", envvar="OPEN311_CONFIG", default="jurisdictions.yaml", show_default=True)
def check_config(path: str) -> None:
    """Validate jurisdictions.yaml, every service definition and the GIS layers; list every problem."""
    from open311.gis.areas import build_geo

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
@click.option("--in-process-workers/--no-in-process-workers", "in_process", default=None,
              help="Run the relay and the sync inside the server. Default: on with SQLite, off otherwise "
                   "(run `open311 relay` and `open311 sync` as their own processes).")
def serve(host: str, port: int, workers: int, threads: int, log_level: str, in_process: bool | None) -> None:
    """Run the HTTP server (gunicorn), logging JSON lines; refuses a database not at the newest migration."""
    from open311.core.logs import configure_logging

    configure_logging(log_level)
    app = _app()  # configuration problems stop here, before anything starts
    cleanup = _metrics_directory()
    try:
        _serve(app, host, port, workers, threads, log_level, in_process)
    finally:
        cleanup()


def _serve(app: Flask, host: str, port: int, workers: int, threads: int, log_level: str,
           in_process: bool | None) -> None:
    """Check the schema and hand the app over to gunicorn."""
    from open311.cli.server import run

    gateway = _gateway(app)
    _check_schema(gateway)
    _webapp_key(app, gateway)
    sqlite = gateway.engine.url.get_backend_name() == "sqlite"
    if sqlite and workers > 1:
        log.warning("SQLite runs with a single worker process; use PostgreSQL to scale out.")
        workers = 1
    in_process = sqlite if in_process is None else in_process
    if in_process and workers > 1:
        log.error("in-process relay and sync need --workers 1; run `open311 relay` and `open311 sync` instead.")
        raise SystemExit(2)
    if workers > 1 and str(app.config["OPEN311_RATELIMIT_STORAGE"]).startswith("memory"):
        log.warning("rate limits are counted per worker with memory://; "
                    "set OPEN311_RATELIMIT_STORAGE=redis://... to share them.")
    run(app, host=host, port=port, workers=workers, threads=threads, log_level=log_level, background=in_process)


def _webapp_key(app: Flask, gateway: Gateway) -> None:
    """Give the web app its API key: OPEN311_WEBAPP_API_KEY, else one kept in the instance folder."""
    from open311.georeport import webapp

    if not webapp.enabled(app) or app.config.get("OPEN311_WEBAPP_API_KEY"):
        return
    jid = app.config.get("OPEN311_WEBAPP_JURISDICTION") or next(iter(gateway.config.jurisdictions))
    if jid not in gateway.config.jurisdictions or not gateway.config.jurisdictions[jid].api_key_required:
        return
    app.config["OPEN311_WEBAPP_API_KEY"] = webapp.ensure_key(gateway, jid, Path(app.instance_path))
    gateway.dispose()  # the master keeps no connection; workers open their own


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
    from open311.georeport.monitoring import expected_heads

    found = tuple(sorted(current_heads(gateway.engine)))
    wanted = expected_heads(gateway)
    gateway.dispose()  # the master keeps no connection; workers open their own
    if found != wanted:
        log.error("database schema at %s, expected %s: run `open311 db upgrade` first.",
                  ", ".join(found) or "nothing", ", ".join(wanted))
        raise SystemExit(2)


main.add_command(areas)
keys_cli.register(main, _app)
delivery_cli.register(main, _app)
admin_cli.register(main, _app)
