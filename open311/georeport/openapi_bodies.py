"""OpenAPI descriptions of the bodies POSTed to the GeoReport routes: requests, status updates, subscriptions.

Each is one schema for the three body formats (form, JSON, XML; multipart adds the photos); georeport.openapi
puts them into the operations.
"""

from __future__ import annotations

from typing import Any

from open311.core.closure import CLOSURE_CODES
from open311.intake.submit import FIELD_LIMITS, MAX_DESCRIPTION


def _fields() -> dict[str, Any]:
    """The POST fields of the spec, with their limits."""
    text = {name: {"type": "string", "maxLength": limit} for name, limit in FIELD_LIMITS.items()}
    return {
        "jurisdiction_id": {"type": "string", "maxLength": 100},
        "api_key": {"type": "string", "description": "Or an `Authorization: Bearer` header."},
        "service_code": {"type": "string", "maxLength": FIELD_LIMITS["service_code"], "example": "DPW-GRAFFITI"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90, "example": 34.0239},
        "long": {"type": "number", "minimum": -180, "maximum": 180, "example": -118.172},
        "address_string": text["address_string"], "address_id": text["address_id"], "zipcode": text["zipcode"],
        "email": text["email"], "device_id": text["device_id"], "account_id": text["account_id"],
        "first_name": text["first_name"], "last_name": text["last_name"], "phone": text["phone"],
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
        "media_url": {"type": "string", "format": "uri", "maxLength": FIELD_LIMITS["media_url"],
                      "description": "A link to a photo (stored, never fetched), or a photo inline as a base64 "
                                     "data: URL (`data:image/jpeg;base64,...`), processed like an uploaded file."},
        **NOTICE_FIELDS,
    }


# Extension fields (docs/notifications.md): milestone notices to the resident, opt-in.
NOTICE_FIELDS: dict[str, Any] = {
    "notify": {"type": "string", "maxLength": 40, "example": "email",
               "description": "Extension: `email` and/or `push` (comma-separated): send this resident notices at "
                              "the milestones (received, assigned, closed with its reason, reopened). `email` "
                              "uses the email field; a channel the gateway is not configured for is a 400."},
    "push_subscription": {"type": "string", "maxLength": 4096,
                          "description": "Extension, with notify=push: the browser's PushSubscription as JSON "
                                         '(`{"endpoint": "https://...", "keys": {"p256dh": "...", "auth": "..."}}`).'},
    "locale": {"type": "string", "maxLength": 20, "example": "es",
               "description": "Extension: the language the report is made in (its notices and status page use "
                              "it); without it, Accept-Language."},
}


FORM_FIELDS: dict[str, Any] = {
    **_fields(), "attribute[surface_type]": {"type": "string", "example": "wall"},
    "attribute[property_type]": {"type": "string", "example": "public"}}
SUBMIT_FORM = {"type": "object", "required": ["service_code"], "properties": FORM_FIELDS,
               "additionalProperties": {"type": "string"},
               "description": "Form fields of the spec; answers as `attribute[code]` (repeat, or `[]`, for several)."}
PHOTO = {"type": "string", "format": "binary",
         "description": "A JPEG, PNG or WebP photo; checked by content, stripped of EXIF/GPS and all other "
                        "metadata, re-encoded, and published at an unguessable URL (media_url)."}
SUBMIT_MULTIPART = {**SUBMIT_FORM, "properties": {
    **FORM_FIELDS,
    "media": {"type": "array", "items": PHOTO, "maxItems": 5,
              "description": "Photos (also accepted as `media[]` or `photo1`, `photo2`, ...); at most "
                             "OPEN311_MEDIA_MAX_FILES (5) per request, OPEN311_MEDIA_MAX_BYTES (10 MiB) each."},
    "photo1": PHOTO, "photo2": PHOTO}}
SUBMIT_JSON = {"type": "object", "required": ["service_code"], "properties": {
    **_fields(), "attributes": {"type": "object", "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "array", "items": {"type": "string"}}]},
        "example": {"surface_type": "wall", "property_type": "public"}}}}
SUBMIT_XML = {"type": "object", "xml": {"name": "request"}, "required": ["service_code"],
              "properties": _fields()}

UPDATE_FIELDS = {"type": "object", "required": ["service_request_id", "update_id", "status", "updated_datetime"],
                 "properties": {
                     "api_key": {"type": "string", "description": "A department key (or Authorization: Bearer)."},
                     "jurisdiction_id": {"type": "string", "maxLength": 100},
                     "service_request_id": {"type": "string", "maxLength": 64},
                     "update_id": {"type": "string", "maxLength": 200},
                     "status": {"type": "string", "maxLength": 100, "example": "COMPLETED"},
                     "external_status_code": {"type": "string", "maxLength": 100},
                     "updated_datetime": {"type": "string", "format": "date-time"},
                     "description": {"type": "string", "maxLength": 4000},
                     "media_url": {"type": "string", "format": "uri", "maxLength": 2000,
                                   "description": "A photo of the result (the closure photo of a closed update)."},
                     "closure_code": {"type": "string", "enum": list(CLOSURE_CODES),
                                      "description": "Why a closed request was closed (extension); without it the "
                                                     "status_map entry's code, else `unspecified`."},
                     "duplicate_of": {"type": "string", "maxLength": 18,
                                      "description": "With closure_code duplicate: the surviving request's "
                                                     "service_request_id; it takes over the followers."}}}
SUBSCRIBE_FIELDS = {"type": "object", "required": ["callback_url"], "properties": {
    "api_key": {"type": "string", "description": "An app key (or Authorization: Bearer)."},
    "jurisdiction_id": {"type": "string", "maxLength": 100},
    "callback_url": {"type": "string", "format": "uri", "maxLength": 2000,
                     "description": "https:// URL that receives one signed POST per status change."},
    "service_code": {"type": "string", "maxLength": 64,
                     "description": "Every request of this service; without it, the key's own requests."}}}

_FOLLOWER_NAMES = ("jurisdiction_id", "api_key", "first_name", "last_name", "email", "phone", "device_id",
                   "account_id", "description", "media_url", "notify", "push_subscription", "locale")
FOLLOWER_FIELDS: dict[str, Any] = {name: schema for name, schema in _fields().items() if name in _FOLLOWER_NAMES}
_FOLLOW_PROPERTIES: dict[str, Any] = {**FOLLOWER_FIELDS, "attribute[items]": {"type": "string",
                                                                              "example": "hazardous"}}
FOLLOW_FORM = {"type": "object", "properties": _FOLLOW_PROPERTIES,
               "additionalProperties": {"type": "string"},
               "description": "Every field optional and write-only (never in any output): the follower's contact, "
                              "description, answers to the request's service questions as `attribute[code]` "
                              "(none required) and photos (media_url data: URLs, or multipart files)."}
FOLLOW_MULTIPART = {**FOLLOW_FORM, "properties": {**_FOLLOW_PROPERTIES,
                                                  "media": {"type": "array", "items": PHOTO, "maxItems": 5}}}
FOLLOW_JSON = {"type": "object", "properties": {
    **FOLLOWER_FIELDS, "attributes": {"type": "object", "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "array", "items": {"type": "string"}}]},
        "example": {"items": ["hazardous"]}}}}
FOLLOW_XML = {"type": "object", "xml": {"name": "request"}, "properties": FOLLOWER_FIELDS}

_REOPEN_NAMES = ("jurisdiction_id", "api_key", "description", "media_url")
_REOPEN_FIELDS: dict[str, Any] = {name: schema for name, schema in _fields().items() if name in _REOPEN_NAMES}
REOPEN_FORM = {"type": "object", "required": ["description"], "properties": _REOPEN_FIELDS,
               "description": "What is not fixed (required) and an optional photo (media_url data: URL, or a "
                              "multipart file): write-only, delivered to the department only; the public history "
                              "shows a fixed note. The API key must be the one that submitted the request or "
                              "one of its followers' keys."}
REOPEN_MULTIPART = {**REOPEN_FORM, "properties": {**_REOPEN_FIELDS,
                                                  "media": {"type": "array", "items": PHOTO, "maxItems": 5}}}
REOPEN_JSON = {"type": "object", "required": ["description"], "properties": _REOPEN_FIELDS}
REOPEN_XML = {"type": "object", "xml": {"name": "request"}, "properties": _REOPEN_FIELDS}
