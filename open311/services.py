"""The running gateway's parts (settings, engines, configuration, adapters, media store, GIS), built by
open311.bootstrap and shared by the HTTP layer, the workers and the commands.

The parts that cost start-up time are built on first use, so a command builds only what it needs:
`open311 keys list` opens the database and reads no configuration; `open311 relay` reads the
configuration and builds adapters but never loads the GIS libraries (shapely, geopandas). create_app
builds everything before it serves (configuration errors stop start-up, and forked workers inherit what was built).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from open311.errors import BadRequest, NotFound
from open311.settings import Policies

# Each part imports what builds it when it is first built (requests, marshmallow and YAML for the
# configuration, Pillow for photos, shapely and geopandas for GIS): a command pays only for its parts.
if TYPE_CHECKING:
    import requests

    from open311.adapter import Adapter
    from open311.config.jurisdictions import GatewayConfig, Jurisdiction
    from open311.gis.areas import ServiceAreas
    from open311.gis.live import LiveAreas
    from open311.media.store import MediaStore
    from open311.media.uploads import MediaPolicy
    from open311.notifier import Notifier


@dataclass
class Caches:
    """What a process computes once and keeps: each entry is a pure function of the configuration."""

    services: dict[tuple[str, str, str | None, bool], bytes] = field(default_factory=dict)  # (jid, fmt, locale, ext)
    area_geojson: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (jid, service_code)
    catalog_first_seen: dict[str, datetime] = field(default_factory=dict)  # catalog fingerprint
    schema_heads: tuple[str, ...] | None = None  # the migration heads this code expects


@dataclass
class Services:
    """Settings, database access, configuration, adapters, media store, GIS and clock of one gateway."""

    settings: Mapping[str, Any]   # every setting's checked value (open311/settings.py)
    instance_path: Path
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    registry: Mapping[str, Any] | None = None   # adapter classes by name (None: the installed entry points)
    # A read replica for the public feed (OPEN311_FEED_DATABASE_URL); None: the primary serves it.
    feed_engine: Engine | None = None
    feed_sessions: sessionmaker[Session] | None = None
    caches: Caches = field(default_factory=Caches)

    @cached_property
    def http(self) -> requests.Session:
        """The HTTP session adapters, geocoders and callbacks share (no redirects)."""
        from open311.adapter import make_http_session

        return make_http_session()

    @cached_property
    def config(self) -> GatewayConfig:
        """jurisdictions.yaml and every service definition, checked."""
        from open311.config.jurisdictions import load_config

        return load_config(Path(self.settings["OPEN311_CONFIG"]), self.registry)

    @cached_property
    def policies(self) -> Policies:
        """The relay's, the sync's, intake's and the callbacks' policies."""
        return Policies.from_settings(self.settings)

    @cached_property
    def adapters(self) -> dict[tuple[str, str], Adapter]:
        """One adapter per (jurisdiction, department)."""
        from open311.config.adapters import build_adapters

        built = build_adapters(self.config, self.registry, self.http)
        for adapter in built.values():
            adapter.clock = self.clock
        return built

    @cached_property
    def notifiers(self) -> dict[str, Notifier]:
        """The channels notices go out on (none while the OPEN311_NOTICE_* settings are unset)."""
        from open311.config.notifiers import build_notifiers

        return build_notifiers(self.settings)

    @cached_property
    def notice_secret(self) -> str:
        """The key of status links and unsubscribe links: OPEN311_NOTICE_SECRET, else one made at random and kept
        in instance/notice-secret (several hosts must share one: set the setting)."""
        configured = str(self.settings.get("OPEN311_NOTICE_SECRET") or "")
        if configured:
            return configured
        import os
        import secrets
        import stat

        path = self.instance_path / "notice-secret"
        if path.is_file():
            kept = path.read_text(encoding="utf-8").strip()
            if kept:
                return kept
        self.instance_path.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(made + "\n")
        return made

    @cached_property
    def media(self) -> MediaStore | None:
        """Where processed photos are kept; None: photo uploads are refused."""
        from open311.media.store import build_media_store

        return build_media_store(self.settings, str(self.instance_path))

    @cached_property
    def media_policy(self) -> MediaPolicy | None:
        """How a POST's photos are taken (the URL prefix is empty when neither OPEN311_MEDIA_URL nor
        OPEN311_PUBLIC_URL is set: the demo on loopback, where the request's own root is used)."""
        from open311.media.photos import configure_pillow
        from open311.media.uploads import MediaPolicy, photo_limits

        if self.media is None:
            return None
        configured = str(self.settings.get("OPEN311_MEDIA_URL") or "").strip()
        configure_pillow(photo_limits(self.settings))  # Pillow's own decompression-bomb bound, process-wide
        return MediaPolicy(int(self.settings["OPEN311_MEDIA_MAX_FILES"]), photo_limits(self.settings), self.media,
                           configured if not configured or configured.endswith("/") else configured + "/")

    @cached_property
    def live_areas(self) -> LiveAreas:
        """The service areas, built (from files and the live versions of synced layers) on first use."""
        from open311.gis.live import LiveAreas  # shapely and geopandas load only for the parts that use GIS

        folder = self.settings.get("OPEN311_AREAS_DIR") or self.instance_path / "areas"
        live = LiveAreas(self.config, self.http, self.sessions, Path(folder),
                         float(self.settings["OPEN311_AREAS_REFRESH"]), on_change=self._areas_changed)
        live.build()
        return live

    @property
    def geo(self) -> Mapping[str, ServiceAreas]:
        """Service areas by jurisdiction id (only those that configure GIS layers), as they are live now."""
        return self.live_areas.current()

    def _areas_changed(self, jurisdiction_id: str) -> None:
        """A synced layer went live: drop what was computed from the old areas."""
        for key in [k for k in self.caches.area_geojson if k[0] == jurisdiction_id]:
            self.caches.area_geojson.pop(key, None)

    def areas(self, jurisdiction: Jurisdiction) -> ServiceAreas | None:
        """The jurisdiction's service areas, or None when it configures no GIS layers (a sandbox routes by its
        production jurisdiction's: the same layers, loaded once)."""
        return self.geo.get(jurisdiction.sandbox_of or jurisdiction.id)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the primary, closed when the block ends; use cases own their transactions."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def feed_session(self) -> Iterator[Session]:
        """A read-only session for the request feed: the replica when configured (it may lag by its
        replication delay, so nothing that must see a write just made reads through it), else the primary."""
        session = (self.feed_sessions or self.sessions)()
        try:
            yield session
        finally:
            session.close()

    def engines(self) -> tuple[Engine, ...]:
        """Every engine these services opened."""
        return (self.engine,) if self.feed_engine is None else (self.engine, self.feed_engine)

    def dispose(self, *, close: bool = True) -> None:
        """Drop every pooled connection (close=False after a fork: the parent still owns them)."""
        for engine in self.engines():
            engine.dispose(close=close)

    def jurisdiction(self, jurisdiction_id: str | None) -> Jurisdiction:
        """Resolve jurisdiction_id: optional with one configured (empty == absent), else required."""
        if jurisdiction_id:
            found = self.config.jurisdictions.get(jurisdiction_id)
            if found is None:
                raise NotFound(f"jurisdiction_id {jurisdiction_id[:100]!r} not found.")
            return found
        single = self.config.single
        if single is None:
            raise BadRequest("jurisdiction_id was not provided; this endpoint serves several jurisdictions.")
        return single
