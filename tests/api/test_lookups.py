"""geocode.{fmt}?address= and areas/{code}/check.{fmt}?lat=&long=: what an intake form asks before submitting."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers import GRAFFITI, errors_of, json_of, xml_of

B = "/open311/v2"


def test_geocode_finds_a_known_address_with_its_place(client: FlaskClient) -> None:
    found = json_of(client.get(f"{B}/geocode.json?address=4801 East 3rd Street"))
    assert found == [{"address": "4801 E 3rd St, East Los Angeles, CA 90022", "lat": 34.0389, "long": -118.165,
                      "in_county": True, "place": "East Los Angeles", "city": None, "unincorporated": True}]
    root = xml_of(client.get(f"{B}/geocode.xml?address=100 N Garfield Ave, Pasadena"))
    assert root.tag == "addresses" and root.findtext("address/city") == "Pasadena"


def test_geocode_unknown_address_is_an_empty_list(client: FlaskClient) -> None:
    assert json_of(client.get(f"{B}/geocode.json?address=1 Nowhere Lane, Atlantis")) == []


@pytest.mark.parametrize(("query", "message"), [
    ("", "address is required, e.g. address=4801 E 3rd St, East Los Angeles."),
    ("?address=" + "x" * 501, "address must be at most 500 characters."),
])
def test_geocode_bad_input(client: FlaskClient, query: str, message: str) -> None:
    assert errors_of(client.get(f"{B}/geocode.json{query}"), "json") == [(400, message)]


def test_check_served_point(client: FlaskClient) -> None:
    check = json_of(client.get(f"{B}/areas/DPW-GRAFFITI/check.json?lat=34.0389&long=-118.165"))
    assert check == {"service_code": "DPW-GRAFFITI", "lat": 34.0389, "long": -118.165, "served": True,
                     "in_county": True, "place": "East Los Angeles", "city": None, "unincorporated": True,
                     "service_area": "Unincorporated areas plus cities that contract with the County for the service",
                     "description": None, "referral": None}


def test_check_refused_point_names_the_referral_like_a_post_does(client: FlaskClient, api_key: str) -> None:
    point = {"lat": "34.1478", "long": "-118.1445"}       # Pasadena City Hall
    check = json_of(client.get(f"{B}/areas/DPW-GRAFFITI/check.json", query_string=point))
    assert check["served"] is False and check["city"] == "Pasadena" and check["unincorporated"] is False
    assert check["referral"] == {"agency": "City of Pasadena Citizen Service Center", "phone": "(626) 744-7311",
                                 "url": "https://www.cityofpasadena.net/", "note": None}
    posted = client.post(f"{B}/requests.json", data={**GRAFFITI, **point, "api_key": api_key})
    assert errors_of(posted, "json") == [(400, check["description"])]


def test_check_outside_the_county(client: FlaskClient) -> None:
    check = json_of(client.get(f"{B}/areas/DPW-POTHOLE/check.json?lat=36.5&long=-118.2"))
    assert (check["served"], check["in_county"], check["referral"], check["place"]) == (False, False, None, None)
    assert "is outside County of Los Angeles" in check["description"]
    swapped = client.get(f"{B}/areas/DPW-POTHOLE/check.json?lat=-118.165&long=34.0389")
    assert any("Did you swap lat and long?" in d for _, d in errors_of(swapped, "json"))


def test_check_facility_rule_uses_its_own_referral(client: FlaskClient) -> None:
    check = json_of(client.get(f"{B}/areas/DPR-RESTROOM/check.json?lat=34.0389&long=-118.165"))
    assert check["served"] is False
    assert check["referral"]["agency"] == "County Parks Facilities Call Center"
    assert check["referral"]["note"].startswith("The location is not at a County park")


@pytest.mark.parametrize(("path", "status", "message"), [
    ("areas/DPW-NOPE/check.json?lat=34&long=-118", 404, "service_code 'DPW-NOPE' not found."),
    ("areas/DPW-POTHOLE/check.json", 400, "lat and long are required."),
    ("areas/DPW-POTHOLE/check.json?lat=34", 400, "lat and long must be sent together."),
    ("areas/DPW-POTHOLE/check.json?lat=abc&long=-118", 400, "lat must be a decimal number, got 'abc'."),
    ("areas/DPW-POTHOLE/check.csv?lat=34&long=-118", 404, "Unknown format 'csv': use .xml or .json."),
])
def test_check_bad_input(client: FlaskClient, path: str, status: int, message: str) -> None:
    assert errors_of(client.get(f"{B}/{path}"), "json") == [(status, message)]


def test_check_in_xml(client: FlaskClient) -> None:
    root = xml_of(client.get(f"{B}/areas/DPW-GRAFFITI/check.xml?lat=34.1478&long=-118.1445"))
    assert root.tag == "service_area_check"
    assert root.findtext("served") == "false" and root.findtext("referral/agency").startswith("City of Pasadena")
