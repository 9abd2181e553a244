"""The snapshots' formats and media types (apart from the writers, so serving them never imports pyarrow)."""

from __future__ import annotations

FORMATS = ("parquet", "csv", "geojson")
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv", "geojson": "application/geo+json"}
