"""`open311 export`: the public request data as files, one per calendar year plus a rolling last 90 days, each in
Parquet, CSV and GeoJSON, described by a Frictionless data package (datapackage.json with a Table Schema).

Incremental: each file's window has a signature (how many requests, the latest update, the latest moderation;
open311.feeds.snapshot_rows.signature), kept in manifest.json; a later run rewrites only the files whose
signature moved (a daily run after one new report rewrites this year's file and the last 90 days, nothing else).
The data package is rewritten every run (it is small).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.dates import format_w3c
from open311.feeds.snapshot_formats import FORMATS, MEDIA_TYPES
from open311.feeds.snapshot_rows import COLUMNS, local_year, public_rows, signature, years_with_requests

MANIFEST = "manifest.json"
PACKAGE = "datapackage.json"
ROLLING = "requests-last-90-days"
ROLLING_DAYS = 90
_TABLE_TYPES = {"string": "string", "number": "number", "integer": "integer", "datetime": "datetime"}


@dataclass(frozen=True)
class Planned:
    """One snapshot to have: its file stem, title and window [start, end)."""

    stem: str
    title: str
    start: datetime
    end: datetime


@dataclass
class Report:
    """What a run did."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0


def data_root(settings: Mapping[str, Any], instance_path: Path) -> Path:
    """The folder /data/ serves: OPEN311_DATA_DIR, else instance/data; each jurisdiction has a folder in it."""
    return Path(settings.get("OPEN311_DATA_DIR") or instance_path / "data")


def plan(session: Session, jurisdiction: Jurisdiction, now: datetime) -> list[Planned]:
    """Every calendar year with requests (local time), newest first, then the last 90 whole days to today."""
    tz = jurisdiction.timezone
    wanted = []
    for year in reversed(years_with_requests(session, jurisdiction)):
        start, end = local_year(year, tz)
        wanted.append(Planned(f"requests-{year}", f"Service requests of {year}", start, end))
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=ROLLING_DAYS - 1), today + timedelta(days=1)
    wanted.append(Planned(ROLLING, f"Service requests of the last {ROLLING_DAYS} days", start, end))
    return wanted


def read_manifest(folder: Path) -> dict[str, Any]:
    """What the last run wrote (empty before the first)."""
    path = folder / MANIFEST
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found
    except (OSError, ValueError):
        return {}


def _current(entry: dict[str, Any] | None, folder: Path, stem: str, wanted: str) -> bool:
    """True when the last run wrote this file from the same data and every format is still there."""
    return bool(entry and entry.get("signature") == wanted
                and all((folder / f"{stem}.{fmt}").is_file() for fmt in FORMATS))


def export(session_factory: Callable[[], Session], jurisdiction: Jurisdiction, folder: Path, now: datetime, *,
           license_url: str, force: bool = False, progress: Callable[[str, int], None] | None = None) -> Report:
    """Write what changed since the last run into `folder`, then the data package and the manifest."""
    from open311.feeds.snapshot_files import write_snapshot  # pyarrow: only when exporting

    started = time.monotonic()
    report = Report()
    old = read_manifest(folder).get("files", {})
    files: dict[str, Any] = {}
    with session_factory() as session:
        for planned in plan(session, jurisdiction, now):
            wanted = signature(session, jurisdiction, planned.start, planned.end) + f"|{planned.start.isoformat()}"
            if not force and _current(old.get(planned.stem), folder, planned.stem, wanted):
                files[planned.stem] = old[planned.stem]
                report.kept.append(planned.stem)
                continue

            def counted(n: int, stem: str = planned.stem) -> None:
                report.rows += n
                if progress is not None:
                    progress(stem, n)

            rows = public_rows(session, jurisdiction, planned.start, planned.end, now)
            written = write_snapshot(folder, planned.stem, rows, counted)
            files[planned.stem] = {"signature": wanted, "title": planned.title, "start": format_w3c(planned.start),
                                   "end": format_w3c(planned.end), "rows": written["csv"].rows,
                                   "formats": {fmt: w.__dict__ for fmt, w in written.items()}}
            report.written.append(planned.stem)
    for stem in sorted(set(old) - set(files)):   # a year with no request left (a purge): its files go
        for fmt in FORMATS:
            (folder / f"{stem}.{fmt}").unlink(missing_ok=True)
        report.removed.append(stem)
    _write_json(folder / PACKAGE, package(jurisdiction, files, now, license_url))
    _write_json(folder / MANIFEST, {"jurisdiction_id": jurisdiction.id, "exported": format_w3c(now),
                                    "files": files})
    report.seconds = time.monotonic() - started
    return report


def _write_json(path: Path, data: Any) -> None:
    """Write a JSON file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)


def table_schema(*, csv: bool) -> dict[str, Any]:
    """The Table Schema of every snapshot (CSV dates carry the County's offset: format `any`)."""
    fields = []
    for column in COLUMNS:
        entry: dict[str, Any] = {"name": column.name, "type": _TABLE_TYPES[column.kind],
                                 "description": column.description}
        if column.kind == "datetime":
            entry["format"] = "any"
        fields.append(entry)
    schema: dict[str, Any] = {"fields": fields, "primaryKey": ["service_request_id"]}
    if csv:
        schema["missingValues"] = [""]
    return schema


def resources(files: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One data resource per file, in the order the files were planned."""
    for stem, entry in files.items():
        for fmt in FORMATS:
            written = entry["formats"][fmt]
            resource: dict[str, Any] = {
                "name": f"{stem}-{fmt}", "path": written["name"], "title": entry["title"], "format": fmt,
                "mediatype": MEDIA_TYPES[fmt], "bytes": written["bytes"], "hash": f"sha256:{written['sha256']}",
                "encoding": "utf-8"}
            if fmt == "csv":
                resource.update({"profile": "tabular-data-resource", "schema": table_schema(csv=True),
                                 "dialect": {"delimiter": ",", "quoteChar": '"', "header": True,
                                             "lineTerminator": "\r\n"}})
            elif fmt == "parquet":
                # Frictionless reads Parquet through its own reader, which counts no bytes: the size and hash stay
                # beside the resource under names of their own (a data package may carry extra properties).
                for name in ("encoding", "bytes", "hash"):
                    resource.pop(name)
                resource.update({"profile": "tabular-data-resource", "schema": table_schema(csv=False),
                                 "size": written["bytes"], "sha256": written["sha256"]})
            yield resource


def package(jurisdiction: Jurisdiction, files: dict[str, Any], now: datetime, license_url: str) -> dict[str, Any]:
    """datapackage.json (Frictionless Data Package v1)."""
    return {
        "profile": "data-package",
        "name": f"{jurisdiction.id.replace('.', '-')}-service-requests",
        "title": f"{jurisdiction.name}: 311 service requests",
        "description": ("Every public service request as the gateway's GeoReport v2 feed publishes it "
                        "(GET requests.json?extensions=true): no personal data, hidden text removed. One file per "
                        "calendar year and one for the last 90 days, each as Parquet, CSV and GeoJSON."),
        "created": format_w3c(now),
        "keywords": ["311", "service requests", "Open311", "GeoReport v2"],
        "licenses": [{"name": "license", "path": license_url}],   # OPEN311_DATA_LICENSE
        "resources": list(resources(files)),
    }
