"""Service areas on the shipped demo layers: locating points, every rule kind, boundaries, referrals."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from pyproj import Geod

from open311.config.jurisdictions import load_config
from open311.errors import BadRequest
from open311.gis.areas import ServiceAreas, build_service_areas, swap_hint
from tests.conftest import ROOT

EAST_LA = (34.0239, -118.1720)
ALTADENA = (34.19, -118.13)
PASADENA = (34.1478, -118.1445)
SANTA_MONICA = (34.0195, -118.4912)
LA_CITY_HALL = (34.0537, -118.2427)
LAKEWOOD = (33.853, -118.133)
GLENDALE = (34.1425, -118.2551)
OCEAN = (33.90, -118.60)
BELVEDERE_PARK = (34.0380, -118.1585)
LANCASTER = (34.69, -118.15)
PASADENA_ALTADENA_EDGE = (34.17, -118.13)   # on the drawn border between the two


@pytest.fixture(scope="module")
def areas() -> ServiceAreas:
    jurisdiction = load_config(ROOT / "jurisdictions.yaml").jurisdictions["lacounty.gov"]
    return build_service_areas(jurisdiction, requests.Session())


# One service of each department, with rules uninc_plus_contract, county_parks, uninc, dph_eh, uninc.
FIVE = {"DPW-GRAFFITI", "DPR-RESTROOM", "DEO-VEND-SIDEWALK", "DPH-POOL-WATER", "DRP-INOPERABLE"}


def offered(areas: ServiceAreas, point: tuple[float, float]) -> set[str]:
    """Which of FIVE are offered at a point."""
    return {s.service_code for s in areas.services_at(areas.locate(*point))} & FIVE


def test_locate_names_the_place_and_city(areas: ServiceAreas) -> None:
    east_la = areas.locate(*EAST_LA)
    assert east_la.in_county and [p.name for p in east_la.places] == ["East Los Angeles"]
    assert east_la.city is None and east_la.describe() == "in East Los Angeles (unincorporated)"
    assert areas.locate(*PASADENA).describe() == "in the City of Pasadena"
    assert areas.locate(*LA_CITY_HALL).city == "Los Angeles"
    ocean = areas.locate(*OCEAN)
    assert not ocean.in_county and ocean.places == ()


def test_each_rule_kind(areas: ServiceAreas) -> None:
    assert offered(areas, EAST_LA) == {"DPW-GRAFFITI", "DEO-VEND-SIDEWALK", "DPH-POOL-WATER", "DRP-INOPERABLE"}
    assert offered(areas, PASADENA) == set()                       # own health department, a city, no park
    assert offered(areas, GLENDALE) == {"DPH-POOL-WATER"}          # a city: only the near-countywide service
    assert offered(areas, LAKEWOOD) == {"DPW-GRAFFITI", "DPH-POOL-WATER"}   # contract city for DPW
    assert "DPR-RESTROOM" in offered(areas, BELVEDERE_PARK)        # within 500 m of a County park
    catalog = areas.jurisdiction.catalog
    water = replace(catalog.services["DPW-GRAFFITI"], service_area="waterworks")
    assert areas.offers(water, areas.locate(*LANCASTER))           # inside the demo Waterworks district
    assert not areas.offers(water, areas.locate(*EAST_LA))
    housing = replace(catalog.services["DPH-POOL-WATER"], service_area="dph_housing")
    assert not areas.offers(housing, areas.locate(*GLENDALE))      # housing also excludes Glendale
    assert areas.offers(housing, areas.locate(*SANTA_MONICA))
    anywhere = replace(catalog.services["DPH-POOL-WATER"], service_area="countywide")
    assert areas.offers(anywhere, areas.locate(*PASADENA)) and not areas.offers(anywhere, areas.locate(*OCEAN))


def test_points_on_a_boundary_are_inside(areas: ServiceAreas) -> None:
    edge = areas.locate(*PASADENA_ALTADENA_EDGE)
    assert sorted(p.name for p in edge.places) == ["Altadena", "Pasadena"]
    catalog = areas.jurisdiction.catalog
    assert areas.offers(catalog.services["DRP-INOPERABLE"], edge)   # Altadena's side counts
    assert areas.offers(catalog.services["DPH-POOL-WATER"], edge)
    corner = areas.locate(34.82, -117.65)                            # a vertex of the county outline
    assert corner.in_county
    assert not areas.locate(34.8201, -117.65).in_county


def test_service_contract_cities_override_the_rule(areas: ServiceAreas) -> None:
    graffiti = areas.jurisdiction.catalog.services["DPW-GRAFFITI"]
    assert not areas.offers(graffiti, areas.locate(*GLENDALE))
    own_list = replace(graffiti, contract_cities=("Glendale",))
    assert areas.offers(own_list, areas.locate(*GLENDALE))
    assert not areas.offers(own_list, areas.locate(*LAKEWOOD))


def test_refusals_name_who_serves_the_place(areas: ServiceAreas) -> None:
    catalog = areas.jurisdiction.catalog
    with pytest.raises(BadRequest) as pool:
        areas.check(catalog.services["DPH-POOL-WATER"], areas.locate(*PASADENA))
    assert pool.value.descriptions == (
        "Public Pool \N{EN DASH} Cloudy or Unclear Water (DPH-POOL-WATER) is not handled by County of Los Angeles "
        "in the City of Pasadena; its service area is: Countywide except Long Beach, Pasadena and Vernon, which have "
        "their own health departments (rule dph_eh). Please contact Pasadena Public Health Department: phone "
        "(626) 744-6000, https://www.cityofpasadena.net/public-health/.",)
    with pytest.raises(BadRequest) as planning:
        areas.check(catalog.services["DRP-INOPERABLE"], areas.locate(*SANTA_MONICA))
    assert planning.value.descriptions[0].endswith(
        "in the City of Santa Monica; its service area is: Unincorporated areas of the county (rule uninc). Please "
        "contact City of Santa Monica: phone (310) 458-8411, https://www.santamonica.gov/.")
    with pytest.raises(BadRequest) as park:
        areas.check(catalog.services["DPR-RESTROOM"], areas.locate(*ALTADENA))
    assert "in Altadena (unincorporated)" in park.value.descriptions[0]
    assert "County Parks Facilities Call Center: phone (877) 601-4850" in park.value.descriptions[0]


def test_outside_and_swapped(areas: ServiceAreas) -> None:
    graffiti = areas.jurisdiction.catalog.services["DPW-GRAFFITI"]
    with pytest.raises(BadRequest) as ocean:
        areas.check(graffiti, areas.locate(*OCEAN))
    assert ocean.value.descriptions == ("The location (lat 33.900000, long -118.600000) is outside County of Los "
                                        "Angeles; this gateway takes requests only for places inside it.",)
    hint = "Did you swap lat and long? With lat and long exchanged the location is inside County of Los Angeles."
    assert swap_hint(areas, "-118.1720", "34.0239") == hint
    assert swap_hint(areas, "34.0239", "-118.1720") is None           # already inside
    assert swap_hint(areas, "-118.6", "33.9") is None                 # swapped is the ocean: no hint
    assert swap_hint(areas, "x", "34") is None and swap_hint(None, "-118.17", "34.02") is None


def test_facilities_nearest_first_with_metres(areas: ServiceAreas) -> None:
    index = areas.facilities
    assert index is not None
    near = index.nearest(*EAST_LA, radius_m=3000)
    assert [n.facility.name for n in near][:3] == ["Ruben F. Salazar Park", "East Los Angeles Library",
                                                    "Belvedere Community Regional Park"]
    assert [n.distance_m for n in near] == sorted(n.distance_m for n in near)
    # metres in the projected CRS agree with the geodesic distance on the WGS84 ellipsoid
    first = near[0].facility
    geodesic = Geod(ellps="WGS84").inv(EAST_LA[1], EAST_LA[0], first.long, first.lat)[2]
    assert abs(near[0].distance_m - geodesic) < 1.0
    assert [n.facility.category for n in index.nearest(*EAST_LA, 3000, categories=["library"])] == ["library"]
    assert index.nearest(*OCEAN, 1000) == []
