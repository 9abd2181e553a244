"""`open311 areas import` (Shapefile, GeoPackage, other CRS) and `open311 areas locate`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas
import numpy as np
import pytest
from click.testing import CliRunner

from open311.cli import main
from tests.conftest import ROOT, shared_path
from tests.gisconfigs import NEIGHBORHOODS

PLACES = Path("service_areas") / "lacounty.gov" / "places.geojson"


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped configuration and layers; OPEN311_CONFIG points at it."""
    shutil.copytree(ROOT / "service_definitions", tmp_path / "service_definitions")
    shutil.copytree(ROOT / "service_areas", tmp_path / "service_areas")
    shutil.copy(ROOT / "jurisdictions.yaml", tmp_path / "jurisdictions.yaml")
    monkeypatch.setenv("OPEN311_CONFIG", str(tmp_path / "jurisdictions.yaml"))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    return tmp_path


def official_style(conf: Path) -> geopandas.GeoDataFrame:
    """The demo places as an official file would come: State Plane feet (EPSG:2229), upper-case fields."""
    frame = geopandas.read_file(conf / PLACES)[["name", "type", "geometry"]].to_crs("EPSG:2229")
    return frame.rename(columns={"name": "CITY_NAME", "type": "CITY_TYPE"})


def use_fields(conf: Path, name: str, type_: str) -> None:
    """Point the places layer's property names at the official file's."""
    path = conf / "jurisdictions.yaml"
    text = path.read_text().replace("        name: name                        # property naming the place",
                                    f"        name: {name}")
    text = text.replace("        type: type                        # property telling cities from unincorporated "
                        "areas", f"        type: {type_}")
    path.write_text(text)


def test_import_a_shapefile_in_another_crs(conf: Path) -> None:
    original = geopandas.read_file(conf / PLACES)
    official_style(conf).to_file(conf / "cities.shp")
    runner = CliRunner()
    refused = runner.invoke(main, ["areas", "import", "places", str(conf / "cities.shp")])
    assert refused.exit_code == 1
    assert "the source has no 'name', 'type'; it has: CITY_NAME, CITY_TYPE." in refused.output
    use_fields(conf, "CITY_NAME", "CITY_TYPE")
    result = runner.invoke(main, ["areas", "import", "places", str(conf / "cities.shp")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"imported 20 features from {conf / 'cities.shp'} (EPSG:2229) into ")
    written = geopandas.read_file(conf / PLACES)
    assert written.crs.equals("EPSG:4326") and list(written.columns) == ["CITY_NAME", "CITY_TYPE", "geometry"]
    # reprojected back to WGS84 within a few centimetres of the original vertices
    assert np.allclose(written.total_bounds, original.total_bounds, atol=1e-6)
    assert written.geometry.iloc[0].equals_exact(original.geometry.iloc[0], tolerance=1e-6)
    located = runner.invoke(main, ["areas", "locate", "--lat", "34.1478", "--long", "-118.1445"])
    assert located.exit_code == 0 and located.output.splitlines()[0] == "in the City of Pasadena: Pasadena"
    assert runner.invoke(main, ["check-config"]).exit_code == 0


def test_import_a_geopackage_layer_filtered_and_simplified(conf: Path) -> None:
    official_style(conf).to_file(conf / "boundaries.gpkg", layer="city_unincorporated", driver="GPKG")
    use_fields(conf, "CITY_NAME", "CITY_TYPE")
    result = CliRunner().invoke(main, ["areas", "import", "places", str(conf / "boundaries.gpkg"),
                                       "--source-layer", "city_unincorporated", "--simplify", "100",
                                       "--where", "CITY_TYPE = 'standalone-city' OR CITY_NAME = 'East Los Angeles'"])
    assert result.exit_code == 0, result.output
    written = geopandas.read_file(conf / PLACES)
    assert len(written) == 18 and "Altadena" not in set(written["CITY_NAME"])


def test_a_file_that_breaks_the_rules_is_not_installed(conf: Path) -> None:
    before = (conf / PLACES).read_bytes()
    frame = official_style(conf)
    frame[frame["CITY_NAME"] != "Lakewood"].to_file(conf / "no-lakewood.shp")
    use_fields(conf, "CITY_NAME", "CITY_TYPE")
    result = CliRunner().invoke(main, ["areas", "import", "places", str(conf / "no-lakewood.shp")])
    assert result.exit_code == 1
    assert "not installed: the areas do not build with the new file:" in result.output
    assert "service_areas.uninc_plus_contract.contract_cities: unknown city 'Lakewood'" in result.output
    assert (conf / PLACES).read_bytes() == before
    assert [p.name for p in (conf / PLACES).parent.iterdir() if p.name.startswith(".")] == []


def test_import_refuses_wrong_layers_and_geometries(conf: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["areas", "import", "district:sewers", str(conf / PLACES)])
    assert result.exit_code == 1 and "layer 'district:sewers' is not configured; configured: boundary, places, " \
                                     "facilities, district:waterworks" in result.output
    points = conf / "service_areas" / "lacounty.gov" / "facilities.geojson"
    result = runner.invoke(main, ["areas", "import", "district:waterworks", str(points)])
    assert result.exit_code == 1 and "expected Polygon or MultiPolygon features, found Point." in result.output
    (conf / "bad.geojson").write_text("{not geojson")
    result = runner.invoke(main, ["areas", "import", "boundary", str(conf / "bad.geojson")])
    assert result.exit_code == 1 and "cannot read as a vector layer" in result.output


def test_import_the_real_neighbourhoods_with_nested_properties(conf: Path) -> None:
    source = shared_path("gis", NEIGHBORHOODS)
    use_fields(conf, "name", "metadata.type")   # the shipped city_segments already name Los Angeles
    result = CliRunner().invoke(main, ["areas", "import", "places", str(source), "--simplify", "10"])
    assert result.exit_code == 0, result.output
    assert (conf / PLACES).stat().st_size < source.stat().st_size
    located = CliRunner().invoke(main, ["areas", "locate", "--lat", "34.0537", "--long", "-118.2427"])
    assert located.output.splitlines()[0] == "in the City of Los Angeles (Downtown): Downtown"
    first = json.loads((conf / PLACES).read_text())["features"][0]["properties"]
    assert set(first) == {"name", "metadata"}


def test_check_config_reads_the_layers(conf: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["check-config"])
    assert ok.exit_code == 0
    assert ("20 places, a boundary, 1 district layer(s), 11 facilities, "
            "geocoder gazetteer") in ok.output
    path = conf / "jurisdictions.yaml"
    path.write_text(path.read_text().replace("contract_cities: [Lakewood]", "contract_cities: [Lakewod]"))
    broken = runner.invoke(main, ["check-config"])
    assert broken.exit_code == 1
    assert "service_areas.uninc_plus_contract.contract_cities: unknown city 'Lakewod' (not in places.geojson)." \
        in broken.output
    assert broken.output.strip().endswith("1 problem(s) found.")
