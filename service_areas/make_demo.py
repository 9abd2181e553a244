"""Recipe for the demo layers in service_areas/lacounty.gov/: hand-drawn, simplified, APPROXIMATE outlines.

Every vertex below was typed by hand from general knowledge of Los Angeles County's geography; nothing is
derived from an official or third-party boundary file. The outlines are deliberately coarse (tens of
vertices) and only some cities are drawn: land inside the county outline that no drawn city covers is
"unincorporated (remainder)". Use `open311 areas import` to load official boundaries for real use.

Run `python service_areas/make_demo.py` to regenerate the files (the output is committed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Polygon, mapping

OUT = Path(__file__).resolve().parent / "lacounty.gov"
NOTE = "Hand-drawn demo outline, approximate; not an official boundary."

# (long, lat) vertices. Mainland only: the Channel Islands are left out of the demo.
COUNTY = [
    (-118.88, 34.82), (-117.65, 34.82), (-117.66, 34.30), (-117.73, 34.02), (-117.78, 33.95), (-117.95, 33.93),
    (-118.00, 33.87), (-118.06, 33.82), (-118.09, 33.77), (-118.11, 33.745), (-118.18, 33.74), (-118.25, 33.72),
    (-118.29, 33.705), (-118.38, 33.72), (-118.42, 33.77), (-118.39, 33.82), (-118.41, 33.88), (-118.45, 33.95),
    (-118.475, 33.985), (-118.50, 34.005), (-118.57, 34.035), (-118.68, 34.03), (-118.80, 34.00), (-118.95, 34.04),
    (-118.67, 34.17), (-118.63, 34.24), (-118.64, 34.29), (-118.70, 34.45), (-118.88, 34.65),
]

# Cities in priority order: where two drawings overlap, the earlier one keeps the land.
CITIES: dict[str, list[tuple[float, float]]] = {
    "Santa Monica": [(-118.517, 34.037), (-118.496, 34.053), (-118.444, 34.030), (-118.474, 34.004),
                     (-118.483, 33.998), (-118.495, 34.004), (-118.505, 34.019)],
    "Pasadena": [(-118.198, 34.120), (-118.198, 34.200), (-118.160, 34.200), (-118.160, 34.170),
                 (-118.065, 34.170), (-118.065, 34.135), (-118.100, 34.120)],
    "Vernon": [(-118.245, 34.000), (-118.230, 34.020), (-118.185, 34.015), (-118.180, 33.990), (-118.240, 33.985)],
    "Long Beach": [(-118.232, 33.765), (-118.220, 33.870), (-118.170, 33.885), (-118.160, 33.835),
                   (-118.090, 33.830), (-118.065, 33.780), (-118.110, 33.748), (-118.190, 33.752)],
    "Glendale": [(-118.300, 34.140), (-118.285, 34.170), (-118.230, 34.200), (-118.220, 34.260),
                 (-118.180, 34.240), (-118.190, 34.170), (-118.200, 34.135), (-118.260, 34.120)],
    "Torrance": [(-118.375, 33.875), (-118.305, 33.875), (-118.305, 33.800), (-118.330, 33.780),
                 (-118.392, 33.805), (-118.393, 33.830)],
    "Lakewood": [(-118.160, 33.835), (-118.160, 33.875), (-118.070, 33.875), (-118.065, 33.835)],
    "Burbank": [(-118.370, 34.160), (-118.370, 34.220), (-118.300, 34.220), (-118.285, 34.170), (-118.300, 34.150)],
    "Beverly Hills": [(-118.425, 34.060), (-118.425, 34.095), (-118.390, 34.090), (-118.380, 34.065),
                      (-118.395, 34.055)],
    "West Hollywood": [(-118.395, 34.075), (-118.390, 34.095), (-118.345, 34.100), (-118.345, 34.080)],
    "Culver City": [(-118.420, 33.985), (-118.410, 34.025), (-118.380, 34.030), (-118.370, 34.000)],
    "Inglewood": [(-118.375, 33.935), (-118.375, 33.985), (-118.325, 33.990), (-118.320, 33.940)],
    "Malibu": [(-118.930, 34.035), (-118.930, 34.060), (-118.800, 34.050), (-118.700, 34.060), (-118.640, 34.055),
               (-118.640, 34.035), (-118.700, 34.020), (-118.800, 34.010)],
    "Santa Clarita": [(-118.620, 34.370), (-118.600, 34.460), (-118.480, 34.470), (-118.430, 34.420),
                      (-118.460, 34.360)],
    "Lancaster": [(-118.300, 34.640), (-118.300, 34.760), (-118.050, 34.760), (-118.050, 34.640)],
    "Palmdale": [(-118.250, 34.520), (-118.250, 34.635), (-117.980, 34.635), (-117.980, 34.540)],
    # The City of Los Angeles: Westside, the San Fernando Valley, central and south LA, the harbor strip.
    "Los Angeles": [
        (-118.570, 34.040), (-118.600, 34.130), (-118.670, 34.160), (-118.670, 34.230), (-118.600, 34.300),
        (-118.500, 34.320), (-118.420, 34.330), (-118.360, 34.300), (-118.370, 34.220), (-118.370, 34.160),
        (-118.300, 34.150), (-118.250, 34.110), (-118.190, 34.110), (-118.160, 34.120), (-118.160, 34.080),
        (-118.195, 34.062), (-118.195, 34.020), (-118.245, 34.000), (-118.245, 33.930), (-118.280, 33.900),
        (-118.280, 33.800), (-118.270, 33.720), (-118.310, 33.705), (-118.300, 33.800), (-118.300, 33.930),
        (-118.430, 33.930), (-118.440, 33.960), (-118.475, 33.995), (-118.520, 34.030),
    ],
}
# Named unincorporated communities (drawn after the cities, which keep any overlap).
UNINCORPORATED: dict[str, list[tuple[float, float]]] = {
    "East Los Angeles": [(-118.195, 34.060), (-118.160, 34.065), (-118.140, 34.045), (-118.130, 34.010),
                         (-118.165, 34.005), (-118.195, 34.010)],
    "Altadena": [(-118.175, 34.170), (-118.175, 34.215), (-118.100, 34.215), (-118.100, 34.170)],
}
WATERWORKS: dict[str, list[tuple[float, float]]] = {
    "Waterworks District 40, Antelope Valley (demo)": [(-118.35, 34.48), (-118.35, 34.80), (-117.75, 34.80),
                                                       (-117.75, 34.48)],
    "Waterworks District 29, Malibu (demo)": [(-118.95, 34.03), (-118.95, 34.10), (-118.60, 34.10),
                                              (-118.60, 34.03)],
    "Waterworks District 37, Acton (demo)": [(-118.25, 34.43), (-118.25, 34.48), (-118.12, 34.48),
                                             (-118.12, 34.43)],
}
PARKS = "https://parks.lacounty.gov/"
FACILITIES: list[dict[str, Any]] = [
    {"id": "P1", "name": "Belvedere Community Regional Park", "category": "park", "lat": 34.0380, "long": -118.1585,
     "address": "4914 E Cesar E Chavez Ave", "city": "East Los Angeles", "phone": "(877) 601-4850", "url": PARKS},
    {"id": "P2", "name": "Ruben F. Salazar Park", "category": "park", "lat": 34.0205, "long": -118.1870,
     "address": "3864 Whittier Blvd", "city": "East Los Angeles", "phone": "(877) 601-4850", "url": PARKS},
    {"id": "P3", "name": "Eaton Canyon Natural Area", "category": "park", "lat": 34.1780, "long": -118.0960,
     "address": "1750 N Altadena Dr", "city": "Pasadena", "phone": "(877) 601-4850", "url": PARKS},
    {"id": "P4", "name": "Kenneth Hahn State Recreation Area", "category": "park", "lat": 34.0080,
     "long": -118.3650, "address": "4100 S La Cienega Blvd", "city": "Los Angeles", "phone": "(877) 601-4850",
     "url": PARKS},
    {"id": "P5", "name": "Castaic Lake Recreation Area", "category": "park", "lat": 34.5210, "long": -118.6060,
     "address": "32132 Castaic Lake Dr", "city": "Castaic", "phone": "(877) 601-4850", "url": PARKS},
    {"id": "P6", "name": "Frank G. Bonelli Regional Park", "category": "park", "lat": 34.0870, "long": -117.8080,
     "address": "120 Via Verde", "city": "San Dimas", "phone": "(877) 601-4850", "url": PARKS},
    {"id": "P7", "name": "Whittier Narrows Recreation Area", "category": "park", "lat": 34.0380,
     "long": -118.0560, "address": "750 S Santa Anita Ave", "city": "South El Monte", "phone": "(877) 601-4850",
     "url": PARKS},
    {"id": "P8", "name": "Ted Watkins Memorial Park", "category": "park", "lat": 33.9430, "long": -118.2500,
     "address": "1335 E 103rd St", "city": "Los Angeles", "phone": "(877) 601-4850", "url": PARKS},
    {"id": "L1", "name": "East Los Angeles Library", "category": "library", "lat": 34.0390, "long": -118.1660,
     "address": "4837 E 3rd St", "city": "East Los Angeles", "url": "https://lacountylibrary.org/"},
    {"id": "L2", "name": "Altadena Library", "category": "library", "lat": 34.1900, "long": -118.1390,
     "address": "600 E Mariposa St", "city": "Altadena", "url": "https://lacountylibrary.org/"},
    {"id": "O1", "name": "Public Works Headquarters", "category": "office", "lat": 34.0860, "long": -118.1490,
     "address": "900 S Fremont Ave", "city": "Alhambra", "phone": "(626) 458-5100",
     "url": "https://pw.lacounty.gov/"},
]


def feature(geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature with coordinates rounded to 5 decimals (about a metre)."""
    rounded = shapely.set_precision(geometry, 1e-5)
    return {"type": "Feature", "properties": properties, "geometry": mapping(rounded)}


def collection(name: str, features: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection labelled as approximate demo data."""
    return {"type": "FeatureCollection", "name": name, "approximate": True, "note": NOTE, "features": features}


def places(county: Polygon) -> list[dict[str, Any]]:
    """Cities, named unincorporated communities and the unincorporated remainder; no two overlap."""
    taken = shapely.Polygon()
    out = []
    for kind, drawn in (("standalone-city", CITIES), ("unincorporated-area", UNINCORPORATED)):
        for name, ring in drawn.items():
            shape = Polygon(ring).intersection(county).difference(taken)
            taken = taken.union(shape)
            out.append(feature(shape, {"name": name, "type": kind, "approximate": True, "note": NOTE}))
    remainder = county.difference(taken)
    out.append(feature(remainder, {"name": "Unincorporated (remainder)", "type": "unincorporated-area",
                                   "approximate": True, "note": NOTE}))
    return out


def write(name: str, doc: dict[str, Any]) -> None:
    """Write one GeoJSON file, one feature per line for readable diffs."""
    lines = [json.dumps(f, separators=(",", ":")) for f in doc["features"]]
    head = {k: v for k, v in doc.items() if k != "features"}
    text = json.dumps(head, separators=(",", ":"))[:-1] + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"
    (OUT / name).write_text(text, encoding="utf-8")


def main() -> None:
    """Write county, places, waterworks and facilities."""
    county = Polygon(COUNTY)
    assert county.is_valid
    OUT.mkdir(exist_ok=True)
    write("county.geojson", collection("county", [feature(county, {"name": "Los Angeles County (demo outline)",
                                                                    "approximate": True, "note": NOTE})]))
    write("places.geojson", collection("places", places(county)))
    write("waterworks.geojson", collection("waterworks", [
        feature(Polygon(ring).intersection(county), {"name": name, "approximate": True, "note": NOTE})
        for name, ring in WATERWORKS.items()]))
    write("facilities.geojson", collection("facilities", [
        feature(shapely.Point(f["long"], f["lat"]),
                {k: v for k, v in f.items() if k not in ("lat", "long")} | {"approximate": True})
        for f in FACILITIES]))


if __name__ == "__main__":
    main()
