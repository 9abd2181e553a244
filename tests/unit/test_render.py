"""The Spark-convention renderer: one tree, XML and JSON."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from open311.georeport.render import Many, to_json, to_xml


def test_containers_are_arrays_even_with_one_or_zero_items() -> None:
    doc = {"service_code": "A", "attributes": Many("attribute", [{"values": Many("value", [])}])}
    assert json.loads(to_json(doc)) == {"service_code": "A", "attributes": [{"values": []}]}
    root = etree.fromstring(to_xml("service_definition", doc))
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/values") is not None
    assert len(root.find("attributes/attribute/values")) == 0


def test_scalars_are_typed_in_json_and_text_in_xml() -> None:
    doc = Many("request", [{"id": "007", "flag": True, "off": False, "n": 1.5, "none": None}])
    assert json.loads(to_json(doc)) == [{"id": "007", "flag": True, "off": False, "n": 1.5, "none": None}]
    xml = to_xml("service_requests", doc)
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    item = etree.fromstring(xml)[0]
    assert [(c.tag, c.text) for c in item] == [("id", "007"), ("flag", "true"), ("off", "false"),
                                                ("n", "1.5"), ("none", None)]


def test_text_is_escaped_and_round_trips() -> None:
    text = "a < b && c > d \"quoted\" 'single' \r\n line two ünïcødé 🚧"
    root = etree.fromstring(to_xml("x", {"t": text}))
    assert root.findtext("t") == text
    assert json.loads(to_json({"t": text}))["t"] == text


def test_no_namespace_is_emitted() -> None:
    assert b"xmlns" not in to_xml("services", Many("service", [{"a": 1}]))


def test_feed_entries_are_kept_by_id_and_used_only_for_the_same_fields() -> None:
    """render_requests keeps each rendered entry by (format, zone, id) with the fields it showed: the same fields
    give the kept bytes, any changed field (a hidden description, a new status, a later stamp) a new rendering,
    which is what requests_document renders."""
    from collections import namedtuple
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from open311.feeds.request_statements import SPEC_FIELDS
    from open311.georeport.documents import render_requests, requests_document

    row_type: Any = namedtuple("row_type", [*SPEC_FIELDS, "closure_code"])  # type: ignore[misc]
    moment = datetime(2026, 12, 7, 18, 0, 0, 123456, tzinfo=UTC)
    first: Any = row_type._make([987654321, "open", None, "Graffiti", "DPW-GRAFFITI", "Tag on a wall", "Public Works",
                                 None, moment, moment, None, "1 Main St", None, "90001", 34.05, -118.25, None, None])
    tz = ZoneInfo("America/Los_Angeles")

    def direct(fmt: str, rows: list[Any]) -> bytes:
        doc = requests_document(rows, tz)
        return to_json(doc) if fmt == "json" else to_xml("service_requests", doc)

    for fmt in ("json", "xml"):
        once = render_requests(fmt, [first], tz)
        assert once == render_requests(fmt, [first], tz) == direct(fmt, [first])
        for change in ({"description": None}, {"status": "closed"}, {"updated_datetime": moment.replace(second=1)},
                       {"lat": 34.06}):
            changed: Any = first._replace(**change)
            assert render_requests(fmt, [changed], tz) == direct(fmt, [changed]) != once, change
        assert render_requests(fmt, [first], tz) == once
        # the zone is part of the key: the same row in another zone shows other local times
        assert render_requests(fmt, [first], UTC) != once
