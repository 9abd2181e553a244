"""Reading layers from a loopback ArcGIS REST server: paging, esriJSON, OBJECTID ranges, transfer limits, errors
in 200 answers, slow pages, and failures that must stop a pull; on the real Mapping L.A. boundaries."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import shapely

from open311.adapter import make_http_session
from open311.gis.arcgis import ArcGisError, PullOptions, pull_layer
from tests.arcgis_server import Layer, arcgis_server
from tests.gisconfigs import mapping_la_features

FAST = PullOptions(timeout=2.0, retries=2, backoff=0.01)


def squares(n: int) -> list[dict[str, Any]]:
    """n small squares in a row, the first with a hole."""
    found = []
    for i in range(n):
        outer = shapely.box(-118.5 + i * 0.01, 34.0, -118.495 + i * 0.01, 34.005)
        shape = outer.difference(shapely.box(-118.499, 34.001, -118.497, 34.003)) if i == 0 else outer
        found.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(shape)),
                      "properties": {"name": f"Square {i}", "type": "standalone-city"}})
    return found


def by_name(data: bytes) -> dict[str, Any]:
    return {f["properties"]["name"]: shapely.from_geojson(json.dumps(f["geometry"]))
            for f in json.loads(data)["features"]}


def assert_same_shapes(pulled: bytes, source: list[dict[str, Any]]) -> None:
    got = by_name(pulled)
    assert len(got) == len(source)
    for feature in source:
        want = shapely.from_geojson(json.dumps(feature["geometry"]))
        have = got[feature["properties"]["name"]]
        assert shapely.symmetric_difference(want, have).area <= 1e-9 * max(want.area, 1e-12), \
            feature["properties"]["name"]


def feature_queries(layer: Layer) -> list[dict[str, str]]:
    return [q for q in layer.log if q.get("returnCountOnly") != "true" and q.get("returnIdsOnly") != "true"]


@pytest.fixture
def http() -> requests.Session:
    return make_http_session()


@pytest.mark.parametrize("geojson", [True, False], ids=["geojson", "esrijson"])
def test_the_real_boundaries_arrive_whole_in_pages(http: requests.Session, geojson: bool) -> None:
    source = mapping_la_features()
    layer = Layer(source, max_record_count=50, supports_geojson=geojson)
    seen: list[tuple[int, int | None]] = []
    with arcgis_server(Places=layer) as server:
        pulled = pull_layer(server.url("Places"), http, FAST, lambda done, total: seen.append((done, total)))
    assert (pulled.features, pulled.pages, pulled.method) == (272, 6, "offset")
    assert pulled.format == ("geojson" if geojson else "esrijson")
    assert seen == [(50, 272), (100, 272), (150, 272), (200, 272), (250, 272), (272, 272)]
    assert_same_shapes(pulled.data, source)
    queries = feature_queries(layer)
    assert len(queries) == 6
    assert all(q["outSR"] == "4326" and int(q["resultRecordCount"]) <= 50 for q in queries)
    assert [int(q["resultOffset"]) for q in queries] == [0, 50, 100, 150, 200, 250]
    types = {f["properties"]["name"]: f["properties"]["type"] for f in json.loads(pulled.data)["features"]}
    assert types["Acton"] == "unincorporated-area"


def test_holes_survive_esrijson(http: requests.Session) -> None:
    source = squares(3)
    with arcgis_server(Places=Layer(source, supports_geojson=False)) as server:
        pulled = pull_layer(server.url("Places"), http, FAST)
    assert len(by_name(pulled.data)["Square 0"].interiors) == 1
    assert_same_shapes(pulled.data, source)


def test_a_page_size_below_the_limit_is_kept_and_one_above_is_capped(http: requests.Session) -> None:
    layer = Layer(squares(7), max_record_count=3)
    with arcgis_server(Places=layer) as server:
        small = pull_layer(server.url("Places"), http, PullOptions(page_size=2, timeout=2))
        large = pull_layer(server.url("Places"), http, PullOptions(page_size=100, timeout=2))
    assert (small.pages, large.pages) == (4, 3)
    assert all(int(q["resultRecordCount"]) <= 3 for q in feature_queries(layer))


def test_without_paging_the_layer_is_read_by_objectid_ranges_with_gaps(http: requests.Session) -> None:
    source = squares(11)
    ids = [3, 4, 9, 10, 11, 40, 41, 42, 100, 250, 251]
    layer = Layer(source, max_record_count=4, supports_pagination=False, object_ids=ids)
    with arcgis_server(Places=layer) as server:
        pulled = pull_layer(server.url("Places"), http, FAST)
    assert (pulled.features, pulled.pages, pulled.method) == (11, 3, "objectid")
    assert_same_shapes(pulled.data, source)
    wheres = [q["where"] for q in feature_queries(layer)]
    assert wheres == ["(1=1) AND OBJECTID >= 3 AND OBJECTID <= 10", "(1=1) AND OBJECTID >= 11 AND OBJECTID <= 42",
                      "(1=1) AND OBJECTID >= 100 AND OBJECTID <= 251"]
    assert all("resultOffset" not in q for q in feature_queries(layer))


def test_a_where_clause_is_sent_and_applied(http: requests.Session) -> None:
    source = squares(5)
    source[2]["properties"]["type"] = "water"
    with arcgis_server(Places=Layer(source, max_record_count=2)) as server:
        pulled = pull_layer(server.url("Places"), http, PullOptions(where="type = 'standalone-city'", timeout=2))
    assert pulled.features == 4 and "Square 2" not in by_name(pulled.data)


def test_an_esri_error_500_in_a_200_is_retried(http: requests.Session) -> None:
    layer = Layer(squares(6), max_record_count=2, faults={2: [("error", 500), ("http", 503)]})
    with arcgis_server(Places=layer) as server:
        pulled = pull_layer(server.url("Places"), http, FAST)
    assert pulled.features == 6
    assert [q["resultOffset"] for q in feature_queries(layer)] == ["0", "2", "2", "2", "4"]


def test_an_esri_error_400_in_a_200_stops_at_once(http: requests.Session) -> None:
    layer = Layer(squares(6), max_record_count=2, faults={3: [("error", 400)]})
    with arcgis_server(Places=layer) as server, pytest.raises(ArcGisError) as caught:
        pull_layer(server.url("Places"), http, FAST)
    assert "ArcGIS error 400: Error performing query operation (planned by the test)" in str(caught.value)
    assert len(feature_queries(layer)) == 3


def test_a_slow_page_is_retried_and_one_that_stays_slow_fails(http: requests.Session) -> None:
    options = PullOptions(timeout=0.3, retries=2, backoff=0.01)
    layer = Layer(squares(4), max_record_count=2, faults={2: [("slow", 1.0)]})
    with arcgis_server(Places=layer) as server:
        assert pull_layer(server.url("Places"), http, options).features == 4
        layer.faults = {2: [("slow", 1.0)] * 3}
        with pytest.raises(ArcGisError, match=r"no answer within 0.3 s. \(gave up after 3 tries\)"):
            pull_layer(server.url("Places"), http, options)


@pytest.mark.parametrize(("fault", "message"), [
    (("garbage", 0), "cannot read the page as features|not JSON"),
    (("http", 404), "HTTP 404"),
])
def test_broken_answers_stop_the_pull(http: requests.Session, fault: tuple[str, float], message: str) -> None:
    layer = Layer(squares(4), max_record_count=2, faults={2: [fault]})
    with arcgis_server(Places=layer) as server, pytest.raises(ArcGisError, match=message):
        pull_layer(server.url("Places"), http, FAST)


def test_a_layer_that_changes_during_the_pull_is_refused(http: requests.Session) -> None:
    growing = Layer(squares(4), max_record_count=2, count_offset=1)
    with arcgis_server(Places=growing) as server, pytest.raises(ArcGisError, match="counts 5 features but 4 arrived"):
        pull_layer(server.url("Places"), http, FAST)
    repeating = Layer(squares(4), max_record_count=2, object_ids=[1, 2, 2, 3])
    with arcgis_server(Places=repeating) as server, pytest.raises(ArcGisError, match="features sent twice"):
        pull_layer(server.url("Places"), http, FAST)


def test_what_is_not_a_feature_layer_is_refused(http: requests.Session) -> None:
    with arcgis_server() as server, pytest.raises(ArcGisError, match="Service not found"):
        pull_layer(server.url("Missing"), http, FAST)
    with pytest.raises(ArcGisError, match="not an http"):
        pull_layer("ftp://example.invalid/layer", http, FAST)
