"""The `open311 staff create|list|disable|reset` commands and `open311 audit`."""

from __future__ import annotations

from datetime import UTC

import click

from open311.cli.startup import services_for
from open311.config.jurisdictions import Jurisdiction
from open311.core.dates import format_w3c
from open311.services import Services
from open311.settings import link_origin
from open311.staff import accounts, audit
from open311.staff.accounts import ROLES, STAFF_ADAPTER, AccountError


def _jurisdiction(gateway: Services, jurisdiction_id: str | None) -> Jurisdiction:
    """The named jurisdiction, or the only one."""
    config = gateway.config
    if jurisdiction_id is None:
        if config.single is None:
            raise click.BadParameter(f"name one of {', '.join(config.jurisdictions)}", param_hint="--jurisdiction")
        return config.single
    found = config.jurisdictions.get(jurisdiction_id)
    if found is None:
        raise click.BadParameter(f"unknown jurisdiction {jurisdiction_id!r}", param_hint="--jurisdiction")
    return found


def _link(gateway: Services, token: str) -> str:
    """The set-up link: under OPEN311_PUBLIC_URL, else the demo's loopback address."""
    return f"{link_origin(gateway.settings)}/staff/setup/{token}"


@click.group()
def staff() -> None:
    """Staff accounts of the work queue at /staff/ (docs/staff.md)."""


@staff.command("create")
@click.option("--email", required=True, help="The person's e-mail address (their login).")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="agent: works the department's queue; supervisor: also assigns; operator: the delivery dashboard.")
@click.option("--department", default=None, help="The department whose queue they work (agents and supervisors).")
@click.option("--jurisdiction", "jurisdiction_id", default=None, help="Needed when several are configured.")
def staff_create(email: str, role: str, department: str | None, jurisdiction_id: str | None) -> None:
    """Create an account; its one-time set-up link (valid 72 hours) is printed alone on the last line."""
    gateway = services_for("config", tables=True)
    jurisdiction = _jurisdiction(gateway, jurisdiction_id)
    if department is not None:
        found = jurisdiction.departments.get(department)
        if found is None:
            known = ", ".join(jurisdiction.departments)
            raise click.BadParameter(f"unknown department {department!r} (known: {known})", param_hint="--department")
        if role != "operator" and found.adapter != STAFF_ADAPTER:
            users = ", ".join(d.code for d in jurisdiction.departments.values() if d.adapter == STAFF_ADAPTER)
            raise click.BadParameter(f"department {department} does not use the staff queue (adapter "
                                     f"{found.adapter!r}); departments that do: {users or 'none'}",
                                     param_hint="--department")
    try:
        with gateway.session() as session:
            made = accounts.create_account(session, jurisdiction_id=jurisdiction.id, department=department,
                                           email=email, role=role, now=gateway.clock())
            audit.record(session, "account_created", gateway.clock(), staff=made.account,
                         detail=f"role {role}, department {department or '-'}")
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"created {role} {made.account.id} {made.account.email} ({department or 'all departments'}) in "
               f"{jurisdiction.id}; send them this one-time set-up link (valid until "
               f"{format_w3c(made.account.setup_expires_at, UTC)}):")
    click.echo(_link(gateway, made.token))


@staff.command("reset")
@click.argument("email")
def staff_reset(email: str) -> None:
    """A new set-up link for an account (a forgotten password); the old password and sessions stop at once."""
    gateway = services_for("config", tables=True)
    try:
        with gateway.session() as session:
            made = accounts.renew_setup(session, email, gateway.clock())
            audit.record(session, "setup_link", gateway.clock(), staff=made.account)
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"new set-up link for {made.account.email}:")
    click.echo(_link(gateway, made.token))


@staff.command("list")
@click.option("--department", default=None)
def staff_list(department: str | None) -> None:
    """Accounts (never a password or link)."""
    gateway = services_for(tables=True)
    with gateway.session() as session:
        rows = accounts.list_accounts(session, department=department)
    click.echo("id\temail\trole\tjurisdiction\tdepartment\tstate\tcreated")
    for r in rows:
        state = f"disabled {format_w3c(r.disabled_at, UTC)}" if r.disabled_at else \
            ("active" if r.password_hash else "waiting for set-up")
        click.echo(f"{r.id}\t{r.email}\t{r.role}\t{r.jurisdiction_id}\t{r.department or '-'}\t{state}\t"
                   f"{format_w3c(r.created_at, UTC)}")


@staff.command("disable")
@click.argument("ident")
def staff_disable(ident: str) -> None:
    """Disable an account by id or e-mail: its sessions end at once; the audit log keeps its name."""
    gateway = services_for(tables=True)
    with gateway.session() as session:
        row = accounts.disable_account(session, ident, gateway.clock())
        if row is not None:
            audit.record(session, "account_disabled", gateway.clock(), staff=row)
    if row is None:
        click.echo(f"no account {ident!r}", err=True)
        raise SystemExit(1)
    click.echo(f"disabled {row.id} {row.email} at {format_w3c(row.disabled_at, UTC)}")


@click.command("audit")
@click.option("--request", "request_id", type=click.IntRange(min=1), default=None, help="One request's lines.")
@click.option("--staff", "staff_email", default=None, help="One account's lines (by e-mail).")
@click.option("--action", "actions", multiple=True, type=click.Choice(sorted(audit.ACTIONS)), help="Repeatable.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
def audit_command(request_id: int | None, staff_email: str | None, actions: tuple[str, ...], limit: int) -> None:
    """The staff audit log, oldest first: when, who, what, which request, details (never contact data)."""
    gateway = services_for(tables=True)
    with gateway.session() as session:
        rows = audit.entries(session, request_id=request_id, staff_email=staff_email, actions=actions, limit=limit)
    click.echo("id\tat\twho\taction\trequest\tdetail\taddress")
    for e in rows:
        click.echo(f"{e.id}\t{format_w3c(e.at, UTC)}\t{e.who}\t{e.action}\t{e.request_id or '-'}\t"
                   f"{e.detail or '-'}\t{e.address or '-'}")
