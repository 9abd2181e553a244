"""Helpers for reading responses in both formats."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree
from werkzeug.test import TestResponse

GRAFFITI = {
    "service_code": "DPW-GRAFFITI", "lat": "34.0239", "long": "-118.1720",
    "attribute[surface_type]": "wall", "attribute[property_type]": "public",
    "description": "Tag on the wall of the library",
}


def xml_of(response: TestResponse) -> etree._Element:
    """Parse an XML response strictly, checking declaration and content type."""
    assert response.content_type == "text/xml; charset=utf-8", response.content_type
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return etree.fromstring(response.data)


def json_of(response: TestResponse) -> Any:
    """Parse a JSON response, checking the content type."""
    assert response.content_type == "application/json; charset=utf-8", response.content_type
    return json.loads(response.data)


def errors_of(response: TestResponse, fmt: str) -> list[tuple[int, str]]:
    """The (code, description) pairs of a spec-shaped error body in either format."""
    if fmt == "json":
        body = json_of(response)
        assert isinstance(body, list)
        assert all(set(e) == {"code", "description"} for e in body)
        return [(e["code"], e["description"]) for e in body]
    root = xml_of(response)
    assert root.tag == "errors"
    assert all([c.tag for c in e] == ["code", "description"] for e in root)
    return [(int(e.findtext("code")), e.findtext("description")) for e in root]


def xml_records(root: etree._Element) -> list[dict[str, str | None]]:
    """Children of each item element as a dict of tag -> text."""
    return [{c.tag: c.text for c in item} for item in root]
