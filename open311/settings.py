"""Every operator setting in one table, and the policies built from them once at start-up.

`read_settings` gives each setting its value: the one the caller passes (tests pass theirs to
create_app), else the environment's, else its default, checked; a bad value stops start-up with a
message naming the variable. `Policies.from_settings` turns the values into the typed policies the
relay, the sync, intake and the callbacks use, so nothing re-reads the table per request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

DAY = 86400


@dataclass(frozen=True)
class Setting:
    """One setting: Flask config key, environment variable, type, default, lowest value, what it is."""

    key: str
    env: str
    kind: type
    default: Any
    minimum: float | None
    doc: str
    check: Callable[[str], str] | None = None   # a str setting's checker: the normalised value, or ValueError


def _s(name: str, kind: type, default: Any, minimum: float | None, doc: str, key: str | None = None,
       check: Callable[[str], str] | None = None) -> Setting:
    return Setting(key or name, name, kind, default, minimum, doc, check)


# A host name or IPv4 address (the characters werkzeug accepts in a Host header), or a bracketed IPv6 address.
_HOST = re.compile(r"[a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\]", re.ASCII | re.IGNORECASE)
_NETLOC = re.compile(rf"({_HOST.pattern})(?::([0-9]{{1,5}}))?", re.ASCII | re.IGNORECASE)
_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


def check_public_url(value: str) -> str:
    """OPEN311_PUBLIC_URL without its trailing slash ('' when unset): an http(s) origin, optionally with a path."""
    text = value.strip()
    if not text:
        return ""
    parts = urlsplit(text)
    netloc = _NETLOC.fullmatch(parts.netloc)
    problem = (
        "must start with http:// or https://" if parts.scheme not in ("http", "https") else
        "must have no query string or fragment (? or #)" if "?" in text or "#" in text else
        "must carry no user name or password" if "@" in parts.netloc else
        "must name a host (and an optional port from 1 to 65535)" if netloc is None
        or not 0 < int(netloc.group(2) or 443) <= 65535 else
        "has characters a URL path cannot carry" if not _PATH.fullmatch(parts.path) else None)
    if problem:
        raise ValueError(f"OPEN311_PUBLIC_URL {problem} (the gateway's public origin, e.g. https://311.example.gov "
                         f"or https://www.example.gov/311), got {text[:80]!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def check_allowed_hosts(value: str) -> str:
    """OPEN311_ALLOWED_HOSTS as one comma-separated, lower-case list: host names, a leading dot for subdomains."""
    names = [name.strip().lower() for name in re.split(r"[,\s]+", value) if name.strip()]
    for name in names:
        if not _HOST.fullmatch(name.removeprefix(".")):
            raise ValueError(f"OPEN311_ALLOWED_HOSTS must list host names (no scheme or port), comma-separated, "
                             f"e.g. gateway.internal,.svc.cluster.local, got {name[:80]!r}")
    return ",".join(names)


DEMO_ORIGIN = "http://127.0.0.1:5000"   # where `make serve` listens


def link_origin(config: Mapping[str, Any]) -> str:
    """The origin of links made outside a request (set-up links, status links in notices): OPEN311_PUBLIC_URL,
    else the demo's loopback address."""
    return str(config.get("OPEN311_PUBLIC_URL") or "") or DEMO_ORIGIN


def allowed_hosts(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The extra trusted host names of OPEN311_ALLOWED_HOSTS (IPv6 addresses without brackets)."""
    return tuple(name.strip("[]") for name in str(config.get("OPEN311_ALLOWED_HOSTS") or "").split(",") if name)


SETTINGS: tuple[Setting, ...] = (
    # where things are
    _s("OPEN311_CONFIG", str, "jurisdictions.yaml", None, "path of jurisdictions.yaml"),
    _s("OPEN311_DATABASE_URL", str, None, None, "database URL (default: SQLite under instance/)"),
    _s("OPEN311_FEED_DATABASE_URL", str, None, None, "read replica for GET requests (default: the primary)"),
    _s("OPEN311_DATABASE_POOL_SIZE", int, 5, 0, "connections pooled per process"),
    _s("OPEN311_PROXY_HOPS", int, 0, 0, "trusted proxies in front (X-Forwarded-* headers are read from them)"),
    # the public address (docs/deployment.md): every URL the gateway stores or publishes starts with it
    _s("OPEN311_PUBLIC_URL", str, "", None,
       "the gateway's public origin, e.g. https://311.example.gov (a path prefix allowed); the only trusted Host "
       "besides OPEN311_ALLOWED_HOSTS (default: none, loopback names only; required by `open311 serve` on a "
       "non-loopback address)", check=check_public_url),
    _s("OPEN311_ALLOWED_HOSTS", str, "", None,
       "more Host names accepted (comma-separated; .example.org: its subdomains), e.g. the internal name health "
       "probes use", check=check_allowed_hosts),
    # body and query limits (docs/configuration.md)
    _s("OPEN311_MAX_CONTENT_LENGTH", int, 16 * 1024 * 1024, 1024,
       "bytes: largest request body of any kind (413 above)", key="MAX_CONTENT_LENGTH"),
    _s("OPEN311_MAX_FORM_MEMORY_SIZE", int, 1024 * 1024, 1024,
       "bytes: largest form-encoded body, and largest non-file multipart field (413 above)",
       key="MAX_FORM_MEMORY_SIZE"),
    _s("OPEN311_MAX_FORM_PARTS", int, 200, 10, "fields of a form-encoded or multipart body (413 above)",
       key="MAX_FORM_PARTS"),
    _s("OPEN311_MAX_DOCUMENT_SIZE", int, 1024 * 1024, 1024, "bytes: largest JSON or XML body (413 above)"),
    _s("OPEN311_MAX_QUERY_VALUES", int, 2000, 10, "values in one query string, list items included (400 above)"),
    # feed paging (docs/feeds.md)
    _s("OPEN311_PAGE_SIZE", int, 1000, 1, "rows of a paged feed page when the client names no page_size"),
    _s("OPEN311_MAX_PAGE_SIZE", int, 1000, 1, "largest page_size a client may ask for (400 above)"),
    _s("OPEN311_COUNT_CAP", int, 10_000, 0,
       "matches counted for a paged feed's X-Total-Count; beyond it X-Total-Count-At-Least (0: no totals)"),
    _s("OPEN311_COUNT_BY_DEFAULT", int, 0, 0,
       "1: every paged feed page carries its total, as if count=true were given (0: only when asked)"),
    # duplicates and retention
    _s("OPEN311_IDEMPOTENCY_TTL", int, DAY, 60, "seconds an Idempotency-Key is remembered"),
    _s("OPEN311_DUPLICATE_WINDOW", int, 600, 0,
       "seconds within which an identical submission without a key returns the first request (0: off)"),
    _s("OPEN311_CONTACT_RETENTION_DAYS", int, 180, 0,
       "days after closing that `open311 purge` keeps a request's personal data"),
    # rate limits (docs/deployment.md)
    _s("OPEN311_RATELIMIT_ENABLED", str, "true", None, "false turns the POST limits off"),
    _s("OPEN311_RATELIMIT_STORAGE", str, "memory://", None, "memory:// (one process) or redis://..."),
    _s("OPEN311_RATELIMIT_STRATEGY", str, "moving-window", None,
       "moving-window, fixed-window or sliding-window-counter"),
    _s("OPEN311_RATELIMIT_PER_KEY", str, "60/minute", None, "POSTs per API key without a limit of its own"),
    _s("OPEN311_RATELIMIT_PER_ADDRESS", str, "300/minute", None, "POSTs per client address"),
    _s("OPEN311_RATELIMIT_PREFIX", str, "open311", None, "key prefix of the counters in the storage"),
    # delivery and status sync (docs/adapters.md): seconds unless a count
    _s("OPEN311_DELIVERY_MAX_ATTEMPTS", int, 30, 1, "attempts of a ticket before it is a dead letter"),
    _s("OPEN311_DELIVERY_BACKOFF_BASE", float, 30.0, 0.0, "seconds: base of the full-jitter backoff"),
    _s("OPEN311_DELIVERY_BACKOFF_CAP", float, 6 * 3600.0, 0.0, "seconds: longest wait between attempts"),
    _s("OPEN311_DELIVERY_LEASE", float, 300.0, 0.1, "seconds a relay holds a claimed row"),
    _s("OPEN311_DELIVERY_BATCH", int, 5, 1, "rows a relay claims at once"),
    _s("OPEN311_DELIVERY_POLL", float, 2.0, 0.01, "seconds an idle relay waits before looking again"),
    _s("OPEN311_SYNC_INTERVAL", float, 60.0, 0.01, "seconds between status pulls"),
    _s("OPEN311_SYNC_OVERLAP", float, 600.0, 0.0, "seconds each pull window overlaps the previous one"),
    _s("OPEN311_SYNC_LOOKBACK", float, 7 * DAY, 0.0, "seconds a department's first pull reaches back"),
    # GIS layers synced from ArcGIS REST (docs/gis.md)
    _s("OPEN311_AREAS_REFRESH", float, 30.0, 0.01,
       "seconds between a worker's looks for a newly approved (or rolled back) layer version"),
    _s("OPEN311_AREAS_DIR", str, None, None, "folder of the live versions' files (default: instance/areas)"),
    # photos (docs/configuration.md): a local directory (default instance/media) or an S3-compatible bucket
    _s("OPEN311_MEDIA_MAX_FILES", int, 5, 0,
       "photos (files and data: URLs) one POST may carry (400 above; 0: uploads refused, links still taken)"),
    _s("OPEN311_MEDIA_MAX_BYTES", int, 10 * 1024 * 1024, 1024,
       "bytes: largest photo file, decoded (400 above); MAX_CONTENT_LENGTH still caps the whole body"),
    _s("OPEN311_MEDIA_MAX_PIXELS", int, 50_000_000, 1024,
       "pixels (width x height) of one photo, checked before it is decoded (400 above: decompression bombs)"),
    _s("OPEN311_MEDIA_MAX_EDGE", int, 4096, 64,
       "pixels: longest side of a stored photo (larger ones are scaled down before re-encoding)"),
    _s("OPEN311_MEDIA_CACHE_SECONDS", int, 7 * DAY, 0,
       "seconds browsers and shared caches may keep a served photo (Cache-Control max-age)"),
    _s("OPEN311_MEDIA_STORAGE", str, "local", None, "local or s3"),
    _s("OPEN311_MEDIA_DIR", str, None, None, "local storage folder (default: instance/media)"),
    _s("OPEN311_MEDIA_URL", str, "", None,
       "public URL prefix of served photos (default: OPEN311_PUBLIC_URL + /media/, else this gateway's /media/)"),
    _s("OPEN311_MEDIA_S3_BUCKET", str, None, None, "S3 bucket (storage s3)"),
    _s("OPEN311_MEDIA_S3_PREFIX", str, "media/", None, "key prefix in the bucket"),
    _s("OPEN311_MEDIA_S3_ENDPOINT", str, None, None, "S3-compatible endpoint URL (default: AWS)"),
    _s("OPEN311_MEDIA_S3_REGION", str, None, None, "S3 region"),
    # published snapshots (docs/open-data.md): open311 export writes them, /data/ serves them, /data.json lists them
    _s("OPEN311_DATA_DIR", str, None, None, "folder of the published snapshots (default: instance/data)"),
    _s("OPEN311_DATA_LICENSE", str, "https://creativecommons.org/publicdomain/zero/1.0/", None,
       "URL of the licence the snapshots are published under (datapackage.json, /data.json)"),
    _s("OPEN311_DATA_CONTACT_EMAIL", str, "", None,
       "e-mail address of the data's contact point in /data.json (default: the discovery contact's, if any)"),
    _s("OPEN311_DATA_S3_PREFIX", str, "data/", None,
       "key prefix of the snapshots in the media store's bucket (open311 export --s3)"),
    # the resident web app at / (docs/webapp.md)
    _s("OPEN311_WEBAPP", str, "true", None, "false turns the web app at / off"),
    _s("OPEN311_WEBAPP_DIR", str, "", None, "folder of the web app (default: webapp/ of the checkout)"),
    _s("OPEN311_WEBAPP_API_KEY", str, "", None,
       "the key the page posts with (default: one made and kept in instance/)"),
    _s("OPEN311_WEBAPP_JURISDICTION", str, "", None, "the jurisdiction the page serves (default: the only one)"),
    _s("OPEN311_WEBAPP_TILE_URL", str, "https://tile.openstreetmap.org/{z}/{x}/{y}.png", None,
       "map tile URL template (empty: no tiles)"),
    _s("OPEN311_WEBAPP_TILE_ATTRIBUTION", str,
       '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors', None,
       "map attribution HTML"),
    # the staff work queue at /staff/ (docs/staff.md)
    _s("OPEN311_STAFF_SESSION_IDLE_MINUTES", int, 60, 1, "minutes a staff session lasts unused"),
    _s("OPEN311_STAFF_SESSION_MAX_HOURS", int, 12, 1, "hours a staff session lasts in all (then log in again)"),
    _s("OPEN311_STAFF_LOGIN_FAILURES", int, 10, 1,
       "wrong passwords per account (or e-mail) in a minute before logins are refused with 429"),
    _s("OPEN311_STAFF_LOGIN_FAILURES_PER_ADDRESS", int, 50, 1,
       "wrong passwords from one client address in a minute before its logins are refused with 429"),
    _s("OPEN311_STAFF_INSECURE_COOKIE", int, 0, 0,
       "1: the staff session cookie is sent over plain http too (debug only; default 0: Secure)"),
    # notices to residents (docs/notifications.md): none while the channel's settings are unset
    _s("OPEN311_NOTICE_SMTP_URL", str, "", None,
       "e-mail notices' server: smtp://user:pass@host:587?starttls=1, smtps://host:465 (cafile=, timeout= too)"),
    _s("OPEN311_NOTICE_FROM", str, "", None, "From address of e-mail notices, e.g. 311 <no-reply@example.gov>"),
    _s("OPEN311_NOTICE_VAPID_PRIVATE_KEY", str, "", None,
       "Web Push: the VAPID private key (open311 notices vapid-keys makes a pair)"),
    _s("OPEN311_NOTICE_VAPID_PUBLIC_KEY", str, "", None, "Web Push: the VAPID public key browsers subscribe with"),
    _s("OPEN311_NOTICE_VAPID_SUBJECT", str, "", None, "Web Push: a mailto: or https: contact for push services"),
    _s("OPEN311_NOTICE_CHANNELS", str, "", None,
       "more notifiers by entry-point name (options in OPEN311_NOTICE_OPTIONS_<NAME> as JSON)"),
    _s("OPEN311_NOTICE_SECRET", str, "", None,
       "key of status and unsubscribe links (default: one kept in instance/notice-secret; share it across hosts)"),
    # push subscriptions (docs/feeds.md)
    _s("OPEN311_SUBSCRIPTIONS_PER_KEY", int, 20, 1, "active callback subscriptions one API key may hold"),
    _s("OPEN311_CALLBACK_MAX_ATTEMPTS", int, 12, 1,
       "attempts of one callback before it is given up and its subscription dropped"),
    _s("OPEN311_CALLBACK_ALLOW_HTTP", int, 0, 0, "1: callbacks may use plain http:// (default 0: https:// only)"),
    _s("OPEN311_CALLBACK_ALLOW_PRIVATE", int, 0, 0,
       "1: callbacks may go to private and loopback addresses (default 0: public addresses only)"),
    _s("OPEN311_RATELIMIT_SUBSCRIPTIONS", str, "10/minute;100/day", None,
       "POST subscriptions per API key (per address: OPEN311_RATELIMIT_PER_ADDRESS, counted apart)"),
)


def _parse(setting: Setting, raw: Any) -> Any:
    """A value of the setting's type within its bounds; raise ValueError naming the variable."""
    if setting.kind is str or raw is None:
        return raw if raw is None else setting.check(str(raw)) if setting.check else str(raw)
    what = "a whole number" if setting.kind is int else "a number"
    try:
        value = setting.kind(str(raw).strip().replace("_", "")) if isinstance(raw, str) else setting.kind(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{setting.env} must be {what} ({setting.doc}), got {str(raw)[:40]!r}") from None
    if setting.minimum is not None and value < setting.minimum:
        raise ValueError(f"{setting.env} must be at least {setting.minimum:g} ({setting.doc}), got {raw!r}")
    return value


def default_of(env: str) -> Any:
    """The default value of the setting read from environment variable `env`."""
    return next(setting.default for setting in SETTINGS if setting.env == env)


def read_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting's value (see apply_settings), as a new mapping."""
    values: dict[str, Any] = {}
    apply_settings(values, environ, overrides)
    return values


def apply_settings(config: MutableMapping[str, Any], environ: Mapping[str, str] | None = None,
                   overrides: Mapping[str, Any] | None = None) -> None:
    """Give every setting its value in `config`: the one in `overrides` (create_app's test config), else
    the environment's, else the default."""
    env = os.environ if environ is None else environ
    given = overrides or {}
    for setting in SETTINGS:
        if setting.key in given:
            raw = given[setting.key]
        else:
            found = env.get(setting.env, "").strip()
            raw = found if found else setting.default
        config[setting.key] = _parse(setting, raw)
    if config["OPEN311_PUBLIC_URL"] and not str(config["OPEN311_MEDIA_URL"] or "").strip():
        config["OPEN311_MEDIA_URL"] = config["OPEN311_PUBLIC_URL"] + "/media/"


@dataclass(frozen=True)
class DeliverySettings:
    """How the relay claims, retries and gives up (seconds unless a count)."""

    max_attempts: int = 30
    backoff_base: float = 30.0
    backoff_cap: float = 6 * 3600.0
    lease: float = 300.0
    batch: int = 5
    poll: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        """Read the OPEN311_DELIVERY_* knobs of an app config."""
        return cls(max_attempts=int(config["OPEN311_DELIVERY_MAX_ATTEMPTS"]),
                   backoff_base=float(config["OPEN311_DELIVERY_BACKOFF_BASE"]),
                   backoff_cap=float(config["OPEN311_DELIVERY_BACKOFF_CAP"]),
                   lease=float(config["OPEN311_DELIVERY_LEASE"]), batch=int(config["OPEN311_DELIVERY_BATCH"]),
                   poll=float(config["OPEN311_DELIVERY_POLL"]))


@dataclass(frozen=True)
class SyncSettings:
    """How often the sync pulls, how far windows overlap, how far back a first pull reaches."""

    interval: float = 60.0
    overlap: float = 600.0
    lookback: float = 7 * 86400.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SyncSettings:
        """Read the OPEN311_SYNC_* knobs of an app config."""
        return cls(interval=float(config["OPEN311_SYNC_INTERVAL"]), overlap=float(config["OPEN311_SYNC_OVERLAP"]),
                   lookback=float(config["OPEN311_SYNC_LOOKBACK"]))


@dataclass(frozen=True)
class DedupPolicy:
    """How long Idempotency-Keys are remembered, and the fingerprint window (zero: no fingerprinting)."""

    idempotency_ttl: timedelta = timedelta(hours=24)
    duplicate_window: timedelta = timedelta(minutes=10)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DedupPolicy:
        """Read OPEN311_IDEMPOTENCY_TTL and OPEN311_DUPLICATE_WINDOW (seconds)."""
        return cls(timedelta(seconds=int(config["OPEN311_IDEMPOTENCY_TTL"])),
                   timedelta(seconds=int(config["OPEN311_DUPLICATE_WINDOW"])))


@dataclass(frozen=True)
class CallbackPolicy:
    """Where callbacks may go and how many subscriptions a key may hold."""

    allow_private: bool = False      # loopback/private addresses (tests, a gateway inside a private network)
    allow_http: bool = False         # plain http:// (else https:// only)
    per_key: int = 20
    max_attempts: int = 12

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CallbackPolicy:
        """Read the OPEN311_CALLBACK_* and OPEN311_SUBSCRIPTIONS_PER_KEY settings."""
        return cls(allow_private=bool(int(config["OPEN311_CALLBACK_ALLOW_PRIVATE"])),
                   allow_http=bool(int(config["OPEN311_CALLBACK_ALLOW_HTTP"])),
                   per_key=int(config["OPEN311_SUBSCRIPTIONS_PER_KEY"]),
                   max_attempts=int(config["OPEN311_CALLBACK_MAX_ATTEMPTS"]))


@dataclass(frozen=True)
class Policies:
    """The typed policies of one running gateway, built once from its settings."""

    delivery: DeliverySettings
    sync: SyncSettings
    dedup: DedupPolicy
    callbacks: CallbackPolicy

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Policies:
        """Build every policy from the values read_settings gave."""
        return cls(DeliverySettings.from_config(settings), SyncSettings.from_config(settings),
                   DedupPolicy.from_config(settings), CallbackPolicy.from_config(settings))
