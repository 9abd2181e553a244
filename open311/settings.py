"""Operator-tunable limits read from the environment: body sizes, dedup windows, retention, photos."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One Flask config key, the environment variable that sets it, its default and lowest value."""

    key: str
    env: str
    default: int
    minimum: int
    doc: str


SETTINGS = (
    Setting("MAX_CONTENT_LENGTH", "OPEN311_MAX_CONTENT_LENGTH", 16 * 1024 * 1024, 1024,
            "bytes: largest request body of any kind (413 above)"),
    Setting("MAX_FORM_MEMORY_SIZE", "OPEN311_MAX_FORM_MEMORY_SIZE", 1024 * 1024, 1024,
            "bytes: largest form-encoded body, and largest non-file multipart field (413 above)"),
    Setting("MAX_FORM_PARTS", "OPEN311_MAX_FORM_PARTS", 200, 10,
            "fields of a form-encoded or multipart body (413 above)"),
    Setting("OPEN311_MAX_DOCUMENT_SIZE", "OPEN311_MAX_DOCUMENT_SIZE", 1024 * 1024, 1024,
            "bytes: largest JSON or XML body (413 above)"),
    Setting("OPEN311_MAX_QUERY_VALUES", "OPEN311_MAX_QUERY_VALUES", 2000, 10,
            "values in one query string, list items included (400 above)"),
    Setting("OPEN311_IDEMPOTENCY_TTL", "OPEN311_IDEMPOTENCY_TTL", 24 * 3600, 60,
            "seconds an Idempotency-Key is remembered"),
    Setting("OPEN311_DUPLICATE_WINDOW", "OPEN311_DUPLICATE_WINDOW", 600, 0,
            "seconds within which an identical submission without a key returns the first request (0: off)"),
    Setting("OPEN311_CONTACT_RETENTION_DAYS", "OPEN311_CONTACT_RETENTION_DAYS", 180, 0,
            "days after closing that `open311 purge` keeps a request's personal data"),
    Setting("OPEN311_SUBSCRIPTIONS_PER_KEY", "OPEN311_SUBSCRIPTIONS_PER_KEY", 20, 1,
            "active callback subscriptions one API key may hold"),
    Setting("OPEN311_CALLBACK_MAX_ATTEMPTS", "OPEN311_CALLBACK_MAX_ATTEMPTS", 12, 1,
            "attempts of one callback (with the relay's backoff) before it is given up and its subscription dropped"),
    Setting("OPEN311_CALLBACK_ALLOW_HTTP", "OPEN311_CALLBACK_ALLOW_HTTP", 0, 0,
            "1: callbacks may use plain http:// (default 0: https:// only)"),
    Setting("OPEN311_CALLBACK_ALLOW_PRIVATE", "OPEN311_CALLBACK_ALLOW_PRIVATE", 0, 0,
            "1: callbacks may go to private and loopback addresses (default 0: public addresses only)"),
    Setting("OPEN311_MEDIA_MAX_FILES", "OPEN311_MEDIA_MAX_FILES", 5, 0,
            "photos (files and data: URLs) one POST may carry (400 above; 0: uploads refused, links still taken)"),
    Setting("OPEN311_MEDIA_MAX_BYTES", "OPEN311_MEDIA_MAX_BYTES", 10 * 1024 * 1024, 1024,
            "bytes: largest photo file, decoded (400 above); MAX_CONTENT_LENGTH still caps the whole body"),
    Setting("OPEN311_MEDIA_MAX_PIXELS", "OPEN311_MEDIA_MAX_PIXELS", 50_000_000, 1024,
            "pixels (width x height) of one photo, checked before it is decoded (400 above: decompression bombs)"),
    Setting("OPEN311_MEDIA_MAX_EDGE", "OPEN311_MEDIA_MAX_EDGE", 4096, 64,
            "pixels: longest side of a stored photo (larger ones are scaled down before re-encoding)"),
    Setting("OPEN311_MEDIA_CACHE_SECONDS", "OPEN311_MEDIA_CACHE_SECONDS", 7 * 24 * 3600, 0,
            "seconds browsers and shared caches may keep a served photo (Cache-Control max-age)"),
)


def environment_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every setting at its default or its environment value; raise ValueError naming a bad one."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, "").strip()
        if not raw:
            values[setting.key] = setting.default
            continue
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            raise ValueError(f"{setting.env} must be a whole number ({setting.doc}), got {raw[:40]!r}") from None
        if value < setting.minimum:
            raise ValueError(f"{setting.env} must be at least {setting.minimum} ({setting.doc}), got {value}")
        values[setting.key] = value
    return values
