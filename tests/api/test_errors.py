"""Every row of the spec's error table, in both formats, with exact status and body."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311.intake.keys import create_key, revoke_key
from open311.services import Services
from tests.conftest import DATA
from tests.helpers import GRAFFITI, errors_of

FORMATS = ("xml", "json")


@pytest.fixture
def multi(make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(DATA / "multi" / "jurisdictions.yaml").test_client()


@pytest.mark.parametrize("fmt", FORMATS)
class TestErrorTable:
    """The digest's error catalogue, one test per situation."""

    def test_api_key_missing(self, client: FlaskClient, fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data=GRAFFITI)
        assert r.status_code == 403
        assert errors_of(r, fmt) == [(403, "Missing api_key: send it as the api_key field or an "
                                            "Authorization: Bearer header.")]

    def test_api_key_invalid(self, client: FlaskClient, fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "api_key": "xyz"})
        assert r.status_code == 403
        assert errors_of(r, fmt) == [(403, "Invalid api_key received -- can't proceed with create_request.")]

    def test_api_key_revoked(self, client: FlaskClient, gateway: Services, api_key: str, fmt: str) -> None:
        with gateway.session() as s:
            revoke_key(s, api_key[:12], gateway.clock())
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "api_key": api_key})
        assert r.status_code == 403
        assert errors_of(r, fmt) == [(403, "Invalid api_key received -- can't proceed with create_request.")]

    def test_jurisdiction_missing_when_several(self, multi: FlaskClient, fmt: str) -> None:
        for r in (multi.get(f"/open311/v2/services.{fmt}"), multi.get(f"/open311/v2/requests.{fmt}"),
                  multi.get(f"/open311/v2/services/001.{fmt}"), multi.get(f"/open311/v2/requests/1.{fmt}"),
                  multi.get(f"/open311/v2/tokens/abc.{fmt}"),
                  multi.post(f"/open311/v2/requests.{fmt}", data={"service_code": "001"})):
            assert r.status_code == 400
            assert errors_of(r, fmt) == [(400, "jurisdiction_id was not provided; this endpoint serves "
                                               "several jurisdictions.")]

    def test_jurisdiction_unknown(self, client: FlaskClient, fmt: str) -> None:
        for r in (client.get(f"/open311/v2/services.{fmt}?jurisdiction_id=nowhere.gov"),
                  client.get(f"/open311/v2/requests.{fmt}?jurisdiction_id=nowhere.gov"),
                  client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "jurisdiction_id": "nowhere.gov"})):
            assert r.status_code == 404
            assert errors_of(r, fmt) == [(404, "jurisdiction_id 'nowhere.gov' not found.")]

    def test_service_code_missing(self, client: FlaskClient, api_key: str, fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={"api_key": api_key, "lat": "34", "long": "-118"})
        assert r.status_code == 400
        assert errors_of(r, fmt) == [(400, "service_code was not provided.")]

    def test_service_code_unknown(self, client: FlaskClient, api_key: str, fmt: str) -> None:
        r = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "api_key": api_key, "service_code": "NOPE"})
        assert r.status_code == 404
        assert errors_of(r, fmt) == [(404, "service_code 'NOPE' not found.")]
        r = client.get(f"/open311/v2/services/NOPE.{fmt}")
        assert r.status_code == 404
        assert errors_of(r, fmt) == [(404, "service_code 'NOPE' not found.")]

    def test_token_unknown(self, client: FlaskClient, fmt: str) -> None:
        r = client.get(f"/open311/v2/tokens/nope.{fmt}")
        assert r.status_code == 404
        assert errors_of(r, fmt) == [(404, "token 'nope' not found.")]

    def test_request_unknown(self, client: FlaskClient, fmt: str) -> None:
        for ident in ("99", "abc", "0", "9223372036854775807"):
            r = client.get(f"/open311/v2/requests/{ident}.{fmt}")
            assert r.status_code == 404
            assert errors_of(r, fmt) == [(404, f"service_request_id '{ident}' not found.")]
        r = client.get(f"/open311/v2/requests/99999999999999999999999.{fmt}")  # beyond any id: 400 (issue 8)
        assert errors_of(r, fmt) == [(400, "service_request_id '99999999999999999999999' is out of range: "
                                           "ids are integers up to 9223372036854775807.")]

    def test_location_missing_or_incomplete(self, client: FlaskClient, api_key: str, fmt: str) -> None:
        base = {k: v for k, v in GRAFFITI.items() if k not in ("lat", "long")} | {"api_key": api_key}
        r = client.post(f"/open311/v2/requests.{fmt}", data=base)
        assert r.status_code == 400
        assert errors_of(r, fmt) == [(400, "A location is required: lat and long, or address_string, "
                                           "or address_id.")]
        r = client.post(f"/open311/v2/requests.{fmt}", data={**base, "lat": "34.1"})
        assert errors_of(r, fmt) == [(400, "lat and long must be sent together.")]
        r = client.post(f"/open311/v2/requests.{fmt}", data={**base, "lat": "north", "long": "-200"})
        assert errors_of(r, fmt) == [(400, "lat must be a decimal number (WGS84), got 'north'."),
                                     (400, "long must be between -180 and 180, got '-200'.")]
        r = client.post(f"/open311/v2/requests.{fmt}", data={**base, "lat": "nan", "long": "inf"})
        assert [c for c, _ in errors_of(r, fmt)] == [400, 400]

    def test_attribute_problems_all_at_once(self, client: FlaskClient, api_key: str, fmt: str) -> None:
        data = {"api_key": api_key, "service_code": "DRP-INOPERABLE", "address_string": "1 Main St",
                "attribute[condition][]": ["flat_tires", "bogus"], "attribute[first_seen]": "last week",
                "description": "x" * 4001}
        r = client.post(f"/open311/v2/requests.{fmt}", data=data)
        assert r.status_code == 400
        assert errors_of(r, fmt) == [
            (400, "attribute[vehicle_count] (How many vehicles?) is required."),
            (400, "attribute[condition] (Condition) 'bogus' not among: flat_tires, missing_parts, on_blocks, wrecked."),
            (400, "attribute[first_seen] (When did you first notice it?) must be an ISO 8601 date or datetime such "
                  "as 2026-01-31 or 2026-01-31T14:30:00-08:00, got 'last week'."),
            (400, "description must be at most 4000 characters."),
        ]

    def test_bad_query_values(self, client: FlaskClient, fmt: str) -> None:
        r = client.get(f"/open311/v2/requests.{fmt}?status=pending&start_date=yesterday")
        assert r.status_code == 400
        assert errors_of(r, fmt) == [
            (400, "status must be open or closed, got 'pending'."),
            (400, "start_date must be a W3C datetime such as 2026-01-01T00:00:00Z, got 'yesterday'."),
        ]
        r = client.get(f"/open311/v2/requests.{fmt}?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
        assert errors_of(r, fmt) == [(400, "start_date and end_date may not span more than 90 days.")]
        r = client.get(f"/open311/v2/requests.{fmt}?start_date=2026-02-01&end_date=2026-01-01")
        assert errors_of(r, fmt) == [(400, "end_date must not be before start_date.")]

    def test_unknown_route(self, client: FlaskClient, fmt: str) -> None:
        r = client.get(f"/open311/v2/nothing.{fmt}")
        assert r.status_code == 404
        assert errors_of(r, fmt) == [(404, "Resource not found: the URL is not an Open311 resource here "
                                           "(formats are .xml and .json).")]

    def test_method_not_allowed_keeps_allow(self, client: FlaskClient, fmt: str) -> None:
        r = client.delete(f"/open311/v2/requests.{fmt}")
        assert r.status_code == 405
        assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
        assert errors_of(r, fmt) == [(405, "Method not allowed for this resource.")]
        r = client.post(f"/open311/v2/services.{fmt}")
        assert r.status_code == 405 and "POST" not in r.headers["Allow"]


@pytest.mark.parametrize("suffix", ["txt", "html", "XML", "jsonp", "xml.json.bak"])
def test_unknown_format_is_404_in_xml(client: FlaskClient, suffix: str) -> None:
    for path in (f"/open311/v2/services.{suffix}", f"/open311/v2/requests.{suffix}",
                 f"/open311/v2/discovery.{suffix}", f"/open311/v2/services/DPW-GRAFFITI.{suffix}"):
        r = client.get(path)
        assert r.status_code == 404
        assert errors_of(r, "xml")[0][0] == 404


def test_body_too_large(make_app: Callable[..., Flask]) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    with app.app_context():
        gw: Services = app.extensions["open311"]
        with gw.session() as s:
            _, key = create_key(s, "lacounty.gov", "t", gw.clock())
    data = {**GRAFFITI, "api_key": key, "description": "x" * 5000}
    r = app.test_client().post("/open311/v2/requests.json", data=data)
    assert r.status_code == 413
    assert errors_of(r, "json") == [(413, "The request body is too large.")]
