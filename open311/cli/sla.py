"""The `open311 sla` command: the SLA watcher on its own (the sync process already runs it after each pull)."""

from __future__ import annotations

import threading

import click

from open311.cli.delivery import setup_logging
from open311.cli.startup import services_for
from open311.delivery.sla_watch import run_watch, watch_sla
from open311.delivery.workers import stop_on_signals


@click.command("sla")
@click.option("--once", is_flag=True, help="Record the at_risk and breached events due now, then exit.")
@click.option("--interval", type=click.FloatRange(1.0, 86400.0), default=60.0, show_default=True,
              help="Seconds between passes.")
def sla(once: bool, interval: float) -> None:
    """Record SLA events (clocks now at risk or breached), once each, and queue their deliveries."""
    setup_logging()
    gateway = services_for("config", "adapters", tables=True)
    if once:
        result = watch_sla(gateway)
        click.echo(f"sla: {result.at_risk} at_risk, {result.breached} breached; {result.department} to departments, "
                   f"{result.callbacks} callback(s) queued")
        return
    stop = threading.Event()
    stop_on_signals(stop)
    events = run_watch(gateway, interval, stop)
    click.echo(f"sla watcher stopped: {events} event(s) recorded")
