"""A loopback ArcGIS REST server: enough of the FeatureServer/MapServer layer protocol to serve any GeoJSON
FeatureCollection as a layer, with the knobs tests need (page size, no paging, no GeoJSON, faults per page).

Served at `/arcgis/rest/services/<Name>/FeatureServer/0`: the layer's metadata (`?f=json`) and `query` with
where (`1=1`, `FIELD = 'text'`, `FIELD = n`, `FIELD >= n`, `FIELD <= n`, joined by AND, in parentheses or not),
returnCountOnly, returnIdsOnly, resultOffset/resultRecordCount (capped at maxRecordCount, as ArcGIS caps them),
orderByFields, outSR (anything but 4326 is answered with an Esri error in a 200, as a strict check of the
client), f=geojson or f=json (esriJSON, outer rings clockwise and holes counter-clockwise).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import shapely

from tests.loopback import serving

PATH = re.compile(r"^/arcgis/rest/services/(?P<name>[^/]+)/(?:FeatureServer|MapServer)/0(?P<query>/query)?/?$")
CONDITION = re.compile(r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>>=|<=|=)\s*(?P<value>'[^']*'|-?\d+)\s*$")


@dataclass
class Layer:
    """One served layer and its knobs (changeable while the server runs)."""

    features: list[dict[str, Any]]
    max_record_count: int = 50
    supports_pagination: bool = True
    supports_geojson: bool = True
    object_ids: list[int] | None = None        # default 1..n; give gaps to test the OBJECTID-range method
    # page number (1-based, in the order a full pull asks for them) -> what its next answers do, one per try:
    # ("error", code) an Esri error object in a 200, ("http", status), ("slow", seconds), ("garbage", 0)
    faults: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    log: list[dict[str, str]] = field(default_factory=list)   # every query's parameters, in order
    count_offset: int = 0                      # added to count answers (a layer that changes during a pull)

    def ids(self) -> list[int]:
        """The OBJECTID of each feature."""
        return self.object_ids or list(range(1, len(self.features) + 1))

    def replace(self, features: list[dict[str, Any]], object_ids: list[int] | None = None) -> None:
        """Serve other features from now on (a boundary moved at the source)."""
        self.features, self.object_ids = features, object_ids


class ArcGisServer(ThreadingHTTPServer):
    """The server; `layers` by the name in their URL."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.layers: dict[str, Layer] = {}

    def url(self, name: str) -> str:
        """The layer URL a configuration's `arcgis:` names."""
        return f"http://127.0.0.1:{self.server_address[1]}/arcgis/rest/services/{name}/FeatureServer/0"


def _esri_error(code: int, message: str, details: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _matches(where: str, properties: dict[str, Any]) -> bool:
    """Evaluate the small where language of this server; ValueError for anything else."""
    for part in re.split(r"\s+AND\s+", where.strip(), flags=re.IGNORECASE):
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        if part.replace(" ", "") == "1=1":
            continue
        found = CONDITION.match(part)
        if found is None:
            raise ValueError(part)
        raw = found.group("value")
        value: Any = raw[1:-1] if raw.startswith("'") else int(raw)
        have = properties.get(found.group("field"))
        op = found.group("op")
        if have is None or (op == "=" and have != value) or (op == ">=" and not have >= value) or (
                op == "<=" and not have <= value):
            return False
    return True


def _esri_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """GeoJSON geometry -> esriJSON (rings: outer clockwise, holes counter-clockwise)."""
    shape = shapely.from_geojson(json.dumps(geometry))
    if shape.geom_type == "Point":
        return {"x": shape.x, "y": shape.y}
    oriented = shapely.orient_polygons(shape, exterior_cw=True)
    polygons = list(oriented.geoms) if oriented.geom_type == "MultiPolygon" else [oriented]
    rings = []
    for polygon in polygons:
        rings.append([list(c) for c in polygon.exterior.coords])
        rings.extend([list(c) for c in hole.coords] for hole in polygon.interiors)
    return {"rings": rings}


class _Handler(BaseHTTPRequestHandler):
    """GET layer metadata and queries."""

    server: ArcGisServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, body: bytes, status: int = 200, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (a slow page past its timeout)
            pass

    def _json(self, document: dict[str, Any]) -> None:
        self._send(json.dumps(document).encode())

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        found = PATH.match(parts.path)
        layer = self.server.layers.get(found.group("name")) if found else None
        if found is None or layer is None:
            self._json(_esri_error(400, "Invalid URL", ["Service not found."]))
            return
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if found.group("query"):
            layer.log.append(params)
            self._query(layer, params)
        else:
            self._metadata(layer, found.group("name"))

    def _metadata(self, layer: Layer, name: str) -> None:
        first = layer.features[0]["geometry"]["type"] if layer.features else "Polygon"
        kind = "esriGeometryPoint" if first == "Point" else "esriGeometryPolygon"
        names = sorted({k for f in layer.features for k in (f.get("properties") or {})})
        self._json({
            "currentVersion": 11.1, "id": 0, "name": name, "type": "Feature Layer", "geometryType": kind,
            "objectIdField": "OBJECTID", "maxRecordCount": layer.max_record_count,
            "supportedQueryFormats": "JSON, geoJSON, PBF" if layer.supports_geojson else "JSON, AMF",
            "advancedQueryCapabilities": {"supportsPagination": layer.supports_pagination},
            "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                       *({"name": n, "type": "esriFieldTypeString"} for n in names)],
        })

    def _page_number(self, layer: Layer, params: dict[str, str], rows: list[int]) -> int:
        """Which page of a full pull this query is (by its offset, or by its first OBJECTID)."""
        if "resultOffset" in params:
            size = max(1, min(int(params.get("resultRecordCount") or layer.max_record_count),
                              layer.max_record_count))
            return int(params["resultOffset"]) // size + 1
        first = min((layer.ids()[i] for i in rows), default=0)
        return sorted(layer.ids()).index(first) // layer.max_record_count + 1 if rows else 1

    def _query(self, layer: Layer, params: dict[str, str]) -> None:
        try:
            rows = [i for i, f in enumerate(layer.features)
                    if _matches(params.get("where") or "1=1", {**(f.get("properties") or {}),
                                                                "OBJECTID": layer.ids()[i]})]
        except ValueError as exc:
            self._json(_esri_error(400, "Unable to complete operation.", [f"Invalid where clause: {exc}"]))
            return
        ids = layer.ids()
        if params.get("returnCountOnly") == "true":
            self._json({"count": len(rows) + layer.count_offset})
            return
        if params.get("returnIdsOnly") == "true":
            self._json({"objectIdFieldName": "OBJECTID", "objectIds": [ids[i] for i in rows]})
            return
        if params.get("outSR") != "4326":
            self._json(_esri_error(400, "Invalid or missing input parameters.", ["outSR must be 4326 here."]))
            return
        page = self._page_number(layer, params, rows)
        if self._fault(layer, page):
            return
        rows.sort(key=lambda i: ids[i])
        if "resultOffset" in params:
            if not layer.supports_pagination:
                self._json(_esri_error(400, "Pagination is not supported."))
                return
            offset = int(params["resultOffset"])
            count = min(int(params.get("resultRecordCount") or layer.max_record_count), layer.max_record_count)
            chosen = rows[offset:offset + count]
            more = offset + count < len(rows)
        else:
            chosen, more = rows[:layer.max_record_count], len(rows) > layer.max_record_count
        self._features(layer, chosen, more, params.get("f") or "json")

    def _fault(self, layer: Layer, page: int) -> bool:
        """Play the page's next planned fault; True when it answered."""
        planned = layer.faults.get(page)
        if not planned:
            return False
        kind, value = planned.pop(0)
        if kind == "slow":
            time.sleep(value)
            return False
        if kind == "error":
            self._json(_esri_error(int(value), "Error performing query operation", ["planned by the test"]))
        elif kind == "http":
            self._send(b"<html>Server Error</html>", int(value), "text/html")
        else:
            self._send(b'{"features": [{"attributes": ', 200)
        return True

    def _features(self, layer: Layer, chosen: list[int], more: bool, fmt: str) -> None:
        ids = layer.ids()
        if fmt == "geojson":
            features = [{"type": "Feature", "id": ids[i], "geometry": layer.features[i]["geometry"],
                         "properties": {"OBJECTID": ids[i], **(layer.features[i].get("properties") or {})}}
                        for i in chosen]
            document: dict[str, Any] = {"type": "FeatureCollection", "features": features}
            if more:
                document["properties"] = {"exceededTransferLimit": True}
            self._json(document)
            return
        geometry_type = "esriGeometryPoint" if layer.features and layer.features[0]["geometry"]["type"] == "Point" \
            else "esriGeometryPolygon"
        names = sorted({k for f in layer.features for k in (f.get("properties") or {})})
        self._json({
            "objectIdFieldName": "OBJECTID", "geometryType": geometry_type,
            "spatialReference": {"wkid": 4326, "latestWkid": 4326},
            "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
                       *({"name": n, "type": "esriFieldTypeString", "alias": n} for n in names)],
            "features": [{"attributes": {"OBJECTID": ids[i], **{
                k: (v if v is None or isinstance(v, str | int | float) else json.dumps(v))
                for k, v in (layer.features[i].get("properties") or {}).items()}},
                "geometry": _esri_geometry(layer.features[i]["geometry"])} for i in chosen],
            **({"exceededTransferLimit": True} if more else {}),
        })


@contextmanager
def arcgis_server(**layers: Layer) -> Iterator[ArcGisServer]:
    """Run an ArcGisServer serving `layers` (name -> Layer) for the block."""
    server = ArcGisServer()
    server.layers.update(layers)
    with serving(server):
        yield server
