"""What changed between two versions of a layer: features added, removed, changed and renamed, and the area (km²)
that changes hands, measured in the jurisdiction's projected CRS. `open311 areas diff` prints it; auto_approve
weighs it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from open311.gis.layers import project

M2_PER_KM2 = 1_000_000.0
RENAME_OVERLAP = 0.9       # intersection over union above which a removed and an added feature are one renamed
SAME_M2 = 1.0              # a symmetric difference below this (m²) is rounding, not a change
SAME_M = 0.5               # a point moved less than this (m) has not moved


@dataclass(frozen=True)
class Change:
    """A feature present in both versions whose shape or properties differ."""

    name: str
    before_km2: float
    after_km2: float
    changed_km2: float            # the area that changes hands: the symmetric difference
    moved_m: float                # for points: how far it moved
    properties: tuple[str, ...]   # the properties whose values differ


@dataclass(frozen=True)
class LayerDiff:
    """The difference between an old version (None: nothing live yet) and a new one."""

    added: tuple[tuple[str, float], ...] = ()           # (name, km²)
    removed: tuple[tuple[str, float], ...] = ()
    changed: tuple[Change, ...] = ()
    renamed: tuple[tuple[str, str, float], ...] = ()    # (old name, new name, km² changed)
    problems: tuple[str, ...] = field(default=())       # names rules use that the new version lacks

    @property
    def changed_km2(self) -> float:
        """Every km² that changes hands: added, removed, reshaped and renamed features."""
        return (sum(a for _, a in self.added) + sum(a for _, a in self.removed)
                + sum(c.changed_km2 for c in self.changed) + sum(a for *_, a in self.renamed))

    @property
    def changed_features(self) -> int:
        """How many features were added, removed, changed or renamed."""
        return len(self.added) + len(self.removed) + len(self.changed) + len(self.renamed)

    @property
    def empty(self) -> bool:
        """True when the versions route every point the same way."""
        return self.changed_features == 0

    def as_dict(self) -> dict[str, Any]:
        """The diff as JSON-ready data (`open311 areas diff --json`)."""
        return {"added": [{"name": n, "km2": round(a, 4)} for n, a in self.added],
                "removed": [{"name": n, "km2": round(a, 4)} for n, a in self.removed],
                "changed": [{"name": c.name, "before_km2": round(c.before_km2, 4), "after_km2": round(c.after_km2, 4),
                             "changed_km2": round(c.changed_km2, 4), "moved_m": round(c.moved_m, 1),
                             "properties": list(c.properties)} for c in self.changed],
                "renamed": [{"from": a, "to": b, "changed_km2": round(k, 4)} for a, b, k in self.renamed],
                "changed_km2": round(self.changed_km2, 4), "changed_features": self.changed_features,
                "problems": list(self.problems)}


def _features(geojson: bytes, key: str, compare: Sequence[str]) -> dict[str, tuple[BaseGeometry, dict[str, Any]]]:
    """Features by their key property (the parts of one name are merged), with the compared properties."""
    parts: dict[str, list[BaseGeometry]] = {}
    props: dict[str, dict[str, Any]] = {}
    for feature in json.loads(geojson).get("features", []):
        properties = feature.get("properties") or {}
        name = _read(properties, key)
        if name is None or feature.get("geometry") is None:
            continue
        name = str(name).strip()
        parts.setdefault(name, []).append(shapely.from_geojson(json.dumps(feature["geometry"])))
        props.setdefault(name, {p: _read(properties, p) for p in compare})
    return {name: (shapely.union_all(geoms) if len(geoms) > 1 else geoms[0], props[name])
            for name, geoms in parts.items()}


def _read(properties: Mapping[str, Any], name: str) -> Any:
    """A property, dotted names reading inside a nested (JSON) one, as gis.layers.property_values does."""
    column, *keys = name.split(".")
    value: Any = properties.get(column)
    for part in keys:
        if isinstance(value, str) and value.startswith("{"):
            value = json.loads(value)
        value = value.get(part) if isinstance(value, dict) else None
    return value


def diff_versions(old: bytes | None, new: bytes, key: str, compare: Sequence[str], projected_crs: str,
                  problems: Sequence[str] = ()) -> LayerDiff:
    """Compare two versions' GeoJSON by the key property (a place's name, a facility's id)."""
    before = _features(old, key, compare) if old is not None else {}
    after = _features(new, key, compare)
    names = sorted(set(before) | set(after))
    old_geom = _projected(before, projected_crs)
    new_geom = _projected(after, projected_crs)
    added = [n for n in names if n not in before]
    removed = [n for n in names if n not in after]
    changes = []
    for name in names:
        if name not in before or name not in after:
            continue
        a, b = old_geom[name], new_geom[name]
        differ = tuple(p for p in compare if before[name][1].get(p) != after[name][1].get(p))
        moved = float(shapely.distance(shapely.centroid(a), shapely.centroid(b))) if a.area == 0 else 0.0
        changed_m2 = float(shapely.symmetric_difference(a, b).area) if a.area or b.area else 0.0
        if differ or changed_m2 >= SAME_M2 or moved >= SAME_M:
            changes.append(Change(name, a.area / M2_PER_KM2, b.area / M2_PER_KM2, changed_m2 / M2_PER_KM2, moved,
                                  differ))
    renamed, added, removed = _renames(added, removed, old_geom, new_geom)
    return LayerDiff(tuple((n, new_geom[n].area / M2_PER_KM2) for n in added),
                     tuple((n, old_geom[n].area / M2_PER_KM2) for n in removed), tuple(changes), tuple(renamed),
                     tuple(problems))


def _projected(features: Mapping[str, tuple[BaseGeometry, Any]], crs: str) -> dict[str, BaseGeometry]:
    """Each feature's geometry in the projected CRS (metres)."""
    if not features:
        return {}
    names = list(features)
    return dict(zip(names, project([features[n][0] for n in names], crs), strict=True))


def _renames(added: list[str], removed: list[str], old: Mapping[str, BaseGeometry],
             new: Mapping[str, BaseGeometry]) -> tuple[list[tuple[str, str, float]], list[str], list[str]]:
    """Pair a removed feature with an added one of (nearly) the same shape: the same place, renamed."""
    renamed: list[tuple[str, str, float]] = []
    left = list(added)
    for gone in list(removed):
        for name in left:
            a, b = old[gone], new[name]
            if a.area == 0 and b.area == 0:
                same = float(shapely.distance(a, b)) < SAME_M
            else:
                union = float(shapely.union(a, b).area)
                same = union > 0 and float(shapely.intersection(a, b).area) / union >= RENAME_OVERLAP
            if same:
                renamed.append((gone, name, float(shapely.symmetric_difference(a, b).area) / M2_PER_KM2))
                left.remove(name)
                removed.remove(gone)
                break
    return renamed, left, removed


def allows(diff: LayerDiff, max_changed_km2: float | None, max_changed_features: int | None) -> bool:
    """True when a change is within a layer's auto_approve bounds (and has no problems)."""
    if diff.problems:
        return False
    if max_changed_km2 is not None and diff.changed_km2 > max_changed_km2:
        return False
    return max_changed_features is None or diff.changed_features <= max_changed_features
