"""Personal data is write-only: stored, never rendered by any GET nor written to a log line."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from open311.gateway import Gateway
from open311.models import RequestContact
from tests.helpers import GRAFFITI, json_of

SENTINELS = {"email": "canary-mail@example.invalid", "phone": "+1-555-0100-9999", "first_name": "Zebulonia",
             "last_name": "Quixotique", "device_id": "device-canary-7731", "account_id": "acct-canary-4410"}


def test_personal_data_never_leaves(client: FlaskClient, gateway: Gateway, api_key: str,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []
    for fmt in ("xml", "json"):
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, **SENTINELS, "api_key": api_key})
        assert r.status_code == 200
        bodies.append(r.data)
        bad = client.post(f"/open311/v2/requests.{fmt}", data={**SENTINELS, "api_key": api_key,
                                                                "service_code": "DRP-INOPERABLE", "lat": "x"})
        assert bad.status_code == 400
        bodies.append(bad.data)
    for fmt in ("xml", "json"):
        for path in ("discovery", "services", "services/DPW-GRAFFITI", "requests", "requests/1", "requests/2"):
            r = client.get(f"/open311/v2/{path}.{fmt}")
            assert r.status_code == 200
            bodies.append(r.data)
    tokens_checked = 0
    with gateway.session() as s, s.begin():
        contact = s.get(RequestContact, 1)
        assert contact is not None and contact.email == SENTINELS["email"]  # it is stored ...
    for body in bodies:                                                      # ... and never shown
        for value in SENTINELS.values():
            assert value.encode() not in body
            tokens_checked += 1
    for record in caplog.records:
        for value in SENTINELS.values():
            assert value not in record.getMessage()
    assert tokens_checked == len(bodies) * len(SENTINELS)
    assert json_of(client.get("/open311/v2/requests.json"))[0]["service_request_id"] == "2"
