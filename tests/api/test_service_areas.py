"""POST against service areas on the demo layers: accepted, referred, outside, swapped, address-only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.census_fake import census_server
from tests.gisconfigs import config_variant
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of

FORMATS = ("xml", "json")
POOL = {"service_code": "DPH-POOL-WATER", "attribute[facility_name]": "Sunset Motel",
        "attribute[pool_setting]": "hotel_motel"}
PASADENA_CITY_HALL = {"lat": "34.1478", "long": "-118.1445"}
PASADENA_REFERRAL = (
    "Public Pool \N{EN DASH} Cloudy or Unclear Water (DPH-POOL-WATER) is not handled by County of Los Angeles "
    "in the City of Pasadena; its service area is: Countywide except Long Beach, Pasadena and Vernon, which have "
    "their own health departments (rule dph_eh). Please contact Pasadena Public Health Department: phone "
    "(626) 744-6000, https://www.cityofpasadena.net/public-health/.")
OUTSIDE = ("The location (lat 33.900000, long -118.600000) is outside County of Los Angeles; this gateway takes "
           "requests only for places inside it.")
SWAPPED = "Did you swap lat and long? With lat and long exchanged the location is inside County of Los Angeles."
POOL_NOTICE = "If you cannot see the main drain at the deepest point, stay out of the water."
UNVERIFIED = ("The address could not be placed on the map, so it was not checked against the service area; staff "
              "will verify the location.")


def rows(gateway: Services) -> list[ServiceRequest]:
    with gateway.session() as session, session.begin():
        return list(session.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))


def key_for(app: Flask) -> str:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        return create_key(session, "lacounty.gov", "tests", gateway.clock())[1]


@pytest.mark.parametrize("fmt", FORMATS)
class TestPointChecks:
    def test_inside_the_area_is_accepted(self, client: FlaskClient, api_key: str, gateway: Services,
                                         fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "api_key": api_key})
        assert r.status_code == 200, r.data
        [row] = rows(gateway)
        assert (row.lat, row.long, row.location_status) == (34.0239, -118.172, "given")

    def test_outside_the_area_names_who_serves_it(self, client: FlaskClient, api_key: str, gateway: Services,
                                                  fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={**POOL, **PASADENA_CITY_HALL, "api_key": api_key})
        assert r.status_code == 400
        assert errors_of(r, fmt) == [(400, PASADENA_REFERRAL)]
        assert rows(gateway) == []

    def test_outside_the_county(self, client: FlaskClient, api_key: str, fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "lat": "33.9", "long": "-118.6",
                                                              "api_key": api_key})
        assert r.status_code == 400
        assert errors_of(r, fmt) == [(400, OUTSIDE)]

    def test_swapped_coordinates_get_a_hint(self, client: FlaskClient, api_key: str, fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "lat": "-118.1720", "long": "34.0239",
                                                              "api_key": api_key})
        assert r.status_code == 400
        assert errors_of(r, fmt) == [(400, "lat must be between -90 and 90, got '-118.1720'."), (400, SWAPPED)]

    def test_validation_problems_come_before_the_area_check(self, client: FlaskClient, api_key: str,
                                                            fmt: str) -> None:
        data = {**POOL, **PASADENA_CITY_HALL, "api_key": api_key, "attribute[pool_setting]": "lake"}
        r = client.post(f"/open311/v2/requests.{fmt}", data=data)
        assert errors_of(r, fmt) == [(400, "attribute[pool_setting] (Type of property) 'lake' is not one of: "
                                           "hotel_motel, apartment_condo, hoa_community, health_club, other_public.")]


def test_address_only_is_geocoded_then_checked(client: FlaskClient, api_key: str, gateway: Services) -> None:
    no_point = {k: v for k, v in GRAFFITI.items() if k not in ("lat", "long")}
    r = client.post("/open311/v2/requests.json", data={**no_point, "address_string": "4801 East 3rd Street",
                                                       "api_key": api_key})
    assert r.status_code == 200, r.data
    assert json_of(r)[0]["service_notice"].startswith("Street graffiti is removed")
    [row] = rows(gateway)
    assert (row.lat, row.long, row.location_status) == (34.0389, -118.165, "geocoded")
    assert row.routing is not None and (row.routing["place"], row.routing["rule"]) == (
        "East Los Angeles", "uninc_plus_contract")
    read = json_of(client.get(f"/open311/v2/requests/{row.id}.json"))[0]
    assert (read["lat"], read["long"], read["address"]) == (34.0389, -118.165, "4801 East 3rd Street")
    r = client.post("/open311/v2/requests.json", data={**POOL, "address_string": "100 N Garfield Ave, Pasadena",
                                                       "api_key": api_key})
    assert errors_of(r, "json") == [(400, PASADENA_REFERRAL)]


def test_unplaced_address_accepted_as_unverified(client: FlaskClient, api_key: str, gateway: Services) -> None:
    r = client.post("/open311/v2/requests.xml", data={**POOL, "address_string": "1 Nowhere Rd", "api_key": api_key})
    assert r.status_code == 200
    notice = POOL_NOTICE + " " + UNVERIFIED  # the service's own notice, then the unverified sentence
    assert xml_of(r).findtext("request/service_notice") == notice
    [row] = rows(gateway)
    assert (row.lat, row.long, row.location_status, row.service_notice) == (None, None, "unverified", notice)
    assert row.routing is None   # not placed, so not routed: staff verify the location
    extended = json_of(client.get(f"/open311/v2/requests/{row.id}.json?extensions=true"))[0]
    assert extended["extended_attributes"]["routing"] is None
    read = json_of(client.get(f"/open311/v2/requests/{row.id}.json"))[0]
    assert read["service_notice"] == notice and read["lat"] is None


def variant(make_app: Callable[..., Flask], tmp_path: Path, **gis: Any) -> Flask:
    """An app on the shipped configuration with some gis: settings replaced."""
    return make_app(config_variant(tmp_path, lambda j: j["gis"].update(gis)))


def test_unplaced_address_rejected_when_configured(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = variant(make_app, tmp_path, unplaced_addresses="reject")
    client, key = app.test_client(), key_for(app)
    r = client.post("/open311/v2/requests.json", data={**POOL, "address_string": "1 Nowhere Rd", "api_key": key})
    assert errors_of(r, "json") == [(400, "The address '1 Nowhere Rd' could not be placed on the map; send lat and "
                                          "long, or a full street address with the city.")]
    r = client.post("/open311/v2/requests.xml", data={**POOL, "address_id": "A-17", "api_key": key})
    assert errors_of(r, "xml") == [(400, "An address_id alone cannot be placed on the map here; send lat and long "
                                         "or address_string.")]
    r = client.post("/open311/v2/requests.json", data={**POOL, "address_string": "4801 E 3rd St", "api_key": key})
    assert r.status_code == 200


def test_census_geocoder_end_to_end(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    with census_server() as (url, seen):
        app = variant(make_app, tmp_path, unplaced_addresses="reject",
                      geocoder={"kind": "census", "options": {"url": url, "timeout_s": 1}})
        client, key = app.test_client(), key_for(app)
        r = client.post("/open311/v2/requests.json",
                        data={**POOL, "address_string": "4801 E 3rd St, Los Angeles, CA 90022", "api_key": key})
        assert r.status_code == 200, r.data
        assert seen[-1]["benchmark"] == ["Public_AR_Current"]
        [row] = rows(app.extensions["open311"])
        assert (row.lat, row.long, row.location_status) == (34.03891, -118.16505, "geocoded")
        r = client.post("/open311/v2/requests.json",
                        data={**POOL, "address_string": "100 N Garfield Ave, Pasadena, CA 91101", "api_key": key})
        assert errors_of(r, "json") == [(400, PASADENA_REFERRAL)]
        r = client.post("/open311/v2/requests.xml", data={**POOL, "address_string": "1 Ocean, Nowhere", "api_key": key})
        assert errors_of(r, "xml") == [(400, "The address '1 Ocean, Nowhere' (lat 33.900000, long -118.600000) is "
                                             "outside County of Los Angeles; this gateway takes requests only for "
                                             "places inside it.")]
        r = client.post("/open311/v2/requests.json", data={**POOL, "address_string": "BOOM", "api_key": key})
        assert r.status_code == 503
        assert errors_of(r, "json") == [(503, "The address lookup is unavailable right now; send lat and long, or "
                                              "try again later.")]


def test_census_outage_with_accept_policy_takes_the_request_unverified(make_app: Callable[..., Flask],
                                                                       tmp_path: Path) -> None:
    with census_server() as (url, _):
        app = variant(make_app, tmp_path, geocoder={"kind": "census", "options": {"url": url, "timeout_s": 1}})
        r = app.test_client().post("/open311/v2/requests.json",
                                   data={**POOL, "address_string": "BOOM", "api_key": key_for(app)})
        assert r.status_code == 200
        assert json_of(r)[0]["service_notice"] == POOL_NOTICE + " " + UNVERIFIED


def test_jurisdiction_without_gis_checks_nothing(multi_client: FlaskClient, multi_key: str) -> None:
    r = multi_client.post("/open311/v2/requests.json", data={"jurisdiction_id": "a.example", "service_code": "001",
                                                             "lat": "1", "long": "2", "api_key": multi_key})
    assert r.status_code == 200, r.data
