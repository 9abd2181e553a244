"""`service/{code}.{fmt}` (singular): the path Code for America's `open311` client asks for.

The alias answers exactly as the spec's `services/{code}.{fmt}`: same body, content type, caching
headers and validators, and the same spec-shaped errors.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers import json_of, xml_of

FORMATS = ("xml", "json")
SAME_HEADERS = ("Content-Type", "Cache-Control", "ETag", "Access-Control-Allow-Origin", "Content-Language")


@pytest.mark.parametrize("fmt", FORMATS)
def test_singular_path_answers_like_the_spec_path(client: FlaskClient, fmt: str) -> None:
    spec = client.get(f"/open311/v2/services/DRP-INOPERABLE.{fmt}?jurisdiction_id=lacounty.gov")
    alias = client.get(f"/open311/v2/service/DRP-INOPERABLE.{fmt}?jurisdiction_id=lacounty.gov")
    assert spec.status_code == alias.status_code == 200
    assert alias.data == spec.data
    for name in SAME_HEADERS:
        assert alias.headers.get(name) == spec.headers.get(name), name
    assert "max-age" in (alias.headers.get("Cache-Control") or "")


@pytest.mark.parametrize("fmt", FORMATS)
def test_singular_path_revalidates(client: FlaskClient, fmt: str) -> None:
    first = client.get(f"/open311/v2/service/DRP-INOPERABLE.{fmt}")
    again = client.get(f"/open311/v2/service/DRP-INOPERABLE.{fmt}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_singular_path_unknown_service_is_the_spec_error(client: FlaskClient) -> None:
    spec = client.get("/open311/v2/services/NO-SUCH-CODE.xml")
    alias = client.get("/open311/v2/service/NO-SUCH-CODE.xml")
    assert spec.status_code == alias.status_code == 404
    assert alias.data == spec.data
    assert xml_of(alias).tag == "errors"
    answer = json_of(client.get("/open311/v2/service/NO-SUCH-CODE.json"))
    assert answer[0]["code"] == 404


def test_singular_path_unknown_format_and_jurisdiction(client: FlaskClient) -> None:
    assert client.get("/open311/v2/service/DRP-INOPERABLE.html").status_code == 404
    wrong = client.get("/open311/v2/service/DRP-INOPERABLE.json?jurisdiction_id=nowhere.example")
    right = client.get("/open311/v2/services/DRP-INOPERABLE.json?jurisdiction_id=nowhere.example")
    assert wrong.status_code == right.status_code
    assert wrong.status_code >= 400 and wrong.data == right.data


def test_singular_path_is_documented(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/open311/v2/service/{service_code}.{fmt}" in paths
