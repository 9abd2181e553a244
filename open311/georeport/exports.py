"""requests.geojson and requests.csv: the same feed, filters and paging, for maps and spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from flask import Response

from open311.core.closure import public_closure
from open311.feeds.entries import request_entry
from open311.georeport.feed import read_feed

CSV_COLUMNS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
               "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
               "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url", "closure_code")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> str:
    """A CSV cell that no spreadsheet will evaluate: text starting like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, float | int):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response() -> Response:
    """RFC 4180 CSV with a header row, every cell quoted, formula-like text neutralised."""
    feed = read_feed(with_history=False)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in feed.page.rows:
        entry = request_entry(row, feed.jurisdiction.timezone)
        entry["closure_code"] = public_closure(row.status, row.closure_code)
        writer.writerow([neutralise(entry[c]) for c in CSV_COLUMNS])
    headers = {"Content-Disposition": 'attachment; filename="requests.csv"', **feed.headers}
    return Response(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8; header=present",
                    headers=headers)


def geojson_response() -> Response:
    """A GeoJSON FeatureCollection: one Point per request (null geometry when it has no coordinates)."""
    feed = read_feed(with_history=False)
    features = []
    for row in feed.page.rows:
        props = request_entry(row, feed.jurisdiction.timezone)
        props["closure_code"] = public_closure(row.status, row.closure_code)
        lat, lon = props.pop("lat"), props.pop("long")
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None and lon is not None else None
        features.append({"type": "Feature", "id": props["service_request_id"], "geometry": geometry,
                         "properties": props})
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    return Response(body.encode("utf-8"), content_type="application/geo+json; charset=utf-8",
                    headers=feed.headers)


EXPORTS: dict[str, Callable[[], Response]] = {"csv": csv_response, "geojson": geojson_response}
