"""jurisdiction_id: optional with one, required with several, empty == absent, unknown 404."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import json_of


def test_single_jurisdiction_optional_and_empty_is_absent(client: FlaskClient) -> None:
    a = client.get("/open311/v2/services.json").data
    assert client.get("/open311/v2/services.json?jurisdiction_id=").data == a
    assert client.get("/open311/v2/services.json?jurisdiction_id=lacounty.gov").data == a


def test_several_jurisdictions_have_their_own_catalogs(multi_client: FlaskClient) -> None:
    a = json_of(multi_client.get("/open311/v2/services.json?jurisdiction_id=a.example"))
    b = json_of(multi_client.get("/open311/v2/services.json?jurisdiction_id=b.example"))
    assert [s["service_name"] for s in a] == ["Cans left out 24x7"]
    assert [s["service_name"] for s in b] == ["Pothole in B", "Streetlight in B"]
    assert a[0] == {"service_code": "001", "service_name": "Cans left out 24x7",
                    "description": "Garbage or recycling cans left out for more than 24 hours after collection.",
                    "metadata": False, "type": "batch", "keywords": "lorem, ipsum, dolor", "group": "sanitation"}
    assert b[1]["keywords"] is None and b[1]["group"] is None


def test_requests_are_scoped_to_their_jurisdiction(multi_client: FlaskClient, multi_key: str) -> None:
    multi_client.post("/open311/v2/requests.json", data={"jurisdiction_id": "b.example", "service_code": "002",
                                                          "lat": "1", "long": "2"})
    assert len(json_of(multi_client.get("/open311/v2/requests.json?jurisdiction_id=b.example"))) == 1
    assert json_of(multi_client.get("/open311/v2/requests.json?jurisdiction_id=a.example")) == []
    assert multi_client.get("/open311/v2/requests/1.json?jurisdiction_id=a.example").status_code == 404
    assert multi_client.get("/open311/v2/requests/1.json?jurisdiction_id=b.example").status_code == 200


def test_key_of_another_jurisdiction_is_refused(multi_client: FlaskClient, multi_key: str, api_key: str) -> None:
    r = multi_client.post("/open311/v2/requests.json", data={"jurisdiction_id": "a.example", "service_code": "001",
                                                              "lat": "1", "long": "2", "api_key": "o311_nope"})
    assert r.status_code == 403
