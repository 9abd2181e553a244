"""OpenAPI descriptions of the query parameters our views parse by hand (so /docs shows them)."""

from __future__ import annotations

from typing import Any


def query(name: str, description: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    """One optional query parameter."""
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": kind, **schema}}


JURISDICTION = query("jurisdiction_id", "Required only when the gateway serves several jurisdictions; "
                                        "empty means absent.")
W3C = {"format": "date-time"}

FEED_PARAMETERS = [
    JURISDICTION,
    query("service_request_id", "Comma-delimited ids; overrides every other filter."),
    query("service_code", "Comma-delimited service codes."),
    query("status", "open and/or closed, comma-delimited.", pattern=r"^\s*(open|closed)(\s*,\s*(open|closed))*\s*$"),
    query("start_date", "Earliest requested_datetime (W3C). With end_date, at most 90 days.", **W3C),
    query("end_date", "Latest requested_datetime (W3C).", **W3C),
    query("updated_after", "Extension: earliest updated_datetime (inclusive); without start_date/end_date "
                           "the 90-day window does not apply.", **W3C),
    query("updated_before", "Extension: latest updated_datetime (inclusive).", **W3C),
    query("page", "Extension: 1-based page number (0 is read as 1); out of range gives an empty list.",
          "integer", minimum=0),
    query("page_size", "Extension: rows per page (default and maximum configurable, 1000 by default).",
          "integer", minimum=1, maximum=1000),
    query("after", "Extension: continue after this cursor (from the Link rel=next header); stable while "
                   "requests are added or updated."),
    query("lat", "Extension: centre of a circle (WGS84); with long and radius.", "number",
          minimum=-90, maximum=90),
    query("long", "Extension: centre of a circle (WGS84).", "number", minimum=-180, maximum=180),
    query("radius", "Extension: circle radius in metres (default 1000, at most 50000).", "number",
          minimum=1, maximum=50000),
    query("bbox", "Extension: west,south,east,north in degrees."),
    query("extensions", "Extension: true adds extended_attributes (department, channel, media_urls, "
                        "duplicate, parent, attribute answers) and notes (status history).", "boolean"),
    query("callback", "JSON only: wrap the answer as JSONP in this JavaScript function name."),
]

UPDATE_FEED_PARAMETERS = [
    JURISDICTION,
    query("start_date", "Earliest updated_datetime of an update (W3C).", **W3C),
    query("end_date", "Latest updated_datetime of an update (W3C).", **W3C),
    query("service_request_id", "Comma-delimited request ids."),
    query("after", "Continue after this cursor (X-Next-Cursor): updates come in commit order, so a consumer "
                   "that always passes the last cursor never misses one and never reads one twice."),
    query("page_size", "Updates per answer (at most 1000).", "integer", minimum=1, maximum=1000),
    query("callback", "JSON only: JSONP function name."),
]

PAGING_HEADERS = {
    "Link": {"description": 'rel="next" (cursor), rel="prev", rel="first"', "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Matching rows, when at most OPEN311_COUNT_CAP (10000)",
                      "schema": {"type": "integer"}},
    "X-Total-Count-At-Least": {"description": "Given instead of X-Total-Count above the cap",
                               "schema": {"type": "integer"}},
    "ETag": {"description": "Validator; If-None-Match gets 304", "schema": {"type": "string"}},
}
