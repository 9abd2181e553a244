"""The `open311 serve` command: the checked app handed to gunicorn, with the relay and sync inside on SQLite."""


from __future__ import annotations

import ipaddress
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask

from open311.cli.startup import clean_exit
from open311.core import metrics
from open311.services import Services
from open311.storage.schema import current_heads

log = logging.getLogger("open311.cli")


@click.command("serve")
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
    _check_public_url(app, host)
    cleanup = _metrics_directory()
    try:
        _serve(app, host, port, workers, threads, log_level, in_process)
    finally:
        cleanup()


def _app() -> Flask:
    """The whole app (every part built), or a clean exit listing the configuration's problems."""
    from open311 import create_app  # Flask and the HTTP layer load for `serve` alone

    with clean_exit():
        app = create_app()
    click.get_current_context().call_on_close(_services(app).dispose)
    return app


def is_loopback(host: str) -> bool:
    """True for a bind address only this machine can reach: localhost, *.localhost, 127.0.0.0/8, ::1."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_public_url(app: Flask, host: str) -> None:
    """Production is `serve` on a non-loopback address: there OPEN311_PUBLIC_URL must be set (exit 2 without)."""
    if is_loopback(host) or app.config.get("OPEN311_PUBLIC_URL"):
        return
    click.echo(f"error: OPEN311_PUBLIC_URL is not set, and --host {host[:80]!r} (OPEN311_HOST) is not a loopback "
               "address: a gateway others can reach needs its public origin, e.g. "
               "OPEN311_PUBLIC_URL=https://311.example.gov, for the URLs it stores and publishes "
               "(docs/deployment.md).", err=True)
    raise SystemExit(2)


def _services(app: Flask) -> Services:
    """The services the app was built over."""
    services: Services = app.extensions["open311"]
    return services


def _serve(app: Flask, host: str, port: int, workers: int, threads: int, log_level: str,
           in_process: bool | None) -> None:
    """Check the schema and hand the app over to gunicorn."""
    from open311.cli.server import run

    gateway = _services(app)
    _check_schema(gateway)
    _webapp_key(app, gateway)
    _report_spatial_index(gateway)
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


def _report_spatial_index(gateway: Services) -> None:
    """Say at start-up which index serves the feed's bbox and radius (a warning when none does)."""
    from open311.storage.spatial import detect

    with gateway.engine.connect() as connection:
        found = detect(connection)
    if found.kind == "none":
        log.warning("no spatial index: bbox and radius feeds use the B-tree on lat/long, slower at scale (%s)",
                    found.note)
    else:
        log.info("spatial index: %s", found.describe())
    gateway.dispose()  # the master keeps no connection; workers open their own


def _webapp_key(app: Flask, gateway: Services) -> None:
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


def _check_schema(gateway: Services) -> None:
    """Stop when the database is not at this code's migration head (before any worker starts)."""
    from open311.georeport.monitoring import expected_heads

    found = tuple(sorted(current_heads(gateway.engine)))
    wanted = expected_heads(gateway)
    gateway.dispose()  # the master keeps no connection; workers open their own
    if found != wanted:
        log.error("database schema at %s, expected %s: run `open311 db upgrade` first.",
                  ", ".join(found) or "nothing", ", ".join(wanted))
        raise SystemExit(2)
