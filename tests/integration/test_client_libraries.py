"""Real Open311 client libraries from PyPI run a full journey against the live gateway.

`georeport` 0.3.1 (Python 3) reads only: it has no POST ("GeoReport does not currently support the
creation of new 311 service requests"), so its journey posts through `three`. `three` 0.8.0 was
written for Python 2: the only change made to import it is `itertools.ifilter = filter`; it is used
in JSON mode because its XML mode indexes `dict.keys()`, which Python 3 does not allow.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.helpers import GRAFFITI
from tests.integration.live import serve

itertools.ifilter = filter  # type: ignore[attr-defined]  # what `three` needs to import on Python 3

import three  # noqa: E402
from georeport import GeoReport  # noqa: E402


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


def test_three_full_journey(base_url: str, api_key: str) -> None:
    client = three.Three(base_url, format="json", api_key=api_key, jurisdiction="lacounty.gov")
    discovery = client.discovery()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = client.services()
    assert "DPW-GRAFFITI" in {s["service_code"] for s in services}
    definition = client.services("DRP-INOPERABLE")
    assert [a["code"] for a in definition["attributes"]] == ["vehicle_count", "condition", "first_seen"]
    posted: Any = client.post("DPW-GRAFFITI", lat=GRAFFITI["lat"], long=GRAFFITI["long"],
                              address="4801 E 3rd St", name="Jane Doe", phone="555-0100",
                              description="Tags on the library wall",
                              **{"attribute[surface_type]": "wall", "attribute[property_type]": "public"})
    assert client.post_response.status_code == 200, posted
    request_id = posted[0]["service_request_id"]
    one = client.request(request_id)
    assert one[0]["description"] == "Tags on the library wall"
    assert one[0]["address"] == "4801 E 3rd St"
    listed = client.requests("DPW-GRAFFITI", status="open")
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert client.requests("DPW-GRAFFITI", status="closed") == []
    refused: Any = client.post("DPW-GRAFFITI", lat="34", long="-118")  # required attributes missing
    assert client.post_response.status_code == 400
    assert refused[0]["code"] == 400 and "attribute[surface_type]" in refused[0]["description"]


@pytest.mark.parametrize("output_format", ["xml", "json"])
def test_georeport_full_journey(base_url: str, api_key: str, output_format: str) -> None:
    reader = GeoReport(base_url, jurisdiction="lacounty.gov", api_key=api_key, output_format=output_format)
    services = reader.get_service_list()
    graffiti = next(s for s in services if s["service_code"] == "DPW-GRAFFITI")
    assert graffiti["service_name"] == "Graffiti Abatement"
    definition = reader.get_service_definition("DPW-GRAFFITI")
    attributes = definition["attributes"]
    if output_format == "xml":  # xmltodict keeps the XML nesting
        attributes = attributes["attribute"]
    assert attributes[0]["code"] == "surface_type"
    poster = three.Three(base_url, format="json", api_key=api_key)
    posted: Any = poster.post("DPW-GRAFFITI", **{k: v for k, v in GRAFFITI.items() if k != "service_code"})
    request_id = posted[0]["service_request_id"]
    one = reader.get_service_request(request_id)
    assert one["service_request_id"] == request_id and one["status"] == "open"
    found = reader.get_service_requests(service_request_id=request_id)
    if output_format == "xml":
        assert found["service_request_id"] == request_id  # xmltodict: a single <request> is a dict
    else:
        assert [r["service_request_id"] for r in found] == [request_id]
    by_code = reader.get_service_requests(service_code="DPW-GRAFFITI", status="open")
    assert request_id in str(by_code)


def test_code_for_america_open311_definition_path(base_url: str) -> None:
    """Code for America's `open311` 1.1 asks for `service/{code}.{format}` (singular).

    That client cannot be installed here: it is Python 2 code (`from api import API`) and its import
    name `open311` is ours. This follows its `service_definition` exactly: `call_api` joins the endpoint,
    `/service/CODE.FORMAT` and `?jurisdiction_id=...`, and reads the answer with `urlopen(url).read()`.
    """
    from urllib.parse import urlencode
    from urllib.request import urlopen

    from lxml import etree

    url_path = "".join(["service/", "DRP-INOPERABLE", ".", "xml"])
    url = "".join([base_url, f"/{url_path}", "?", urlencode({"jurisdiction_id": "lacounty.gov"})])
    with urlopen(url) as answer:
        document = etree.fromstring(answer.read())
    assert document.tag == "service_definition"
    assert [a.findtext("code") for a in document.iter("attribute")] == ["vehicle_count", "condition", "first_seen"]
