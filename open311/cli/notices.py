"""The `open311 notices vapid-keys|new-link` commands (docs/notifications.md)."""

from __future__ import annotations

import click

from open311.cli.startup import services_for
from open311.notices.links import create_status_link, current_token, revoke_status_links
from open311.settings import link_origin
from open311.storage.db import writing
from open311.storage.models import ServiceRequest


@click.group()
def notices() -> None:
    """Notices to residents and their status links."""


@notices.command("vapid-keys")
def vapid_keys() -> None:
    """Print a new VAPID key pair for Web Push (set OPEN311_NOTICE_VAPID_PRIVATE_KEY and _PUBLIC_KEY)."""
    from open311_adapters.webpush_notice import generate_vapid_keys

    private, public = generate_vapid_keys()
    click.echo(f"OPEN311_NOTICE_VAPID_PRIVATE_KEY={private}")
    click.echo(f"OPEN311_NOTICE_VAPID_PUBLIC_KEY={public}")


@notices.command("new-link")
@click.argument("request_id", type=click.IntRange(min=1, max=2**63 - 1))
def new_link(request_id: int) -> None:
    """Withdraw a request's status links (a link that leaked) and print a new one alone on the last line."""
    gateway = services_for("config", tables=True)
    with gateway.session() as session:
        with session.begin():
            row = session.get(ServiceRequest, request_id)
        if row is None:
            click.echo(f"no request {request_id}", err=True)
            raise SystemExit(1)
        previous = current_token(session, gateway.notice_secret, request_id)
        revoked = revoke_status_links(session, request_id, gateway.clock())
        with writing(session) as connection:
            token = create_status_link(connection, gateway.notice_secret, request_id,
                                       previous[1] if previous else "en", gateway.clock())
    click.echo(f"withdrew {revoked} link(s) of request {request_id}; the new one:")
    click.echo(f"{link_origin(gateway.settings)}/r/{token}")
