"""Staff actions go through the same status-update path as a remote back office: feeds, extensions, the
update feed, callbacks, history and the SLA clock see them; internal notes are never published anywhere."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from open311.services import Services
from open311.storage.models import OutboxMessage, ServiceRequest, StaffAssignment, StatusUpdate, Subscription
from tests.conftest import Clock
from tests.helpers import GRAFFITI, json_of, xml_of
from tests.images import jpeg_with_gps, metadata_of
from tests.staff.helpers import audit_actions, csrf_of, deliver_all, login, make_account, staff_config

SECRET_NOTE = "internal-only: crew says the owner is difficult"


class Desk:
    """A resident's app, the relay and a DPW supervisor and agent at the staff pages, on one app."""

    def __init__(self, app: Flask, api_key: str, clock: Clock) -> None:
        self.app, self.api_key, self.clock = app, api_key, clock
        self.gateway: Services = app.extensions["open311"]
        self.public = app.test_client()
        self.supervisor = make_account(self.gateway, "sue@dpw.example.gov", role="supervisor")
        self.agent = make_account(self.gateway, "ann@dpw.example.gov")
        self.staff = app.test_client()
        assert login(self.staff, "sue@dpw.example.gov").status_code == 303

    def report(self, **extra: str) -> str:
        posted = self.public.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": self.api_key,
                                                                     "email": "ada@example.org", **extra})
        assert posted.status_code == 200, posted.data
        deliver_all(self.gateway)
        return str(posted.json[0]["service_request_id"])

    def act(self, rid: str, action: str, **data: Any) -> Any:
        self.clock.advance(60)
        token = csrf_of(self.staff.get(f"/staff/requests/{rid}"))
        return self.staff.post(f"/staff/requests/{rid}/{action}", data={**data, "csrf_token": token})

    def extended(self, rid: str) -> dict[str, Any]:
        return dict(json_of(self.public.get(f"/open311/v2/requests/{rid}.json?extensions=true"))[0])


@pytest.fixture
def desk(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock,
         api_key_factory: Callable[[Flask], str]) -> Desk:
    app = make_app(staff_config(tmp_path))
    return Desk(app, api_key_factory(app), clock)


def test_a_report_reaches_the_queue_and_closing_it_with_a_reason_and_photo_is_public(desk: Desk) -> None:
    rid = desk.report()
    queue = desk.staff.get("/staff/").get_data(as_text=True)
    assert f"#{rid}" in queue and "Graffiti" in queue
    with desk.gateway.session() as session, session.begin():
        (row,) = session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == int(rid)))
        assert (row.state, row.external_id) == ("done", f"queue-{rid}")
    assigned = desk.act(rid, "assign", assignee=str(desk.agent.id))
    assert assigned.status_code == 303
    assert desk.extended(rid)["status"] == "open"
    closed = desk.act(rid, "status", status="CLOSED", closure_code="fixed", note="Painted over",
                      photo=(io.BytesIO(jpeg_with_gps()), "after.jpg"))
    assert closed.status_code == 303, closed.get_data(as_text=True)
    found = desk.extended(rid)
    assert found["status"] == "closed" and found["status_notes"] == "Painted over"
    assert found["extended_attributes"]["closure_code"] == "fixed"
    updates = json_of(desk.public.get("/open311/v2/servicerequestupdates.json?extensions=true"))
    mine = [u for u in updates if u["service_request_id"] == rid]
    assert [(u["status"], u["external_status_code"]) for u in mine] == [("open", "ASSIGNED"), ("closed", "CLOSED")]
    photo_url = mine[-1]["media_url"]
    assert photo_url and photo_url.startswith("http://localhost/media/")
    served = desk.public.get(photo_url.removeprefix("http://localhost"))
    assert served.status_code == 200 and served.content_type == "image/jpeg"
    assert "GPSInfo" not in metadata_of(served.data)  # stripped like a resident's photo
    assert found["media_url"] is None  # the closure photo is the update's, not one of the request's own
    xml = xml_of(desk.public.get(f"/open311/v2/requests/{rid}.xml?extensions=true"))
    assert xml.findtext("request/extended_attributes/closure_code") == "fixed"
    page = desk.staff.get(f"/staff/requests/{rid}").get_data(as_text=True)
    assert "Painted over" in page and photo_url in page and "ann@dpw.example.gov" in page
    assert [a for a, r in audit_actions(desk.gateway) if r == int(rid)] == ["assign", "status"]


def test_internal_notes_are_never_published(desk: Desk) -> None:
    rid = desk.report()
    assert desk.act(rid, "note", note=SECRET_NOTE, visibility="internal").status_code == 303
    assert desk.act(rid, "note", note="We are on it", visibility="public").status_code == 303
    staff_page = desk.staff.get(f"/staff/requests/{rid}").get_data(as_text=True)
    assert SECRET_NOTE in staff_page and "We are on it" in staff_page
    assert desk.extended(rid)["status_notes"] == "We are on it"
    for url in ("/open311/v2/requests.json?extensions=true", "/open311/v2/requests.xml?extensions=true",
                f"/open311/v2/requests/{rid}.json?extensions=true", "/open311/v2/servicerequestupdates.json",
                "/open311/v2/servicerequestupdates.xml", "/open311/v2/requests.csv", "/open311/v2/requests.geojson",
                f"/open311/v2/tokens/{rid}.json"):
        body = desk.public.get(url).get_data(as_text=True)
        assert SECRET_NOTE not in body and "difficult" not in body, url
    with desk.gateway.session() as session, session.begin():
        assert all(u.description != SECRET_NOTE for u in session.scalars(select(StatusUpdate)))
        assert all(SECRET_NOTE not in (o.last_error or "") for o in session.scalars(select(OutboxMessage)))


def test_a_public_note_keeps_the_status_the_back_office_set(desk: Desk) -> None:
    rid = desk.report()
    desk.act(rid, "status", status="IN_PROGRESS")
    desk.act(rid, "note", note="Crew scheduled for Monday", visibility="public")
    updates = [u for u in json_of(desk.public.get("/open311/v2/servicerequestupdates.json"))
               if u["service_request_id"] == rid]
    assert [(u["external_status_code"], u["description"]) for u in updates] == [
        ("IN_PROGRESS", None), ("IN_PROGRESS", "Crew scheduled for Monday")]


def test_marking_a_duplicate_moves_the_followers_and_links_the_survivor(desk: Desk) -> None:
    first = desk.report()
    second = desk.report(description="The same tag again")
    assert desk.act(second, "duplicate", duplicate_of=first).status_code == 303
    found = desk.extended(second)
    assert found["status"] == "closed"
    assert found["extended_attributes"]["closure_code"] == "duplicate"
    assert found["extended_attributes"]["duplicate_of"] == first
    assert desk.extended(first)["extended_attributes"]["reporter_count"] == 2
    # not itself, not a missing request, not another jurisdiction's: refused on the page, nothing recorded
    for bad in (second, "999999", "abc", ""):
        refused = desk.act(first, "duplicate", duplicate_of=bad)
        assert refused.status_code == 400, bad
    assert desk.extended(first)["status"] == "open"


def test_bad_input_on_the_forms_is_a_message_not_a_500(desk: Desk) -> None:
    rid = desk.report()
    cases = [("status", {"status": "NOPE"}), ("status", {"status": "CLOSED"}),
             ("status", {"status": "OPEN", "closure_code": "fixed"}),
             ("status", {"status": "CLOSED", "closure_code": "duplicate"}),
             ("status", {"status": "CLOSED", "closure_code": "fixed", "note": "x" * 2001}),
             ("status", {"status": "CLOSED", "closure_code": "fixed",
                         "photo": (io.BytesIO(b"not an image"), "x.jpg")}),
             ("note", {"note": "   "}), ("assign", {"assignee": "abc"}), ("assign", {"assignee": "99999"})]
    for action, data in cases:
        response = desk.act(rid, action, **data)
        assert response.status_code == 400, (action, data)
        assert 'role="alert"' in response.get_data(as_text=True)
    assert desk.extended(rid)["status"] == "open"
    with desk.gateway.session() as session, session.begin():
        assert session.scalars(select(StatusUpdate).where(StatusUpdate.request_id == int(rid))).all() == []
        assert session.get(StaffAssignment, int(rid)) is None


def test_a_subscribed_app_hears_of_a_staff_closure(desk: Desk) -> None:
    rid = desk.report()
    with desk.gateway.session() as session, session.begin():
        key_id = session.get(ServiceRequest, int(rid)).api_key_id
        session.add(Subscription(jurisdiction_id="lacounty.gov", api_key_id=key_id,
                                 callback_url="https://app.example.org/hook", service_code=None, secret="s" * 32,
                                 active=True, created_at=desk.clock(), delivered=0))
    desk.act(rid, "status", status="CLOSED", closure_code="no_action_needed")
    with desk.gateway.session() as session, session.begin():
        kinds = [o.kind for o in session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == int(rid)))]
    assert "callback" in kinds


def test_the_request_page_shows_what_the_resident_sent(desk: Desk) -> None:
    rid = desk.report(description="Tag on the wall of the library")
    page = desk.staff.get(f"/staff/requests/{rid}").get_data(as_text=True)
    assert "Tag on the wall of the library" in page and "surface_type" in page and "wall" in page


def test_a_hidden_requests_closure_photo_is_no_longer_served(desk: Desk) -> None:
    from open311.intake.moderation import hide_request

    rid = desk.report()
    desk.act(rid, "status", status="CLOSED", closure_code="fixed", photo=(io.BytesIO(jpeg_with_gps()), "a.jpg"))
    (update,) = [u for u in json_of(desk.public.get("/open311/v2/servicerequestupdates.json"))
                 if u["service_request_id"] == rid]
    path = update["media_url"].removeprefix("http://localhost")
    assert desk.public.get(path).status_code == 200
    with desk.gateway.session() as session:
        hide_request(session, int(rid), "abusive", desk.clock(), config=desk.gateway.config)
    assert desk.public.get(path).status_code == 404
    assert desk.staff.get(f"/staff/requests/{rid}").status_code == 200  # staff still see the case
