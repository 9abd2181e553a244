"""extensions=true, the servicerequestupdates feed, CSV/GeoJSON exports, caching, CORS and JSONP."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from open311.services import Services
from open311.storage.models import ServiceRequest, StatusUpdate
from tests.conftest import FIXED_NOW, ROOT
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of


def file_version(name: str) -> str:
    """The version label of a demo layer file."""
    return "file:" + hashlib.sha256((ROOT / "service_areas" / "lacounty.gov" / name).read_bytes()).hexdigest()[:12]


def post(client: FlaskClient, api_key: str, **extra: str) -> str:
    response = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, **extra})
    assert response.status_code == 200, response.data
    return str(json_of(response)[0]["service_request_id"])


def add_update(gateway: Services, request_id: str, update_id: str, status: str, minutes: int,
               description: str | None = None) -> None:
    with gateway.session() as s, s.begin():
        s.add(StatusUpdate(request_id=int(request_id), jurisdiction_id="lacounty.gov", department="DPW",
                           update_id=update_id, status=status,
                           external_status=status.upper(), description=description, source="push",
                           updated_datetime=FIXED_NOW + timedelta(minutes=minutes), received_at=FIXED_NOW))
        row = s.get(ServiceRequest, int(request_id))
        assert row is not None
        row.status, row.status_notes = status, description
        row.updated_datetime = FIXED_NOW + timedelta(minutes=minutes)


def test_extensions_in_json(client: FlaskClient, gateway: Services, api_key: str) -> None:
    rid = post(client, api_key, media_url="https://example.org/a.jpg")
    add_update(gateway, rid, "u1", "open", 5, "Crew assigned")
    add_update(gateway, rid, "u2", "closed", 60, "Painted over")
    plain = json_of(client.get(f"/open311/v2/requests/{rid}.json"))[0]
    assert "extended_attributes" not in plain and "notes" not in plain
    item = json_of(client.get(f"/open311/v2/requests/{rid}.json?extensions=true"))[0]
    assert {k: item[k] for k in ("status", "status_notes")} == {"status": "closed", "status_notes": "Painted over"}
    assert item["extended_attributes"] == {
        "department": "DPW", "channel": "tests", "media_urls": ["https://example.org/a.jpg"], "duplicate": None,
        "parent_service_request_id": None,
        "attributes": [{"code": "surface_type", "value": "wall"}, {"code": "property_type", "value": "public"}],
        "reporter_count": 1, "closure_code": "unspecified", "duplicate_of": None,
        "sla_state": None,  # the updates were written directly: no clock recomputed
        "routing": {"place": "East Los Angeles", "place_type": "unincorporated", "city": None, "district": None,
                    "rule": "uninc_plus_contract",
                    "reason": "East Los Angeles (unincorporated) is inside the area of rule uninc_plus_contract: "
                              "Unincorporated areas plus cities that contract with the County for the service.",
                    "layer_version": file_version("places.geojson"),
                    "layers": [{"layer": "boundary", "version": file_version("county.geojson")},
                               {"layer": "places", "version": file_version("places.geojson")}]}}
    assert [(n["type"], n["status"], n["description"]) for n in item["notes"]] == [
        ("submitted", "open", None), ("status_change", "open", "Crew assigned"),
        ("status_change", "closed", "Painted over")]
    assert item["notes"][2]["datetime"] == "2026-03-10T11:30:00-07:00"
    listed = json_of(client.get("/open311/v2/requests.json?extensions=true&updated_after=2026-03-01"))
    assert listed[0]["notes"] == item["notes"]
    assert listed[0]["extended_attributes"]["routing"] == item["extended_attributes"]["routing"]
    answered = json_of(client.post("/open311/v2/requests.json?extensions=true",
                                   data={**GRAFFITI, "api_key": api_key, "description": "Another tag"}))[0]
    assert answered["routing"] == item["extended_attributes"]["routing"]
    plain_answer = json_of(client.post("/open311/v2/requests.json",
                                       data={**GRAFFITI, "api_key": api_key, "description": "A third tag"}))[0]
    assert "routing" not in plain_answer


def test_extensions_in_xml(client: FlaskClient, gateway: Services, api_key: str) -> None:
    rid = post(client, api_key)
    add_update(gateway, rid, "u1", "closed", 5, "Done")
    root = xml_of(client.get(f"/open311/v2/requests.xml?extensions=true&service_request_id={rid}"))
    request = root.find("request")
    assert request is not None
    assert [c.tag for c in request][-2:] == ["extended_attributes", "notes"]
    assert request.findtext("extended_attributes/department") == "DPW"
    assert request.find("extended_attributes/media_urls") is not None
    assert [n.findtext("type") for n in request.findall("notes/note")] == ["submitted", "status_change"]
    assert request.findtext("extended_attributes/attributes/attribute/code") == "surface_type"
    assert request.findtext("extended_attributes/routing/place") == "East Los Angeles"
    assert request.findtext("extended_attributes/routing/rule") == "uninc_plus_contract"
    assert [(e.findtext("layer"), e.findtext("version")) for e in
            request.findall("extended_attributes/routing/layers/layer")] == [
        ("boundary", file_version("county.geojson")), ("places", file_version("places.geojson"))]


def test_update_feed_in_both_formats(client: FlaskClient, gateway: Services, api_key: str) -> None:
    rid = post(client, api_key)
    add_update(gateway, rid, "u1", "open", 5, "Crew assigned")
    feed = json_of(client.get("/open311/v2/servicerequestupdates.json"))
    assert feed == [{"update_id": "u1", "service_request_id": rid, "status": "open",
                     "updated_datetime": "2026-03-10T10:35:00-07:00", "description": "Crew assigned",
                     "media_url": None, "external_status_code": "OPEN", "gateway_update_id": "1"}]
    root = xml_of(client.get("/open311/v2/servicerequestupdates.xml"))
    assert root.tag == "service_request_updates"
    assert [c.tag for c in root[0]] == ["update_id", "service_request_id", "status", "updated_datetime",
                                        "description", "media_url", "external_status_code", "gateway_update_id"]


def test_update_cursor_is_gap_free_within_one_second(client: FlaskClient, gateway: Services, api_key: str) -> None:
    rid = post(client, api_key)
    for i in range(7):
        add_update(gateway, rid, f"same-second-{i}", "open", 5)  # all with the same updated_datetime
    seen: list[str] = []
    url = "/open311/v2/servicerequestupdates.json?page_size=3"
    for _ in range(5):  # 3 + 3 + 1, then empty pages that keep the cursor
        response = client.get(url)
        seen += [u["update_id"] for u in json_of(response)]
        url = f"/open311/v2/servicerequestupdates.json?page_size=3&after={response.headers['X-Next-Cursor']}"
    assert seen == [f"same-second-{i}" for i in range(7)]
    add_update(gateway, rid, "late", "closed", 1)  # arrives later, dated earlier: still delivered
    assert [u["update_id"] for u in json_of(client.get(url))] == ["late"]


def test_update_feed_errors(client: FlaskClient) -> None:
    response = client.get("/open311/v2/servicerequestupdates.xml?after=nope&start_date=soon")
    assert response.status_code == 400
    assert errors_of(response, "xml") == [
        (400, "start_date must be a W3C datetime such as 2026-01-01T00:00:00Z, got 'soon'."),
        (400, "after is not a cursor this server issued.")]


def test_csv_export_neutralises_formulas(client: FlaskClient, api_key: str) -> None:
    post(client, api_key, description="=cmd()|' /C calc'!A0")
    post(client, api_key, description='He said "hi", then left\nsecond line', address_string="+1 Main St")
    response = client.get("/open311/v2/requests.csv")
    assert response.status_code == 200
    assert response.content_type.startswith("text/csv; charset=utf-8")
    text = response.data.decode()
    assert text.startswith('"service_request_id","status",')
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["description"] for r in rows] == ['He said "hi", then left\nsecond line', "'=cmd()|' /C calc'!A0"]
    assert rows[0]["address"] == "'+1 Main St"
    assert rows[0]["long"] == "-118.172"  # numbers are numbers, never quoted-away
    assert "=cmd()" not in [r["description"][:6] for r in rows]


def test_geojson_export(client: FlaskClient, api_key: str) -> None:
    post(client, api_key)
    post(client, api_key, lat="", long="", address_string="1 Nowhere Rd")  # not in the gazetteer: no point
    response = client.get("/open311/v2/requests.geojson?page_size=10")
    assert response.content_type == "application/geo+json; charset=utf-8"
    body = json.loads(response.data)
    assert body["type"] == "FeatureCollection"
    assert [f["geometry"] for f in body["features"]] == [None, {"type": "Point", "coordinates": [-118.172, 34.0239]}]
    assert body["features"][1]["properties"]["service_code"] == "DPW-GRAFFITI"
    assert "lat" not in body["features"][1]["properties"]
    bad = client.get("/open311/v2/requests.geojson?status=maybe")
    assert bad.status_code == 400 and errors_of(bad, "json")[0][0] == 400


@pytest.mark.parametrize("path", ["requests.json?page=1&page_size=5", "requests.xml", "services.json",
                                  "services/DPW-GRAFFITI.xml", "discovery.json", "requests/1.json",
                                  "servicerequestupdates.json", "requests.csv", "requests.geojson"])
def test_conditional_get(client: FlaskClient, gateway: Services, api_key: str, path: str) -> None:
    rid = post(client, api_key)
    first = client.get(f"/open311/v2/{path}")
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    again = client.get(f"/open311/v2/{path}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    add_update(gateway, rid, "u1", "closed", 5, "Done")
    catalog = path.startswith(("services", "discovery"))
    # On PostgreSQL the update feed shows a new update once every transaction older than it has ended
    # (docs/feeds.md); another session on the server may hold that back for a moment.
    deadline = time.monotonic() + (10 if path.startswith("servicerequestupdates") else 0)
    changed = client.get(f"/open311/v2/{path}", headers={"If-None-Match": etag})
    while changed.status_code == 304 and not catalog and time.monotonic() < deadline:
        time.sleep(0.1)
        changed = client.get(f"/open311/v2/{path}", headers={"If-None-Match": etag})
    assert changed.status_code == (304 if catalog else 200)


def test_last_modified(client: FlaskClient, api_key: str) -> None:
    rid = post(client, api_key)
    response = client.get(f"/open311/v2/requests/{rid}.json")
    assert response.headers["Last-Modified"] == "Tue, 10 Mar 2026 17:30:00 GMT"
    stamp = {"If-Modified-Since": "Tue, 10 Mar 2026 17:30:00 GMT"}
    since = client.get(f"/open311/v2/requests/{rid}.json", headers=stamp)
    assert since.status_code == 304


def test_jsonp(client: FlaskClient) -> None:
    response = client.get("/open311/v2/services.json?callback=app.handlers.onServices")
    assert response.content_type == "application/javascript; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.startswith(b"/**/app.handlers.onServices([{") and response.data.endswith(b"]);")
    for bad in ("alert(1)", "a;b", "<script>", "1abc", "x" * 70):
        refused = client.get(f"/open311/v2/services.json?callback={bad}")
        assert refused.status_code == 400
        assert errors_of(refused, "json") == [(400, "callback must be a JavaScript identifier such as "
                                                     "handleRequests (letters, digits, _, $, .).")]
    xml = client.get("/open311/v2/services.xml?callback=cb")  # JSONP is for JSON only
    assert xml.content_type == "text/xml; charset=utf-8"


def test_cors_not_on_post(client: FlaskClient, api_key: str) -> None:
    response = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key})
    assert "Access-Control-Allow-Origin" not in response.headers
