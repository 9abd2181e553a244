"""Our JSON output validates against the public GeoReport v2 JSON Schemas (skipped without ../shared)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from referencing import Registry, Resource

from tests.conftest import shared_path
from tests.helpers import GRAFFITI, json_of

pytestmark = pytest.mark.shared


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(shared_path("samples", "schemas", f"schema-validation_georeport-v2_{name}.json")
                                      .read_text())
    return data


def validate(instance: Any, name: str) -> None:
    """Validate with the sibling schemas resolvable by the relative names they $ref ("service.json")."""
    names = ("service", "services", "service-definition", "request", "requests")
    registry: Registry[Any] = Registry().with_resources(
        (f"{n}.json", Resource.opaque(schema(n))) for n in names)
    validator = jsonschema.Draft4Validator(schema(name), registry=registry,
                                           format_checker=jsonschema.FormatChecker())
    validator.validate(instance)


def test_services_validate(client: FlaskClient) -> None:
    services = json_of(client.get("/open311/v2/services.json"))
    validate(services, "services")
    for item in services:
        validate(item, "service")


def test_every_definition_validates(client: FlaskClient) -> None:
    for item in json_of(client.get("/open311/v2/services.json")):
        definition = json_of(client.get(f"/open311/v2/services/{item['service_code']}.json"))
        validate(definition, "service-definition")


def test_requests_validate(client: FlaskClient, api_key: str) -> None:
    client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "media_url": "https://example.org/p.jpg"})
    client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key})
    requests = json_of(client.get("/open311/v2/requests.json"))
    assert len(requests) == 2
    validate(requests, "requests")
    for item in requests:
        validate(item, "request")
    validate(json_of(client.get("/open311/v2/requests/1.json"))[0], "request")


def test_types_match_the_derived_spec_example(client: FlaskClient, api_key: str) -> None:
    """Field for field, our request has the fields and JSON types of the spec's example (as derived)."""
    sample = json.loads(shared_path("samples", "derived", "requests.json").read_text())[0]
    client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key, "address_id": "545483",
                                                   "zipcode": "90022", "media_url": "https://example.org/p.jpg",
                                                   "address_string": "8TH AVE"})
    ours = json_of(client.get("/open311/v2/requests.json"))[0]
    assert list(ours) == list(sample)
    for key, value in sample.items():
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value), key
