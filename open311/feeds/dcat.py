"""/data.json: a DCAT-US v1.1 catalog (Project Open Data) of the published snapshots, for CKAN and data.gov.

One dataset per production jurisdiction that has been exported, with a distribution per file (download URL,
media type, the format it conforms to) and one for its Frictionless data package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from open311.config.jurisdictions import Jurisdiction
from open311.feeds.snapshot_formats import FORMATS, MEDIA_TYPES
from open311.feeds.snapshots import MANIFEST, PACKAGE

SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
CONFORMS = {"parquet": "https://parquet.apache.org/docs/file-format/",
            "csv": "https://www.rfc-editor.org/rfc/rfc4180",
            "geojson": "https://www.rfc-editor.org/rfc/rfc7946"}
FORMAT_NAMES = {"parquet": "Apache Parquet", "csv": "CSV", "geojson": "GeoJSON"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def contact_email(configured: str, discovery_contact: str) -> str | None:
    """The contact point's address: OPEN311_DATA_CONTACT_EMAIL, else the first one in the discovery contact."""
    found = EMAIL.search(configured or "") or EMAIL.search(discovery_contact or "")
    return found.group(0) if found else None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    except (OSError, ValueError):
        return None


def dataset(jurisdiction: Jurisdiction, folder: Path, base: str, *, license_url: str,
            email: str | None) -> dict[str, Any] | None:
    """The dataset of one jurisdiction's exported folder (None before its first export); `base` is the public
    URL of that folder (…/data/<jurisdiction_id>)."""
    manifest = _read(folder / MANIFEST)
    package = _read(folder / PACKAGE)
    if manifest is None or package is None:
        return None
    files = manifest.get("files", {})
    distributions = [{
        "@type": "dcat:Distribution", "title": f"{entry['title']} ({FORMAT_NAMES[fmt]})",
        "description": f"{entry['rows']} requests, {entry['start'][:10]} to {entry['end'][:10]} (end excluded).",
        "downloadURL": f"{base}/{entry['formats'][fmt]['name']}", "mediaType": MEDIA_TYPES[fmt],
        "format": FORMAT_NAMES[fmt], "conformsTo": CONFORMS[fmt], "describedBy": f"{base}/{PACKAGE}",
        "describedByType": "application/json",
    } for entry in files.values() for fmt in FORMATS]
    distributions.append({"@type": "dcat:Distribution", "title": "Frictionless data package (Table Schema)",
                          "downloadURL": f"{base}/{PACKAGE}", "mediaType": "application/json",
                          "format": "Data Package", "conformsTo": "https://specs.frictionlessdata.io/data-package/"})
    starts = sorted(e["start"] for e in files.values())
    ends = sorted(e["end"] for e in files.values())
    found: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "title": package["title"],
        "description": package["description"],
        "keyword": package["keywords"],
        "modified": manifest["exported"],
        "publisher": {"@type": "org:Organization", "name": jurisdiction.name},
        "contactPoint": {"@type": "vcard:Contact", "fn": f"{jurisdiction.name} 311 open data",
                         **({"hasEmail": f"mailto:{email}"} if email else {})},
        "identifier": f"{base}/{PACKAGE}",
        "accessLevel": "public",
        "license": license_url,
        "accrualPeriodicity": "R/P1D",
        "language": ["en-US"],
        "theme": ["311", "Public Works", "Public Health"],
        "describedBy": f"{base}/{PACKAGE}",
        "describedByType": "application/json",
        "distribution": distributions,
    }
    if starts and ends:
        found["temporal"] = f"{starts[0]}/{ends[-1]}"
    return found


def catalog(datasets: Iterable[dict[str, Any]], url: str) -> dict[str, Any]:
    """The whole data.json."""
    return {"@context": f"{SCHEMA}/catalog.jsonld", "@id": url, "@type": "dcat:Catalog", "conformsTo": SCHEMA,
            "describedBy": f"{SCHEMA}/catalog.json", "dataset": list(datasets)}
