"""Geocoders: the shipped gazetteer, and the Census client against a loopback fake of the Census API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from open311.gis.geocoders import CensusGeocoder, Gazetteer, Geocoded, GeocoderUnavailable, build_geocoder, normalise
from tests.census_fake import census_server
from tests.conftest import ROOT

DEMO = ROOT / "service_areas" / "lacounty.gov"


def test_normalise_spelling() -> None:
    assert normalise("4801 East Third-St., East Los Angeles,  CA 90022") == "4801 e third st e los angeles ca 90022"
    assert normalise("100 North Garfield Avenue") == normalise("100 N. GARFIELD AVE")


def test_gazetteer_matches_full_and_street_only_addresses() -> None:
    gazetteer = Gazetteer({"path": "gazetteer.csv"}, http=requests.Session(), base=DEMO)
    full = gazetteer.geocode("4801 East 3rd Street, East Los Angeles, California 90022")
    assert full is not None and (full.lat, full.long) == (34.0389, -118.1650)
    assert gazetteer.geocode("4801 E 3rd St") == full
    assert gazetteer.geocode("4801 E 3rd St, East Los Angeles") == full    # street part is unambiguous
    assert gazetteer.geocode("1 Nowhere Rd") is None


def test_gazetteer_refuses_bad_rows(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("address,lat,long\n\"1 A St\",north,-118\n")
    with pytest.raises(ValueError, match=r"g\.csv:2: needs columns address, lat, long"):
        Gazetteer({"path": "g.csv"}, http=requests.Session(), base=tmp_path)


@pytest.fixture
def census() -> Iterator[tuple[CensusGeocoder, list[dict[str, list[str]]]]]:
    with census_server() as (url, seen):
        yield CensusGeocoder({"url": url, "benchmark": "Public_AR_Current", "timeout_s": 0.5},
                             http=requests.Session(), base=ROOT), seen


def test_census_match(census: tuple[CensusGeocoder, list[dict[str, list[str]]]]) -> None:
    geocoder, seen = census
    found = geocoder.geocode("4801 E 3rd St, Los Angeles, CA 90022")
    assert found == Geocoded(34.03891, -118.16505, "4801 E 3RD ST, LOS ANGELES, CA, 90022")
    assert seen[-1] == {"address": ["4801 E 3rd St, Los Angeles, CA 90022"], "benchmark": ["Public_AR_Current"],
                        "format": ["json"]}


def test_census_no_match_and_unparseable_address(census: tuple[CensusGeocoder, list[dict[str, list[str]]]]) -> None:
    geocoder, _ = census
    assert geocoder.geocode("1 Nowhere Rd, Atlantis") is None       # 200 with an empty addressMatches
    assert geocoder.geocode("x" * 150) is None                       # 400 {"errors": [...]}


@pytest.mark.parametrize("address", ["BOOM", "MOVED", "GARBLED", "HUGE", "SLOW"])
def test_census_failures_are_unavailable_not_unknown(census: tuple[CensusGeocoder, list[dict[str, list[str]]]],
                                                     address: str) -> None:
    geocoder, _ = census
    with pytest.raises(GeocoderUnavailable):
        geocoder.geocode(address)


def test_census_unreachable() -> None:
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    geocoder = build_geocoder("census", {"url": f"http://127.0.0.1:{port}/geocoder", "timeout_s": 0.5},
                              requests.Session(), ROOT)
    with pytest.raises(GeocoderUnavailable, match="unreachable"):
        geocoder.geocode("4801 E 3rd St")
