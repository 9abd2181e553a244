"""The `open311 keys create|list|revoke|set-limit` commands."""

from __future__ import annotations

import click

from open311.cli.startup import services_for
from open311.core.dates import format_w3c
from open311.intake.keys import check_rate_limit, create_key, list_keys, revoke_key, set_rate_limit


def _rate_limit(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Validate a --rate-limit / LIMIT value ("default" means the configured default)."""
    if value is None or value == "default":
        return None
    try:
        return check_rate_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


@click.group()
def keys() -> None:
    """API keys: apps POST requests with theirs, back offices POST status updates with theirs."""

@keys.command("create")
@click.option("--jurisdiction", "jurisdiction_id", required=True)
@click.option("--name", required=True, help="Who the key is for (an app or an organisation).")
@click.option("--department", default=None,
              help="Make a department's key: it only POSTs servicerequestupdates for that department.")
@click.option("--rate-limit", default=None, callback=_rate_limit,
              help='POSTs allowed, e.g. "20/minute" or "20/minute;1000/day" '
                   "(default: OPEN311_RATELIMIT_PER_KEY).")
def keys_create(jurisdiction_id: str, name: str, department: str | None, rate_limit: str | None) -> None:
    """Create a key; the key itself is printed alone on the last line (it is not stored)."""
    gateway = services_for("config", tables=True)
    jurisdiction = gateway.config.jurisdictions.get(jurisdiction_id)
    if jurisdiction is None:
        raise click.BadParameter(f"unknown jurisdiction {jurisdiction_id!r}", param_hint="--jurisdiction")
    if department is not None and department not in jurisdiction.departments:
        known = ", ".join(jurisdiction.departments)
        raise click.BadParameter(f"unknown department {department!r} (known: {known})",
                                 param_hint="--department")
    with gateway.session() as session:
        row, plaintext = create_key(session, jurisdiction_id, name, gateway.clock(), department=department,
                                     rate_limit=rate_limit)
    kind = f"department {department} key" if department else "key"
    click.echo(f"created {kind} {row.id} ({row.prefix}...) for {name!r} in {jurisdiction_id} "
               f"with rate limit {row.rate_limit or 'default'}; store it now:")
    click.echo(plaintext)

@keys.command("set-limit")
@click.argument("ident")
@click.argument("limit", callback=_rate_limit)
def keys_set_limit(ident: str, limit: str | None) -> None:
    """Change a key's POST rate limit (e.g. 20/minute; "default" for the configured default), at once."""
    gateway = services_for(tables=True)
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
    gateway = services_for(tables=True)
    with gateway.session() as session:
        rows = list_keys(session, jurisdiction_id)
    click.echo("id\tprefix\tjurisdiction\tdepartment\tname\tcreated\trevoked\trate_limit")
    for r in rows:
        click.echo(f"{r.id}\t{r.prefix}\t{r.jurisdiction_id}\t{r.department or '-'}\t{r.name}\t"
                   f"{format_w3c(r.created_at)}\t{format_w3c(r.revoked_at) or '-'}\t{r.rate_limit or 'default'}")

@keys.command("revoke")
@click.argument("ident")
def keys_revoke(ident: str) -> None:
    """Revoke a key by id or prefix; it stops working at once."""
    gateway = services_for(tables=True)
    with gateway.session() as session:
        row = revoke_key(session, ident, gateway.clock())
    if row is None:
        click.echo(f"no key {ident!r}", err=True)
        raise SystemExit(1)
    click.echo(f"revoked key {row.id} ({row.prefix}...) at {format_w3c(row.revoked_at)}")
