"""The SLA clock through the real paths (POST, a back office's update, the feed) and GET stats."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from open311.adapter import RemoteUpdate
from open311.delivery.status import record_update
from open311.services import Services
from open311.storage.models import StatusUpdate
from tests.conftest import Clock
from tests.helpers import GRAFFITI, errors_of, json_of

LA = ZoneInfo("America/Los_Angeles")


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA).astimezone(UTC)


def post_at(client: FlaskClient, clock: Clock, api_key: str, when: datetime) -> int:
    clock.now = when
    response = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key})
    assert response.status_code == 200, response.data
    return int(json_of(response)[0]["service_request_id"])


def update(gateway: Services, clock: Clock, rid: int, uid: str, status: str, when: datetime) -> None:
    clock.now = when
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    with gateway.session() as session:
        record_update(session, jurisdiction, jurisdiction.departments["DPW"], rid,
                      RemoteUpdate(update_id=uid, external_id=None, service_request_id=str(rid), status=status,
                                   updated_datetime=when), source="push", now=when)


def read(client: FlaskClient, rid: int) -> dict[str, object]:
    item: dict[str, object] = json_of(client.get(f"/open311/v2/requests/{rid}.json?extensions=true"))[0]
    return item


def test_clock_over_weekend_holiday_and_pause(client: FlaskClient, gateway: Services, clock: Clock,
                                              api_key: str) -> None:
    # DPW-GRAFFITI is PT48H: two working days. Friday 27 March 2026, 15:00; Tuesday 31 March is Cesar Chavez Day.
    rid = post_at(client, clock, api_key, la(2026, 3, 27, 15))
    assert read(client, rid)["expected_datetime"] == "2026-04-01T15:00:00-07:00"
    update(gateway, clock, rid, "u1", "WAITING_ON_RESIDENT", la(2026, 3, 30, 10))   # paused Monday 10:00
    clock.now = la(2026, 4, 20, 9)                                                  # weeks later: held
    item = read(client, rid)
    assert item["extended_attributes"]["sla_state"] == "on_track"                   # type: ignore[index]
    update(gateway, clock, rid, "u2", "IN_PROGRESS", la(2026, 4, 1, 12))           # resumed Wed 12:00 (11 h)
    assert read(client, rid)["expected_datetime"] == "2026-04-02T17:00:00-07:00"    # Wed 15:00 + 11 h
    clock.now = la(2026, 4, 2, 16)
    assert read(client, rid)["extended_attributes"]["sla_state"] == "at_risk"       # type: ignore[index]
    assert [r["service_request_id"] for r in json_of(client.get(
        "/open311/v2/requests.json?sla_state=at_risk&updated_after=2026-03-01"))] == [str(rid)]
    assert json_of(client.get("/open311/v2/requests.json?sla_state=breached&updated_after=2026-03-01")) == []
    clock.now = la(2026, 4, 3, 9)
    assert [r["service_request_id"] for r in json_of(client.get(
        "/open311/v2/requests.json?sla_state=breached,on_track&updated_after=2026-03-01"))] == [str(rid)]
    update(gateway, clock, rid, "u3", "COMPLETED", la(2026, 4, 3, 10))
    assert read(client, rid)["extended_attributes"]["sla_state"] == "missed"        # type: ignore[index]


def test_reopen_restarts_the_clock(client: FlaskClient, gateway: Services, clock: Clock, api_key: str) -> None:
    rid = post_at(client, clock, api_key, la(2026, 3, 10, 9))
    update(gateway, clock, rid, "c1", "COMPLETED", la(2026, 3, 11, 9))
    assert read(client, rid)["extended_attributes"]["sla_state"] == "met"           # type: ignore[index]
    # the other helper's reopen contract: a status history row turning the closed request open again
    update(gateway, clock, rid, "r1", "OPEN", la(2026, 3, 16, 14))
    assert read(client, rid)["expected_datetime"] == "2026-03-18T14:00:00-07:00"
    with gateway.session() as session, session.begin():
        assert session.query(StatusUpdate).filter_by(request_id=rid).count() == 2


def test_a_residents_reopen_restarts_the_clock(client: FlaskClient, gateway: Services, clock: Clock,
                                               api_key: str) -> None:
    """Regression: POST requests/{id}/reopen left the closed clock stored (sla_state `missed` on an open request)."""
    rid = post_at(client, clock, api_key, la(2026, 3, 10, 9))                     # due Thursday 12 March 9:00
    update(gateway, clock, rid, "c1", "COMPLETED", la(2026, 3, 13, 9))
    assert read(client, rid)["extended_attributes"]["sla_state"] == "missed"        # type: ignore[index]
    clock.now = la(2026, 3, 16, 14)
    response = client.post(f"/open311/v2/requests/{rid}/reopen.json", data={"api_key": api_key,
                                                                            "description": "Still there"})
    assert response.status_code == 200, response.data
    item = read(client, rid)
    assert item["expected_datetime"] == "2026-03-18T14:00:00-07:00"
    assert item["extended_attributes"]["sla_state"] == "on_track"                  # type: ignore[index]
    clock.now = la(2026, 3, 18, 15)
    assert [r["service_request_id"] for r in json_of(client.get(
        "/open311/v2/requests.json?sla_state=breached&updated_after=2026-03-01"))] == [str(rid)]


def test_sla_state_is_parsed_strictly(client: FlaskClient) -> None:
    response = client.get("/open311/v2/requests.xml?sla_state=late")
    assert response.status_code == 400
    assert "sla_state" in str(errors_of(response, "xml"))


def test_stats_against_figures_computed_here(client: FlaskClient, gateway: Services, clock: Clock,
                                             api_key: str) -> None:
    made = [la(2026, 3, 2, 9), la(2026, 3, 3, 9), la(2026, 3, 4, 9), la(2026, 3, 5, 9)]
    closes = {0: la(2026, 3, 3, 10), 1: la(2026, 3, 9, 9), 2: la(2026, 3, 4, 15)}   # on time, late, on time
    ids = [post_at(client, clock, api_key, when) for when in made]
    for n, when in closes.items():
        update(gateway, clock, ids[n], f"s{n}", "CLOSED", when)
    clock.now = la(2026, 3, 20, 12)
    hours = sorted((closes[n] - made[n]).total_seconds() / 3600 for n in closes)
    body = json_of(client.get("/open311/v2/stats.json?department=DPW"))
    assert body == [{"department": "DPW", "service_code": "DPW-GRAFFITI", "service_name": "Graffiti Abatement",
                     "days": 30, "received": 4, "closed": 3, "on_time_percent": round(200 / 3, 1),
                     "median_hours_to_close": round(statistics.median(hours), 1)}]
    assert json_of(client.get("/open311/v2/stats.json?days=1")) == []
    response = client.get("/open311/v2/stats.json")
    assert "public" in response.headers["Cache-Control"]
    for bad in ("days=0", "days=367", "days=x", "department=NOPE", "service_code=NOPE"):
        refused = client.get(f"/open311/v2/stats.xml?{bad}")
        assert refused.status_code == 400, bad
        assert refused.data.startswith(b"<?xml")
    assert timedelta(0) < closes[0] - made[0]
