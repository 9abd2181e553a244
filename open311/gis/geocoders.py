"""Placing address-only requests: the geocoder port, a gazetteer file and a US Census geocoder client."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import requests
from marshmallow import RAISE, Schema, fields, validate

from open311.core.validation import StrictString

ENTRY_POINT_GROUP = "open311.geocoders"
MAX_REPLY_BYTES = 1_000_000
_WORDS = {"street": "st", "avenue": "ave", "boulevard": "blvd", "drive": "dr", "road": "rd", "place": "pl",
          "court": "ct", "lane": "ln", "highway": "hwy", "parkway": "pkwy", "east": "e", "west": "w",
          "north": "n", "south": "s", "california": "ca"}
_PUNCTUATION = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class Geocoded:
    """Where an address was placed, and the address as the geocoder matched it."""

    lat: float
    long: float
    matched: str


class GeocoderUnavailable(Exception):
    """The geocoder could not answer now (timeout, server error, unreadable reply): not "no such address"."""


class Geocoder(Protocol):
    """Turns an address into a point; None means the address is unknown to it."""

    def geocode(self, address: str) -> Geocoded | None:
        """Place an address, or return None; raise GeocoderUnavailable when it cannot answer now."""


@runtime_checkable
class Suggester(Protocol):
    """A geocoder that can also list the entries a partly typed address or intersection may mean."""

    def suggest(self, text: str, limit: int) -> list[Geocoded]:
        """Entries matching every word typed (the last one may be cut short), best first."""


# Words joining the two streets of an intersection ("Whittier Blvd & Atlantic Blvd", "... and ...", "... at ...").
CONNECTORS = frozenset({"and", "at", "y", "x"})


def normalise(address: str) -> str:
    """Lower case, no punctuation, common street words abbreviated, single spaces."""
    words = _PUNCTUATION.sub(" ", address.lower()).split()
    return " ".join(_WORDS.get(w, w) for w in words)


def search_words(text: str) -> list[str]:
    """The words of what was typed, normalised like an address, without intersection connectors."""
    return [w for w in normalise(text).split() if w not in CONNECTORS]


def matches_words(wanted: list[str], candidate: str) -> bool:
    """Every wanted word is a word of the candidate; the last wanted word may be the start of one."""
    words = candidate.split()
    if not wanted:
        return False
    *whole, last = wanted
    return all(w in words for w in whole) and any(w.startswith(last) for w in words)


class GazetteerOptions(Schema):
    """options of the gazetteer geocoder."""

    class Meta:
        unknown = RAISE

    path = StrictString(required=True)


class Gazetteer:
    """A CSV file of known addresses (`address,lat,long`), matched after normalising spelling."""

    options_schema: ClassVar[type[Schema]] = GazetteerOptions

    def __init__(self, options: Mapping[str, Any], *, http: requests.Session, base: Path) -> None:
        self.path = base / options["path"]
        self.entries: dict[str, Geocoded] = {}
        streets: dict[str, list[Geocoded]] = {}
        with self.path.open(newline="", encoding="utf-8") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                try:
                    found = Geocoded(float(row["lat"]), float(row["long"]), row["address"].strip())
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"{self.path}:{line}: needs columns address, lat, long (numbers).") from None
                if not (math.isfinite(found.lat) and math.isfinite(found.long)):
                    raise ValueError(f"{self.path}:{line}: lat and long must be finite numbers.")
                self.entries[normalise(found.matched)] = found
                streets.setdefault(normalise(found.matched.split(",")[0]), []).append(found)
        # "4801 E 3rd St" alone finds "4801 E 3rd St, East Los Angeles" when only one place has it
        self.streets = {k: v[0] for k, v in streets.items() if len(v) == 1}

    def geocode(self, address: str) -> Geocoded | None:
        """The entry for the address, or for its part before the first comma when that is unambiguous; an
        intersection's streets may come in either order ("Atlantic Blvd & Whittier Blvd")."""
        key = normalise(address)
        found = self.entries.get(key) or self.streets.get(normalise(address.split(",")[0]))
        if found is None and _is_intersection(address):
            candidates = self.suggest(address, 2)
            found = candidates[0] if len(candidates) == 1 else None
        return found

    def suggest(self, text: str, limit: int) -> list[Geocoded]:
        """Entries holding every word typed, in any order (so an intersection's streets may be swapped)."""
        wanted = search_words(text)
        hits = [entry for key, entry in self.entries.items() if matches_words(wanted, key)]
        return sorted(hits, key=lambda e: (len(e.matched), e.matched))[:limit]


def _is_intersection(text: str) -> bool:
    """Two streets joined by &, /, @ or a connector word."""
    return bool(re.search(r"[&/@]", text)) or any(w in CONNECTORS for w in normalise(text).split()[1:-1])


class CensusOptions(Schema):
    """options of the US Census geocoder client."""

    class Meta:
        unknown = RAISE

    url = StrictString(load_default="https://geocoding.geo.census.gov/geocoder",
                       validate=validate.URL(schemes={"http", "https"}, require_tld=False))
    benchmark = StrictString(load_default="Public_AR_Current")
    timeout_s = fields.Float(load_default=3.0, validate=validate.Range(min=0.1, max=30))


class CensusGeocoder:
    """The US Census Bureau's one-line-address geocoder (locations/onelineaddress, JSON)."""

    options_schema: ClassVar[type[Schema]] = CensusOptions

    def __init__(self, options: Mapping[str, Any], *, http: requests.Session, base: Path) -> None:
        self.endpoint = options["url"].rstrip("/") + "/locations/onelineaddress"
        self.benchmark = options["benchmark"]
        self.timeout = options["timeout_s"]
        self.http = http

    def geocode(self, address: str) -> Geocoded | None:
        """The best match's coordinates; None when the Census has no match for the address."""
        params = {"address": address, "benchmark": self.benchmark, "format": "json"}
        try:
            with self.http.get(self.endpoint, params=params, timeout=self.timeout, allow_redirects=False,
                               stream=True) as reply:
                body = reply.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
                status = reply.status_code
        except requests.RequestException as exc:
            raise GeocoderUnavailable(f"geocoder unreachable: {type(exc).__name__}") from None
        if len(body) > MAX_REPLY_BYTES:
            raise GeocoderUnavailable("geocoder reply too large")
        if 400 <= status < 500 and status != 429:  # the Census answers 400 for addresses it cannot parse
            return None
        if status != 200:
            raise GeocoderUnavailable(f"geocoder answered HTTP {status}")
        return _first_match(body)


def _first_match(body: bytes) -> Geocoded | None:
    """Read `result.addressMatches[0]` (coordinates x = long, y = lat) from a Census reply."""
    try:
        matches = json.loads(body)["result"]["addressMatches"]
        if not matches:
            return None
        best = matches[0]
        lat, long = float(best["coordinates"]["y"]), float(best["coordinates"]["x"])
    except (ValueError, KeyError, TypeError, IndexError):
        raise GeocoderUnavailable("geocoder reply not understood") from None
    if not (math.isfinite(lat) and math.isfinite(long) and -90 <= lat <= 90 and -180 <= long <= 180):
        raise GeocoderUnavailable("geocoder returned coordinates out of range")
    return Geocoded(lat, long, str(best.get("matchedAddress") or ""))


BUILT_IN: dict[str, type[Any]] = {"gazetteer": Gazetteer, "census": CensusGeocoder}


def geocoder_class(kind: str) -> type[Any]:
    """A geocoder by name: built in, or installed under the `open311.geocoders` entry-point group."""
    if kind in BUILT_IN:
        return BUILT_IN[kind]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            loaded: type[Any] = ep.load()
            return loaded
    known = sorted({*BUILT_IN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
    raise LookupError(f"Unknown geocoder {kind!r}; available: {', '.join(known)}")


def validate_geocoder_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check a geocoder's options with its schema (raises LookupError or marshmallow.ValidationError)."""
    loaded: dict[str, Any] = geocoder_class(kind).options_schema().load(dict(options))
    return loaded


def build_geocoder(kind: str, options: Mapping[str, Any], http: requests.Session, base: Path) -> Geocoder:
    """Instantiate the configured geocoder."""
    geocoder: Geocoder = geocoder_class(kind)(validate_geocoder_options(kind, options), http=http, base=base)
    return geocoder

