"""POST requests: form (every attribute encoding), JSON and XML bodies; key from body, query or header."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from open311.services import Services
from open311.storage.models import OutboxMessage, RequestContact, ServiceRequest
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of


def stored(gateway: Services, request_id: str) -> ServiceRequest:
    with gateway.session() as s, s.begin():
        row = s.get(ServiceRequest, int(request_id))
    assert row is not None
    return row


def new_id(response: Any) -> str:
    assert response.status_code == 200, response.data
    body = json_of(response)
    assert len(body) == 1
    return str(body[0]["service_request_id"])


def test_form_body_as_in_the_spec_example(client: FlaskClient, gateway: Services, api_key: str) -> None:
    body = (f"api_key={api_key}&jurisdiction_id=lacounty.gov&service_code=DRP-INOPERABLE&lat=34.02&long=-118.17"
            "&address_string=1234+5th+street&email=smit333%40sfgov.edu&device_id=tt222111&account_id=123456"
            "&first_name=john&last_name=smith&phone=111111111&description=A+large+sinkhole+is+destroying+the+street"
            "&media_url=http%3A%2F%2Ffarm3.static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg"
            "&attribute[vehicle_count]=2&attribute[condition][]=flat_tires&attribute[condition][]=wrecked")
    r = client.post("/open311/v2/requests.xml", data=body,
                    content_type="application/x-www-form-urlencoded; charset=utf-8")
    assert r.status_code == 200, r.data
    root = xml_of(r)
    rid = root.findtext("request/service_request_id")
    row = stored(gateway, rid)
    assert row.attributes == {"vehicle_count": 2, "condition": ["flat_tires", "wrecked"]}
    assert row.address == "1234 5th street"
    assert row.media_url == "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg"
    with gateway.session() as s, s.begin():
        contact = s.get(RequestContact, row.id)
        outbox = s.scalars(select(OutboxMessage).where(OutboxMessage.request_id == row.id)).all()
    assert contact is not None and contact.email == "smit333@sfgov.edu" and contact.account_id == "123456"
    assert [(o.department, o.state, o.kind) for o in outbox] == [("DRP", "pending", "deliver")]


@pytest.mark.parametrize("encoding", ["brackets", "percent", "repeated", "comma", "indexed", "mixed"])
def test_multivaluelist_encodings(client: FlaskClient, gateway: Services, api_key: str, encoding: str) -> None:
    pairs = {
        "brackets": "attribute[condition][]=flat_tires&attribute[condition][]=on_blocks",
        "percent": quote("attribute[condition][]") + "=flat_tires&" + quote("attribute[condition][]") + "=on_blocks",
        "repeated": "attribute[condition]=flat_tires&attribute[condition]=on_blocks",
        "comma": "attribute[condition]=flat_tires%2Con_blocks",
        "indexed": "attribute[condition][0]=flat_tires&attribute[condition][1]=on_blocks",  # qs / axios / PHP
        "mixed": "attribute[condition][]=flat_tires&attribute[condition]=on_blocks,flat_tires",
    }[encoding]
    body = (f"api_key={api_key}&service_code=DRP-INOPERABLE&address_string=1+Main+St"
            f"&attribute%5Bvehicle_count%5D=1&{pairs}")
    r = client.post("/open311/v2/requests.json", data=body, content_type="application/x-www-form-urlencoded")
    assert stored(gateway, new_id(r)).attributes == {"vehicle_count": 1, "condition": ["flat_tires", "on_blocks"]}


def test_json_attributes_as_a_list_of_code_value_objects(client: FlaskClient, gateway: Services,
                                                         api_key: str) -> None:
    body = {"api_key": api_key, "service_code": "DRP-INOPERABLE", "address_string": "1 Main St",
            "attributes": [{"code": "vehicle_count", "value": 2},
                           {"code": "condition", "values": ["wrecked", "on_blocks"]}]}
    r = client.post("/open311/v2/requests.json", data=json.dumps(body), content_type="application/json")
    assert stored(gateway, new_id(r)).attributes == {"vehicle_count": 2, "condition": ["wrecked", "on_blocks"]}
    body["attributes"] = [{"value": 2}]
    r = client.post("/open311/v2/requests.json", data=json.dumps(body), content_type="application/json")
    assert errors_of(r, "json") == [(400, 'Each item of a JSON attributes list must be an object with a "code".')]


def test_json_body(client: FlaskClient, gateway: Services, api_key: str) -> None:
    body = {"api_key": api_key, "service_code": "DRP-INOPERABLE", "lat": 34.02, "long": -118.17,
            "attributes": {"vehicle_count": 3, "condition": ["wrecked"], "first_seen": "2026-03-01"},
            "description": "Three cars", "jurisdiction_id": ""}
    r = client.post("/open311/v2/requests.json", data=json.dumps(body), content_type="application/json")
    row = stored(gateway, new_id(r))
    assert row.attributes == {"vehicle_count": 3, "condition": ["wrecked"], "first_seen": "2026-03-01T00:00:00-08:00"}
    assert (row.lat, row.long) == (34.02, -118.17)


def test_json_body_with_flat_attribute_keys(client: FlaskClient, gateway: Services, api_key: str) -> None:
    body = {"service_code": "DRP-INOPERABLE", "address_id": "A-1", "attribute[vehicle_count]": "1",
            "attribute[condition][]": ["on_blocks", "wrecked"]}
    r = client.post("/open311/v2/requests.json", data=json.dumps(body), content_type="application/json",
                    headers={"Authorization": f"Bearer {api_key}"})
    assert stored(gateway, new_id(r)).attributes == {"vehicle_count": 1, "condition": ["on_blocks", "wrecked"]}


def test_xml_body(client: FlaskClient, gateway: Services, api_key: str) -> None:
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<request>
  <api_key>{api_key}</api_key>
  <service_code>DRP-INOPERABLE</service_code>
  <lat>34.02</lat><long>-118.17</long>
  <description>Cars &amp; trucks</description>
  <attributes>
    <attribute><code>vehicle_count</code><value>2</value></attribute>
    <attribute><code>condition</code><value>flat_tires</value><value>wrecked</value></attribute>
  </attributes>
</request>"""
    r = client.post("/open311/v2/requests.json", data=body, content_type="application/xml")
    row = stored(gateway, new_id(r))
    assert row.description == "Cars & trucks"
    assert row.attributes == {"vehicle_count": 2, "condition": ["flat_tires", "wrecked"]}


def test_api_key_in_query_string(client: FlaskClient, gateway: Services, api_key: str) -> None:
    r = client.post(f"/open311/v2/requests.json?api_key={api_key}&jurisdiction_id=lacounty.gov", data=GRAFFITI)
    assert stored(gateway, new_id(r)).service_code == "DPW-GRAFFITI"


@pytest.mark.parametrize(("content_type", "body", "message"), [
    ("application/json", b"{not json", "Malformed JSON body."),
    ("application/json", b"[1, 2]", "The JSON body must be an object of request fields."),
    ("application/json", b'{"service_code": {"a": 1}}', "service_code must be a string or a number."),
    ("application/xml", b"<request><unclosed></request>", None),
    ("application/xml", b"<other/>", "The XML body's root element must be <request>."),
    ("application/xml", b'<!DOCTYPE r [<!ENTITY e "x">]><request>&e;</request>',
     "XML with a DOCTYPE or ENTITY declaration is not accepted."),
    ("text/plain", b"hello", "Unsupported Content-Type 'text/plain': send form-encoded, JSON or XML."),
    ("application/json", b'{"service_code": "A\\u0000B"}',
     "service_code contains control or non-character code points, which are not accepted."),
    ("application/json", b'{"description": "\\ud800"}',
     "description contains control or non-character code points, which are not accepted."),
])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_malformed_bodies_get_400(client: FlaskClient, fmt: str, content_type: str, body: bytes,
                                  message: str | None) -> None:
    r = client.post(f"/open311/v2/requests.{fmt}", data=body, content_type=content_type)
    assert r.status_code == 400
    errors = errors_of(r, fmt)
    assert errors[0][0] == 400
    if message:
        assert errors == [(400, message)]
    else:
        assert errors[0][1].startswith("Malformed XML:")


def test_batch_service_returns_token_resolved_by_tokens(multi_client: FlaskClient, multi_key: str) -> None:
    r = multi_client.post("/open311/v2/requests.xml", data={"jurisdiction_id": "a.example", "service_code": "001",
                                                             "address_string": "1 Elm", "api_key": multi_key})
    assert r.status_code == 200, r.data
    root = xml_of(r)
    assert root.find("request/service_request_id") is None
    token = root.findtext("request/token")
    assert token
    t = multi_client.get(f"/open311/v2/tokens/{token}.json?jurisdiction_id=a.example")
    assert json_of(t) == [{"service_request_id": "1", "token": token}]
    other = multi_client.get(f"/open311/v2/tokens/{token}.json?jurisdiction_id=b.example")
    assert other.status_code == 404


def test_blackbox_service_and_keyless_jurisdiction(multi_client: FlaskClient) -> None:
    r = multi_client.post("/open311/v2/requests.json", data={"jurisdiction_id": "b.example", "service_code": "001",
                                                              "lat": "1", "long": "2"})
    assert json_of(r) == [{"service_notice": None, "account_id": None}]
    r = multi_client.post("/open311/v2/requests.json", data={"jurisdiction_id": "b.example", "service_code": "002",
                                                              "lat": "1", "long": "2"})
    assert json_of(r) == [{"service_request_id": "2", "service_notice": None, "account_id": None}]
