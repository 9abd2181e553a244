"""Area rules evaluated at a located point, and the referral text for places a rule leaves out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from open311.catalog.definitions import Service
from open311.config.gis import AreaRule, Referral
from open311.gis.layers import Place

PLACE_RULES = ("unincorporated", "unincorporated_plus_contract", "countywide", "countywide_except")


@dataclass(frozen=True)
class Location:
    """Where a point is: inside the jurisdiction or not, and the places (usually one) that cover it."""

    lat: float
    long: float
    in_county: bool
    places: tuple[Place, ...]

    @property
    def city(self) -> str | None:
        """The city the point is in (the first by name on a shared boundary), or None if unincorporated."""
        return next((p.city for p in self.places if p.city), None)

    def describe(self) -> str:
        """'in the City of X (Neighbourhood)' or 'in Y (unincorporated)' for messages."""
        city = self.city
        if city is not None:
            place = next(p for p in self.places if p.city == city)
            return f"in the City of {city}" + (f" ({place.name})" if place.name != city else "")
        if self.places:
            return f"in {self.places[0].name} (unincorporated)"
        return "at this location"


def cities_of(rule: AreaRule, service: Service | None) -> Collection[str]:
    """The city list a rule applies for a service (a service's contract_cities override the rule's)."""
    if service is not None and service.contract_cities is not None and rule.kind == "unincorporated_plus_contract":
        return service.contract_cities
    return rule.cities


def place_rule_covers(rule: AreaRule, cities: Collection[str], location: Location) -> bool:
    """Evaluate a rule that depends only on the places at the point (a point on a shared boundary counts
    as inside every place it touches, so it is served when any of them is)."""
    if not location.in_county:
        return False
    if rule.kind == "countywide":
        return True
    if not location.places:  # inside the outline but in no drawn place: the County's own (unincorporated) land
        return True
    if rule.kind == "unincorporated":
        return any(p.unincorporated for p in location.places)
    if rule.kind == "unincorporated_plus_contract":
        return any(p.unincorporated or p.city in cities for p in location.places)
    if rule.kind == "countywide_except":
        return any(p.city not in cities for p in location.places)
    raise ValueError(f"not a place rule: {rule.kind}")


def referral_for(rule: AreaRule, referrals: Mapping[str, Referral], location: Location) -> Referral | None:
    """The rule's referral for the city, else the jurisdiction's for the city, else the rule's default."""
    city = location.city
    if city is not None:
        found = rule.referrals.get(city) or referrals.get(city)
        if found is not None:
            return found
    return rule.referral


def refusal(jurisdiction_name: str, service: Service, rule: AreaRule, referrals: Mapping[str, Referral],
            location: Location) -> str:
    """Why the service is not taken here, and who to contact instead."""
    text = (f"{service.service_name} ({service.service_code}) is not handled by {jurisdiction_name} "
            f"{location.describe()}; its service area is: {rule.description} (rule {rule.name}).")
    referral = referral_for(rule, referrals, location)
    if referral is not None:
        return f"{text} Please contact {referral.text()}"
    if location.city is not None:
        return f"{text} Please contact the City of {location.city}."
    return text


def outside(jurisdiction_name: str, lat: float, long: float, what: str = "The location") -> str:
    """The refusal for a point outside the jurisdiction altogether."""
    return (f"{what} (lat {lat:.6f}, long {long:.6f}) is outside {jurisdiction_name}; "
            "this gateway takes requests only for places inside it.")


def swapped(jurisdiction_name: str) -> str:
    """The hint given when lat and long swapped would be inside the jurisdiction."""
    return f"Did you swap lat and long? With lat and long exchanged the location is inside {jurisdiction_name}."
