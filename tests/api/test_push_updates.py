"""POST servicerequestupdates: department keys, mySociety's fields and reply, once per update_id, never backwards."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from open311.intake.keys import create_key, revoke_key
from open311.services import Services
from open311.storage.models import ServiceRequest, StatusUpdate
from tests.conftest import FIXED_NOW, Clock, shared_path
from tests.delivery import seed_requests
from tests.helpers import errors_of, json_of, xml_of

URL = "/open311/v2/servicerequestupdates"


@pytest.fixture
def request_id(gateway: Services) -> int:
    (rid,) = seed_requests(gateway, 1, "DPW", now=FIXED_NOW)
    return rid


@pytest.fixture
def dpw_key(gateway: Services) -> str:
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "DPW works system", gateway.clock(), department="DPW")
    return key


@pytest.fixture(autouse=True)
def _later(clock: Clock) -> None:
    clock.now = FIXED_NOW + timedelta(hours=2)


def update(key: str, rid: int, **extra: str) -> dict[str, str]:
    return {"api_key": key, "service_request_id": str(rid), "update_id": "u1", "status": "COMPLETED",
            "updated_datetime": "2026-03-10T18:00:00Z", "description": "Done", **extra}


def stored(gateway: Services) -> list[StatusUpdate]:
    with gateway.session() as session, session.begin():
        return list(session.scalars(select(StatusUpdate).order_by(StatusUpdate.id)))


def request_row(gateway: Services, rid: int) -> ServiceRequest:
    with gateway.session() as session, session.begin():
        row = session.get(ServiceRequest, rid)
    assert row is not None
    return row


def test_reply_has_the_shape_of_mysocietys_sample(client: FlaskClient, dpw_key: str, request_id: int) -> None:
    sample = etree.parse(str(shared_path("samples", "mysociety_adapter_post_update_response.xml"))).getroot()
    xml = xml_of(client.post(f"{URL}.xml", data=update(dpw_key, request_id)))
    shape = [(e.tag, [c.tag for c in e]) for e in sample]
    assert (xml.tag, [(e.tag, [c.tag for c in e]) for e in xml]) == (sample.tag, shape)
    assert xml.findtext("request_update/update_id") == "u1"
    assert json_of(client.post(f"{URL}.json", data=update(dpw_key, request_id, update_id="u2"))) == [
        {"update_id": "u2"}]


def test_update_is_stored_complete_and_the_request_follows(client: FlaskClient, gateway: Services, dpw_key: str,
                                                           request_id: int) -> None:
    body = update(dpw_key, request_id, media_url="https://img.example/after.jpg", external_status_code="CMP")
    assert client.post(f"{URL}.json", json=body).status_code == 200
    (row,) = stored(gateway)
    assert (row.request_id, row.jurisdiction_id, row.department, row.update_id, row.status, row.external_status,
            row.description, row.media_url, row.source, row.applied) == (
        request_id, "lacounty.gov", "DPW", "u1", "closed", "COMPLETED", "Done", "https://img.example/after.jpg",
        "push", True)
    assert row.updated_datetime == FIXED_NOW + timedelta(minutes=30)
    req = request_row(gateway, request_id)
    assert (req.status, req.status_notes, req.updated_datetime) == ("closed", "Done", row.updated_datetime)


def test_a_repeat_is_answered_the_same_a_conflicting_repeat_is_409(client: FlaskClient, gateway: Services,
                                                                   dpw_key: str, request_id: int) -> None:
    first = client.post(f"{URL}.json", data=update(dpw_key, request_id))
    again = client.post(f"{URL}.json", data=update(dpw_key, request_id))
    assert (first.status_code, again.status_code, again.data) == (200, 200, first.data)
    clash = client.post(f"{URL}.json", data=update(dpw_key, request_id, status="OPEN"))
    assert errors_of(clash, "json") == [(409, "update_id 'u1' already exists with different content.")]
    assert len(stored(gateway)) == 1


def test_older_updates_are_stored_but_never_move_the_request_back(client: FlaskClient, gateway: Services,
                                                                  dpw_key: str, request_id: int) -> None:
    client.post(f"{URL}.json", data=update(dpw_key, request_id))
    old = client.post(f"{URL}.json", data=update(dpw_key, request_id, update_id="u0", status="ASSIGNED",
                                                 updated_datetime="2026-03-10T17:45:00Z"))
    assert old.status_code == 200
    assert [(u.update_id, u.applied) for u in stored(gateway)] == [("u1", True), ("u0", False)]
    assert request_row(gateway, request_id).status == "closed"


def test_unknown_status_is_stored_and_warned_never_guessed(client: FlaskClient, gateway: Services, dpw_key: str,
                                                           request_id: int, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.post(f"{URL}.json", data=update(dpw_key, request_id, status="ON_HOLD"))
    assert response.status_code == 200
    (row,) = stored(gateway)
    assert (row.status, row.external_status, row.applied) == (None, "ON_HOLD", False)
    assert request_row(gateway, request_id).status == "open"
    assert "'ON_HOLD' is not in the status_map" in caplog.text


def test_external_status_code_is_mapped_when_status_is_not(client: FlaskClient, gateway: Services, dpw_key: str,
                                                           request_id: int) -> None:
    body = update(dpw_key, request_id, status="FIXED", external_status_code="completed")
    assert client.post(f"{URL}.json", data=body).status_code == 200
    assert (stored(gateway)[0].status, stored(gateway)[0].external_status) == ("closed", "completed")


def test_xml_body(client: FlaskClient, dpw_key: str, request_id: int) -> None:
    body = (f"<request_update><api_key>{dpw_key}</api_key><service_request_id>{request_id}</service_request_id>"
            "<update_id>x1</update_id><status>CLOSED</status><updated_datetime>2026-03-10T18:00:00Z"
            "</updated_datetime><description/></request_update>")
    response = client.post(f"{URL}.xml", data=body, content_type="application/xml")
    assert xml_of(response).findtext("request_update/update_id") == "x1"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_missing_and_malformed_fields_are_listed(client: FlaskClient, dpw_key: str, fmt: str) -> None:
    response = client.post(f"{URL}.{fmt}", data={"api_key": dpw_key, "update_id": "u", "updated_datetime": "soon"})
    assert errors_of(response, fmt) == [
        (400, "service_request_id was not provided."), (400, "status was not provided."),
        (400, "updated_datetime must be a W3C datetime such as 2026-01-01T00:00:00Z, got 'soon'.")]


def test_future_dates_are_refused(client: FlaskClient, dpw_key: str, request_id: int) -> None:
    response = client.post(f"{URL}.json", data=update(dpw_key, request_id, updated_datetime="2026-03-11T00:00:00Z"))
    assert errors_of(response, "json") == [(400, "update 'u1' is dated in the future.")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_only_an_active_key_of_the_requests_department_may_push(client: FlaskClient, gateway: Services,
                                                                dpw_key: str, api_key: str, fmt: str) -> None:
    (deo_request,) = seed_requests(gateway, 1, "DEO", now=FIXED_NOW)
    (dpw_request,) = seed_requests(gateway, 1, "DPW", now=FIXED_NOW)
    refused = "Invalid api_key received -- can't proceed with servicerequestupdates: a department key is required."
    assert errors_of(client.post(f"{URL}.{fmt}", data=update(api_key, dpw_request)), fmt) == [(403, refused)]
    assert errors_of(client.post(f"{URL}.{fmt}", data=update("", dpw_request)), fmt)[0][0] == 403
    foreign = client.post(f"{URL}.{fmt}", data=update(dpw_key, deo_request))
    assert errors_of(foreign, fmt) == [(404, f"service_request_id '{deo_request}' not found.")]
    with gateway.session() as session:
        revoke_key(session, dpw_key[:12], gateway.clock())
    assert errors_of(client.post(f"{URL}.{fmt}", data=update(dpw_key, dpw_request)), fmt) == [(403, refused)]


def test_a_department_key_cannot_file_requests(client: FlaskClient, dpw_key: str) -> None:
    response = client.post("/open311/v2/requests.json", data={"api_key": dpw_key, "service_code": "DPW-GRAFFITI"})
    assert errors_of(response, "json") == [(403, "Invalid api_key received -- can't proceed with create_request.")]
