"""Every spec endpoint in both formats, compared with golden files."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.api.golden import assert_golden
from tests.helpers import GRAFFITI, json_of, xml_of

FORMATS = ("xml", "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"/open311/v2/discovery.{fmt}")
    assert response.status_code == 200
    assert_golden(f"discovery.{fmt}", response.data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_list(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"/open311/v2/services.{fmt}")
    assert response.status_code == 200
    assert_golden(f"services.{fmt}", response.data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"/open311/v2/services/DRP-INOPERABLE.{fmt}")
    assert response.status_code == 200
    assert_golden(f"service_definition.{fmt}", response.data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_then_read_back(client: FlaskClient, api_key: str, fmt: str) -> None:
    posted = client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "api_key": api_key,
                                                               "address_string": "4801 E 3rd St, East Los Angeles",
                                                               "zipcode": "90022", "email": "x@example.org"})
    assert posted.status_code == 200, posted.data
    assert_golden(f"post_request_response.{fmt}", posted.data)
    one = client.get(f"/open311/v2/requests/1.{fmt}")
    assert one.status_code == 200
    assert_golden(f"request.{fmt}", one.data)
    many = client.get(f"/open311/v2/requests.{fmt}")
    assert many.status_code == 200
    assert_golden(f"requests.{fmt}", many.data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_request_list(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"/open311/v2/requests.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert json_of(response) == []
    else:
        root = xml_of(response)
        assert root.tag == "service_requests" and len(root) == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_head_and_content_types(client: FlaskClient, fmt: str) -> None:
    response = client.head(f"/open311/v2/services.{fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].endswith("; charset=utf-8")
