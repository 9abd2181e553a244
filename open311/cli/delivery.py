"""The `open311 relay`, `open311 sync` and `open311 outbox list|retry` commands."""

from __future__ import annotations

import logging
import threading

import click

from open311.cli.startup import services_for
from open311.core import metrics
from open311.core.dates import format_w3c
from open311.delivery.gauges import OutboxCollector
from open311.delivery.outbox import DEAD, STATES, list_messages, requeue_dead
from open311.delivery.relay import Relay
from open311.delivery.sla_watch import watch_sla
from open311.delivery.sync import run_sync, sync_all
from open311.delivery.workers import stop_on_signals
from open311.services import Services

log = logging.getLogger(__name__)


def setup_logging() -> None:
    """JSON log lines to stderr for the long-running commands, as `serve` writes (never personal data);
    like logging.basicConfig, nothing changes when the process already configured logging."""
    from open311.core.logs import configure_logging

    if not logging.getLogger().handlers:
        configure_logging("info")


def _metrics(port: int | None, gateway: Services, outbox: bool) -> None:
    """With --metrics-port, serve this process's metrics (and the outbox gauges) for Prometheus."""
    if port is None:
        return
    collectors = [OutboxCollector.for_gateway(gateway)] if outbox else []
    server, _ = metrics.start_metrics_server(port, collectors=collectors)
    log.info("metrics on http://127.0.0.1:%d/metrics", server.server_port,
             extra={"event": "metrics", "port": server.server_port})




@click.command("relay")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, envvar="OPEN311_METRICS_PORT",
              help="Serve Prometheus metrics on 127.0.0.1:PORT (0: any free port, logged).")
def relay(once: bool, metrics_port: int | None) -> None:
    """Deliver the outbox to the departments' back offices until SIGTERM/SIGINT."""
    setup_logging()
    gateway = services_for("config", "policies", "adapters", "notifiers", "media", tables=True)
    _metrics(metrics_port, gateway, outbox=True)
    stop = threading.Event()
    stop_on_signals(stop)
    runner = Relay(gateway, gateway.policies.delivery, stop=stop)
    delivered = runner.run(once=once)
    click.echo(f"relay stopped: {delivered} ticket(s) delivered")

@click.command("sync")
@click.option("--once", is_flag=True, help="Pull every department once, then exit.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, envvar="OPEN311_METRICS_PORT",
              help="Serve Prometheus metrics on 127.0.0.1:PORT (0: any free port, logged).")
def sync(once: bool, metrics_port: int | None) -> None:
    """Pull status updates from the back offices that offer them, until SIGTERM/SIGINT."""
    setup_logging()
    gateway = services_for("config", "policies", "adapters", tables=True)
    settings = gateway.policies.sync
    _metrics(metrics_port, gateway, outbox=False)
    if once:
        failed = 0
        for (jid, code), result in sync_all(gateway, settings).items():
            status = f"error: {result.error}" if result.error else "ok"
            failed += bool(result.error)
            click.echo(f"{jid}/{code}: {result.fetched} read, {result.stored} new, {result.applied} applied, "
                       f"{result.skipped} skipped; {status}")
        watched = watch_sla(gateway)
        click.echo(f"sla: {watched.at_risk} at_risk, {watched.breached} breached")
        raise SystemExit(1 if failed else 0)
    stop = threading.Event()
    stop_on_signals(stop)
    run_sync(gateway, settings, stop)

@click.group()
def outbox() -> None:
    """Inspect and requeue deliveries."""

@outbox.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Repeatable.")
@click.option("--department", default=None)
@click.option("--jurisdiction", "jurisdiction_id", default=None)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
def outbox_list(states: tuple[str, ...], department: str | None, jurisdiction_id: str | None,
                limit: int) -> None:
    """List deliveries, oldest first (no personal data)."""
    gateway = services_for("config", tables=True)
    with gateway.session() as session:
        entries = list_messages(session, states=states, department=department, jurisdiction_id=jurisdiction_id,
                                limit=limit)
    click.echo("id\trequest\tjurisdiction\tdepartment\tservice_code\tstate\tattempts\tnext_attempt\t"
               "external_id\tlast_error")
    for e in entries:
        m = e.message
        click.echo(f"{m.id}\t{m.request_id}\t{e.jurisdiction_id}\t{m.department}\t{e.service_code}\t{m.state}\t"
                   f"{m.attempts}\t{format_w3c(m.next_attempt_at) if m.state != 'done' else '-'}\t"
                   f"{m.external_id or '-'}\t{(m.last_error or '-')[:200]}")

@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every dead letter (narrowed by the filters).")
@click.option("--department", default=None)
@click.option("--jurisdiction", "jurisdiction_id", default=None)
def outbox_retry(ids: tuple[int, ...], everything: bool, department: str | None,
                 jurisdiction_id: str | None) -> None:
    """Requeue dead letters (by id, or --all) for delivery now with a fresh attempt count."""
    if not ids and not everything:
        raise click.UsageError("give outbox ids, or --all (optionally with --department/--jurisdiction)")
    gateway = services_for("config", tables=True)
    with gateway.session() as session:
        count = requeue_dead(session, gateway.clock(), ids=ids, department=department,
                             jurisdiction_id=jurisdiction_id)
    click.echo(f"requeued {count} dead letter(s)")
    if ids and count < len(ids):
        click.echo(f"{len(ids) - count} of the given ids are not dead letters (state {DEAD!r} only)", err=True)
