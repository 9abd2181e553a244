"""The whole catalog over HTTP: 81 services listed in both formats, one accepted request per service
(answers generated from its definition, at a place its service area covers), and a 400 naming each
required question when it is left out. One app for the whole module keeps this fast."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311 import create_app
from open311.catalog.definitions import Attribute, Service
from open311.config.jurisdictions import load_config
from open311.core.dates import format_w3c
from open311.intake.keys import create_key
from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.conftest import FIXED_NOW, ROOT, Clock
from tests.helpers import errors_of, json_of, xml_of

# One real place per service-area rule, chosen to be unambiguously inside the rule's area. The GIS
# that evaluates the rules arrives with issue 4: adjust this table, and only this table, if it
# disagrees. (Checked by hand against ../shared/gis: the first five fall in the named Mapping L.A.
# polygons; Belvedere Park is a County DPR park; Acton is served by County Waterworks District 37.)
RULE_LOCATIONS: dict[str, tuple[str, str, str]] = {
    "uninc": ("34.0239", "-118.1720", "East Los Angeles civic center (unincorporated)"),
    "uninc_plus_contract": ("34.1897", "-118.1312", "Altadena (unincorporated)"),
    "countywide": ("34.0537", "-118.2428", "Los Angeles City Hall"),
    "dph_eh": ("34.0115", "-118.4916", "Santa Monica City Hall (County Environmental Health serves the city)"),
    "dph_housing": ("33.9931", "-117.9687", "Hacienda Heights (unincorporated)"),
    "county_parks": ("34.0406", "-118.1596", "Belvedere Community Regional Park, East Los Angeles"),
    "waterworks": ("34.4700", "-118.1964", "Acton (Los Angeles County Waterworks District No. 37)"),
}
SAMPLE = {"string": "Sample answer", "text": "First line\nSecond line", "number": "2",
          "datetime": "2026-02-09T08:15:00-08:00"}
STORED = {"string": "Sample answer", "text": "First line\nSecond line", "number": 2,
          "datetime": "2026-02-09T08:15:00-08:00"}


# The shipped services in listing order, read at collection time to parametrize the tests.
SERVICES = list(load_config(ROOT / "jurisdictions.yaml").jurisdictions["lacounty.gov"].catalog.services.values())
REQUIRED = [(s, a) for s in SERVICES for a in s.attributes if a.required and a.variable]


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """One app and one API key for every test of this module."""
    tmp = tmp_path_factory.mktemp("catalog")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPEN311_INTAKE_DIR", str(tmp / "intake"))
        app = create_app({"TESTING": True, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
                          "OPEN311_DATABASE_URL": f"sqlite:///{tmp / 'catalog.sqlite3'}",
                          "OPEN311_CREATE_SCHEMA": True, "OPEN311_CLOCK": Clock(FIXED_NOW)})
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        # ~200 POSTs in a few seconds: a key with a limit above the 60/minute default
        _, key = create_key(session, "lacounty.gov", "catalog tests", FIXED_NOW, rate_limit="10000/minute")
    yield app, key
    gateway.engine.dispose()


@pytest.fixture
def web(shared_app: tuple[Flask, str]) -> FlaskClient:
    return shared_app[0].test_client()


def answer(attr: Attribute) -> list[str]:
    """A valid answer for any attribute: the last list key (the first is often the default), or a sample."""
    if attr.datatype == "singlevaluelist":
        return [attr.values[-1].key]
    if attr.datatype == "multivaluelist":
        return list(dict.fromkeys([attr.values[0].key, attr.values[-1].key]))
    return [SAMPLE[attr.datatype]]


def stored_answer(attr: Attribute) -> Any:
    if attr.datatype == "singlevaluelist":
        return attr.values[-1].key
    if attr.datatype == "multivaluelist":
        return answer(attr)
    return STORED[attr.datatype]


def form(service: Service, key: str, *, leave_out: str | None = None) -> dict[str, Any]:
    """A complete POST for a service at its rule's test location, every question answered."""
    assert service.service_area is not None
    lat, long, _ = RULE_LOCATIONS[service.service_area]
    data: dict[str, Any] = {"api_key": key, "service_code": service.service_code, "lat": lat, "long": long,
                            "description": f"Test report for {service.service_name}"}
    for attr in service.attributes:
        if attr.variable and attr.code != leave_out:
            suffix = "[]" if attr.datatype == "multivaluelist" else ""
            data[f"attribute[{attr.code}]{suffix}"] = answer(attr)
    return data


def test_every_rule_has_one_test_location(shared_app: tuple[Flask, str]) -> None:
    gateway: Services = shared_app[0].extensions["open311"]
    rules = set(gateway.config.jurisdictions["lacounty.gov"].service_areas)
    assert set(RULE_LOCATIONS) == rules
    assert {s.service_area for s in SERVICES} == rules  # every rule is used by some service


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_lists_all_81(web: FlaskClient, fmt: str) -> None:
    response = web.get(f"/open311/v2/services.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        listed = json_of(response)
    else:
        listed = [{child.tag: child.text for child in item} for item in xml_of(response)]
        for item in listed:
            item["metadata"] = item["metadata"] == "true"
    assert len(listed) == 81
    by_code = {s.service_code: s for s in SERVICES}
    assert [item["service_code"] for item in listed] == list(by_code)
    for item in listed:
        service = by_code[item["service_code"]]
        assert item == {"service_code": service.service_code, "service_name": service.service_name,
                        "description": service.description, "metadata": True, "type": "realtime",
                        "keywords": ", ".join(service.keywords), "group": service.group}


def _business_due(service: Service, jurisdiction: Any) -> datetime:
    """Independently of open311.core.business_time: FIXED_NOW (a Tuesday, 10:30 in Los Angeles, inside the
    County's 08:00-17:00 hours) plus the service's expected_response in working days or working hours."""
    text = service.expected_text or ""
    local = FIXED_NOW.astimezone(jurisdiction.timezone)
    if text.startswith("PT") and int(text[2:-1]) % 24:           # working hours, all on the same day here
        return FIXED_NOW + timedelta(hours=int(text[2:-1]))
    days = int(text[2:-1]) // 24 if text.startswith("PT") else int(text[1:-1])
    day = local.date()
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in jurisdiction.calendar.holidays:
            days -= 1
    return datetime.combine(day, local.time(), tzinfo=jurisdiction.timezone)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.service_code)
def test_one_valid_request_per_service(shared_app: tuple[Flask, str], web: FlaskClient, service: Service) -> None:
    app, key = shared_app
    response = web.post("/open311/v2/requests.json", data=form(service, key))
    assert response.status_code == 200, response.data
    request_id = json_of(response)[0]["service_request_id"]
    assert json_of(response)[0]["service_notice"] == service.service_notice
    read = json_of(web.get(f"/open311/v2/requests/{request_id}.json"))[0]
    gateway: Services = app.extensions["open311"]
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    assert service.expected_response is not None
    assert read["service_code"] == service.service_code
    assert read["agency_responsible"] == jurisdiction.departments[service.department].name
    assert read["expected_datetime"] == format_w3c(_business_due(service, jurisdiction), jurisdiction.timezone)
    with gateway.session() as session, session.begin():
        row = session.get(ServiceRequest, int(request_id))
        assert row is not None
        assert row.attributes == {a.code: stored_answer(a) for a in service.attributes if a.variable}
        assert row.department == service.department


@pytest.mark.parametrize(("service", "attr"), REQUIRED, ids=[f"{s.service_code}:{a.code}" for s, a in REQUIRED])
def test_leaving_out_a_required_question_names_it(shared_app: tuple[Flask, str], web: FlaskClient,
                                                  service: Service, attr: Attribute) -> None:
    fmt = "xml" if REQUIRED.index((service, attr)) % 2 else "json"
    response = web.post(f"/open311/v2/requests.{fmt}", data=form(service, shared_app[1], leave_out=attr.code))
    assert response.status_code == 400
    errors = errors_of(response, fmt)
    assert len(errors) == 1 and errors[0][0] == 400
    assert errors[0][1].startswith(f"attribute[{attr.code}] (") and errors[0][1].endswith(") is required.")


def test_the_catalog_asks_no_personal_questions() -> None:
    """Attribute answers can be published; personal data goes in the write-only contact fields."""
    words = ("email", "e-mail", "phone number", "your name", "plate", "account number", "date of birth")
    for service in SERVICES:
        for attr in service.attributes:
            assert not any(w in attr.description.lower() for w in words), (service.service_code, attr.code)


def test_rule_locations_are_in_la_county() -> None:
    for lat, long, _ in RULE_LOCATIONS.values():
        assert 33.7 < float(lat) < 34.82 and -118.95 < float(long) < -117.65
