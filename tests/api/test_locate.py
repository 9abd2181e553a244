"""Locate on the demo layers: services at a point, published areas, facilities; errors in the asked format."""

from __future__ import annotations

import json

import pytest
import shapely
from flask.testing import FlaskClient

from open311.services import Services
from tests.helpers import errors_of, json_of, xml_of, xml_records

FORMATS = ("xml", "json")
EAST_LA = "lat=34.0239&long=-118.1720"
PASADENA = "lat=34.1478&long=-118.1445"
SANTA_MONICA = "lat=34.0195&long=-118.4912"
BELVEDERE = "lat=34.0380&long=-118.1590"
# The rules that cover each point on the demo layers (East LA is unincorporated, Belvedere Park is a
# County park in it, Santa Monica and Pasadena are cities; Pasadena has its own health department).
RULES_AT = {
    EAST_LA: {"uninc", "uninc_plus_contract", "countywide", "dph_eh", "dph_housing"},
    BELVEDERE: {"uninc", "uninc_plus_contract", "countywide", "dph_eh", "dph_housing", "county_parks"},
    SANTA_MONICA: {"countywide", "dph_eh", "dph_housing"},
    PASADENA: {"countywide"},
}


def offered_by_rules(gateway: Services, rules: set[str]) -> list[str]:
    """The catalog's codes, in display order, of the services whose rule is in `rules`."""
    catalog = gateway.config.jurisdictions["lacounty.gov"].catalog
    return [code for code, service in catalog.services.items() if service.service_area in rules]


def codes(client: FlaskClient, fmt: str, query: str) -> list[str]:
    r = client.get(f"/open311/v2/services.{fmt}?{query}")
    assert r.status_code == 200, r.data
    if fmt == "json":
        return [s["service_code"] for s in json_of(r)]
    return [s.findtext("service_code") or "" for s in xml_of(r)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_at_a_point(client: FlaskClient, gateway: Services, fmt: str) -> None:
    everything = list(gateway.config.jurisdictions["lacounty.gov"].catalog.services)
    assert codes(client, fmt, "") == everything
    for point, rules in RULES_AT.items():
        expected = offered_by_rules(gateway, rules)
        assert codes(client, fmt, point) == expected, point
        assert 0 < len(expected) < len(everything)
    assert "DPR-RESTROOM" in codes(client, fmt, BELVEDERE) and "DPR-RESTROOM" not in codes(client, fmt, EAST_LA)
    assert codes(client, fmt, "lat=&long=") == everything            # empty == absent


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_at_a_point_keep_the_spec_shape(client: FlaskClient, fmt: str) -> None:
    """The filtered list is the full document with the other services left out, element for element."""
    everything = client.get(f"/open311/v2/services.{fmt}")
    here = client.get(f"/open311/v2/services.{fmt}?{BELVEDERE}")
    if fmt == "json":
        full = {s["service_code"]: s for s in json_of(everything)}
        assert all(full[s["service_code"]] == s for s in json_of(here))
    else:
        full_xml = {r["service_code"]: r for r in xml_records(xml_of(everything))}
        assert all(full_xml[r["service_code"]] == r for r in xml_records(xml_of(here)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_at_a_point_errors(client: FlaskClient, fmt: str) -> None:
    url = f"/open311/v2/services.{fmt}"
    cases = {
        "lat=34.02": [(400, "lat and long must be sent together.")],
        "lat=north&long=-118": [(400, "lat must be a decimal number, got 'north'.")],
        "lat=34&long=-200": [(400, "long must be between -180 and 180, got '-200'.")],
        "lat=nan&long=-118": [(400, "lat must be a decimal number, got 'nan'.")],
        "lat=33.9&long=-118.6": [(400, "The location (lat 33.900000, long -118.600000) is outside County of Los "
                                       "Angeles; this gateway takes requests only for places inside it.")],
        "lat=-118.172&long=34.0239": [(400, "lat must be between -90 and 90, got '-118.172'."),
                                      (400, "Did you swap lat and long? With lat and long exchanged the location "
                                            "is inside County of Los Angeles.")],
    }
    for query, expected in cases.items():
        r = client.get(f"{url}?{query}")
        assert r.status_code == 400, query
        assert errors_of(r, fmt) == expected, query


def test_services_at_a_point_without_gis_lists_everything(multi_client: FlaskClient) -> None:
    r = multi_client.get("/open311/v2/services.json?jurisdiction_id=b.example&lat=1&long=2")
    assert [s["service_code"] for s in json_of(r)] == ["001", "002"]
    r = multi_client.get("/open311/v2/services.json?jurisdiction_id=b.example&lat=1")
    assert errors_of(r, "json") == [(400, "lat and long must be sent together.")]


def area(client: FlaskClient, code: str) -> dict[str, object]:
    r = client.get(f"/open311/v2/areas/{code}.geojson")
    assert r.status_code == 200, r.data
    assert r.content_type == "application/geo+json"
    doc = json.loads(r.data)
    assert doc["type"] == "FeatureCollection" and doc["service_code"] == code
    return doc


def test_published_areas(client: FlaskClient) -> None:
    pool = area(client, "DPH-POOL-WATER")
    assert pool["service_area"] == "dph_eh"
    names = {f["properties"]["name"] for f in pool["features"]}  # type: ignore[attr-defined]
    assert "East Los Angeles" in names and "Santa Monica" in names and not names & {"Pasadena", "Vernon",
                                                                                    "Long Beach"}
    planning = area(client, "DRP-INOPERABLE")
    assert all(f["properties"]["unincorporated"] for f in planning["features"])  # type: ignore[attr-defined]
    graffiti = area(client, "DPW-GRAFFITI")
    assert {f["properties"]["city"] for f in graffiti["features"]} == {None, "Lakewood"}  # type: ignore[attr-defined]
    parks = area(client, "DPR-RESTROOM")
    assert {f["properties"]["category"] for f in parks["features"]} == {"park"}  # type: ignore[attr-defined]
    # the published buffer and the check agree: a point 450 m from Belvedere Park's point is inside both
    buffer = next(f for f in parks["features"] if f["properties"]["facility_id"] == "P1")  # type: ignore[attr-defined]
    assert shapely.geometry.shape(buffer["geometry"]).covers(shapely.Point(-118.1585, 34.0380 + 450 / 111_000))
    assert "DPR-RESTROOM" in codes(client, "json", "lat=34.04205&long=-118.1585")
    assert "DPR-RESTROOM" not in codes(client, "json", "lat=34.04305&long=-118.1585")   # 561 m away


@pytest.mark.parametrize("url,fmt,expected", [
    ("/open311/v2/areas/NOPE.geojson", "json", "service_code 'NOPE' not found."),
    ("/open311/v2/areas/DPW-GRAFFITI.json", "json", "Unknown format 'json': service areas are published as .geojson."),
    ("/open311/v2/areas/DPW-GRAFFITI.xml", "xml", "Unknown format 'xml': service areas are published as .geojson."),
    ("/open311/v2/areas/DPW-GRAFFITI.geojson?jurisdiction_id=x", "json", "jurisdiction_id 'x' not found."),
])
def test_area_errors(client: FlaskClient, url: str, fmt: str, expected: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    assert errors_of(r, fmt) == [(404, expected)]


def test_no_areas_or_facilities_without_gis(multi_client: FlaskClient) -> None:
    r = multi_client.get("/open311/v2/areas/001.geojson?jurisdiction_id=a.example")
    assert errors_of(r, "json") == [(404, "No service areas are configured for jurisdiction 'a.example'.")]
    r = multi_client.get("/open311/v2/facilities.xml?jurisdiction_id=a.example")
    assert errors_of(r, "xml") == [(404, "No service areas are configured for jurisdiction 'a.example'.")]


def test_facilities_nearest_first_in_three_formats(client: FlaskClient) -> None:
    query = f"{EAST_LA}&radius=3000"
    found = json_of(client.get(f"/open311/v2/facilities.json?{query}"))
    assert [f["name"] for f in found] == ["Ruben F. Salazar Park", "East Los Angeles Library",
                                          "Belvedere Community Regional Park"]
    assert found[0] == {"facility_id": "P2", "name": "Ruben F. Salazar Park", "category": "park",
                        "address": "3864 Whittier Blvd", "city": "East Los Angeles", "phone": "(877) 601-4850",
                        "url": "https://parks.lacounty.gov/", "hours": None, "lat": 34.0205, "long": -118.187,
                        "distance_m": 1435.8}
    xml = xml_records(xml_of(client.get(f"/open311/v2/facilities.xml?{query}")))
    assert [(r["name"], r["distance_m"]) for r in xml] == [(f["name"], str(f["distance_m"])) for f in found]
    geo = client.get(f"/open311/v2/facilities.geojson?{query}")
    assert geo.content_type == "application/geo+json"
    features = json.loads(geo.data)["features"]
    assert [f["geometry"]["coordinates"] for f in features] == [[f["long"], f["lat"]] for f in found]
    assert features[0]["properties"]["distance_m"] == 1435.8


def test_facilities_filters(client: FlaskClient) -> None:
    parks = json_of(client.get(f"/open311/v2/facilities.json?{EAST_LA}&radius=3000&category=park"))
    assert [f["facility_id"] for f in parks] == ["P2", "P1"]
    both = json_of(client.get(f"/open311/v2/facilities.json?{EAST_LA}&radius=3000&category=library,office"))
    assert [f["facility_id"] for f in both] == ["L1"]
    nearest = json_of(client.get(f"/open311/v2/facilities.json?{EAST_LA}&limit=1"))
    assert [f["facility_id"] for f in nearest] == ["P2"]
    everything = json_of(client.get("/open311/v2/facilities.json"))
    assert len(everything) == 11 and all(f["distance_m"] is None for f in everything)
    assert [f["name"] for f in everything] == sorted(f["name"] for f in everything)
    assert json_of(client.get("/open311/v2/facilities.json?lat=34.7&long=-118.0")) == []   # none within 5 km


@pytest.mark.parametrize("fmt", ["xml", "json", "geojson"])
def test_facilities_errors(client: FlaskClient, fmt: str) -> None:
    url = f"/open311/v2/facilities.{fmt}"
    error_fmt = "xml" if fmt == "xml" else "json"
    cases = {
        f"{EAST_LA}&radius=-5": ["radius must be between 0 and 50000, got '-5'."],
        f"{EAST_LA}&radius=0": ["radius must be more than 0 metres."],
        f"{EAST_LA}&radius=60000": ["radius must be between 0 and 50000, got '60000'."],
        "radius=100": ["radius needs lat and long."],
        "category=zoo,park": ["category 'zoo' unknown; available: library, office, park."],
        f"{EAST_LA}&limit=2.5": ["limit must be a whole number from 1 to 1000, got '2.5'."],
        "lat=34&long=x&limit=0": ["long must be a decimal number, got 'x'.",
                                  "limit must be a whole number from 1 to 1000, got '0'."],
    }
    for query, expected in cases.items():
        r = client.get(f"{url}?{query}")
        assert r.status_code == 400, query
        assert errors_of(r, error_fmt) == [(400, e) for e in expected], query


def test_facilities_unknown_format(client: FlaskClient) -> None:
    r = client.get("/open311/v2/facilities.csv")  # errors of .csv URLs are JSON (docs/feeds.md)
    assert errors_of(r, "json") == [(404, "Unknown format 'csv': use .xml, .json or .geojson.")]
    r = client.get("/open311/v2/facilities.txt")
    assert errors_of(r, "xml") == [(404, "Unknown format 'txt': use .xml, .json or .geojson.")]
