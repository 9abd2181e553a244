"""County parks and facilities: nearest-first search and buffers, with metres in a projected CRS."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import STRtree

from open311.gis.geocoders import matches_words, normalise, search_words
from open311.gis.layers import project

BUFFER_QUAD_SEGMENTS = 16


@dataclass(frozen=True)
class Facility:
    """One County park or facility."""

    facility_id: str
    name: str
    category: str | None
    address: str | None
    city: str | None
    phone: str | None
    url: str | None
    hours: str | None
    lat: float
    long: float


@dataclass(frozen=True)
class Nearby:
    """A facility found near a point, with its distance in metres."""

    facility: Facility
    distance_m: float


def _facility(i: int, row: Mapping[str, Any], point: Any) -> Facility:
    """A Facility from a layer row (the id defaults to its 1-based position) and a representative point."""
    return Facility(facility_id=row.get("id") or str(i + 1), name=row["name"], category=row.get("category"),
                    address=row.get("address"), city=row.get("city"), phone=row.get("phone"), url=row.get("url"),
                    hours=row.get("hours"), lat=round(float(shapely.get_y(point)), 7),
                    long=round(float(shapely.get_x(point)), 7))


class FacilityIndex:
    """Facilities held in WGS84 (to publish) and in a projected CRS (to measure), with a spatial index."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], geoms: np.ndarray[Any, Any], crs: str) -> None:
        from pyproj import Transformer

        self.crs = crs
        self.geoms = geoms
        self.projected = project(geoms, crs)
        self.tree = STRtree(self.projected)
        self._to_metres = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        points = shapely.point_on_surface(geoms)
        self.facilities = tuple(_facility(i, row, p) for i, (row, p) in enumerate(zip(rows, points, strict=True)))

    @property
    def categories(self) -> frozenset[str]:
        """Every category present in the layer."""
        return frozenset(f.category for f in self.facilities if f.category)

    def _selected(self, categories: Collection[str]) -> np.ndarray[Any, Any]:
        """Indices of the facilities in any of `categories` (all when empty)."""
        if not categories:
            return np.arange(len(self.facilities))
        return np.array([i for i, f in enumerate(self.facilities) if f.category in categories], dtype=int)

    def nearest(self, lat: float, long: float, radius_m: float, categories: Collection[str] = (),
                limit: int = 100) -> list[Nearby]:
        """Facilities within `radius_m` of the point, nearest first (ties by name)."""
        x, y = self._to_metres.transform(long, lat)
        point = shapely.Point(x, y)
        found = self.tree.query(point, predicate="dwithin", distance=radius_m)
        if categories:
            wanted = set(self._selected(categories).tolist())
            found = np.array([i for i in found if i in wanted], dtype=int)
        distances = shapely.distance(self.projected[found], point) if len(found) else np.array([])
        hits = sorted(zip(distances.tolist(), found.tolist(), strict=True),
                      key=lambda h: (h[0], self.facilities[h[1]].name))
        return [Nearby(self.facilities[i], round(d, 1)) for d, i in hits[:limit]]

    def named(self, text: str, limit: int = 8) -> list[Facility]:
        """Facilities whose name (or address) holds every word typed, the last one possibly cut short;
        name matches first, then by name."""
        wanted = search_words(text)
        by_name = [f for f in self.facilities if matches_words(wanted, normalise(f.name))]
        by_address = [f for f in self.facilities if f not in by_name and f.address
                      and matches_words(wanted, normalise(f"{f.address} {f.city or ''}"))]
        ranked = [*sorted(by_name, key=lambda f: (len(f.name), f.name)), *sorted(by_address, key=lambda f: f.name)]
        return ranked[:limit]

    def all(self, categories: Collection[str] = (), limit: int = 100) -> list[Facility]:
        """Facilities (optionally of some categories) by name, without a reference point."""
        chosen = [self.facilities[i] for i in self._selected(categories).tolist()]
        return sorted(chosen, key=lambda f: f.name)[:limit]

    def buffers(self, distance_m: float, categories: Collection[str] = ()) -> tuple[list[Facility],
                                                                                    np.ndarray[Any, Any]]:
        """Areas within `distance_m` of each selected facility, buffered in metres and returned in WGS84."""
        chosen = self._selected(categories)
        rings = shapely.buffer(self.projected[chosen], distance_m, quad_segs=BUFFER_QUAD_SEGMENTS)
        return [self.facilities[i] for i in chosen.tolist()], project(rings, self.crs, to="EPSG:4326")
