"""Variants of the shipped jurisdictions.yaml for tests: other GIS settings, or the real data in ../shared/gis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, SHARED

NEIGHBORHOODS = "la-county-neighborhoods-current.geojson"
DPR_PARKS = "lacounty-dpr-parks.geojson"
JID = "lacounty.gov"


def config_variant(folder: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Write the shipped configuration, paths made absolute, after `edit(jurisdiction)`; return its path."""
    data: Any = yaml.safe_load((ROOT / "jurisdictions.yaml").read_text(encoding="utf-8"))
    jurisdiction = data["jurisdictions"][JID]
    jurisdiction["boundary"] = str(ROOT / jurisdiction["boundary"])
    jurisdiction["service_definitions"] = str(ROOT / "service_definitions" / JID)
    gis = jurisdiction["gis"]
    for layer in (gis["places"], gis["facilities"], *gis["districts"].values()):
        layer["path"] = str(ROOT / layer["path"])
    gis["geocoder"]["options"]["path"] = str(ROOT / gis["geocoder"]["options"]["path"])
    edit(jurisdiction)
    path = folder / "jurisdictions.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def real_gis_config(folder: Path, shared: Path = SHARED) -> Path:
    """Write a copy of the shipped configuration whose places and facilities are the real files; the
    rules, referrals and catalog stay exactly as shipped. Returns the new jurisdictions.yaml."""
    return config_variant(folder, lambda jurisdiction: _use_real_layers(jurisdiction, shared))


def _use_real_layers(jurisdiction: dict[str, Any], shared: Path) -> None:
    """Point places and facilities at ../shared/gis; Mapping L.A. covers the county, so no outline."""
    jurisdiction.pop("boundary")
    gis = jurisdiction["gis"]
    gis["places"] = {
        "path": str(shared / "gis" / NEIGHBORHOODS), "name": "name", "type": "metadata.type",
        "unincorporated": ["unincorporated-area"], "city_segments": {"segment-of-a-city": "Los Angeles"},
    }
    gis["facilities"] = {
        "path": str(shared / "gis" / DPR_PARKS),
        "properties": {"id": "post_id", "name": "name", "category": "cat2", "address": "addrln1", "city": "city",
                       "phone": "phones", "url": "url", "hours": "hours"},
        "category_values": {"Parks and Gardens": "park"},
    }
    # No real Waterworks layer exists offline: the demo district stays (docs/gis.md).


def mapping_la_features(shared: Path = SHARED) -> list[dict[str, Any]]:
    """The 272 Mapping L.A. polygons with flat properties `name` and `type`, as a County ArcGIS layer has them
    (skips the test when ../shared is absent)."""
    path = shared / "gis" / NEIGHBORHOODS
    if not path.exists():
        import pytest

        pytest.skip(f"reference material {path} is absent")
    import json

    features = json.loads(path.read_bytes())["features"]
    return [{"type": "Feature", "geometry": f["geometry"],
             "properties": {"name": f["properties"]["name"], "type": f["properties"]["metadata"]["type"]}}
            for f in features]


def synced_places_config(folder: Path, url: str, **options: Any) -> Path:
    """The real-data configuration with its places layer read from the ArcGIS REST layer at `url`."""
    def edit(jurisdiction: dict[str, Any]) -> None:
        _use_real_layers(jurisdiction, SHARED)
        jurisdiction["gis"]["places"] = {"arcgis": url, "name": "name", "type": "type",
                                         "unincorporated": ["unincorporated-area"],
                                         "city_segments": {"segment-of-a-city": "Los Angeles"}, **options}

    return config_variant(folder, edit)


def demo_synced_config(folder: Path, url: str, **options: Any) -> Path:
    """The shipped (demo) configuration with its places layer read from the ArcGIS REST layer at `url`."""
    def edit(jurisdiction: dict[str, Any]) -> None:
        places = jurisdiction["gis"]["places"]
        places.pop("path")
        places.update(arcgis=url, **options)

    return config_variant(folder, edit)
