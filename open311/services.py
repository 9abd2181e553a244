"""The running gateway's parts, built once by create_app and reached from views and commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from open311.adapter import Adapter, make_http_session
from open311.config.jurisdictions import GatewayConfig, Jurisdiction
from open311.errors import BadRequest, NotFound
from open311.feeds.subscriptions import CallbackPolicy
from open311.media.store import MediaStore

if TYPE_CHECKING:
    from open311.gis.areas import ServiceAreas


@dataclass
class Gateway:
    """Configuration, database access, adapters and clock of one app instance."""

    config: GatewayConfig
    engine: Engine
    sessions: sessionmaker[Session]
    adapters: dict[tuple[str, str], Adapter]
    clock: Callable[[], datetime]
    cache: dict[Any, Any] = field(default_factory=dict)
    geo: Mapping[str, ServiceAreas] = field(default_factory=dict)   # by jurisdiction id; built in create_app
    http: requests.Session = field(default_factory=make_http_session)   # shared, no redirects
    callbacks: CallbackPolicy = field(default_factory=CallbackPolicy)   # where subscribers' callbacks may go
    # A read replica for the public feed (OPEN311_FEED_DATABASE_URL); None: the primary serves it.
    feed_engine: Engine | None = None
    feed_sessions: sessionmaker[Session] | None = None
    # Where processed photos are kept (open311/media_store.py); None: photo uploads are refused.
    media: MediaStore | None = None

    def areas(self, jurisdiction: Jurisdiction) -> ServiceAreas | None:
        """The jurisdiction's service areas, or None when it configures no GIS layers."""
        return self.geo.get(jurisdiction.id)

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
        """Every engine this gateway opened."""
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


def get_gateway() -> Gateway:
    """The gateway of the current Flask app."""
    gateway: Gateway = current_app.extensions["open311"]
    return gateway
