"""Area rules evaluated at a located point, and the referral text for places a rule leaves out."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from open311.catalog.definitions import Service
from open311.config.gis import AreaRule, Referral
from open311.core.i18n import gettext as _
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
            if place.name != city:
                return _("in the City of %(city)s (%(place)s)", city=city, place=place.name)
            return _("in the City of %(city)s", city=city)
        if self.places:
            return _("in %(place)s (unincorporated)", place=self.places[0].name)
        return _("at this location")


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
            location: Location, local: Callable[[str], str] = str) -> str:
    """Why the service is not taken here, and who to contact instead (`local` translates the jurisdiction's
    own texts: its name, the rule's description, the referral's agency and note; `service` is already in the
    resident's language)."""
    text = _("%(service)s (%(code)s) is not handled by %(jurisdiction)s %(where)s; its service area is: "
             "%(area)s (rule %(rule)s).", service=service.service_name, code=service.service_code,
             jurisdiction=local(jurisdiction_name), where=location.describe(), area=local(rule.description),
             rule=rule.name)
    referral = referral_for(rule, referrals, location)
    if referral is not None:
        contact = _("Please contact %(whom)s", whom=referral_text(referral, local))
        return f"{text} {contact}"
    if location.city is not None:
        contact = _("Please contact the City of %(city)s.", city=location.city)
        return f"{text} {contact}"
    return text


def referral_text(referral: Referral, local: Callable[[str], str] = str) -> str:
    """One sentence naming the agency and its contacts, then its note, in the resident's language."""
    agency = local(referral.agency)
    if referral.phone and referral.url:
        sentence = _("%(agency)s: phone %(phone)s, %(url)s.", agency=agency, phone=referral.phone, url=referral.url)
    elif referral.phone:
        sentence = _("%(agency)s: phone %(phone)s.", agency=agency, phone=referral.phone)
    elif referral.url:
        sentence = _("%(agency)s: %(url)s.", agency=agency, url=referral.url)
    else:
        sentence = f"{agency}."
    return f"{sentence} {local(referral.note)}" if referral.note else sentence


def outside(jurisdiction_name: str, lat: float, long: float, what: str | None = None) -> str:
    """The refusal for a point outside the jurisdiction altogether."""
    return _("%(what)s (lat %(lat).6f, long %(long).6f) is outside %(jurisdiction)s; this gateway takes requests "
             "only for places inside it.", what=what or _("The location"), lat=lat, long=long,
             jurisdiction=jurisdiction_name)


def swapped(jurisdiction_name: str) -> str:
    """The hint given when lat and long swapped would be inside the jurisdiction."""
    return _("Did you swap lat and long? With lat and long exchanged the location is inside %(jurisdiction)s.",
             jurisdiction=jurisdiction_name)
