"""The `open311 areas` group: `import` (official files in) and `locate` (what is offered at a point) here; the synced
layers' `sync|versions|diff|approve|rollback` in open311.cli.area_versions."""

from __future__ import annotations

from pathlib import Path

import click

from open311.cli.area_versions import approve, diff, rollback, sync, versions
from open311.cli.startup import pick_jurisdiction, services_for
from open311.config.jurisdictions import GatewayConfig
from open311.errors import ConfigError


def _config() -> GatewayConfig:
    """The configuration named by OPEN311_CONFIG, or a clean exit listing its problems."""
    return services_for("config").config


@click.group()
def areas() -> None:
    """GIS service areas: import official files, sync ArcGIS layers as versions, approve them, look up a point."""


for command in (sync, versions, diff, approve, rollback):
    areas.add_command(command)


@areas.command("import")
@click.argument("layer")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jurisdiction", "jurisdiction_id", default=None, help="Needed when several are configured.")
@click.option("--source-layer", default=None, help="Layer inside a multi-layer file (GeoPackage ...).")
@click.option("--where", default=None, help="OGR SQL filter on the source, e.g. \"TYPE = 'LA County'\".")
@click.option("--dissolve", default=None, help="Merge features that share this property (e.g. city_name).")
@click.option("--simplify", "simplify_m", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Simplify outlines with this tolerance in metres.")
@click.option("--keep", default="", help="Comma-separated properties to keep (default: those the config reads).")
@click.option("--no-check", is_flag=True, help="Install without first building the areas with the new file.")
def areas_import(layer: str, source: Path, jurisdiction_id: str | None, source_layer: str | None,
                 where: str | None, dissolve: str | None, simplify_m: float | None, keep: str, no_check: bool) -> None:
    """Load an official file (any format and CRS geopandas reads) into a configured LAYER:
    boundary, places, facilities or district:NAME. The file is reprojected to WGS84, trimmed to the
    properties the configuration reads, checked, and written as GeoJSON to the layer's configured path."""
    from open311.gis.importing import ImportOptions, import_layer
    from open311.gis.layers import LayerError

    config = _config()
    jurisdiction = pick_jurisdiction(config, jurisdiction_id)
    options = ImportOptions(source_layer=source_layer, where=where, dissolve=dissolve, simplify_m=simplify_m,
                            keep=[k.strip() for k in keep.split(",") if k.strip()], check=not no_check)
    try:
        report = import_layer(config, jurisdiction, layer, source, options)
    except LayerError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except ConfigError as exc:
        click.echo("not installed: the areas do not build with the new file:", err=True)
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    click.echo(f"imported {report.features} features from {source} ({report.source_crs}) into {report.target} "
               f"({report.size} bytes, WGS84, bounds {report.bounds})")


@areas.command("locate")
@click.option("--lat", type=float, required=True)
@click.option("--long", "long_", type=float, required=True)
@click.option("--jurisdiction", "jurisdiction_id", default=None)
def areas_locate(lat: float, long_: float, jurisdiction_id: str | None) -> None:
    """Show where a point is and which services are offered there (synced layers at their live versions)."""
    gateway = services_for("config")
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    if jurisdiction.gis is None:
        raise click.ClickException(f"jurisdiction {jurisdiction.id!r} has no gis: section.")
    try:
        found = gateway.areas(jurisdiction)
    except ConfigError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    assert found is not None
    location = found.locate(lat, long_)
    if not location.in_county:
        click.echo(f"outside {jurisdiction.name}")
        return
    click.echo(f"{location.describe()}: {', '.join(p.name for p in location.places) or 'no place polygon'}")
    for service in found.services_at(location):
        click.echo(f"  {service.service_code}\t{service.service_name}")
