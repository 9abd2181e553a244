"""Versions of a synced layer stored in the database: the diff of two versions, and a running app that routes by
whichever version is live (approve, rollback) without a restart, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from flask import Flask

from open311.gis.diff import allows, diff_versions
from open311.gis.versions import (
    VersionError,
    layer_ages,
    list_versions,
    make_live,
    rollback_target,
    stage_version,
)
from open311.services import Services
from open311.storage.db import create_schema, make_engine, make_session_factory
from open311.storage.models import AreaLayerVersion
from tests.conftest import ROOT, Clock
from tests.gisconfigs import JID, demo_synced_config
from tests.helpers import GRAFFITI

PLACES = ROOT / "service_areas" / JID / "places.geojson"
LAYER_URL = "http://127.0.0.1:9/arcgis/rest/services/Places/FeatureServer/0"   # never contacted here
# A box around the GRAFFITI point (East Los Angeles, unincorporated): version 2 hands it to Vernon.
REFRESH = 0.05
MOVED = shapely.box(-118.18, 34.015, -118.165, 34.03)


def _collection(edit: Callable[[list[dict[str, Any]]], None] | None = None) -> bytes:
    """The demo places as GeoJSON bytes, after `edit(features)`."""
    data = json.loads(PLACES.read_bytes())
    if edit is not None:
        edit(data["features"])
    return json.dumps(data).encode()


def _feature(features: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in features if f["properties"]["name"] == name)


def _set_geometry(feature: dict[str, Any], geometry: Any) -> None:
    feature["geometry"] = json.loads(shapely.to_geojson(geometry))


def _move_box(features: list[dict[str, Any]]) -> None:
    """East Los Angeles loses MOVED, Vernon gains it: a boundary moved."""
    east, vernon = _feature(features, "East Los Angeles"), _feature(features, "Vernon")
    _set_geometry(east, shapely.from_geojson(json.dumps(east["geometry"])).difference(MOVED))
    _set_geometry(vernon, shapely.union(shapely.from_geojson(json.dumps(vernon["geometry"])), MOVED))


def test_diff_names_moved_added_removed_and_renamed_places() -> None:
    def edit(features: list[dict[str, Any]]) -> None:
        _move_box(features)
        features.remove(_feature(features, "Malibu"))
        _feature(features, "Altadena")["properties"]["name"] = "Altadena Heights"
        features.append({"type": "Feature", "properties": {"name": "Avalon", "type": "standalone-city"},
                         "geometry": json.loads(shapely.to_geojson(shapely.box(-118.34, 33.33, -118.31, 33.35)))})

    old, new = _collection(), _collection(edit)
    diff = diff_versions(old, new, "name", ["type"], "EPSG:3310")
    assert [c.name for c in diff.changed] == ["East Los Angeles", "Vernon"]
    moved_km2 = diff.changed[0].changed_km2
    assert moved_km2 == pytest.approx(diff.changed[1].changed_km2, rel=0.01)
    assert 1.5 < moved_km2 < 3.5       # a 0.015° x 0.015° box at 34° N: about 2.3 km²
    assert diff.changed[0].after_km2 == pytest.approx(diff.changed[0].before_km2 - moved_km2, rel=1e-6)
    assert [name for name, _ in diff.removed] == ["Malibu"]
    assert [name for name, _ in diff.added] == ["Avalon"]
    assert [(a, b) for a, b, _ in diff.renamed] == [("Altadena", "Altadena Heights")]
    assert diff.changed_features == 5
    assert diff.changed_km2 > 2 * moved_km2
    assert allows(diff, None, 5) and not allows(diff, None, 4)
    assert not allows(diff, 2 * moved_km2, None)
    same = diff_versions(old, old, "name", ["type"], "EPSG:3310")
    assert same.empty and same.changed_km2 == 0
    retyped = diff_versions(old, _collection(lambda f: _feature(f, "Vernon")["properties"].update(
        type="unincorporated-area")), "name", ["type"], "EPSG:3310")
    assert [(c.name, c.properties, c.changed_km2) for c in retyped.changed] == [("Vernon", ("type",), 0.0)]


@pytest.fixture
def synced_config(tmp_path: Path) -> Path:
    """The shipped configuration with its places layer read from ArcGIS REST."""
    return demo_synced_config(tmp_path, LAYER_URL, max_age="1d")


def _stage(gateway_sessions: Any, data: bytes, clock: Clock) -> int:
    with gateway_sessions() as session, session.begin():
        version, created = stage_version(session, JID, "places", LAYER_URL, data, 20, [], clock())
    assert created
    return version


def _live(sessions: Any, version: int, clock: Clock, by: str = "test") -> None:
    with sessions() as session, session.begin():
        row = session.get(AreaLayerVersion, version)
        assert row is not None
        make_live(session, row, by, clock())


def _places_version(gateway: Services) -> str:
    areas = gateway.geo[JID]
    return areas.layer_versions["places"]


def _graffiti_status(client: Any, key: str) -> tuple[int, str]:
    time.sleep(REFRESH * 1.5)   # the app looks at the live table at most every REFRESH seconds
    r = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": key})
    return r.status_code, r.get_data(as_text=True)


def test_a_running_app_follows_the_live_version(
        make_app: Callable[..., Flask], database_url: str, synced_config: Path, clock: Clock,
        api_key_factory: Callable[[Flask], str]) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    first = _stage(sessions, _collection(), clock)
    with sessions() as session, session.begin():   # an unchanged source: no new version, only confirmed later
        clock.advance(60)
        assert stage_version(session, JID, "places", LAYER_URL, _collection(), 20, [], clock()) == (first, False)
    _live(sessions, first, clock)
    app = make_app(synced_config, OPEN311_AREAS_REFRESH=REFRESH)
    gateway: Services = app.extensions["open311"]
    key = api_key_factory(app)
    client = app.test_client()
    assert _graffiti_status(client, key)[0] == 200
    assert _places_version(gateway) == str(first)

    second = _stage(sessions, _collection(_move_box), clock)       # staged: nothing changes yet
    assert _graffiti_status(client, key)[0] == 200
    _live(sessions, second, clock)
    status, body = _graffiti_status(client, key)                   # now Vernon's: referred
    assert status == 400 and "in the City of Vernon" in body, body
    assert _places_version(gateway) == str(second)

    with sessions() as session, session.begin():
        assert rollback_target(session, JID, "places").id == first
        states = {v.id: v.state for v in list_versions(session, JID, "places")}
        assert states == {first: "retired", second: "live"}
        ages = layer_ages(session, JID, {"places": 86400.0}, clock())
        assert ages["places"]["status"] == "ok" and ages["places"]["live_version"] == second
        assert layer_ages(session, JID, {"places": 1.0}, clock() + timedelta(hours=1))[
            "places"]["status"] == "stale"
    _live(sessions, first, clock)
    assert _graffiti_status(client, key)[0] == 200
    engine.dispose()


def test_a_version_with_problems_cannot_go_live(database_url: str, clock: Clock) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        version, _ = stage_version(session, JID, "places", LAYER_URL, b"{}", 0, ["rule x: unknown city 'Y'"],
                                   clock())
        row = session.get(AreaLayerVersion, version)
        assert row is not None
        with pytest.raises(VersionError, match="unknown city 'Y'"):
            make_live(session, row, "test", clock())
        with pytest.raises(VersionError, match="no live version"):
            rollback_target(session, JID, "places")
    engine.dispose()
