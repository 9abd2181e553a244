"""locations.{fmt}?q=: a place without the map (an address, an intersection in either order, a facility's name),
as the web app's place search suggests it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from open311.gis.geocoders import Gazetteer, Geocoded, matches_words, search_words
from tests.conftest import ROOT
from tests.helpers import errors_of, json_of, xml_of

B = "/open311/v2"
WHITTIER_ATLANTIC = "Whittier Blvd & S Atlantic Blvd, East Los Angeles, CA 90022"


def labels(client: FlaskClient, text: str, **extra: str) -> list[tuple[str, str]]:
    found = json_of(client.get(f"{B}/locations.json", query_string={"q": text, **extra}))
    return [(f["kind"], f["label"]) for f in found]


@pytest.mark.parametrize("typed", ["Whittier Blvd & Atlantic Blvd", "atlantic boulevard and whittier",
                                   "Whittier / S Atlantic", "WHITTIER BLVD AT ATLANTIC BLVD"])
def test_an_intersection_is_found_with_its_streets_in_either_order(client: FlaskClient, typed: str) -> None:
    assert labels(client, typed)[0] == ("intersection", WHITTIER_ATLANTIC)


def test_a_suggestion_carries_its_point_and_place(client: FlaskClient) -> None:
    first = json_of(client.get(f"{B}/locations.json?q=Whittier %26 Atlantic"))[0]
    assert first == {"label": WHITTIER_ATLANTIC, "kind": "intersection", "lat": 34.0233, "long": -118.1545,
                     "in_county": True, "place": "East Los Angeles", "city": None, "unincorporated": True}
    root = xml_of(client.get(f"{B}/locations.xml?q=Whittier %26 Atlantic"))
    assert root.tag == "locations" and root.findtext("location/kind") == "intersection"


def test_a_facility_by_its_name_comes_first_then_addresses(client: FlaskClient) -> None:
    assert labels(client, "belvedere")[0] == ("facility", "Belvedere Community Regional Park")
    assert labels(client, "East Los Angeles Lib")[0] == ("facility", "East Los Angeles Library")
    assert ("address", "4801 E 3rd St, East Los Angeles, CA 90022") in labels(client, "4801 e 3rd")
    kinds = [k for k, _ in labels(client, "east los angeles")]
    assert kinds.index("facility") < kinds.index("address")


def test_nothing_known_is_an_empty_list_and_limit_caps_it(client: FlaskClient) -> None:
    assert labels(client, "zzzz qqqq") == []
    assert labels(client, "x") == []                        # one letter: too little to suggest anything
    assert len(labels(client, "e", limit="2")) <= 2
    assert len(labels(client, "east los angeles", limit="1")) == 1


@pytest.mark.parametrize(("query", "message"), [
    ({}, "q is required, e.g. q=Whittier Blvd & Atlantic Blvd."),
    ({"q": "x" * 201}, "q must be at most 200 characters."),
    ({"q": "park", "limit": "0"}, "limit"),
    ({"q": "park", "limit": "many"}, "limit"),
])
def test_bad_input_is_a_400(client: FlaskClient, query: dict[str, str], message: str) -> None:
    errors = errors_of(client.get(f"{B}/locations.json", query_string=query), "json")
    assert errors[0][0] == 400 and message in errors[0][1], errors


def test_geocode_places_an_intersection_typed_in_the_other_order(client: FlaskClient) -> None:
    found = json_of(client.get(f"{B}/geocode.json", query_string={"address": "Atlantic Blvd & Whittier Blvd"}))
    assert [f["address"] for f in found] == [WHITTIER_ATLANTIC]


def test_word_matching() -> None:
    assert search_words("Whittier Boulevard & Atlantic") == ["whittier", "blvd", "atlantic"]
    assert matches_words(["whittier", "atl"], "whittier blvd s atlantic blvd")      # the last word cut short
    assert not matches_words(["whit", "atlantic"], "whittier blvd s atlantic blvd")  # only the last one may be
    assert not matches_words([], "anything")


def test_the_gazetteer_suggests_every_entry_holding_the_words() -> None:
    gazetteer = Gazetteer({"path": "service_areas/lacounty.gov/gazetteer.csv"}, http=None, base=ROOT)  # type: ignore[arg-type]
    found = gazetteer.suggest("atlantic", 5)
    assert {g.matched for g in found} == {WHITTIER_ATLANTIC, "E 3rd St & S Atlantic Blvd, East Los Angeles, CA 90022"}
    assert all(isinstance(g, Geocoded) for g in found)
    assert gazetteer.geocode("S Atlantic Blvd & E 3rd St").matched.startswith("E 3rd St & S Atlantic")  # type: ignore[union-attr]
    assert gazetteer.geocode("Atlantic") is None     # not an intersection: no guess
