"""Writing one snapshot in three formats at once, streaming: Parquet (pyarrow), CSV and GeoJSON.

Rows arrive a few thousand at a time and go straight to the three files (a Parquet row group per batch), so
memory stays bounded whatever the row count. Each file is written beside its final name and renamed into place
when complete: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from open311.core.dates import parse_datetime
from open311.feeds.snapshot_formats import FORMATS
from open311.feeds.snapshot_rows import COLUMNS, NAMES

BATCH = 5000
_ARROW = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(),
          "datetime": pa.timestamp("us", tz="UTC")}
SCHEMA = pa.schema([pa.field(c.name, _ARROW[c.kind]) for c in COLUMNS])
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): the feed's CSV rule.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class Written:
    """A file written: its name, size, SHA-256 and the rows in it."""

    name: str
    bytes: int
    sha256: str
    rows: int


def cell(value: Any) -> str:
    """A CSV cell no spreadsheet will evaluate (the feed's requests.csv rule)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _utc(value: str | None) -> datetime | None:
    """A feed date (W3C, with the County's offset) as a UTC instant for Parquet."""
    return parse_datetime(value, UTC).astimezone(UTC) if value else None


def _batches(rows: Iterable[Mapping[str, Any]]) -> Iterator[list[Mapping[str, Any]]]:
    batch: list[Mapping[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _arrow(batch: Sequence[Mapping[str, Any]]) -> pa.RecordBatch:
    """One Parquet row group: dates as UTC timestamps, the rest as the feed writes them."""
    arrays = []
    for column in COLUMNS:
        values = [row[column.name] for row in batch]
        if column.kind == "datetime":
            values = [_utc(v) for v in values]
        arrays.append(pa.array(values, type=_ARROW[column.kind]))
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _feature(row: Mapping[str, Any]) -> str:
    """One GeoJSON Feature (a Point, or no geometry without coordinates), properties as the feed's."""
    props = {k: v for k, v in row.items() if k not in ("lat", "long")}
    lat, lon = row["lat"], row["long"]
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None and lon is not None else None
    return json.dumps({"type": "Feature", "id": row["service_request_id"], "geometry": geometry,
                       "properties": props}, ensure_ascii=False, separators=(",", ":"))


def write_snapshot(folder: Path, stem: str, rows: Iterable[Mapping[str, Any]],
                   progress: Any = None) -> dict[str, Written]:
    """Write `<stem>.parquet`, `.csv` and `.geojson` in `folder` from one pass over `rows`."""
    folder.mkdir(parents=True, exist_ok=True)
    final = {fmt: folder / f"{stem}.{fmt}" for fmt in FORMATS}
    temp = {fmt: path.with_name(f".{path.name}.tmp") for fmt, path in final.items()}
    count = 0
    try:
        with temp["csv"].open("w", encoding="utf-8", newline="") as csv_out, \
                temp["geojson"].open("w", encoding="utf-8") as geo_out, \
                pq.ParquetWriter(temp["parquet"], SCHEMA, compression="zstd") as parquet:
            writer = csv.writer(csv_out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            writer.writerow(NAMES)
            geo_out.write('{"type":"FeatureCollection","features":[')
            for batch in _batches(rows):
                parquet.write_batch(_arrow(batch))
                writer.writerows([cell(row[name]) for name in NAMES] for row in batch)
                _write_features(geo_out, batch, first=count == 0)
                count += len(batch)
                if progress is not None:
                    progress(len(batch))
            geo_out.write("]}\n")
        written = {}
        for fmt in FORMATS:
            os.replace(temp[fmt], final[fmt])
            written[fmt] = Written(final[fmt].name, final[fmt].stat().st_size, sha256_of(final[fmt]), count)
        return written
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)


def _write_features(out: IO[str], batch: Sequence[Mapping[str, Any]], *, first: bool) -> None:
    for i, row in enumerate(batch):
        if not (first and i == 0):
            out.write(",")
        out.write(_feature(row))


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
