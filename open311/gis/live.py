"""The service areas each worker routes by, with synced layers read from their live version in the database and
rebuilt, without a restart, within OPEN311_AREAS_REFRESH seconds of an approval or a rollback."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import requests
from sqlalchemy.orm import Session, sessionmaker

from open311.config.gis import with_layer_path
from open311.config.jurisdictions import GatewayConfig, Jurisdiction
from open311.errors import ConfigError
from open311.gis.areas import ServiceAreas, build_service_areas
from open311.gis.versions import live_versions, version_data

log = logging.getLogger(__name__)

LiveKey = tuple[tuple[str, int | None], ...]   # (layer, live version id) of a jurisdiction's synced layers


def version_file(cache_dir: Path, jurisdiction_id: str, layer: str, version_id: int) -> Path:
    """Where a version's GeoJSON is kept on this host (written once: a version never changes)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{layer}-{version_id}")
    return cache_dir / re.sub(r"[^A-Za-z0-9_.-]", "_", jurisdiction_id) / f"{safe}.geojson"


def write_version(session: Session, path: Path, version_id: int) -> Path:
    """Write a version's features to `path` unless another process already did (atomically either way)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(version_data(session, version_id))
        os.replace(tmp, path)
    return path


def live_key(jurisdiction: Jurisdiction, live: Mapping[tuple[str, str], int]) -> LiveKey:
    """The live version of each of a jurisdiction's synced layers (None: not approved yet)."""
    synced = jurisdiction.gis.synced() if jurisdiction.gis else {}
    return tuple((layer, live.get((jurisdiction.id, layer))) for layer in sorted(synced))


def materialize(session: Session, jurisdiction: Jurisdiction, cache_dir: Path, key: LiveKey,
                overrides: Mapping[str, tuple[Path, str]] | None = None) -> tuple[Jurisdiction, dict[str, str]]:
    """The jurisdiction with each synced layer read from its live version's file (or from `overrides`:
    layer -> (file, label), for checking a candidate), and the version label of each of those layers."""
    gis = jurisdiction.gis
    if gis is None:
        return jurisdiction, {}
    labels: dict[str, str] = {}
    for layer, version_id in key:
        if overrides and layer in overrides:
            path, labels[layer] = overrides[layer]
        elif version_id is not None:
            path = write_version(session, version_file(cache_dir, jurisdiction.id, layer, version_id), version_id)
            labels[layer] = str(version_id)
        else:
            continue  # no live version: building says so (gis.layers.file_of)
        gis = with_layer_path(gis, layer, path)
    for layer, (path, label) in (overrides or {}).items():
        if layer not in labels:
            gis, labels[layer] = with_layer_path(gis, layer, path), label
    return replace(jurisdiction, gis=gis), labels


def build_live(session: Session, jurisdiction: Jurisdiction, http: requests.Session, cache_dir: Path,
               key: LiveKey, overrides: Mapping[str, tuple[Path, str]] | None = None) -> ServiceAreas:
    """Build a jurisdiction's service areas from its files and its synced layers' live (or candidate) versions."""
    built, labels = materialize(session, jurisdiction, cache_dir, key, overrides)
    return build_service_areas(built, http, layer_versions=labels)


class LiveAreas:
    """Service areas by jurisdiction; jurisdictions with synced layers are rebuilt when a live version changes.

    The live table is read at most once per `refresh` seconds per process (one small SELECT), on the request
    that finds the last look too old. One thread rebuilds while the others keep routing by the areas they have;
    a rebuild that fails is logged and the previous areas stay in use.
    """

    def __init__(self, config: GatewayConfig, http: requests.Session, sessions: sessionmaker[Session],
                 cache_dir: Path, refresh: float, on_change: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self.http, self.sessions, self.cache_dir = config, http, sessions, cache_dir
        self.refresh, self.on_change, self.clock = refresh, on_change, clock
        # a sandbox routes by its production jurisdiction's areas (Services.areas): nothing of its own to build
        self.synced = [j for j in config.jurisdictions.values()
                       if j.gis is not None and j.gis.synced() and j.sandbox_of is None]
        self._areas: dict[str, ServiceAreas] = {}
        self._keys: dict[str, LiveKey] = {}
        self._checked = 0.0
        self._lock = threading.Lock()

    def build(self) -> dict[str, ServiceAreas]:
        """Build every jurisdiction's areas (at start-up); raise ConfigError listing every problem."""
        live = self._read_live() if self.synced else {}
        problems: list[str] = []
        for jurisdiction in self.config.jurisdictions.values():
            if jurisdiction.gis is None or jurisdiction.sandbox_of is not None:
                continue
            key = live_key(jurisdiction, live)
            try:
                self._areas[jurisdiction.id] = self._build(jurisdiction, key)
            except ConfigError as exc:
                problems.extend(exc.problems)
            self._keys[jurisdiction.id] = key
        if problems:
            raise ConfigError(problems)
        self._checked = self.clock()
        return dict(self._areas)

    def live_keys(self) -> dict[str, LiveKey]:
        """The live version of each synced layer the areas were built with, by jurisdiction."""
        return dict(self._keys)

    def current(self) -> dict[str, ServiceAreas]:
        """The areas to route by now (refreshed first when the last look at the live table is too old)."""
        if self.synced and self.clock() - self._checked >= self.refresh and self._lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self._checked = self.clock()
                self._lock.release()
        return self._areas

    def _read_live(self) -> dict[tuple[str, str], int]:
        """The live table."""
        with self.sessions() as session, session.begin():
            return live_versions(session)

    def _build(self, jurisdiction: Jurisdiction, key: LiveKey) -> ServiceAreas:
        """One jurisdiction's areas for the given live versions."""
        if not key:
            return build_service_areas(jurisdiction, self.http)
        with self.sessions() as session, session.begin():
            return build_live(session, jurisdiction, self.http, self.cache_dir, key)

    def _refresh(self) -> None:
        """Rebuild the jurisdictions whose live versions changed since they were built."""
        try:
            live = self._read_live()
        except Exception:  # the database may be briefly away: keep routing by what we have
            log.exception("could not read the live area layer versions; keeping the current areas")
            return
        for jurisdiction in self.synced:
            key = live_key(jurisdiction, live)
            if key == self._keys.get(jurisdiction.id):
                continue
            try:
                areas = self._build(jurisdiction, key)
            except Exception:  # a version that no longer builds (approve checks it; the config may have moved)
                log.exception("could not build %s with area layer versions %s; keeping the current areas",
                              jurisdiction.id, key)
                continue
            self._areas = {**self._areas, jurisdiction.id: areas}
            self._keys[jurisdiction.id] = key
            log.info("%s now routes by area layer versions %s", jurisdiction.id,
                     ", ".join(f"{layer} {version}" for layer, version in key))
            if self.on_change is not None:
                self.on_change(jurisdiction.id)
