"""`open311 areas sync|versions|diff|approve|rollback`: layers read from ArcGIS REST, staged as versions, made live."""

from __future__ import annotations

import getpass
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from open311.cli.startup import pick_jurisdiction, services_for
from open311.config.gis import parse_duration
from open311.config.jurisdictions import Jurisdiction
from open311.errors import ConfigError, Open311Error
from open311.services import Services

JURISDICTION = click.option("--jurisdiction", "jurisdiction_id", default=None,
                            help="Needed when several are configured.")


def _gateway() -> Services:
    """The configuration and the database (the schema must be there)."""
    return services_for("config", tables=True)


def _cache_dir(gateway: Services) -> Path:
    """Where live versions' files are written (as the serving workers write them)."""
    return Path(gateway.settings.get("OPEN311_AREAS_DIR") or gateway.instance_path / "areas")


def _expected() -> tuple[type[Exception], ...]:
    """The failures a command reports in a line (anything else is a bug and keeps its traceback)."""
    from open311.gis.layers import LayerError

    return LayerError, Open311Error, ConfigError


def _fail(exc: Exception) -> NoReturn:
    """Print a failure on one line (or its problems, one per line) and exit 1."""
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            click.echo(problem, err=True)
    elif isinstance(exc, Open311Error):
        click.echo(f"error: {' '.join(exc.descriptions)}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    raise SystemExit(1)


def _progress(layer: str) -> Callable[[int, int | None], None]:
    """A progress line on stderr, rewritten in place on a terminal."""
    tty = sys.stderr.isatty()

    def show(done: int, total: int | None) -> None:
        line = f"{layer}: {done:,}/{total:,} features" if total is not None else f"{layer}: {done:,} features"
        click.echo(("\r" + line) if tty else line, err=True, nl=not tty)

    return show


def _version_arg(text: str) -> int:
    """A version id as printed by sync (a leading v is accepted)."""
    try:
        return int(text.removeprefix("v"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a version id (the number `open311 areas sync` prints).",
                                 param_hint="VERSION") from None


def _diff_lines(diff: Any) -> list[str]:
    """A diff for people: one line per feature, the area that changes hands, what stops it going live."""
    lines = [f"added ({len(diff.added)}):"] + [f"  + {n}  {a:.3f} km²" for n, a in diff.added]
    lines += [f"removed ({len(diff.removed)}):"] + [f"  - {n}  {a:.3f} km²" for n, a in diff.removed]
    lines.append(f"changed ({len(diff.changed)}):")
    for change in diff.changed:
        parts = [f"{change.before_km2:.3f} -> {change.after_km2:.3f} km², {change.changed_km2:.3f} km² change hands"]
        if change.moved_m:
            parts.append(f"moved {change.moved_m:.1f} m")
        if change.properties:
            parts.append("properties changed: " + ", ".join(change.properties))
        lines.append(f"  ~ {change.name}  " + "; ".join(parts))
    lines += [f"renamed ({len(diff.renamed)}):"] + [f"  {a} -> {b}  ({k:.3f} km² change hands)"
                                                     for a, b, k in diff.renamed]
    lines.append(f"in all: {diff.changed_features} feature(s), {diff.changed_km2:.3f} km² change hands")
    if diff.problems:
        lines.append("rules whose places vanished (approval is refused until the configuration or the layer "
                     "changes):")
        lines += [f"  {p}" for p in diff.problems]
    return lines


def _sync_one(gateway: Services, jurisdiction: Jurisdiction, layer: str, options: Any, quiet: bool) -> int:
    """Sync one layer, report it on stderr; returns the version id."""
    from open311.gis.sync import sync_layer

    with gateway.session() as session:
        result = sync_layer(session, jurisdiction, layer, gateway.http, gateway.clock(), _cache_dir(gateway),
                            options, None if quiet else _progress(layer))
    if not quiet and sys.stderr.isatty():
        click.echo("", err=True)
    state = "new version" if result.created else "unchanged since version"
    against = f"live version {result.live_before}" if result.live_before is not None else "nothing live yet"
    click.echo(f"{layer}: {state} {result.version_id} ({result.features:,} features, {result.pages} page(s)); "
               f"against {against}: {result.diff.changed_features} feature(s), "
               f"{result.diff.changed_km2:.3f} km² change hands.", err=True)
    if result.auto_approved:
        click.echo(f"{layer}: version {result.version_id} is live (auto_approve: within its bounds).", err=True)
    elif result.diff.problems:
        click.echo(f"{layer}: version {result.version_id} cannot go live as the configuration stands:", err=True)
        for problem in result.diff.problems:
            click.echo(f"  {problem}", err=True)
    elif result.version_id != result.live_before:
        click.echo(f"{layer}: staged; see `open311 areas diff {layer} {result.version_id}`, then "
                   f"`open311 areas approve {layer} {result.version_id}`.", err=True)
    return result.version_id


@click.command("sync")
@click.argument("layer", required=False)
@JURISDICTION
@click.option("--every", default=None, help="Keep syncing at this interval (90s, 15m, 12h, 1d) until stopped.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds to wait for each page.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True,
              help="Retries of a page that failed for a passing reason (timeouts, 5xx, Esri errors 5xx).")
@click.option("--page-size", type=click.IntRange(min=1), default=None,
              help="Features per page (default and ceiling: the layer's maxRecordCount).")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def sync(layer: str | None, jurisdiction_id: str | None, every: str | None, timeout: float, retries: int,
         page_size: int | None, quiet: bool) -> None:
    """Read a LAYER (places, facilities or district:NAME; default: every layer with `arcgis:`) from its ArcGIS
    REST service, check it as `areas import` does, and store it as a staged version (auto_approve may make it
    live). The version id is printed alone on the last line."""
    from open311.gis.arcgis import PullOptions
    from open311.gis.layers import LayerError

    gateway = _gateway()
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    synced = jurisdiction.gis.synced() if jurisdiction.gis else {}
    layers = [layer] if layer else sorted(synced)
    if not layers:
        _fail(LayerError(f"jurisdiction {jurisdiction.id!r} has no layer with arcgis: (docs/gis.md)."))
    options = PullOptions(timeout=timeout, retries=retries, page_size=page_size)
    if every is None:
        done = []
        for name in layers:
            try:
                done.append((name, _sync_one(gateway, jurisdiction, name, options, quiet)))
            except (LayerError, Open311Error, ConfigError) as exc:
                _fail(exc)
        for name, version in done:
            click.echo(str(version) if len(done) == 1 else f"{name} {version}")
        return
    _sync_forever(gateway, jurisdiction, layers, options, quiet, every)


def _sync_forever(gateway: Services, jurisdiction: Jurisdiction, layers: list[str], options: Any, quiet: bool,
                  every: str) -> None:
    """Sync the layers, wait, and again, until SIGTERM or SIGINT; a failed sync is reported and retried next time."""
    from open311.delivery.workers import stop_on_signals
    from open311.gis.layers import LayerError

    try:
        interval = parse_duration(every)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None
    stop = threading.Event()
    stop_on_signals(stop)
    while not stop.is_set():
        for name in layers:
            try:
                version = _sync_one(gateway, jurisdiction, name, options, quiet)
                click.echo(f"{name} {version}")
            except (LayerError, Open311Error, ConfigError) as exc:
                text = "; ".join(exc.problems) if isinstance(exc, ConfigError) else str(exc)
                click.echo(f"{name}: sync failed, the live version is unchanged; next try in {every}: {text}",
                           err=True)
        stop.wait(interval)


@click.command("versions")
@click.argument("layer")
@JURISDICTION
def versions(layer: str, jurisdiction_id: str | None) -> None:
    """List a synced LAYER's versions: id, state (live, staged, retired), features, when read and approved."""
    from open311.gis.sync import synced_layer
    from open311.gis.versions import list_versions

    gateway = _gateway()
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    try:
        synced_layer(jurisdiction, layer)
    except _expected() as exc:
        _fail(exc)
    with gateway.session() as session, session.begin():
        found = list_versions(session, jurisdiction.id, layer)
    if not found:
        click.echo(f"{layer} has no versions yet: run `open311 areas sync {layer}`.")
    for v in found:
        approved = f"approved {v.approved_at:%Y-%m-%d %H:%M} by {v.approved_by}" if v.approved_at else "not approved"
        problems = f"; cannot go live: {len(v.problems)} problem(s)" if v.problems else ""
        click.echo(f"{v.id}\t{v.state}\t{v.features} features\tread {v.fetched_at:%Y-%m-%d %H:%M}, "
                   f"last confirmed {v.checked_at:%Y-%m-%d %H:%M}\t{approved}{problems}")


@click.command("diff")
@click.argument("layer")
@click.argument("version", required=False)
@click.option("--against", default=None, help="The version to compare with (default: the live one).")
@JURISDICTION
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
def diff(layer: str, version: str | None, against: str | None, jurisdiction_id: str | None, as_json: bool) -> None:
    """What VERSION (default: the newest) of a synced LAYER changes against the live version: features added,
    removed and changed, km² that change hands, renamed places, and names rules use that it lacks."""
    from open311.gis.sync import layer_diff, synced_layer
    from open311.gis.versions import find_version, live_version, newest_version

    gateway = _gateway()
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    with gateway.session() as session, session.begin():
        try:
            synced_layer(jurisdiction, layer)
            chosen = _version_arg(version) if version else newest_version(session, jurisdiction.id, layer)
            if chosen is None:
                raise click.ClickException(f"{layer} has no versions yet: run `open311 areas sync {layer}`.")
            row = find_version(session, jurisdiction.id, layer, chosen)
            base = _version_arg(against) if against else live_version(session, jurisdiction.id, layer)
            if base is not None:
                find_version(session, jurisdiction.id, layer, base)
            found = layer_diff(session, jurisdiction, layer, row.id, base, tuple(row.problems or ()))
        except click.ClickException:
            raise
        except _expected() as exc:
            _fail(exc)
    if as_json:
        click.echo(json.dumps({"layer": layer, "version": chosen, "against": base, **found.as_dict()}, indent=2,
                              ensure_ascii=False))
        return
    click.echo(f"{layer}: version {chosen} against " + (f"version {base}" if base is not None else "nothing live"))
    for line in _diff_lines(found):
        click.echo(line)


def _operator(by: str | None) -> str:
    """Who approves: --by, else the login name."""
    if by:
        return by[:100]
    try:
        return getpass.getuser()[:100]
    except Exception:  # no login name in some containers
        return "cli"


@click.command("approve")
@click.argument("layer")
@click.argument("version")
@JURISDICTION
@click.option("--by", default=None, help="Who approves (default: the login name); kept with the version.")
def approve(layer: str, version: str, jurisdiction_id: str | None, by: str | None) -> None:
    """Make VERSION of a synced LAYER live after checking it against the configuration as it is now. Every
    worker routes by it within OPEN311_AREAS_REFRESH seconds; requests already made keep their version."""
    from open311.gis.sync import approve_version

    gateway = _gateway()
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    chosen = _version_arg(version)
    with gateway.session() as session:
        try:
            before = approve_version(session, jurisdiction, layer, chosen, _operator(by), gateway.clock(),
                                     gateway.http, _cache_dir(gateway))
        except _expected() as exc:
            _fail(exc)
    was = f" (was {before})" if before is not None else ""
    click.echo(f"{layer}: version {chosen} is live{was}; workers pick it up within "
               f"{gateway.settings['OPEN311_AREAS_REFRESH']:g} s.")


@click.command("rollback")
@click.argument("layer")
@JURISDICTION
@click.option("--by", default=None, help="Who rolls back (default: the login name).")
def rollback(layer: str, jurisdiction_id: str | None, by: str | None) -> None:
    """Make the version approved before the live one live again."""
    from open311.gis.sync import rollback_layer

    gateway = _gateway()
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    with gateway.session() as session:
        try:
            before, after = rollback_layer(session, jurisdiction, layer, _operator(by), gateway.clock(),
                                           gateway.http, _cache_dir(gateway))
        except _expected() as exc:
            _fail(exc)
    click.echo(f"{layer}: version {after} is live again (was {before}); workers pick it up within "
               f"{gateway.settings['OPEN311_AREAS_REFRESH']:g} s.")
