"""OpenAPI descriptions of the GeoReport routes: parameters, bodies in three formats, answers and errors.

The views parse requests themselves (lenient on input), so these are documentation only; they let
clients and the fuzzer (tests/fuzz) know every parameter, body type and answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from open311.core.sla_clock import SLA_STATES
from open311.georeport.blueprint import blp
from open311.georeport.openapi_bodies import (
    FOLLOW_FORM,
    FOLLOW_JSON,
    FOLLOW_MULTIPART,
    FOLLOW_XML,
    REOPEN_FORM,
    REOPEN_JSON,
    REOPEN_MULTIPART,
    REOPEN_XML,
    SUBMIT_FORM,
    SUBMIT_JSON,
    SUBMIT_MULTIPART,
    SUBMIT_XML,
    SUBSCRIBE_FIELDS,
    UPDATE_FIELDS,
)

View = TypeVar("View", bound=Callable[..., Any])

FMT = {"in": "path", "name": "fmt", "required": True,
       "description": "Response format, errors included: `xml` or `json`.",
       "schema": {"type": "string", "enum": ["xml", "json"]}}
JURISDICTION = {"in": "query", "name": "jurisdiction_id", "required": False,
                "description": "Optional while one jurisdiction is served; required with several.",
                "schema": {"type": "string", "maxLength": 100}}
_XML = {"schema": {"type": "string"}}
_NULLABLE_TEXT = {"type": "string", "nullable": True}

ERRORS = {"type": "array", "items": {"type": "object", "required": ["code", "description"],
                                     "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}
_ERROR_TEXT = {
    400: "Bad input: the list says what and where.",
    403: "api_key missing, unknown, of another jurisdiction or revoked.",
    404: "Unknown jurisdiction, service, request, token or format.",
    409: "The same submission is being processed concurrently; retry.",
    413: "Body, form or document larger than the configured limit.",
    422: "Idempotency-Key already used with a different request.",
    503: "Photos cannot be stored right now (media store unavailable); retry after Retry-After.",
}


def _answer(description: str, json_schema: dict[str, Any]) -> dict[str, Any]:
    """A response in both formats (the URL suffix picks one)."""
    return {"description": description,
            "content": {"application/json": {"schema": json_schema}, "text/xml": _XML}}


def responses(ok: str, ok_schema: dict[str, Any], *codes: int) -> dict[str, Any]:
    """The 200 answer and the spec-shaped error lists an operation can return."""
    answers = {"200": _answer(ok, ok_schema)}
    for code in (400, 404, *codes):
        answers[str(code)] = _answer(_ERROR_TEXT[code], ERRORS)
    return answers


SERVICE = {"type": "object", "properties": {
    "service_code": {"type": "string"}, "service_name": {"type": "string"}, "description": _NULLABLE_TEXT,
    "metadata": {"type": "boolean"}, "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
    "keywords": _NULLABLE_TEXT, "group": _NULLABLE_TEXT}}
DEFINITION = {"type": "object", "properties": {"service_code": {"type": "string"}, "attributes": {
    "type": "array", "items": {"type": "object", "properties": {
        "variable": {"type": "boolean"}, "code": {"type": "string"}, "datatype": {"type": "string"},
        "required": {"type": "boolean"}, "datatype_description": _NULLABLE_TEXT, "order": {"type": "integer"},
        "description": {"type": "string"}, "values": {"type": "array", "items": {"type": "object"}}}}}}}
REQUEST = {"type": "object", "properties": {
    "service_request_id": {"type": "string"}, "status": {"type": "string", "enum": ["open", "closed"]},
    "status_notes": _NULLABLE_TEXT, "service_name": {"type": "string"}, "service_code": {"type": "string"},
    "description": _NULLABLE_TEXT, "agency_responsible": _NULLABLE_TEXT, "service_notice": _NULLABLE_TEXT,
    "requested_datetime": {"type": "string", "format": "date-time"},
    "updated_datetime": {"type": "string", "format": "date-time"}, "expected_datetime": _NULLABLE_TEXT,
    "address": _NULLABLE_TEXT, "address_id": _NULLABLE_TEXT, "zipcode": _NULLABLE_TEXT,
    "lat": {"type": "number", "nullable": True}, "long": {"type": "number", "nullable": True},
    "media_url": _NULLABLE_TEXT}}
SUBMITTED = {"type": "array", "items": {"type": "object", "properties": {
    "service_request_id": {"type": "string"}, "token": {"type": "string"}, "service_notice": _NULLABLE_TEXT,
    "account_id": {"type": "string", "nullable": True},
    "status_url": {"type": "string", "format": "uri", "description": "Extension, only when the POST's query has "
                   "extensions=true: the request's status page, a capability URL for the resident "
                   "(docs/notifications.md)."},
    "routing": {"type": "object", "nullable": True, "description": "Extension, with extensions=true: the place, "
                "place_type, city, district, rule, reason and layer_version that decided where the request was "
                "taken, and `layers` ({layer, version} of every layer used); recorded at intake (docs/gis.md)."}}}}
DISCOVERY = {"type": "object", "properties": {
    "changeset": {"type": "string"}, "contact": {"type": "string"}, "key_service": {"type": "string"},
    "endpoints": {"type": "array", "items": {"type": "object"}}}}


SUBMIT = {
    "parameters": [
        JURISDICTION,
        {"in": "query", "name": "locale", "required": False, "schema": {"type": "string", "maxLength": 20},
         "description": "Language of service_notice (e.g. es); default: Accept-Language, else en."},
        {"in": "query", "name": "api_key", "required": False, "schema": {"type": "string"}},
        {"in": "header", "name": "Idempotency-Key", "required": False,
         "description": "1-255 visible ASCII characters; a retry with the same key and payload within 24 h "
                        "returns the first answer (header `Idempotent-Replayed: true`).",
         "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}},
    ],
    "requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": SUBMIT_FORM},
        "multipart/form-data": {"schema": SUBMIT_MULTIPART,
                                "encoding": {"media": {"contentType": "image/jpeg, image/png, image/webp"}}},
        "application/json": {"schema": SUBMIT_JSON},
        "application/xml": {"schema": SUBMIT_XML},
    }},
    "responses": responses("The new request: its id (realtime), a token (batch) or neither (blackbox).",
                           SUBMITTED, 403, 409, 413, 422, 503),
}


def query(name: str, description: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    """One optional query parameter."""
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": kind, **schema}}


W3C = {"format": "date-time"}

# The extensions of GET requests (docs/feeds.md); the spec's own parameters are in FIND below.
FEED_EXTENSIONS = [
    query("updated_after", "Extension: earliest updated_datetime (inclusive); without start_date/end_date "
                           "the 90-day window does not apply.", **W3C),
    query("updated_before", "Extension: latest updated_datetime (inclusive).", **W3C),
    query("page", "Extension: 1-based page number (0 is read as 1); out of range gives an empty list.",
          "integer", minimum=0, maximum=10_000_000),
    query("page_size", "Extension: rows per page (default and maximum configurable, 1000 by default).",
          "integer", minimum=1, maximum=1000),
    query("per_page", "Extension: another name of page_size (used when page_size is not given).",
          "integer", minimum=1, maximum=1000),
    query("after", "Extension: continue after this cursor (from the Link rel=next header); stable while "
                   "requests are added or updated."),
    query("count", "Extension: true adds X-Total-Count and X-Page-Count (or X-Total-Count-At-Least above "
                   "OPEN311_COUNT_CAP) to a paged answer; counting reads every match up to the cap, so it is "
                   "done only when asked (unless the operator sets OPEN311_COUNT_BY_DEFAULT=1).", "boolean"),
    query("lat", "Extension: centre of a circle (WGS84); with long and radius.", "number",
          minimum=-90, maximum=90),
    query("long", "Extension: centre of a circle (WGS84).", "number", minimum=-180, maximum=180),
    query("radius", "Extension: circle radius in metres (default 1000, at most 50000).", "number",
          minimum=1, maximum=50000),
    query("bbox", "Extension: west,south,east,north in degrees."),
    query("extensions", "Extension: true adds extended_attributes (department, channel, media_urls, "
                        "duplicate, parent, attribute answers, reporter_count, closure_code, sla_state, routing: the "
                        "place, rule and layer versions that decided where it was taken, docs/gis.md) and notes "
                        "(status history).", "boolean"),
    query("callback", "JSON only: wrap the answer as JSONP in this JavaScript function name."),
]

UPDATE_FEED_PARAMETERS: list[dict[str, Any]] = [
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
    "X-Total-Count": {"description": "Matching rows, with count=true, when at most "
                                     "OPEN311_COUNT_CAP (10000)",
                      "schema": {"type": "integer"}},
    "X-Total-Count-At-Least": {"description": "Given instead of X-Total-Count above the cap",
                               "schema": {"type": "integer"}},
    "ETag": {"description": "Validator; If-None-Match gets 304", "schema": {"type": "string"}},
}


_FEED_OK = _answer("Requests, newest first, at most 1000 (or a page); paging in the headers.",
                   {"type": "array", "items": REQUEST})
_FEED_OK["headers"] = PAGING_HEADERS
_FEED_OK["content"].update({  # the exports: requests.csv, requests.geojson
    "text/csv": {"schema": {"type": "string"}}, "application/geo+json": {"schema": {"type": "object"}}})
FEED_FMT = {**FMT, "description": "xml or json; csv and geojson for the exports (GET only).",
            "schema": {"type": "string", "enum": ["xml", "json", "csv", "geojson"]}}

FIND = {
    "parameters": [
        JURISDICTION,
        {"in": "query", "name": "service_request_id", "required": False, "style": "form", "explode": False,
         "description": "Comma list (or repeated); overrides every other filter.",
         "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 1000}},
        {"in": "query", "name": "service_code", "required": False, "style": "form", "explode": False,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"in": "query", "name": "status", "required": False, "style": "form", "explode": False,
         "schema": {"type": "array", "items": {"type": "string", "enum": ["open", "closed"]}}},
        {"in": "query", "name": "sla_state", "required": False, "style": "form", "explode": False,
         "description": "Extension: the SLA clock's state (docs/lifecycle.md); comma list or repeated.",
         "schema": {"type": "array", "items": {"type": "string", "enum": list(SLA_STATES)}}},
        {"in": "query", "name": "start_date", "required": False, "schema": {"type": "string", "format": "date-time"}},
        {"in": "query", "name": "end_date", "required": False, "schema": {"type": "string", "format": "date-time"}},
        *FEED_EXTENSIONS,
    ],
    "responses": {**responses("Requests.", {"type": "array", "items": REQUEST}), "200": _FEED_OK},
}

LOCALE = query("locale", "Language of the catalog texts (e.g. es); default: Accept-Language, else en.",
               maxLength=20)
SIMPLE: dict[str, dict[str, Any]] = {
    "discovery": {"parameters": [], "responses": responses("The discovery document.", DISCOVERY)},
    "services": {"parameters": [
        JURISDICTION, LOCALE,
        query("lat", "Extension: with long, only the services offered at this point (WGS84).", "number",
              minimum=-90, maximum=90),
        query("long", "Extension: with lat, only the services offered at this point.", "number",
              minimum=-180, maximum=180)],
                 "responses": responses("Every service.", {"type": "array", "items": SERVICE})},
    "definition": {"parameters": [JURISDICTION, LOCALE],
                   "responses": responses("The service definition.", DEFINITION)},
    "request": {"parameters": [
        JURISDICTION,
        query("extensions", "Extension: true adds extended_attributes and notes (status history).", "boolean")],
                "responses": responses("The request, in a list of one.", {"type": "array", "items": REQUEST})},
    "token": {"parameters": [JURISDICTION], "responses": responses("The id behind the token.", SUBMITTED)},
}


def documented(spec: Mapping[str, Any]) -> Callable[[View], View]:
    """Attach an operation's OpenAPI description to a view method (flask-smorest's doc, typed)."""
    decorator: Callable[[View], View] = blp.doc(**spec)
    return decorator


def path_parameter(name: str, description: str, max_length: int = 64) -> dict[str, Any]:
    """A string path parameter."""
    return {"in": "path", "name": name, "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": max_length}}


GEOJSON_FMT = {**FMT, "description": "geojson", "schema": {"type": "string", "enum": ["geojson"]}}
LOCATE_FMT = {**FMT, "description": "xml, json or geojson",
              "schema": {"type": "string", "enum": ["xml", "json", "geojson"]}}
_GEOJSON = {"description": "A GeoJSON FeatureCollection.",
            "content": {"application/geo+json": {"schema": {"type": "object"}}}}

AREA = {"parameters": [JURISDICTION],
        "responses": {"200": _GEOJSON, "404": _answer(_ERROR_TEXT[404], ERRORS)}}

FACILITIES = {
    "parameters": [
        JURISDICTION,
        query("lat", "Centre (WGS84); with long: nearest first, with distance_m.", "number", minimum=-90, maximum=90),
        query("long", "Centre (WGS84).", "number", minimum=-180, maximum=180),
        query("radius", "Metres around lat/long (default 5000).", "number", minimum=0, exclusiveMinimum=True,
              maximum=100000),
        query("category", "Comma list of facility categories (e.g. park)."),
        query("limit", "At most this many (default 100).", "integer", minimum=1, maximum=1000),
    ],
    "responses": {**responses("Facilities, nearest first.", {"type": "array", "items": {"type": "object"}}),
                  "200": {**_answer("Facilities, nearest first.", {"type": "array", "items": {"type": "object"}}),
                          "content": {"application/json": {"schema": {"type": "array"}}, "text/xml": _XML,
                                      "application/geo+json": {"schema": {"type": "object"}}}}},
}

PUSH_UPDATE = {
    "parameters": [JURISDICTION],
    "requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": UPDATE_FIELDS},
        "application/json": {"schema": UPDATE_FIELDS},
        "application/xml": {"schema": {**UPDATE_FIELDS, "xml": {"name": "request_update"}}}}},
    "responses": responses("The update_id recorded (a repeat with the same content answers the same).",
                           {"type": "array", "items": {"type": "object"}}, 403, 409),
}
UPDATE_FEED = {"parameters": UPDATE_FEED_PARAMETERS,
               "responses": responses("Updates in commit order; X-Next-Cursor continues.",
                                      {"type": "array", "items": {"type": "object"}})}


SUBSCRIPTION = {"type": "object", "properties": {
    "subscription_id": {"type": "string"}, "callback_url": {"type": "string"}, "service_code": _NULLABLE_TEXT,
    "status": {"type": "string", "enum": ["active", "disabled"]}, "created_datetime": {"type": "string"},
    "disabled_datetime": _NULLABLE_TEXT, "disabled_reason": _NULLABLE_TEXT,
    "callbacks_delivered": {"type": "integer"}, "secret": {"type": "string"}}}
_KEY_PARAMETERS = [JURISDICTION, query("api_key", "The app key (or Authorization: Bearer).")]
SUBSCRIPTIONS = {"parameters": _KEY_PARAMETERS,
                 "responses": responses("The key's subscriptions.", {"type": "array", "items": SUBSCRIPTION}, 403)}
SUBSCRIBE = {
    "parameters": _KEY_PARAMETERS,
    "requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": SUBSCRIBE_FIELDS},
        "application/json": {"schema": SUBSCRIBE_FIELDS},
        "application/xml": {"schema": {**SUBSCRIBE_FIELDS, "xml": {"name": "subscription"}}}}},
    "responses": responses("The new subscription, with its signing secret (shown once).",
                           {"type": "array", "items": SUBSCRIPTION}, 403),
}
UNSUBSCRIBE = {"parameters": _KEY_PARAMETERS,
               "responses": responses("Deleted (an empty list).", {"type": "array"}, 403)}

DUPLICATES = {
    "parameters": [
        JURISDICTION,
        {"in": "query", "name": "service_code", "required": True, "schema": {"type": "string", "maxLength": 64},
         "description": "The service the resident is about to report."},
        {"in": "query", "name": "lat", "required": True, "schema": {"type": "number", "minimum": -90, "maximum": 90},
         "description": "Where (WGS84)."},
        {"in": "query", "name": "long", "required": True,
         "schema": {"type": "number", "minimum": -180, "maximum": 180}},
        query("extensions", "true adds extended_attributes (with reporter_count: 1 + followers) and notes.",
              "boolean"),
    ],
    "responses": responses("Requests of that service within its duplicate radius, open and made within its window "
                           "or closed within it, nearest first, at most 20 (docs/lifecycle.md).",
                           {"type": "array", "items": REQUEST}),
}
STATS_ITEM = {"type": "object", "properties": {
    "department": {"type": "string"}, "service_code": {"type": "string"}, "service_name": {"type": "string"},
    "days": {"type": "integer"}, "received": {"type": "integer"}, "closed": {"type": "integer"},
    "on_time_percent": {"type": ["number", "null"]}, "median_hours_to_close": {"type": ["number", "null"]}}}
STATS = {
    "parameters": [
        JURISDICTION,
        {"in": "query", "name": "department", "required": False, "schema": {"type": "string", "maxLength": 64},
         "description": "Only this department (a code of jurisdictions.yaml, e.g. DPW)."},
        {"in": "query", "name": "service_code", "required": False, "schema": {"type": "string", "maxLength": 64}},
        {"in": "query", "name": "days", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 366, "default": 30},
         "description": "Requests made in the last this many days."},
    ],
    "responses": responses("Per department and service: requests received, closed, the share closed within "
                           "the SLA (on_time_percent, null when none with a clock closed) and the median hours "
                           "to close (docs/api.md). No personal data.", {"type": "array", "items": STATS_ITEM}),
}
FOLLOWED = {"type": "array", "items": {"type": "object", "required": ["service_request_id", "follower_id"],
                                       "properties": {"service_request_id": {"type": "string"},
                                                      "follower_id": {"type": "string"}}}}
FOLLOW = {
    "parameters": [JURISDICTION, {"in": "query", "name": "api_key", "required": False, "schema": {"type": "string"}}],
    "requestBody": {"required": False, "content": {
        "application/x-www-form-urlencoded": {"schema": FOLLOW_FORM},
        "multipart/form-data": {"schema": FOLLOW_MULTIPART},
        "application/json": {"schema": FOLLOW_JSON},
        "application/xml": {"schema": FOLLOW_XML},
    }},
    "responses": responses("The request followed and the new follower's id (the same follower sent again within "
                           "OPEN311_DUPLICATE_WINDOW answers the same, with `Idempotent-Replayed: true`).",
                           FOLLOWED, 403, 404, 409, 413, 503),
}
REOPENED = {"type": "array", "items": {"type": "object", "required": ["service_request_id", "reopen_id", "status"],
                                       "properties": {"service_request_id": {"type": "string"},
                                                      "reopen_id": {"type": "string"},
                                                      "status": {"type": "string", "enum": ["open"]}}}}
REOPEN = {
    "parameters": [JURISDICTION, {"in": "query", "name": "api_key", "required": False, "schema": {"type": "string"}}],
    "requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": REOPEN_FORM},
        "multipart/form-data": {"schema": REOPEN_MULTIPART},
        "application/json": {"schema": REOPEN_JSON},
        "application/xml": {"schema": REOPEN_XML},
    }},
    "responses": responses("The request is open again; the department is told once (docs/lifecycle.md). 403: the "
                           "key neither submitted nor follows the request; 409: the request is open, or was closed "
                           "longer ago than its service's reopen_days.", REOPENED, 403, 409, 413, 503),
}
