"""The Spark-convention renderer: one tree, XML and JSON."""

from __future__ import annotations

import json

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
