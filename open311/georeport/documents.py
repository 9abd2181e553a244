"""The GeoReport v2 documents, field by field in the spec's element order."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, cast

from open311.catalog.definitions import Attribute, Catalog, Service
from open311.core.closure import public_closure
from open311.core.dates import format_w3c, utcnow
from open311.feeds.entries import RequestRecord, note_entry, request_entry
from open311.feeds.request_query import FeedRow
from open311.feeds.request_statements import SPEC_FIELDS
from open311.feeds.sla import sla_state
from open311.feeds.stats import Figures
from open311.georeport.render import Many, container_bytes, item_bytes, render
from open311.intake.submit import Submitted
from open311.media.uploads import public_urls
from open311.storage.models import RequestMedia, ServiceRequest, StatusUpdate

# Rendered <request> entries of the feed by (format, zone, id), each with the spec's fields it was rendered from:
# an entry is used only when the row's fields are equal to those (a changed row is rendered again and replaces it),
# so a page is a join of cached bytes. The key is small on purpose: hashing every field of a freshly read row
# (new strings, new datetimes) costs more than comparing them on a hit (a 35-row page of hits: 83 -> 60 us).
# Bounded: emptied when full.
FRAGMENT_LIMIT = 50_000
_fragments: dict[tuple[str, tzinfo, int], tuple[tuple[Any, ...], bytes]] = {}
_fragments_lock = threading.Lock()

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ("text/xml", "application/json")


def service_entry(service: Service) -> dict[str, Any]:
    """One <service> of GET services."""
    return {
        "service_code": service.service_code,
        "service_name": service.service_name,
        "description": service.description,
        "metadata": service.metadata,
        "type": service.type,
        "keywords": ", ".join(service.keywords) or None,
        "group": service.group,
    }


def services_document(services: Iterable[Service]) -> Many:
    """GET services: every service of the jurisdiction."""
    return Many("service", [service_entry(s) for s in services])


def translation_entry(catalog: Catalog, locale: str | None, service_code: str) -> dict[str, Any]:
    """extensions=true: the language of a service's texts and each text's status (reviewed, machine, missing;
    `source` for the catalog's own English), for translators and for apps that flag machine drafts."""
    if not locale or locale not in catalog.statuses:
        return {"locale": "en", "status": "source", "texts": {}}
    texts = catalog.status_of(locale, f"services.{service_code}.")
    worst = next((s for s in ("missing", "machine", "reviewed") if s in texts.values()), "reviewed")
    return {"locale": locale, "status": worst, "texts": texts}


def extended_services_document(catalog: Catalog, locale: str | None, departments: Mapping[str, str]) -> Many:
    """GET services?extensions=true: each service with its department and its translation's status."""
    entries = []
    for service in catalog.services_in(locale).values():
        department = departments.get(service.department, service.department)
        entries.append({**service_entry(service), "extensions": {
            "department": service.department, "agency_responsible": catalog.text(department, locale),
            "translation": translation_entry(catalog, locale, service.service_code)}})
    return Many("service", entries)


def attribute_entry(attr: Attribute) -> dict[str, Any]:
    """One <attribute> of a service definition."""
    return {
        "variable": attr.variable,
        "code": attr.code,
        "datatype": attr.datatype,
        "required": attr.required,
        "datatype_description": attr.datatype_description,
        "order": attr.order,
        "description": attr.description,
        "values": Many("value", [{"key": v.key, "name": v.name} for v in attr.values]),
    }


def definition_document(service: Service) -> dict[str, Any]:
    """GET services/{code}: the service definition (an object in JSON)."""
    return {"service_code": service.service_code,
            "attributes": Many("attribute", [attribute_entry(a) for a in service.attributes])}


def _answer(code: str, value: Any) -> dict[str, Any]:
    """One submitted attribute answer (a multivaluelist repeats <value>)."""
    return {"code": code, "value": value if isinstance(value, list) else str(value)}


def extended_entry(row: RequestRecord, tz: tzinfo, updates: Sequence[StatusUpdate],
                   media: Sequence[RequestMedia] = (), reporters: int = 1,
                   now: datetime | None = None) -> dict[str, Any]:
    """A request with extended_attributes and notes (extensions=true); still no personal data.

    `media_urls` lists every photo and link in order (media_url is the first); none while the request is hidden.
    `reporters` is reporter_count: 1 + the request's followers (only the number; nothing of a follower shows).
    """
    entry = request_entry(row, tz)
    entry["extended_attributes"] = {
        "department": row.department,
        "channel": row.channel,
        # public_urls reads hidden_at and media_url, which feed rows carry too. The answers of a hidden
        # request are only those moderation left public (no free text: intake/moderation.py).
        "media_urls": Many("media_url", public_urls(cast(ServiceRequest, row), media)),
        "duplicate": str(row.duplicate_of) if row.duplicate_of else None,
        "parent_service_request_id": str(row.parent_request_id) if row.parent_request_id else None,
        "attributes": Many("attribute", [_answer(k, v) for k, v in (row.attributes or {}).items()]),
        "reporter_count": reporters,
        "closure_code": public_closure(row.status, row.closure_code),
        "duplicate_of": str(row.duplicate_of) if row.duplicate_of and row.status == "closed" else None,
        # the SLA clock as of `now` (docs/lifecycle.md): on_track, at_risk, breached, met, missed; None without one
        "sla_state": sla_state(row, now or utcnow()),
        "routing": routing_entry(row.routing),
    }
    submitted = {"datetime": format_w3c(row.requested_datetime, tz), "type": "submitted", "status": "open",
                 "external_status": None, "description": None}
    entry["notes"] = Many("note", [submitted, *(note_entry(u, tz) for u in updates)])
    return entry


def routing_entry(routing: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """extended_attributes.routing: why the request was taken where it is, as decided at intake (docs/gis.md);
    `layers` is a list of {layer, version} (a layer's key, such as district:waterworks, is no XML name)."""
    if routing is None:
        return None
    layers = routing.get("layers") or {}
    return {**{k: v for k, v in routing.items() if k != "layers"},
            "layers": Many("layer", [{"layer": k, "version": v} for k, v in sorted(layers.items())])}


def requests_document(rows: Iterable[RequestRecord], tz: tzinfo,
                      history: Mapping[int, Sequence[StatusUpdate]] | None = None,
                      media: Mapping[int, Sequence[RequestMedia]] | None = None,
                      reporters: Mapping[int, int] | None = None, now: datetime | None = None) -> Many:
    """GET requests, GET requests/{id} and GET duplicates: a list of requests (extended when a history is given)."""
    if history is None:
        return Many("request", [request_entry(r, tz) for r in rows])
    media, reporters = media or {}, reporters or {}
    return Many("request", [extended_entry(r, tz, history.get(r.id, ()), media.get(r.id, ()), reporters.get(r.id, 1),
                                           now) for r in rows])


def render_requests(fmt: str, rows: Sequence[FeedRow], tz: tzinfo) -> bytes:
    """GET requests without extensions: the same bytes as rendering requests_document, from cached entries."""
    items = []
    shown = len(SPEC_FIELDS)
    for row in rows:
        key, fields = (fmt, tz, row.id), row[:shown]
        kept = _fragments.get(key)
        if kept is not None and kept[0] == fields:
            items.append(kept[1])
            continue
        item = item_bytes(fmt, "request", request_entry(row, tz))
        with _fragments_lock:
            if len(_fragments) >= FRAGMENT_LIMIT:
                _fragments.clear()
            _fragments[key] = (fields, item)
        items.append(item)
    return container_bytes(fmt, "service_requests", items)


def submitted_document(result: Submitted) -> Many:
    """POST requests: the new id or token, the notice, and an always-empty account_id (write-only)."""
    entry: dict[str, Any] = {}
    if result.service_request_id is not None:
        entry["service_request_id"] = result.service_request_id
    if result.token is not None:
        entry["token"] = result.token
    entry["service_notice"] = result.service_notice
    entry["account_id"] = None
    if result.status_url is not None:
        entry["status_url"] = result.status_url
    if result.routing is not None:
        entry["routing"] = routing_entry(result.routing)
    return Many("request", [entry])


def reopened_document(service_request_id: str, reopen_id: str, status: str) -> Many:
    """POST requests/{id}/reopen: the request reopened, the reopen's id and the request's status."""
    return Many("reopen", [{"service_request_id": service_request_id, "reopen_id": reopen_id, "status": status}])


def stats_document(found: Iterable[Figures], days: int) -> Many:
    """GET stats: one <service_stats> per department and service; counts only, nothing about a person."""
    return Many("service_stats", [{
        "department": f.department, "service_code": f.service_code, "service_name": f.service_name, "days": days,
        "received": f.received, "closed": f.closed, "on_time_percent": f.on_time_percent,
        "median_hours_to_close": f.median_hours_to_close} for f in found])


def followed_document(service_request_id: str, follower_id: str) -> Many:
    """POST requests/{id}/followers: the request followed and the new follower's id."""
    return Many("follower", [{"service_request_id": service_request_id, "follower_id": follower_id}])


def token_document(service_request_id: str | None, token: str) -> Many:
    """GET tokens/{token}: the id behind the token."""
    return Many("request", [{"service_request_id": service_request_id, "token": token}])


def discovery_document(changeset: datetime, contact: str, key_service: str, url: str,
                       test_url: str | None = None) -> dict[str, Any]:
    """GET discovery: where the endpoint is (and its sandbox, type `test`), what it speaks, and when the catalog
    last changed."""
    stamp = format_w3c(changeset)
    urls = [(url, "production"), *([(test_url, "test")] if test_url else [])]
    return {
        "changeset": stamp,
        "contact": contact,
        "key_service": key_service,
        "endpoints": Many("endpoint", [{
            "specification": SPECIFICATION,
            "url": where,
            "changeset": stamp,
            "type": kind,
            "formats": Many("format", list(FORMATS)),
        } for where, kind in urls]),
    }


def render_services(fmt: str, catalog: Catalog, locale: str | None = None,
                    departments: Mapping[str, str] | None = None) -> bytes:
    """GET services rendered once per jurisdiction, language, format and extensions (the catalog never changes
    while running); `departments` (code -> name) asks for the extensions."""
    if departments is not None:
        return render(fmt, "services", extended_services_document(catalog, locale, departments))
    return render(fmt, "services", services_document(catalog.services_in(locale).values()))
