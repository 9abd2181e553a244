"""The `open311 purge` and `open311 requests hide|unhide` commands: retention and moderation."""

from __future__ import annotations

from datetime import timedelta

import click

from open311.cli.startup import services_for
from open311.core.dates import format_w3c
from open311.intake.moderation import hide_request, unhide_request, withheld
from open311.intake.retention import purge_personal_data


def _request_id(value: str) -> int:
    """A service_request_id argument."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise click.BadParameter(f"{value[:30]!r} is not a service_request_id", param_hint="ID")
    return int(value)


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Retention in days after closing (default: OPEN311_CONTACT_RETENTION_DAYS, 180).")
def purge(dry_run: bool, days: int | None) -> None:
    """Delete personal data of requests closed longer ago than the retention period (the record stays)."""
    gateway = services_for()
    retention = timedelta(days=gateway.settings["OPEN311_CONTACT_RETENTION_DAYS"] if days is None else days)
    with gateway.session() as session:
        report = purge_personal_data(session, gateway.clock(), retention, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} personal data of {len(report.request_ids)} request(s) closed before "
               f"{format_w3c(report.cutoff)}; {verb} {report.expired_keys} expired submission key(s)"
               + (f"; {verb} the contact details of {report.followers} follower(s)" if report.followers else "")
               + (f"; {verb} {report.recipients} notice recipient(s)" if report.recipients else ""))
    if report.request_ids:
        click.echo("requests: " + ", ".join(str(i) for i in report.request_ids[:50])
                   + (" ..." if len(report.request_ids) > 50 else ""))

@click.group("requests")
def requests_group() -> None:
    """Moderate service requests."""

@requests_group.command("hide")
@click.argument("ident", metavar="ID")
@click.option("--reason", required=True, help="Why (kept with the request, never published).")
def requests_hide(ident: str, reason: str) -> None:
    """Hide what the resident typed (description, address_string, free-text answers, media_url) and the photos
    from every output, tickets sent from now on included; the record and its text are kept for unhide."""
    gateway = services_for("config")  # the catalog tells which answers are free text
    with gateway.session() as session:
        row = hide_request(session, _request_id(ident), reason, gateway.clock(), config=gateway.config)
    if row is None:
        click.echo(f"no request {ident}", err=True)
        raise SystemExit(1)
    click.echo(f"request {row.id} hidden at {format_w3c(row.hidden_at)}; withheld: "
               + (", ".join(withheld(row)) or "nothing was typed") + " (and any photos)")

@requests_group.command("unhide")
@click.argument("ident", metavar="ID")
def requests_unhide(ident: str) -> None:
    """Publish a hidden request's text, answers and photos again."""
    gateway = services_for()
    with gateway.session() as session:
        row = unhide_request(session, _request_id(ident), gateway.clock())
    if row is None:
        click.echo(f"no request {ident}", err=True)
        raise SystemExit(1)
    click.echo(f"request {row.id} is public again")
