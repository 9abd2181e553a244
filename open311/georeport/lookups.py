"""Lookups for intake forms: an address placed by the configured geocoder, and whether a service is
taken at a point (with the referral when it is not), answered before anything is submitted."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView

from open311.catalog.definitions import Service
from open311.core.i18n import gettext as _
from open311.errors import BadRequest, NotFound, ServiceUnavailable
from open311.georeport import openapi
from open311.georeport.app import current_services
from open311.georeport.blueprint import blp
from open311.georeport.documents import routing_entry
from open311.georeport.feed_params import int_param
from open311.georeport.locate import parse_point
from open311.georeport.parsing import param
from open311.georeport.render import Many
from open311.georeport.respond import respond
from open311.gis.areas import ServiceAreas
from open311.gis.geocoders import GeocoderUnavailable, Suggester
from open311.gis.rules import Location, referral_for
from open311.intake.submit import FIELD_LIMITS

FORMATS = ("xml", "json")
_TEXT = {"type": "string", "nullable": True}
_PLACE = {"in_county": {"type": "boolean"}, "place": _TEXT, "city": _TEXT,
          "unincorporated": {"type": "boolean", "nullable": True}}
GEOCODE = {"parameters": [openapi.JURISDICTION,
                          {**openapi.query("address", "The address to place, e.g. 4801 E 3rd St, East Los Angeles.",
                                           maxLength=FIELD_LIMITS["address_string"]), "required": True}],
           "responses": openapi.responses("The address found (an empty list when it is unknown).", {
               "type": "array", "items": {"type": "object", "properties": {
                   "address": {"type": "string"}, "lat": {"type": "number"}, "long": {"type": "number"}, **_PLACE}}})}
LOCATIONS = {"parameters": [openapi.JURISDICTION,
                            {**openapi.query("q", "What the resident typed: an address (4801 E 3rd St), an "
                                             "intersection (Whittier Blvd & Atlantic Blvd, either order), or a "
                                             "County facility's name (Belvedere Park).", maxLength=200),
                             "required": True},
                            openapi.query("limit", "At most this many suggestions (1-20, default 8).", "integer",
                                          minimum=1, maximum=20)],
             "responses": openapi.responses("Places it may mean, best first: facilities by name, then addresses and "
                                            "intersections the geocoder knows (an empty list when none).", {
                 "type": "array", "items": {"type": "object", "properties": {
                     "label": {"type": "string"},
                     "kind": {"type": "string", "enum": ["address", "intersection", "facility"]},
                     "lat": {"type": "number"}, "long": {"type": "number"}, **_PLACE}}})}
MIN_QUERY, MAX_QUERY, DEFAULT_SUGGESTIONS = 2, 200, 8
AREA_CHECK = {"parameters": [openapi.JURISDICTION,
                             {**openapi.query("lat", "WGS84 latitude.", "number", minimum=-90, maximum=90),
                              "required": True},
                             {**openapi.query("long", "WGS84 longitude.", "number", minimum=-180, maximum=180),
                              "required": True}],
              "responses": openapi.responses("Whether the service is taken at the point; if not, why and who to "
                                             "contact.", {"type": "object", "properties": {
                  "service_code": {"type": "string"}, "lat": {"type": "number"}, "long": {"type": "number"},
                  "served": {"type": "boolean"}, **_PLACE, "service_area": _TEXT, "description": _TEXT,
                  "referral": {"type": "object", "nullable": True},
                  "routing": {"type": "object", "description": "place, place_type, city, district, rule, reason, "
                              "layer_version and layers, as a request made now would record them (docs/gis.md)."}}})}


def _format(fmt: str) -> str:
    """Only .xml and .json exist."""
    if fmt not in FORMATS:
        raise NotFound(f"Unknown format {fmt[:20]!r}: use .xml or .json.")
    return fmt


def _areas() -> tuple[Any, ServiceAreas]:
    """The requested jurisdiction and its GIS layers (404 when it has none)."""
    gateway = current_services()
    jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
    areas = gateway.areas(jurisdiction)
    if areas is None:
        raise NotFound(f"No service areas are configured for jurisdiction {jurisdiction.id!r}.")
    return jurisdiction, areas


def place_entry(location: Location) -> dict[str, Any]:
    """Where a point is: inside the jurisdiction or not, the place and its city (None: unincorporated)."""
    place = location.places[0] if location.places else None
    return {"in_county": location.in_county, "place": place.name if place else None, "city": location.city,
            "unincorporated": bool(place and place.unincorporated) if location.in_county else None}


@blp.route("/geocode.<fmt>", parameters=[openapi.FMT])
class Geocode(MethodView):
    """Locate: an address as the configured geocoder places it."""

    @openapi.documented(GEOCODE)
    def get(self, fmt: str) -> Response:
        """The point of an address (`address`, required), with the place it is in; an empty list when the
        geocoder does not know the address."""
        _format(fmt)
        _, areas = _areas()
        address = param(request.args, "address")
        limit = FIELD_LIMITS["address_string"]
        if address is None:
            raise BadRequest("address is required, e.g. address=4801 E 3rd St, East Los Angeles.")
        if len(address) > limit:
            raise BadRequest(f"address must be at most {limit} characters.")
        if areas.geocoder is None:
            raise NotFound("No geocoder is configured for this jurisdiction.")
        try:
            found = areas.geocoder.geocode(address)
        except GeocoderUnavailable:
            raise ServiceUnavailable("The address lookup is unavailable right now; try again later.") from None
        entries = []
        if found is not None:
            entries.append({"address": found.matched or address, "lat": found.lat, "long": found.long,
                            **place_entry(areas.locate(found.lat, found.long))})
        return respond(fmt, "addresses", Many("address", entries))


@blp.route("/locations.<fmt>", parameters=[openapi.FMT])
class Locations(MethodView):
    """A place without the map: suggestions for an address, an intersection or a facility's name."""

    @openapi.documented(LOCATIONS)
    def get(self, fmt: str) -> Response:
        """Suggestions for `q` (the web app's place search: a report can be placed without touching the map)."""
        _format(fmt)
        areas = _areas()[1]
        problems: list[str] = []
        text = (param(request.args, "q") or "").strip()
        if not text:
            problems.append(_("q is required, e.g. q=Whittier Blvd & Atlantic Blvd."))
        elif len(text) > MAX_QUERY:
            problems.append(_("q must be at most %(limit)d characters.", limit=MAX_QUERY))
        limit = int_param(request.args, "limit", 1, 20, problems) or DEFAULT_SUGGESTIONS
        if problems:
            raise BadRequest(*problems)
        entries = suggestions(areas, text, limit) if len(text) >= MIN_QUERY else []
        return respond(fmt, "locations", Many("location", entries))


def suggestions(areas: ServiceAreas, text: str, limit: int) -> list[dict[str, Any]]:
    """Facilities by name, then the geocoder's addresses and intersections (a geocoder that cannot list
    candidates is asked for the one address typed when it has a house number)."""
    found: list[tuple[str, str, float, float]] = []
    if areas.facilities is not None:
        found += [(f.name, "facility", f.lat, f.long) for f in areas.facilities.named(text, limit)]
    geocoder = areas.geocoder
    if geocoder is not None and len(found) < limit:
        if isinstance(geocoder, Suggester):
            matched = geocoder.suggest(text, limit - len(found))
        elif any(c.isdigit() for c in text):
            try:
                one = geocoder.geocode(text)
            except GeocoderUnavailable:
                one = None
            matched = [one] if one is not None else []
        else:
            matched = []
        found += [(m.matched, "intersection" if "&" in m.matched else "address", m.lat, m.long) for m in matched]
    return [{"label": label, "kind": kind, "lat": lat, "long": long, **place_entry(areas.locate(lat, long))}
            for label, kind, lat, long in found[:limit]]


def referral_entry(areas: ServiceAreas, service: Service, location: Location) -> dict[str, Any] | None:
    """Who serves the point instead (the same referral a refused POST names), as fields."""
    rule = areas.rule_of(service)
    if rule is None or not location.in_county:
        return None
    referral = referral_for(rule, areas.jurisdiction.referrals, location)
    if referral is None:
        if location.city is None:
            return None
        return {"agency": _("City of %(city)s", city=location.city), "phone": None, "url": None, "note": None}
    return {"agency": areas.local(referral.agency), "phone": referral.phone, "url": referral.url,
            "note": areas.local(referral.note) if referral.note else None}


@blp.route("/areas/<service_code>/check.<fmt>", parameters=[
    openapi.path_parameter("service_code", "A service_code of GET services."), openapi.FMT])
class AreaCheck(MethodView):
    """Locate: whether a service is taken at a point, and if not, who to contact."""

    @openapi.documented(AREA_CHECK)
    def get(self, service_code: str, fmt: str) -> Response:
        """`served` for the point `lat`/`long`; when false, `description` says why (the text a POST there
        would get) and `referral` names the agency that serves the place. `routing` explains the decision as a
        request made now would record it: place, rule, reason and the live layer versions."""
        _format(fmt)
        jurisdiction, areas = _areas()
        service = jurisdiction.catalog.get(service_code)
        if service is None:
            raise NotFound(f"service_code {service_code[:64]!r} not found.")
        problems: list[str] = []
        point = parse_point(areas, problems)
        if point is None and not problems:
            problems.append("lat and long are required.")
        if problems or point is None:
            raise BadRequest(*problems)
        location = areas.locate(*point)
        try:
            areas.check(service, location)
        except BadRequest as refused:
            description: str | None = " ".join(refused.descriptions)
        else:
            description = None
        rule = areas.rule_of(service)
        served = description is None
        document = {"service_code": service.service_code, "lat": point[0], "long": point[1], "served": served,
                    **place_entry(location), "service_area": areas.local(rule.description) if rule else None,
                    "description": description,
                    "referral": None if served else referral_entry(areas, service, location),
                    "routing": routing_entry(areas.decide(service, location).public())}
        return respond(fmt, "service_area_check", document)
