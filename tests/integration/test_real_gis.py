"""The shipped rules and referrals on the real LA County data in ../shared/gis (skipped when it is absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyproj import Geod

from open311 import create_app
from open311.intake.keys import create_key
from open311.services import Services
from tests.conftest import FIXED_NOW, shared_path
from tests.gisconfigs import DPR_PARKS, NEIGHBORHOODS, real_gis_config
from tests.helpers import errors_of, json_of

pytestmark = pytest.mark.shared

EAST_LA = {"lat": "34.0239", "long": "-118.1720"}        # East Los Angeles civic centre: unincorporated
PASADENA = {"lat": "34.1478", "long": "-118.1445"}       # Pasadena City Hall
SANTA_MONICA = {"lat": "34.0195", "long": "-118.4912"}   # Santa Monica, near the pier
LA_CITY_HALL = {"lat": "34.0537", "long": "-118.2427"}   # Downtown, a segment of the City of Los Angeles
OCEAN = {"lat": "33.9000", "long": "-118.6000"}          # Santa Monica Bay
INOPERABLE = {"service_code": "DRP-INOPERABLE", "attribute[vehicle_count]": "2"}
POOL = {"service_code": "DPH-POOL-WATER", "attribute[facility_name]": "Sunset Motel",
        "attribute[pool_setting]": "hotel_motel"}
RESTROOM = {"service_code": "DPR-RESTROOM", "attribute[park_name]": "x", "attribute[issue]": "dirty"}


@pytest.fixture(scope="module")
def real_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app on the real layers for the whole module (reading them takes about half a second)."""
    shared_path("gis", NEIGHBORHOODS)
    shared_path("gis", DPR_PARKS)
    folder = tmp_path_factory.mktemp("realgis")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPEN311_INTAKE_DIR", str(folder / "intake"))
        app = create_app({"TESTING": True, "OPEN311_CONFIG": str(real_gis_config(folder)),
                          "OPEN311_DATABASE_URL": f"sqlite:///{folder / 'real.sqlite3'}",
                          "OPEN311_CREATE_SCHEMA": True, "OPEN311_CLOCK": lambda: FIXED_NOW})
        yield app
        app.extensions["open311"].engine.dispose()


@pytest.fixture(scope="module")
def real_key(real_app: Flask) -> str:
    gateway: Services = real_app.extensions["open311"]
    with gateway.session() as session:
        return create_key(session, "lacounty.gov", "real-gis tests", gateway.clock())[1]


@pytest.fixture
def client(real_app: Flask) -> FlaskClient:
    return real_app.test_client()


def post(client: FlaskClient, real_key: str, fmt: str = "json", **data: str) -> tuple[int, object]:
    r = client.post(f"/open311/v2/requests.{fmt}", data={**data, "api_key": real_key})
    return r.status_code, (json_of(r) if r.status_code == 200 else errors_of(r, fmt))


def test_layers_loaded(real_app: Flask) -> None:
    areas = real_app.extensions["open311"].geo["lacounty.gov"]
    assert areas.summary() == ("272 places, no boundary, 1 district layer(s), 131 facilities, geocoder gazetteer")


def test_unincorporated_east_los_angeles_accepted_for_regional_planning(client: FlaskClient, real_key: str) -> None:
    status, body = post(client, real_key, **INOPERABLE, **EAST_LA)
    assert status == 200, body
    areas = client.application.extensions["open311"].geo["lacounty.gov"]
    location = areas.locate(34.0239, -118.1720)
    assert [p.name for p in location.places] == ["East Los Angeles"] and location.city is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_pasadena_refused_for_public_health_with_its_own_health_department(client: FlaskClient, real_key: str,
                                                                           fmt: str) -> None:
    status, errors = post(client, real_key, fmt, **POOL, **PASADENA)
    assert status == 400
    assert errors == [(400, "Public Pool \N{EN DASH} Cloudy or Unclear Water (DPH-POOL-WATER) is not handled by "
                            "County of Los Angeles in the City of Pasadena; its service area is: Countywide except "
                            "Long Beach, Pasadena and Vernon, which have their own health departments (rule "
                            "dph_eh). Please contact Pasadena Public Health Department: phone (626) 744-6000, "
                            "https://www.cityofpasadena.net/public-health/.")]


def test_santa_monica_refused_for_regional_planning_with_the_city(client: FlaskClient, real_key: str) -> None:
    status, errors = post(client, real_key, **INOPERABLE, **SANTA_MONICA)
    assert status == 400
    assert errors == [(400, "Inoperable Vehicle on Private Property (DRP-INOPERABLE) is not handled by County of Los "
                            "Angeles in the City of Santa Monica; its service area is: Unincorporated areas of the "
                            "county (rule uninc). Please contact City of Santa Monica: phone (310) 458-8411, "
                            "https://www.santamonica.gov/.")]


def test_city_of_los_angeles_neighbourhood_refers_to_myla311(client: FlaskClient, real_key: str) -> None:
    status, errors = post(client, real_key, **INOPERABLE, **LA_CITY_HALL)
    assert status == 400
    [(_, text)] = errors  # type: ignore[misc]
    assert "in the City of Los Angeles (Downtown)" in text
    assert text.endswith("Please contact City of Los Angeles (MyLA311): phone 3-1-1 or (213) 473-3231, "
                         "https://myla311.lacity.gov/.")


def test_ocean_refused_as_outside_the_county(client: FlaskClient, real_key: str) -> None:
    status, errors = post(client, real_key, **INOPERABLE, **OCEAN)
    assert status == 400
    assert errors == [(400, "The location (lat 33.900000, long -118.600000) is outside County of Los Angeles; this "
                            "gateway takes requests only for places inside it.")]


def services_at(client: FlaskClient, point: dict[str, str]) -> list[str] | list[tuple[int, str]]:
    r = client.get(f"/open311/v2/services.json?lat={point['lat']}&long={point['long']}")
    return [s["service_code"] for s in json_of(r)] if r.status_code == 200 else errors_of(r, "json")


def test_services_at_a_point_differ_between_those_points(client: FlaskClient) -> None:
    east_la, pasadena = services_at(client, EAST_LA), services_at(client, PASADENA)
    santa_monica, ocean = services_at(client, SANTA_MONICA), services_at(client, OCEAN)
    catalog = client.application.extensions["open311"].config.jurisdictions["lacounty.gov"].catalog
    area = {code: s.service_area for code, s in catalog.services.items()}
    assert {area[c] for c in east_la} >= {"uninc", "countywide", "dph_eh", "dph_housing"}   # type: ignore[index]
    assert {area[c] for c in santa_monica} == {"countywide", "dph_eh", "dph_housing"}  # type: ignore[index]
    assert {area[c] for c in pasadena} == {"countywide"}  # type: ignore[index]
    assert "DRP-INOPERABLE" in east_la and "DRP-INOPERABLE" not in santa_monica
    assert "DPH-POOL-WATER" in santa_monica and "DPH-POOL-WATER" not in pasadena
    assert ocean == [(400, "The location (lat 33.900000, long -118.600000) is outside County of Los Angeles; this "
                           "gateway takes requests only for places inside it.")]
    assert len({json.dumps(x) for x in (east_la, pasadena, santa_monica, ocean)}) == 4


def test_county_parks_rule_on_the_dpr_points(client: FlaskClient, real_key: str) -> None:
    parks = json.loads(Path(shared_path("gis", DPR_PARKS)).read_text())["features"]
    park = next(f for f in parks if f["properties"]["name"] == "Belvedere Community Regional Park")
    long, lat = park["geometry"]["coordinates"]
    near_long, near_lat, _ = Geod(ellps="WGS84").fwd(long, lat, 90, 400)   # 400 m east of the park's point
    status, body = post(client, real_key, **RESTROOM, lat=f"{near_lat:.6f}", long=f"{near_long:.6f}")
    assert status == 200, body
    far_long, far_lat, _ = Geod(ellps="WGS84").fwd(long, lat, 90, 3000)
    nearest = json_of(client.get(f"/open311/v2/facilities.json?lat={far_lat}&long={far_long}&radius=3500"))
    assert nearest[0]["distance_m"] >= 600      # nothing within the rule's 500 m ...
    status, errors = post(client, real_key, **RESTROOM, lat=f"{far_lat:.6f}", long=f"{far_long:.6f}")
    assert status == 400 and "its service area is: Within 500 m of a County park" in errors[0][1]  # type: ignore[index]


def test_facilities_nearest_first_on_real_parks(client: FlaskClient) -> None:
    found = json_of(client.get(f"/open311/v2/facilities.json?lat={EAST_LA['lat']}&long={EAST_LA['long']}"
                               "&radius=5000&category=park"))
    assert len(found) >= 3
    assert [f["distance_m"] for f in found] == sorted(f["distance_m"] for f in found)
    geod = Geod(ellps="WGS84")
    for f in found:   # metres from the projected CRS match geodesic metres
        metres = geod.inv(float(EAST_LA["long"]), float(EAST_LA["lat"]), f["long"], f["lat"])[2]
        assert abs(f["distance_m"] - metres) < 2.0, f


def test_published_area_of_public_health_leaves_out_its_cities(client: FlaskClient) -> None:
    r = client.get("/open311/v2/areas/DPH-POOL-WATER.geojson")
    doc = json.loads(r.data)
    cities = {f["properties"]["city"] for f in doc["features"]}
    assert "Los Angeles" in cities and "Santa Monica" in cities
    assert not cities & {"Pasadena", "Long Beach", "Vernon"}
    assert len(doc["features"]) == 272 - 3
