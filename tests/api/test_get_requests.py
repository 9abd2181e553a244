"""GET requests: id list overrides everything, filters, 90-day window, 1000 cap, newest first."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert

from open311.services import Services
from open311.storage.models import ServiceRequest
from tests.conftest import FIXED_NOW
from tests.helpers import json_of, xml_of, xml_records


def seed(gateway: Services, rows: list[tuple[str, str, datetime]]) -> None:
    """Insert requests directly: (service_code, status, requested_datetime)."""
    values = [{"jurisdiction_id": "lacounty.gov", "service_code": code, "service_name": code, "department": "DPW",
               "agency_responsible": "Public Works", "status": status, "requested_datetime": when,
               "updated_datetime": when, "token": f"t{i}", "attributes": {}, "lat": 34.0, "long": -118.0}
              for i, (code, status, when) in enumerate(rows)]
    with gateway.session() as s, s.begin():
        s.execute(insert(ServiceRequest), values)


def ids(client: FlaskClient, query: str) -> list[str]:
    r = client.get(f"/open311/v2/requests.json?{query}")
    assert r.status_code == 200, r.data
    return [item["service_request_id"] for item in json_of(r)]


@pytest.fixture
def seeded(gateway: Services) -> Services:
    day = timedelta(days=1)
    seed(gateway, [
        ("DPW-GRAFFITI", "open", FIXED_NOW - 1 * day),       # 1
        ("DPW-GRAFFITI", "closed", FIXED_NOW - 2 * day),     # 2
        ("DRP-INOPERABLE", "open", FIXED_NOW - 3 * day),     # 3
        ("DRP-INOPERABLE", "closed", FIXED_NOW - 100 * day),  # 4: outside the default window
        ("DPR-RESTROOM", "open", FIXED_NOW - 200 * day),     # 5
    ])
    return gateway


def test_default_window_is_90_days_newest_first(client: FlaskClient, seeded: Services) -> None:
    assert ids(client, "") == ["1", "2", "3"]


def test_filters(client: FlaskClient, seeded: Services) -> None:
    assert ids(client, "status=open") == ["1", "3"]
    assert ids(client, "status=OPEN,closed") == ["1", "2", "3"]
    assert ids(client, "status=open&status=closed") == ["1", "2", "3"]
    assert ids(client, "service_code=DRP-INOPERABLE") == ["3"]
    assert ids(client, "service_code=DRP-INOPERABLE,%20DPW-GRAFFITI&status=closed") == ["2"]
    assert ids(client, "status=&service_code=&jurisdiction_id=") == ["1", "2", "3"]  # empty == absent


def test_date_windows(client: FlaskClient, seeded: Services) -> None:
    assert ids(client, "start_date=2025-11-01T00:00:00Z&end_date=2025-12-31T00:00:00Z") == ["4"]
    assert ids(client, "end_date=2025-12-15") == ["4"]          # 90 days back from end_date
    assert ids(client, "start_date=2025-08-01") == ["5"]        # 90 days forward from start_date
    # lenient input: fraction, space instead of T, '+' decoded as space, no zone (local time)
    assert ids(client, "start_date=2026-03-06 00:00:00.000&end_date=2026-03-10T10:00:00 07:00") == ["1", "2", "3"]


def test_service_request_id_overrides_everything(client: FlaskClient, seeded: Services) -> None:
    assert ids(client, "service_request_id=5,4&status=open&service_code=DPW-GRAFFITI") == ["4", "5"]
    assert ids(client, "service_request_id=5&service_request_id=1") == ["1", "5"]
    assert ids(client, "service_request_id=abc,999") == []


def test_long_lists_of_ids_codes_and_statuses(client: FlaskClient, seeded: Services) -> None:
    """Lists of every length are padded IN lists (storage/db.py:padded_values: powers of two, then multiples of
    256): the padding never adds a match, whatever the length."""
    for count in (1, 2, 3, 5, 255, 256, 257, 600, 1000):   # 1000: the most a query may name
        listed = ",".join(str(i) for i in range(count, 0, -1))
        assert ids(client, f"service_request_id={listed}") == [str(i) for i in range(1, min(count, 5) + 1)], count
    codes = ",".join(["DRP-INOPERABLE", *(f"X-{i}" for i in range(300))])
    assert ids(client, f"service_code={codes}&status=closed,open") == ["3"]


def test_cap_of_1000(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, [("DPW-GRAFFITI", "open", FIXED_NOW - timedelta(minutes=i)) for i in range(1005)])
    found = ids(client, "")
    assert len(found) == 1000
    assert found[0] == "1" and found[-1] == "1000"


def test_xml_list_has_spec_element_order(client: FlaskClient, seeded: Services) -> None:
    root = xml_of(client.get("/open311/v2/requests.xml?status=closed"))
    assert [list(r) for r in xml_records(root)] == [[
        "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
        "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
        "address", "address_id", "zipcode", "lat", "long", "media_url"]]
    assert xml_records(root)[0]["requested_datetime"] == "2026-03-08T10:30:00-07:00"  # DST began that morning


def test_a_plain_page_and_one_id_read_in_one_statement(client: FlaskClient, seeded: Services,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No count and no place: one statement, outside a transaction (on PostgreSQL no BEGIN and ROLLBACK round
    trips); a count or a place reads several statements in one snapshot."""
    from open311.feeds import request_query

    asked: list[bool] = []

    def recording(session: object, *, single: bool = False) -> object:
        asked.append(single)
        return reading(session, single=single)

    reading = request_query.reading
    monkeypatch.setattr(request_query, "reading", recording)
    for query in ("", "service_code=DPW-GRAFFITI&status=open&page=1&page_size=2"):
        ids(client, query)
    assert client.get("/open311/v2/requests/1.json").status_code == 200
    assert asked == [True, True, True]
    asked.clear()
    ids(client, "page=1&page_size=2&count=true")
    ids(client, "lat=34.05&long=-118.25&radius=5000")
    ids(client, "bbox=-118.5,33.9,-118.0,34.3")
    assert asked == [False, False, False]
