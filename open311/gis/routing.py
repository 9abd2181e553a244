"""Why a request was (or would be) taken at a point: the place or district it fell in, the rule that decided, and
the version of each layer that was used. Stored with every request at intake and never recomputed, so a request
keeps the version it was decided by (docs/gis.md, "Explained routing")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from open311.gis.layers import Place
from open311.gis.rules import Location

PLACE_TYPES = ("city", "unincorporated")


@dataclass(frozen=True)
class Routing:
    """The decision for one service at one point."""

    served: bool
    place: str | None               # the place polygon the point fell in (None: none, or outside)
    place_type: str | None          # city | unincorporated (None: outside the jurisdiction)
    city: str | None                # the city of the place (a City of LA neighbourhood: Los Angeles)
    district: str | None            # district rules: the district; near_facility: the facility whose area it is in
    rule: str | None                # the rule's name (None: the service names no rule)
    reason: str                     # one sentence
    layer_version: str | None       # the version of the layer that decided
    layers: Mapping[str, str] = field(default_factory=dict)   # every layer used -> its version

    def public(self) -> dict[str, Any]:
        """What is stored and shown as extended_attributes.routing (no personal data exists here)."""
        return {"place": self.place, "place_type": self.place_type, "city": self.city, "district": self.district,
                "rule": self.rule, "reason": self.reason, "layer_version": self.layer_version,
                "layers": dict(self.layers)}


def main_place(location: Location) -> Place | None:
    """The place a message names: the city's polygon when the point is in a city, else the first place."""
    city = location.city
    if city is not None:
        return next(p for p in location.places if p.city == city)
    return location.places[0] if location.places else None


def place_fields(location: Location) -> dict[str, str | None]:
    """place, place_type and city of a located point."""
    if not location.in_county:
        return {"place": None, "place_type": None, "city": None}
    place = main_place(location)
    return {"place": place.name if place else None, "place_type": "city" if location.city else "unincorporated",
            "city": location.city}


def where_text(location: Location) -> str:
    """'Acton (unincorporated)', 'the City of Los Angeles (Hollywood)' or 'unincorporated County land'."""
    place = main_place(location)
    if place is None:
        return "unincorporated County land (no place polygon)"
    if place.city is None:
        return f"{place.name} (unincorporated)"
    return f"the City of {place.city}" + (f" ({place.name})" if place.name != place.city else "")
