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
                     "description": None, "referral": None, "routing": check["routing"]}
    assert {k: v for k, v in check["routing"].items() if k not in ("layer_version", "layers")} == {
        "place": "East Los Angeles", "place_type": "unincorporated", "city": None, "district": None,
        "rule": "uninc_plus_contract", "reason": "East Los Angeles (unincorporated) is inside the area of rule "
        "uninc_plus_contract: Unincorporated areas plus cities that contract with the County for the service."}
    assert [e["layer"] for e in check["routing"]["layers"]] == ["boundary", "places"]
    assert check["routing"]["layer_version"] == check["routing"]["layers"][1]["version"]
    assert check["routing"]["layer_version"].startswith("file:")


def test_check_explains_district_and_facility_rules(client: FlaskClient) -> None:
    district = json_of(client.get(f"{B}/areas/DPW-WATERLEAK/check.json?lat=34.6&long=-118.0"))["routing"]
    assert district["district"] == "Waterworks District 40, Antelope Valley (demo)"
    assert district["rule"] == "waterworks" and district["reason"].startswith("Inside Waterworks District 40")
    assert [e["layer"] for e in district["layers"]] == ["boundary", "district:waterworks", "places"]
    assert district["layer_version"] == district["layers"][1]["version"]
    outside = json_of(client.get(f"{B}/areas/DPW-WATERLEAK/check.json?lat=34.0389&long=-118.165"))
    assert (outside["served"], outside["routing"]["district"]) == (False, None)
    assert outside["routing"]["reason"] == ("In no district that rule waterworks lists (Inside a County Waterworks "
                                            "District).")
    park = json_of(client.get(f"{B}/areas/DPR-RESTROOM/check.json?lat=34.038&long=-118.1585"))
    assert park["served"] is True
    assert park["routing"]["district"] == "Belvedere Community Regional Park"
    assert park["routing"]["reason"] == "Within 500 m of Belvedere Community Regional Park, as rule county_parks asks."
    assert [e["layer"] for e in park["routing"]["layers"]] == ["boundary", "facilities", "places"]


def test_check_refused_point_names_the_referral_like_a_post_does(client: FlaskClient, api_key: str) -> None:
    point = {"lat": "34.1478", "long": "-118.1445"}       # Pasadena City Hall
    check = json_of(client.get(f"{B}/areas/DPW-GRAFFITI/check.json", query_string=point))
    assert check["served"] is False and check["city"] == "Pasadena" and check["unincorporated"] is False
    assert check["referral"] == {"agency": "City of Pasadena Citizen Service Center", "phone": "(626) 744-7311",
                                 "url": "https://www.cityofpasadena.net/", "note": None}
    posted = client.post(f"{B}/requests.json", data={**GRAFFITI, **point, "api_key": api_key})
    assert errors_of(posted, "json") == [(400, check["description"])]
    assert "in the City of Pasadena" in check["description"] and "(rule uninc_plus_contract)" in check["description"]
    assert (check["routing"]["place"], check["routing"]["place_type"], check["routing"]["city"]) == (
        "Pasadena", "city", "Pasadena")
    assert check["routing"]["reason"].startswith("The City of Pasadena is outside the area of rule "
                                                 "uninc_plus_contract")


def test_check_outside_the_county(client: FlaskClient) -> None:
    check = json_of(client.get(f"{B}/areas/DPW-POTHOLE/check.json?lat=36.5&long=-118.2"))
    assert (check["served"], check["in_county"], check["referral"], check["place"]) == (False, False, None, None)
    assert "is outside County of Los Angeles" in check["description"]
    assert check["routing"]["place_type"] is None and check["routing"]["reason"] == "Outside County of Los Angeles."
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
    assert root.findtext("routing/rule") == "uninc_plus_contract" and root.findtext("routing/place") == "Pasadena"
    assert [e.findtext("layer") for e in root.findall("routing/layers/layer")] == ["boundary", "places"]
