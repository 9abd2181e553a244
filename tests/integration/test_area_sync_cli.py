"""`open311 areas sync|diff|approve|rollback|versions` on the demo layers served by a loopback ArcGIS REST server:
auto_approve within its bounds, versions that lack names rules use, clear failures that store nothing,
check-config, /readyz ages and `sync --every`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from click.testing import CliRunner, Result
from flask import Flask

from open311.cli import main
from tests.arcgis_server import ArcGisServer, Layer, arcgis_server
from tests.conftest import ROOT, Clock
from tests.gisconfigs import JID, demo_synced_config

PLACES = ROOT / "service_areas" / JID / "places.geojson"


def demo_places() -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(PLACES.read_bytes())["features"]
    return features


def shifted(features: list[dict[str, Any]], names: set[str], dx: float = 0.002) -> list[dict[str, Any]]:
    """The features with those named moved east by dx degrees."""
    changed = json.loads(json.dumps(features))
    for feature in changed:
        if feature["properties"]["name"] in names:
            shape = shapely.transform(shapely.from_geojson(json.dumps(feature["geometry"])),
                                      lambda xy: xy + np.array([dx, 0.0]))
            feature["geometry"] = json.loads(shapely.to_geojson(shape))
    return changed


@dataclass
class Cli:
    """Commands against one configuration and database."""

    arcgis: ArcGisServer
    layer: Layer
    env: dict[str, str]
    folder: Path

    def run(self, *args: str) -> Result:
        return CliRunner(env=self.env).invoke(main, list(args))

    def configure(self, **options: Any) -> None:
        """Rewrite the configuration with these options on the places layer."""
        self.env["OPEN311_CONFIG"] = str(demo_synced_config(self.folder, self.arcgis.url("Places"), **options))


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Iterator[Cli]:
    layer = Layer(demo_places(), max_record_count=8)
    with arcgis_server(Places=layer) as arcgis:
        env = {"OPEN311_DATABASE_URL": database_url, "OPEN311_AREAS_DIR": str(tmp_path / "areas"),
               "OPEN311_INTAKE_DIR": str(tmp_path / "intake")}
        found = Cli(arcgis, layer, env, tmp_path)
        found.configure()
        assert found.run("db", "upgrade").exit_code == 0
        yield found


def version_of(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_check_config_needs_a_live_version_of_a_synced_layer(cli: Cli) -> None:
    missing = cli.run("check-config")
    assert missing.exit_code == 1 and "has no live version yet" in missing.output, missing.output
    first = version_of(cli.run("areas", "sync", "places"))
    assert cli.run("areas", "approve", "places", first).exit_code == 0
    checked = cli.run("check-config")
    assert checked.exit_code == 0, checked.output
    assert f"places synced from ArcGIS REST, live version {first}" in checked.stdout


def test_progress_and_the_version_id_alone_on_the_last_line(cli: Cli) -> None:
    result = cli.run("areas", "sync", "places")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1"
    assert "places: 8/20 features" in result.stderr and "places: 20/20 features" in result.stderr
    assert "new version 1 (20 features, 3 page(s)); against nothing live yet" in result.stderr
    assert "see `open311 areas diff places 1`" in result.stderr
    listed = cli.run("areas", "versions", "places").stdout
    assert listed.startswith("1\tstaged\t20 features")


def test_auto_approve_takes_small_changes_and_leaves_big_ones_staged(cli: Cli) -> None:
    cli.configure(auto_approve={"max_changed_features": 2, "max_changed_km2": 20})
    first = version_of(cli.run("areas", "sync", "places"))
    assert "staged" in cli.run("areas", "versions", "places").stdout   # the first version waits for a person
    assert cli.run("areas", "approve", "places", first, "--by", "ana").exit_code == 0
    cli.layer.replace(shifted(demo_places(), {"Vernon", "Culver City"}))
    small = cli.run("areas", "sync", "places")
    second = version_of(small)
    assert "is live (auto_approve: within its bounds)" in small.stderr
    cli.layer.replace(shifted(shifted(demo_places(), {"Vernon", "Culver City"}), {"Inglewood", "Torrance", "Burbank"}))
    third = version_of(cli.run("areas", "sync", "places"))
    lines = cli.run("areas", "versions", "places").stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [[first, "retired"], [second, "live"], [third, "staged"]]
    assert "by ana" in lines[0] and "by auto" in lines[1]
    diff = json.loads(cli.run("areas", "diff", "places", "--json").stdout)
    assert (diff["version"], diff["against"], diff["changed_features"]) == (int(third), int(second), 3)
    assert [c["name"] for c in diff["changed"]] == ["Burbank", "Inglewood", "Torrance"]


def test_a_version_without_a_contract_city_is_stored_but_cannot_go_live(cli: Cli) -> None:
    assert cli.run("areas", "approve", "places", version_of(cli.run("areas", "sync", "places"))).exit_code == 0
    cli.layer.replace([f for f in demo_places() if f["properties"]["name"] != "Lakewood"])
    synced = cli.run("areas", "sync", "places")
    second = version_of(synced)
    assert "cannot go live as the configuration stands" in synced.stderr
    assert "unknown city 'Lakewood' (not in places version new)" in synced.stderr
    diff = cli.run("areas", "diff", "places", second)
    assert "removed (1):" in diff.stdout and "  - Lakewood" in diff.stdout
    assert "rules whose places vanished" in diff.stdout and "contract_cities: unknown city 'Lakewood'" in diff.stdout
    refused = cli.run("areas", "approve", "places", second)
    assert refused.exit_code == 1 and "cannot go live" in refused.output and "Lakewood" in refused.output
    assert f"{second}\tstaged" in cli.run("areas", "versions", "places").stdout


def test_failures_say_what_is_wrong_and_store_nothing(cli: Cli) -> None:
    not_synced = cli.run("areas", "sync", "facilities")
    assert not_synced.exit_code == 1 and "is not read from ArcGIS (arcgis: layers: places)" in not_synced.output
    cli.layer.replace([{**f, "properties": {"name": f["properties"]["name"]}} for f in demo_places()])
    no_type = cli.run("areas", "sync", "places")
    assert no_type.exit_code == 1, no_type.output
    assert "the source has no 'type'; it has: OBJECTID, name" in no_type.output
    cli.layer.replace(demo_places())
    cli.layer.faults = {2: [("error", 400)]}
    halfway = cli.run("areas", "sync", "places")
    assert halfway.exit_code == 1 and "ArcGIS error 400" in halfway.output
    assert "has no versions yet" in cli.run("areas", "versions", "places").stdout
    first = version_of(cli.run("areas", "sync", "places"))
    unknown = cli.run("areas", "approve", "places", "999")
    assert unknown.exit_code == 1 and f"places has no version 999 (latest versions: {first})" in unknown.output
    assert cli.run("areas", "approve", "places", "v1x").exit_code == 2
    assert cli.run("areas", "approve", "places", first).exit_code == 0
    nothing = cli.run("areas", "rollback", "places")
    assert nothing.exit_code == 1 and "nothing to roll back to" in nothing.output
    assert cli.run("import-areas").exit_code == 2   # not a command: click's usage error, no traceback


def test_readyz_reports_each_layer_and_fails_when_it_is_stale(cli: Cli, make_app: Callable[..., Flask],
                                                               clock: Clock, database_url: str) -> None:
    cli.configure(max_age="2h")
    clock.now = clock.now.replace(microsecond=0)
    version = version_of(cli.run("areas", "sync", "places"))
    assert cli.run("areas", "approve", "places", version).exit_code == 0
    app = make_app(Path(cli.env["OPEN311_CONFIG"]), OPEN311_AREAS_DIR=cli.env["OPEN311_AREAS_DIR"])
    client = app.test_client()
    from open311.storage.models import AreaLayerVersion

    with app.extensions["open311"].session() as session, session.begin():
        session.get(AreaLayerVersion, int(version)).checked_at = clock()   # type: ignore[union-attr]
    ready = client.get("/readyz")
    entry = ready.get_json()["checks"]["area_layers"][f"{JID}/places"]
    assert ready.status_code == 200, ready.get_json()
    assert entry == {"status": "ok", "live_version": int(version), "age_seconds": 0, "max_age_seconds": 7200.0,
                     "pending_version": None}
    clock.advance(timedelta(hours=3).total_seconds())
    stale = client.get("/readyz")
    assert stale.status_code == 503
    assert stale.get_json()["checks"]["area_layers"][f"{JID}/places"]["status"] == "stale"


def test_sync_every_keeps_going_until_sigterm(cli: Cli, tmp_path: Path) -> None:
    command = [str(Path(sys.executable).parent / "open311"), "areas", "sync", "--every", "1s", "--quiet"]
    process = subprocess.Popen(command, env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while sum(1 for q in cli.layer.log if q.get("returnCountOnly") == "true") < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    cli.layer.faults = {1: [("http", 404)]}
    while sum(1 for q in cli.layer.log if q.get("returnCountOnly") == "true") < 4:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.splitlines()[:2] == ["places 1", "places 1"], out
    assert "places: sync failed, the live version is unchanged; next try in 1s" in err
