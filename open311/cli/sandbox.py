"""The `open311 sandbox reset` command: empty the sandbox jurisdiction app makers test against."""

from __future__ import annotations

import click

from open311.cli.startup import services_for


@click.group()
def sandbox() -> None:
    """The sandbox jurisdiction (docs/api.md#sandbox)."""


@sandbox.command("reset")
@click.option("--jurisdiction", "jurisdiction_id", default=None,
              help="The sandbox to empty (optional when the configuration has one).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(jurisdiction_id: str | None, yes: bool) -> None:
    """Delete every request of the sandbox (with its updates, photos, notices and subscriptions); keys stay."""
    from open311.intake.sandbox import empty_sandbox
    from open311.media.store import MediaStoreError

    gateway = services_for("config", tables=True)
    sandboxes = [j for j in gateway.config.jurisdictions.values() if j.sandbox_of is not None]
    chosen = [j for j in sandboxes if jurisdiction_id in (None, j.id)]
    if len(chosen) != 1:
        names = ", ".join(j.id for j in sandboxes) or "none is configured"
        raise click.BadParameter(f"name one sandbox jurisdiction ({names})", param_hint="--jurisdiction")
    target = chosen[0]
    if not yes:
        click.confirm(f"Delete every request of {target.id}?", abort=True)
    with gateway.session() as session:
        emptied = empty_sandbox(session, target)
    lost = 0
    store = gateway.media
    for name in emptied.photos if store is not None else ():
        try:
            store.delete(name)  # type: ignore[union-attr]
        except MediaStoreError:
            lost += 1
    click.echo(f"{target.id}: {emptied.requests} request(s) deleted, {len(emptied.photos) - lost} photo(s) removed"
               + (f", {lost} photo(s) could not be removed from the media store" if lost else ""))
