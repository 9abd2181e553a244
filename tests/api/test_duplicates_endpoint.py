"""GET duplicates.{fmt}: a service's requests within its radius and window, nearest first, at most 20."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.conftest import Clock
from tests.helpers import errors_of, json_of, xml_of

LAT, LONG = 34.0239, -118.1720
URL = "/open311/v2/duplicates.{fmt}?service_code={code}&lat={lat}&long={long}"


def metres_north(metres: float) -> float:
    """Latitude `metres` north of LAT (a great circle: 6 371 km)."""
    return LAT + math.degrees(metres / 6_371_000.0)


def seed(gateway: Services, code: str, lat: float, long: float, *, status: str = "open",
         age: timedelta = timedelta(0), updated_age: timedelta | None = None) -> int:
    now = gateway.clock()
    with gateway.session() as s, s.begin():
        row = ServiceRequest(jurisdiction_id="lacounty.gov", service_code=code, service_name=code, department="DPW",
                             status=status, lat=lat, long=long, attributes={}, requested_datetime=now - age,
                             updated_datetime=now - (updated_age if updated_age is not None else age),
                             token=f"t-{code}-{lat}-{long}-{age}-{status}")
        s.add(row)
        s.flush()
        return row.id


def ids_of(client: FlaskClient, code: str = "DPW-POTHOLE", lat: float = LAT, long: float = LONG) -> list[str]:
    response = client.get(URL.format(fmt="json", code=code, lat=lat, long=long))
    assert response.status_code == 200, response.data
    return [r["service_request_id"] for r in json_of(response)]


def test_radius_window_and_order(client: FlaskClient, gateway: Services) -> None:
    # DPW-POTHOLE's own rule: 40 m, P45D (service_definitions); DPW-GRAFFITI takes its group's: 50 m, P7D.
    at_30 = seed(gateway, "DPW-POTHOLE", metres_north(30), LONG)
    at_10 = seed(gateway, "DPW-POTHOLE", metres_north(10), LONG, age=timedelta(days=44))
    seed(gateway, "DPW-POTHOLE", metres_north(45), LONG)                       # outside 40 m
    seed(gateway, "DPW-POTHOLE", LAT, LONG, age=timedelta(days=46))            # made before the window
    closed_recently = seed(gateway, "DPW-POTHOLE", metres_north(20), LONG, status="closed", age=timedelta(days=90),
                           updated_age=timedelta(days=3))
    seed(gateway, "DPW-POTHOLE", metres_north(5), LONG, status="closed", age=timedelta(days=90),
         updated_age=timedelta(days=50))                                      # closed long ago
    seed(gateway, "DPW-GRAFFITI", LAT, LONG)                                   # another service
    assert ids_of(client) == [str(at_10), str(closed_recently), str(at_30)]
    graffiti_far = seed(gateway, "DPW-GRAFFITI", metres_north(45), LONG)
    seed(gateway, "DPW-GRAFFITI", LAT, LONG, age=timedelta(days=8))            # the group's 7 days
    assert ids_of(client, "DPW-GRAFFITI")[1:] == [str(graffiti_far)]


def test_at_most_twenty_nearest_first_same_document_as_get_requests(client: FlaskClient, gateway: Services) -> None:
    made = [seed(gateway, "DPW-POTHOLE", metres_north(n), LONG) for n in range(30, 5, -1)]  # 25, farthest first
    found = ids_of(client)
    assert found == [str(i) for i in reversed(made)][:20]
    one = client.get(f"/open311/v2/requests/{found[0]}.json")
    near = client.get(URL.format(fmt="json", code="DPW-POTHOLE", lat=LAT, long=LONG))
    assert json_of(near)[0] == json_of(one)[0]
    root = xml_of(client.get(URL.format(fmt="xml", code="DPW-POTHOLE", lat=LAT, long=LONG)))
    assert root.tag == "service_requests" and len(root.findall("request")) == 20
    extended = json_of(client.get(URL.format(fmt="json", code="DPW-POTHOLE", lat=LAT, long=LONG) + "&extensions=true"))
    assert {r["extended_attributes"]["reporter_count"] for r in extended} == {1}


def test_requests_marked_duplicate_are_not_offered(client: FlaskClient, gateway: Services) -> None:
    survivor = seed(gateway, "DPW-POTHOLE", LAT, LONG)
    marked = seed(gateway, "DPW-POTHOLE", metres_north(1), LONG)
    with gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, marked)
        assert row is not None
        row.duplicate_of = survivor
    assert ids_of(client) == [str(survivor)]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("query", [
    "", "service_code=DPW-POTHOLE", "service_code=DPW-POTHOLE&lat=34", "service_code=NOPE&lat=34&long=-118",
    "service_code=DPW-POTHOLE&lat=91&long=0", "service_code=DPW-POTHOLE&lat=x&long=0",
    "service_code=DPW-POTHOLE&lat=nan&long=inf", "lat=34&long=-118",
    "service_code=DPW-POTHOLE&lat=34&long=-118&extensions=maybe",
])
def test_bad_or_missing_parameters_are_the_spec_400(client: FlaskClient, fmt: str, query: str) -> None:
    response = client.get(f"/open311/v2/duplicates.{fmt}?{query}")
    assert response.status_code == 400, response.data
    assert errors_of(response, fmt) and {code for code, _ in errors_of(response, fmt)} == {400}


def test_window_moves_with_the_clock(make_app: Callable[..., Flask], clock: Clock) -> None:
    app = make_app()
    gateway: Services = app.extensions["open311"]
    made = seed(gateway, "DPW-POTHOLE", LAT, LONG)
    client = app.test_client()
    assert ids_of(client) == [str(made)]
    clock.now += timedelta(days=45, seconds=1)
    assert ids_of(client) == []
