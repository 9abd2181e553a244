"""`open311 areas sync|approve|rollback|diff`: pull a layer from ArcGIS REST, check it as `areas import` does,
stage it as a version, and make a version live (by a person, or by auto_approve within its bounds).

Nothing is written until a pull is complete and checked: a sync that fails halfway leaves every version, and
the live one, as they were.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy.orm import Session

from open311.config.gis import LayerSync, with_layer_path
from open311.config.jurisdictions import Jurisdiction
from open311.errors import ConfigError
from open311.gis.arcgis import PullOptions, pull_layer
from open311.gis.diff import LayerDiff, allows, diff_versions
from open311.gis.importing import ImportOptions, layer_needs, transform
from open311.gis.layers import (
    POLYGONAL,
    LayerError,
    read_facilities,
    read_frame,
    read_places,
    read_polygons,
    write_geojson,
)
from open311.gis.live import build_live, live_key
from open311.gis.versions import (
    VersionError,
    find_version,
    live_version,
    live_versions,
    make_live,
    rollback_target,
    stage_version,
    version_data,
)


@dataclass(frozen=True)
class SyncResult:
    """What a sync did."""

    layer: str
    version_id: int
    created: bool                 # False: the source was unchanged since that version
    features: int
    pages: int
    diff: LayerDiff               # against the live version (everything is added when none is live)
    live_before: int | None
    auto_approved: bool


def synced_layer(jurisdiction: Jurisdiction, layer: str) -> LayerSync:
    """The sync settings of a layer, or a LayerError naming the layers that have them."""
    gis = jurisdiction.gis
    synced = gis.synced() if gis is not None else {}
    if layer not in synced:
        names = ", ".join(sorted(synced)) or "none"
        raise LayerError(f"layer {layer!r} of {jurisdiction.id} is not read from ArcGIS (arcgis: layers: {names}).")
    return synced[layer]


def _normalise(jurisdiction: Jurisdiction, layer: str, pulled: bytes, folder: Path) -> Path:
    """The pulled features as `areas import` writes a file: WGS84, repaired, only the properties used."""
    assert jurisdiction.gis is not None
    raw = folder / "pulled.geojson"
    raw.write_bytes(pulled)
    needed, polygonal = layer_needs(jurisdiction.gis, layer)
    frame = read_frame(raw, POLYGONAL if polygonal else None)
    frame = transform(frame, needed, ImportOptions(), jurisdiction.gis)
    candidate = folder / f"{layer.replace(':', '-')}-candidate.geojson"
    write_geojson(frame, candidate, layer.replace(":", "-"))
    return candidate


def _read_alone(jurisdiction: Jurisdiction, layer: str, path: Path) -> int:
    """Read the candidate with the layer's own reader (names, types, facilities' fields); its feature count."""
    assert jurisdiction.gis is not None
    gis = with_layer_path(jurisdiction.gis, layer, path)
    if layer == "places":
        assert gis.places is not None
        return len(read_places(gis.places)[0])
    if layer == "facilities":
        assert gis.facilities is not None
        return len(read_facilities(gis.facilities)[0])
    district = gis.districts[layer.removeprefix("district:")]
    return len(read_polygons(path, district.name)[0])


def check_candidate(session: Session, jurisdiction: Jurisdiction, layer: str, path: Path, label: str,
                    http: requests.Session, cache_dir: Path) -> list[str]:
    """Build the jurisdiction's areas with the candidate in place of the layer (the other synced layers at
    their live versions); the problems that stop it going live: names rules use that it lacks."""
    key = live_key(jurisdiction, live_versions(session))
    try:
        build_live(session, jurisdiction, http, cache_dir, key, overrides={layer: (path, label)})
    except ConfigError as exc:
        return [p.replace(path.name, f"{layer} version {label}") for p in exc.problems]
    return []


def layer_diff(session: Session, jurisdiction: Jurisdiction, layer: str, version_id: int,
               against: int | None, problems: tuple[str, ...] = ()) -> LayerDiff:
    """The diff of a version against another (None: against nothing, every feature added)."""
    assert jurisdiction.gis is not None
    key, compare = diff_keys(jurisdiction, layer)
    old = version_data(session, against) if against is not None else None
    return diff_versions(old, version_data(session, version_id), key, compare, jurisdiction.gis.projected_crs,
                         problems)


def diff_keys(jurisdiction: Jurisdiction, layer: str) -> tuple[str, list[str]]:
    """The property that names a feature of the layer, and the other properties compared."""
    gis = jurisdiction.gis
    assert gis is not None
    if layer == "places" and gis.places is not None:
        return gis.places.name, [gis.places.type]
    if layer == "facilities" and gis.facilities is not None:
        props = dict(gis.facilities.properties)
        key = props.pop("id", None) or props.pop("name")
        return key, sorted(set(props.values()) - {key})
    return gis.districts[layer.removeprefix("district:")].name, []


def sync_layer(session: Session, jurisdiction: Jurisdiction, layer: str, http: requests.Session, now: datetime,
               cache_dir: Path, options: PullOptions | None = None,
               progress: Callable[[int, int | None], None] | None = None) -> SyncResult:
    """Pull, check and stage one layer (one transaction, after the pull); auto-approve it when allowed."""
    settings = synced_layer(jurisdiction, layer)
    base = options or PullOptions()
    pull_options = PullOptions(where=settings.where, timeout=base.timeout, retries=base.retries,
                               backoff=base.backoff, page_size=base.page_size, max_bytes=base.max_bytes)
    pulled = pull_layer(settings.url, http, pull_options, progress)
    with tempfile.TemporaryDirectory(prefix="open311-sync-") as folder:
        candidate = _normalise(jurisdiction, layer, pulled.data, Path(folder))
        features = _read_alone(jurisdiction, layer, candidate)
        with session.begin():
            problems = check_candidate(session, jurisdiction, layer, candidate, "new", http, cache_dir)
            version_id, created = stage_version(session, jurisdiction.id, layer, settings.url,
                                                candidate.read_bytes(), features, problems, now)
            before = live_version(session, jurisdiction.id, layer)
            diff = layer_diff(session, jurisdiction, layer, version_id, before, tuple(problems))
            bounds = settings.auto_approve
            auto = (bounds is not None and before is not None and version_id != before
                    and allows(diff, bounds.max_changed_km2, bounds.max_changed_features))
            if auto:
                make_live(session, find_version(session, jurisdiction.id, layer, version_id), "auto", now)
    return SyncResult(layer, version_id, created, features, pulled.pages, diff, before, auto)


def approve_version(session: Session, jurisdiction: Jurisdiction, layer: str, version_id: int, by: str,
                    now: datetime, http: requests.Session, cache_dir: Path) -> int | None:
    """Make a version live after checking it still builds with the configuration as it is now; returns the
    version that was live before."""
    synced_layer(jurisdiction, layer)
    with session.begin():
        row = find_version(session, jurisdiction.id, layer, version_id)
        return _go_live(session, jurisdiction, layer, row.id, by, now, http, cache_dir)


def rollback_layer(session: Session, jurisdiction: Jurisdiction, layer: str, by: str, now: datetime,
                   http: requests.Session, cache_dir: Path) -> tuple[int, int]:
    """Go back to the newest approved version older than the live one; returns (from, to)."""
    synced_layer(jurisdiction, layer)
    with session.begin():
        target = rollback_target(session, jurisdiction.id, layer)
        before = _go_live(session, jurisdiction, layer, target.id, by, now, http, cache_dir)
    assert before is not None
    return before, target.id


def _go_live(session: Session, jurisdiction: Jurisdiction, layer: str, version_id: int, by: str, now: datetime,
             http: requests.Session, cache_dir: Path) -> int | None:
    """Check a version against today's configuration, record what stops it, and make it live if nothing does."""
    row = find_version(session, jurisdiction.id, layer, version_id)
    with tempfile.TemporaryDirectory(prefix="open311-approve-") as folder:
        path = Path(folder) / f"{layer.replace(':', '-')}-{version_id}.geojson"
        path.write_bytes(version_data(session, version_id))
        row.problems = check_candidate(session, jurisdiction, layer, path, str(version_id), http, cache_dir)
    if row.problems:
        session.flush()
        raise VersionError(f"version {version_id} of {layer} cannot go live: " + " ".join(row.problems))
    return make_live(session, row, by, now)
