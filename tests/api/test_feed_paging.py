"""GET requests extensions: page/page_size, cursors, update windows, places; headers keep bodies spec-shaped."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, update

from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.conftest import FIXED_NOW
from tests.helpers import errors_of, json_of, xml_of

BASE = {"jurisdiction_id": "lacounty.gov", "service_name": "Graffiti Abatement", "department": "DPW",
        "agency_responsible": "Public Works", "attributes": {}}


def seed(gateway: Services, count: int, *, start: int = 0, code: str = "DPW-GRAFFITI",
         step: timedelta = timedelta(minutes=1), lat: float = 34.0, long: float = -118.0) -> None:
    """Insert `count` requests, newest first by minute, directly (fast)."""
    rows = [{**BASE, "service_code": code, "status": "open" if i % 3 else "closed", "token": f"t{code}{start + i}",
             "requested_datetime": FIXED_NOW - step * (start + i), "updated_datetime": FIXED_NOW - step * (start + i),
             "lat": lat + (i % 10) * 0.001, "long": long} for i in range(count)]
    with gateway.session() as s, s.begin():
        s.execute(insert(ServiceRequest), rows)


def ids_of(response: object) -> list[str]:
    return [r["service_request_id"] for r in json_of(response)]


def links(response: object) -> dict[str, str]:
    header = response.headers.get("Link", "")  # type: ignore[attr-defined]
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="([^"]+)"', header)}


def test_pages_and_headers(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 25)
    first = client.get("/open311/v2/requests.json?page=1&page_size=10&count=true")
    assert ids_of(first) == [str(i) for i in range(1, 11)]
    assert first.headers["X-Total-Count"] == "25"
    assert first.headers["X-Page-Count"] == "3"
    assert first.headers["X-Page"] == "1" and first.headers["X-Page-Size"] == "10"
    assert set(links(first)) == {"next", "first"}
    third = client.get("/open311/v2/requests.json?page=3&page_size=10")
    assert ids_of(third) == [str(i) for i in range(21, 26)]
    assert "next" not in links(third)
    assert parse_qs(urlsplit(links(third)["prev"]).query) == {"page": ["2"], "page_size": ["10"]}
    assert ids_of(client.get("/open311/v2/requests.json?page=4&page_size=10")) == []  # out of range: empty
    assert ids_of(client.get("/open311/v2/requests.json?page=0&page_size=10"))[0] == "1"  # 0 is the first page
    assert ids_of(client.get("/open311/v2/requests.json?per_page=5")) == ["1", "2", "3", "4", "5"]
    xml = client.get("/open311/v2/requests.xml?page=2&page_size=10")
    assert [r.findtext("service_request_id") for r in xml_of(xml)] == [str(i) for i in range(11, 21)]


def test_following_next_links_visits_every_row_once(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 23)
    seen: list[str] = []
    url = "/open311/v2/requests.json?page_size=5&status=open"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += ids_of(response)
        url = links(response).get("next", "")
    expected = [str(i) for i in range(1, 24) if (i - 1) % 3]
    assert seen == expected


@pytest.mark.parametrize(("query", "message"), [
    ("page=-1", "page must be a whole number from 0 to 10000000, got '-1'."),
    ("page_size=0", "page_size must be a whole number from 1 to 1000, got '0'."),
    ("page_size=1001", "page_size must be a whole number from 1 to 1000, got '1001'."),
    ("page_size=ten", "page_size must be a whole number from 1 to 1000, got 'ten'."),
    ("after=garbage!", "after is not a cursor this server issued."),
    ("page=2&after=MjAyNi0wMy0xMFQxNzozMDowMFp8MQ",
     "page and after cannot be combined: after continues from a cursor."),
    ("lat=34", "lat and long must be given together."),
    ("radius=100", "radius needs lat and long."),
    ("lat=34&long=-118&radius=0", "radius must be a number from 1 to 50000, got '0'."),
    ("lat=nan&long=-118", "lat must be a number from -90 to 90, got 'nan'."),
    ("bbox=1,2,3", "bbox must be west,south,east,north in degrees (west <= east, south <= north), got '1,2,3'."),
    ("bbox=10,0,5,1", "bbox must be west,south,east,north in degrees (west <= east, south <= north), got '10,0,5,1'."),
    ("updated_after=2026-03-02&updated_before=2026-03-01", "updated_before must not be before updated_after."),
    ("extensions=maybe", "extensions must be true or false, got 'maybe'."),
    # an offset past 32 bits (PostgreSQL binds OFFSET as an integer): a 400, not the database's error
    ("page=2147485&page_size=1000", "page 2147485 of 1000 skips more than 2,147,483,647 requests, the most a page "
     "can skip; follow the after= cursors of the Link header instead."),
])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_bad_extension_parameters(client: FlaskClient, query: str, message: str, fmt: str) -> None:
    response = client.get(f"/open311/v2/requests.{fmt}?{query}")
    assert response.status_code == 400
    assert errors_of(response, fmt) == [(400, message)]


def test_page_size_maximum_is_configurable(make_app: object) -> None:
    app = make_app(OPEN311_PAGE_SIZE=2, OPEN311_MAX_PAGE_SIZE=3)  # type: ignore[operator]
    client = app.test_client()
    seed(app.extensions["open311"], 5)
    assert ids_of(client.get("/open311/v2/requests.json?page=1")) == ["1", "2"]
    assert client.get("/open311/v2/requests.json?page_size=4").status_code == 400
    assert len(ids_of(client.get("/open311/v2/requests.json?page_size=3"))) == 3


def test_updated_window_reaches_old_requests(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 3, step=timedelta(days=200))  # ids 1..3 requested 0, 200, 400 days ago
    with gateway.session() as s, s.begin():
        s.execute(update(ServiceRequest).where(ServiceRequest.id == 3)
                  .values(updated_datetime=FIXED_NOW - timedelta(hours=1), status="closed"))
    assert ids_of(client.get("/open311/v2/requests.json")) == ["1"]  # spec default: last 90 days
    assert ids_of(client.get("/open311/v2/requests.json?updated_after=2026-03-10T00:00:00Z")) == ["1", "3"]
    assert ids_of(client.get("/open311/v2/requests.json?updated_before=2025-09-01T00:00:00Z")) == ["2"]
    query = "updated_after=2026-03-10T00:00:00Z&updated_before=2026-03-10T17:00:00Z"
    assert ids_of(client.get(f"/open311/v2/requests.json?{query}")) == ["3"]


def test_places(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 1, code="DPW-GRAFFITI", lat=34.0, long=-118.0)          # id 1
    seed(gateway, 1, start=1, code="DPW-GRAFFITI", lat=34.0, long=-118.02)  # id 2, ~1.85 km west
    seed(gateway, 1, start=2, code="DPW-GRAFFITI", lat=34.5, long=-118.0)   # id 3, ~55 km north
    assert ids_of(client.get("/open311/v2/requests.json?lat=34.0&long=-118.0")) == ["1"]  # default 1000 m
    assert ids_of(client.get("/open311/v2/requests.json?lat=34.0&long=-118.0&radius=2000")) == ["1", "2"]
    assert ids_of(client.get("/open311/v2/requests.json?lat=34.0&long=-118.0&radius=1800")) == ["1"]
    assert ids_of(client.get("/open311/v2/requests.json?bbox=-118.1,33.9,-117.9,34.6")) == ["1", "2", "3"]
    assert ids_of(client.get("/open311/v2/requests.json?bbox=-118.01,33.9,-117.9,34.1")) == ["1"]
