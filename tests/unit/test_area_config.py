"""The gis:, service_areas: and referrals: sections: shipped ones load; every mistake is reported with file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from open311.config.jurisdictions import load_config
from open311.errors import ConfigError
from open311.gis.areas import build_geo
from tests.conftest import ROOT

CONFIG = ROOT / "jurisdictions.yaml"


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    """A copy of the shipped configuration, layers and catalog, to break."""
    shutil.copytree(ROOT / "service_definitions", tmp_path / "service_definitions")
    shutil.copytree(ROOT / "service_areas", tmp_path / "service_areas")
    shutil.copy(CONFIG, tmp_path / "jurisdictions.yaml")
    return tmp_path / "jurisdictions.yaml"


def problems_of(path: Path, *, build: bool = False) -> list[str]:
    """The problems load_config (and, with build, the layer build) reports."""
    with pytest.raises(ConfigError) as caught:
        config = load_config(path)
        if build:
            build_geo(config, requests.Session())
    return caught.value.problems


def test_shipped_rules_load_as_typed_rules() -> None:
    jurisdiction = load_config(CONFIG).jurisdictions["lacounty.gov"]
    rules = jurisdiction.service_areas
    assert set(rules) == {"uninc", "uninc_plus_contract", "countywide", "dph_eh", "dph_housing", "county_parks",
                          "waterworks"}
    assert rules["dph_eh"].kind == "countywide_except"
    assert rules["dph_eh"].cities == ("Long Beach", "Pasadena", "Vernon")
    assert rules["dph_housing"].cities == ("Long Beach", "Pasadena", "Vernon", "Glendale", "Torrance")
    # the YAML merge key carries the health departments into dph_housing's referrals
    assert rules["dph_housing"].referrals["Pasadena"] == rules["dph_eh"].referrals["Pasadena"]
    assert rules["county_parks"].distance_m == 500 and rules["county_parks"].categories == ("park",)
    assert rules["waterworks"].layer == "waterworks"
    assert jurisdiction.gis is not None and jurisdiction.gis.unplaced_addresses == "accept"
    assert jurisdiction.referrals["Santa Monica"].agency == "City of Santa Monica"


def test_structural_mistakes_are_located(conf: Path) -> None:
    text = conf.read_text()
    text = text.replace("kind: near_facility", "kind: near_park")
    text = text.replace("        except_cities: [Long Beach, Pasadena, Vernon]\n",
                        "        except_cities: [Long Beach, Pasadena, Vernon]\n        contract_cities: [Lakewood]\n")
    text = text.replace("unplaced_addresses: accept", "unplaced_addresses: maybe")
    text = text.replace('phone: "(310) 458-8411", url: "https://www.santamonica.gov/"',
                        'phone: "(310) 458-8411", url: "santamonica"')
    conf.write_text(text)
    problems = problems_of(conf)
    where = f"{conf}:{line_of(text, 'kind: near_park')}: jurisdictions.lacounty.gov.service_areas.county_parks.kind"
    assert f"{where}: Must be one of: {', '.join(sorted_kinds())}." in problems
    contract = line_of(text, "except_cities: [Long Beach, Pasadena, Vernon]") + 1
    assert (f"{conf}:{contract}: jurisdictions.lacounty.gov.service_areas.dph_eh.contract_cities: Not used by kind "
            "countywide_except.") in problems
    assert (f"{conf}:{line_of(text, 'unplaced_addresses: maybe')}: jurisdictions.lacounty.gov.gis."
            "unplaced_addresses: Must be one of: accept, reject.") in problems
    url_line = line_of(text, 'url: "santamonica"')
    assert f"{conf}:{url_line}: jurisdictions.lacounty.gov.referrals.Santa Monica.url: Not a valid URL." in problems


def sorted_kinds() -> list[str]:
    return ["unincorporated", "unincorporated_plus_contract", "countywide", "countywide_except", "near_facility",
            "district"]


def test_missing_kind_keys_and_unknown_layers(conf: Path) -> None:
    text = conf.read_text()
    text = text.replace("        distance_m: 500\n", "")
    text = text.replace("layer: waterworks", "layer: sewers")
    text = text.replace("        except_cities: [Long Beach, Pasadena, Vernon]\n", "")
    conf.write_text(text)
    problems = problems_of(conf)
    assert any("service_areas.county_parks.distance_m: Required by kind near_facility." in p for p in problems)
    assert any("service_areas.dph_eh.except_cities: Required by kind countywide_except." in p for p in problems)
    text = text.replace("kind: near_facility\n", "kind: near_facility\n        distance_m: 500\n")
    text = text.replace("kind: countywide_except\n", "kind: countywide_except\n        except_cities: [Vernon]\n", 1)
    conf.write_text(text)
    problems = problems_of(conf)
    assert problems == [f"{conf}:{line_of(text, 'layer: sewers')}: jurisdictions.lacounty.gov.service_areas.waterworks"
                        ".layer: Unknown district layer 'sewers'; gis.districts has: waterworks."]


def test_city_names_and_categories_are_checked_against_the_layers(conf: Path) -> None:
    text = conf.read_text().replace("[Long Beach, Pasadena, Vernon]", "[Long Beach, Pasadina, Vernon]", 1)
    text = text.replace("categories: [park]", "categories: [park, zoo]")
    conf.write_text(text)
    problems = problems_of(conf, build=True)
    rule_line = line_of(text, "  dph_eh:")
    assert (f"{conf}:{rule_line}: jurisdictions.lacounty.gov.service_areas.dph_eh.except_cities: unknown city "
            "'Pasadina' (not in places.geojson).") in problems
    assert any("service_areas.county_parks.categories: unknown facility categories ['zoo']" in p for p in problems)


def test_service_contract_cities_need_a_contract_rule_and_known_cities(conf: Path) -> None:
    defs = conf.parent / "service_definitions" / "lacounty.gov"
    drp = defs / "DRP-INOPERABLE.yaml"
    drp.write_text(drp.read_text() + "contract_cities: [Lakewood]\n")
    graffiti = defs / "DPW-GRAFFITI.yaml"
    graffiti.write_text(graffiti.read_text() + "contract_cities: [Lakewood, Atlantis]\n")
    problems = problems_of(conf)
    assert any(p.startswith(f"{drp}:") and p.endswith("contract_cities: Only for a service_area of kind "
                                                      "unincorporated_plus_contract.") for p in problems), problems
    drp.write_text(drp.read_text().replace("contract_cities: [Lakewood]\n", ""))
    assert problems_of(conf, build=True) == [f"{graffiti}: contract_cities: unknown city 'Atlantis' "
                                             "(not in places.geojson)."]


def test_missing_layer_file_and_geocoder_options(conf: Path) -> None:
    (conf.parent / "service_areas" / "lacounty.gov" / "waterworks.geojson").unlink()
    problems = problems_of(conf, build=True)
    assert len(problems) == 1 and problems[0].endswith("waterworks.geojson: layer file not found.")
    assert f"{conf}:" in problems[0] and "jurisdictions.lacounty.gov.gis:" in problems[0]
    text = conf.read_text().replace("options: {path: service_areas/lacounty.gov/gazetteer.csv}",
                                    "options: {file: gazetteer.csv}")
    conf.write_text(text)
    problems = problems_of(conf)
    line = line_of(text, "options: {file: gazetteer.csv}")
    assert f"{conf}:{line}: jurisdictions.lacounty.gov.gis.geocoder.options.file: Unknown key (typo?)." in problems
    assert f"{conf}:{line}: jurisdictions.lacounty.gov.gis.geocoder.options.path: Missing data for required field." \
        in problems
    conf.write_text(text.replace("kind: gazetteer ", "kind: oracle "))
    assert any("gis.geocoder.kind: Unknown geocoder 'oracle'; available: census, gazetteer." in p
               for p in problems_of(conf))


def test_rules_without_layers_are_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tests" / "data" / "multi" / "defs", tmp_path / "defs")
    text = (ROOT / "tests" / "data" / "multi" / "jurisdictions.yaml").read_text()
    text = text.replace("    service_definitions: defs/a.example\n", "    service_definitions: defs/a.example\n"
                        "    service_areas:\n      parks: {kind: near_facility, description: x, distance_m: 10}\n")
    (tmp_path / "jurisdictions.yaml").write_text(text)
    problems = problems_of(tmp_path / "jurisdictions.yaml")
    assert any("service_areas.parks: Service-area rules need a gis: section (or a boundary)" in p for p in problems)
