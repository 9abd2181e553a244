"""Personal data is write-only: a canary submitted every way never shows in any GET route, error or log line.

The GET routes are discovered from app.url_map (tests/crawl.py), so a feed or export that another
feature adds later is scanned without this test changing.
"""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from open311.services import Services
from open311.storage.models import RequestContact, RequestFollower, ServiceRequest
from tests.crawl import crawl, get_rules
from tests.helpers import GRAFFITI, json_of, xml_of

SENTINELS = {"email": "canary-mail@example.invalid", "phone": "+1-555-0100-9999", "first_name": "Zebulonia",
             "last_name": "Quixotique", "device_id": "device-canary-7731", "account_id": "acct-canary-4410"}
BASE = {k: v for k, v in GRAFFITI.items() if not k.startswith("attribute")}
ATTRS = {"surface_type": "wall", "property_type": "public"}


def xml_body(fields: dict[str, str]) -> str:
    items = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    attrs = "".join(f"<attribute><code>{c}</code><value>{v}</value></attribute>" for c, v in ATTRS.items())
    return f"<request>{items}<attributes>{attrs}</attributes></request>"


def submit_every_way(client: FlaskClient, key: str) -> tuple[list[TestResponse], list[str]]:
    """Accepted submissions in every body format, and refused ones of every kind, all carrying the canary."""
    auth = {"Authorization": f"Bearer {key}"}
    ok = [
        client.post("/open311/v2/requests.xml", data={**GRAFFITI, **SENTINELS, "api_key": key,
                                                      "attribute[fixmystreet_id]": "7"}),  # logged as unknown
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "description": "multi"},
                    content_type="multipart/form-data", headers=auth),
        client.post("/open311/v2/requests.json", content_type="application/json", headers=auth,
                    data=json.dumps({**BASE, **SENTINELS, "description": "json", "attributes": ATTRS})),
        client.post("/open311/v2/requests.xml", content_type="application/xml", headers=auth,
                    data=xml_body({**BASE, **SENTINELS, "description": "xml"})),
        client.post(f"/open311/v2/requests.json?{'&'.join(f'{k}={v}' for k, v in SENTINELS.items())}",
                    data={**GRAFFITI, "description": "query"}, headers=auth),
    ]
    assert [r.status_code for r in ok] == [200] * 5, [r.data for r in ok]
    ids = [str(json_of(r)[0]["service_request_id"]) if r.is_json else xml_of(r).findtext("request/service_request_id")
           for r in ok]
    refused = [
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "lat": "x", "api_key": key}),
        client.post("/open311/v2/requests.xml", data={**GRAFFITI, **SENTINELS}),  # no key: 403
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "service_code": "NOPE"}, headers=auth),
        client.post("/open311/v2/requests.xml", data={**GRAFFITI, **SENTINELS, "email": SENTINELS["email"] * 20},
                    headers=auth),
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "description": "\x01"}, headers=auth),
        client.post("/open311/v2/requests.json", content_type="application/json", headers=auth,
                    data=json.dumps({**SENTINELS, "service_code": ["x"]})),
        client.post("/open311/v2/requests.json", content_type="application/json", headers=auth,
                    data=json.dumps(SENTINELS)[:-3]),
        client.post("/open311/v2/requests.xml", content_type="application/xml", headers=auth,
                    data=xml_body(SENTINELS)[:-5]),
        client.post("/open311/v2/requests.xml", content_type="application/xml", headers=auth,
                    data=f"<!DOCTYPE r><request><email>{SENTINELS['email']}</email></request>"),
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "description": "again"},
                    headers={**auth, "Idempotency-Key": "canary"}),
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "description": "changed"},
                    headers={**auth, "Idempotency-Key": "canary"}),  # 422
        client.post("/open311/v2/requests.json", data={**GRAFFITI, **SENTINELS, "description": "x" * 2_000_000},
                    headers=auth),  # 413
    ]
    assert {r.status_code for r in refused} >= {400, 403, 404, 413, 422}
    return ok + refused, ids


def test_personal_data_never_leaves(app: Flask, client: FlaskClient, gateway: Services, api_key: str,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers, ids = submit_every_way(client, api_key)
    with gateway.session() as s, s.begin():
        closed = s.get(ServiceRequest, int(ids[0]))
        assert closed is not None
        closed.status = "closed"
        stored = s.get(RequestContact, int(ids[0]))
        assert stored is not None and stored.email == SENTINELS["email"]  # it is stored ...
        token = closed.token
    fetched = crawl(app, {"service_request_id": ids, "token": [token], "service_code": ["DPW-GRAFFITI"],
                          "filename": ["x"], "jurisdiction_id": ["lacounty.gov"]}, "lacounty.gov")
    assert {f.rule for f in fetched} == {r.rule for r in get_rules(app)}  # every GET route was visited
    assert any(f.response.status_code == 200 and ids[0].encode() in f.response.data for f in fetched)
    texts = [r.get_data() + str(r.headers).encode() for r in answers]
    texts += [f.response.get_data() + str(f.response.headers).encode() for f in fetched]
    texts += [(record.getMessage() + repr(record.args) + (record.exc_text or "")).encode()
              for record in caplog.records]
    for text in texts:                                                       # ... and never shown
        for value in SENTINELS.values():
            assert value.encode().lower() not in text.lower(), (value, text[:300])
    assert len(fetched) > 400 and caplog.records
    assert json_of(client.get(f"/open311/v2/requests/{ids[0]}.json"))[0]["status"] == "closed"


def follow_every_way(client: FlaskClient, key: str, request_id: str) -> list[TestResponse]:
    """Followers with the canary in every body format, and refused ones of every kind."""
    auth = {"Authorization": f"Bearer {key}"}
    url = f"/open311/v2/requests/{request_id}/followers"
    ok = [
        client.post(f"{url}.json", data={**SENTINELS, "api_key": key, "attribute[surface_type]": "wall"}),
        client.post(f"{url}.xml", data={**SENTINELS, "description": "multi"}, content_type="multipart/form-data",
                    headers=auth),
        client.post(f"{url}.json", content_type="application/json", headers=auth,
                    data=json.dumps({**SENTINELS, "description": "json", "attributes": ATTRS})),
        client.post(f"{url}.xml", content_type="application/xml", headers=auth,
                    data=xml_body({**SENTINELS, "description": "xml"})),
    ]
    assert [r.status_code for r in ok] == [200] * 4, [r.data for r in ok]
    refused = [
        client.post(f"{url}.json", data={**SENTINELS}),                                         # no key: 403
        client.post("/open311/v2/requests/999999/followers.xml", data=SENTINELS, headers=auth),  # 404
        client.post(f"{url}.json", data={**SENTINELS, "email": SENTINELS["email"] * 20}, headers=auth),
        client.post(f"{url}.xml", data={**SENTINELS, "attribute[surface_type]": "spaceship"}, headers=auth),
        client.post(f"{url}.json", data={**SENTINELS, "description": "\x01"}, headers=auth),
        client.post(f"{url}.xml", content_type="application/xml", headers=auth, data=xml_body(SENTINELS)[:-5]),
    ]
    assert {r.status_code for r in refused} >= {400, 403, 404}
    return ok + refused


def test_follower_contact_never_leaves(app: Flask, client: FlaskClient, gateway: Services, api_key: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """A follower's contact, stored for the department, shows in no GET route, error or log line."""
    caplog.set_level(logging.DEBUG)
    first = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key})
    request_id = str(json_of(first)[0]["service_request_id"])
    answers = follow_every_way(client, api_key, request_id)
    with gateway.session() as s, s.begin():
        stored = s.scalars(select(RequestFollower)).all()
        assert {f.email for f in stored} == {SENTINELS["email"]}   # it is stored ...
        token = s.get(ServiceRequest, int(request_id)).token  # type: ignore[union-attr]
    fetched = crawl(app, {"service_request_id": [request_id], "token": [token], "service_code": ["DPW-GRAFFITI"],
                          "filename": ["x"], "jurisdiction_id": ["lacounty.gov"]}, "lacounty.gov")
    duplicates = [f for f in fetched if f.rule.startswith("/open311/v2/duplicates") and f.response.status_code == 200]
    assert duplicates and all(request_id.encode() in f.response.data for f in duplicates)
    extended = json_of(client.get(f"/open311/v2/requests/{request_id}.json?extensions=true"))
    assert extended[0]["extended_attributes"]["reporter_count"] == 5
    texts = [r.get_data() + str(r.headers).encode() for r in answers]
    texts += [f.response.get_data() + str(f.response.headers).encode() for f in fetched]
    texts += [(record.getMessage() + repr(record.args) + (record.exc_text or "")).encode()
              for record in caplog.records]
    for text in texts:                                                       # ... and never shown
        for value in SENTINELS.values():
            assert value.encode().lower() not in text.lower(), (value, text[:300])
