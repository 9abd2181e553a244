"""Where a submitted request is (given, geocoded or unverified), checked against its service's area."""

from __future__ import annotations

from dataclasses import dataclass

from open311.catalog.definitions import Service
from open311.core.i18n import gettext as _
from open311.errors import BadRequest, ServiceUnavailable
from open311.gis.areas import ServiceAreas
from open311.gis.geocoders import GeocoderUnavailable
from open311.gis.routing import Routing

# location_status values stored with each request
GIVEN, GEOCODED, UNVERIFIED = "given", "geocoded", "unverified"
UNVERIFIED_NOTICE = ("The address could not be placed on the map, so it was not checked against the service "
                     "area; staff will verify the location.")


@dataclass(frozen=True)
class Placement:
    """The request's coordinates (given or geocoded), how they were found, and a notice for the requester."""

    lat: float | None
    long: float | None
    status: str | None
    notice: str | None = None
    routing: Routing | None = None   # why it was taken there (None: no GIS layers, or an unverified address)


def place_request(areas: ServiceAreas | None, service: Service, lat: float | None, long: float | None,
                  address: str | None) -> Placement:
    """Locate the request and check the service is taken there; raise 400 (with a referral) when it is not."""
    if lat is not None and long is not None:
        routing = areas.check(service, areas.locate(lat, long)) if areas is not None else None
        return Placement(lat, long, GIVEN, routing=routing)
    if areas is None:
        return Placement(None, None, None)
    found = None
    unavailable = False
    if address and areas.geocoder is not None:
        try:
            found = areas.geocoder.geocode(address)
        except GeocoderUnavailable:
            unavailable = True
    if found is not None:
        routing = areas.check(service, areas.locate(found.lat, found.long),
                              what=_("The address %(address)r", address=(address or "")[:100]))
        return Placement(found.lat, found.long, GEOCODED, routing=routing)
    if areas.gis.unplaced_addresses == "accept":
        return Placement(None, None, UNVERIFIED, UNVERIFIED_NOTICE)
    if unavailable:
        raise ServiceUnavailable(_("The address lookup is unavailable right now; send lat and long, or try again "
                                   "later."))
    if address:
        raise BadRequest(_("The address %(address)r could not be placed on the map; send lat and long, or a full "
                           "street address with the city.", address=address[:100]))
    raise BadRequest(_("An address_id alone cannot be placed on the map here; send lat and long or "
                       "address_string."))
