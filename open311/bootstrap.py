"""The one place that builds a gateway's services, without Flask: create_app, every command and every
worker start here.

`bootstrap(overrides, parts=...)` reads the settings (the overrides, else the environment, else the
defaults), opens the engines and builds the named parts at once, so that their configuration errors
stop start-up; the other parts are built on first use (see open311.services).
"""

from __future__ import annotations

import site
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from open311.core.dates import utcnow
from open311.services import Services
from open311.settings import read_settings
from open311.storage.db import create_schema, default_database_url, make_engine, make_session_factory

# What a server needs before it takes a request; a command names fewer.
EVERYTHING = ("config", "policies", "adapters", "notifiers", "media", "geo")
PACKAGE = Path(__file__).resolve().parent


def instance_folder() -> Path:
    """Where the gateway keeps its SQLite file, photos and keys: `instance/` beside the package in a checkout,
    `<prefix>/var/open311-instance` when installed into site-packages (the folder Flask would choose)."""
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if PACKAGE.parent in installed:
        return Path(sys.prefix) / "var" / "open311-instance"
    return PACKAGE.parent / "instance"


def bootstrap(overrides: Mapping[str, Any] | None = None, *, adapters: Mapping[str, Any] | None = None,
              parts: Iterable[str] = EVERYTHING, instance_path: Path | None = None) -> Services:
    """Build the services: settings checked, engines open, the named parts built (the rest on first use).

    `adapters` adds or replaces adapter classes by name (tests); OPEN311_CREATE_SCHEMA (tests) creates
    missing tables; OPEN311_CLOCK (tests) replaces the clock.
    """
    given = dict(overrides or {})
    settings = read_settings(given)
    folder = instance_path or instance_folder()
    if not settings["OPEN311_DATABASE_URL"]:
        settings["OPEN311_DATABASE_URL"] = default_database_url(folder)
    pool_size = settings["OPEN311_DATABASE_POOL_SIZE"]
    engine = make_engine(settings["OPEN311_DATABASE_URL"], pool_size=pool_size)
    feed_url = settings.get("OPEN311_FEED_DATABASE_URL")
    feed_engine = make_engine(feed_url, pool_size=pool_size) if feed_url else None
    services = Services(settings=settings, instance_path=folder, engine=engine,
                        sessions=make_session_factory(engine), clock=given.get("OPEN311_CLOCK") or utcnow,
                        registry=_registry(adapters), feed_engine=feed_engine,
                        feed_sessions=make_session_factory(feed_engine) if feed_engine is not None else None)
    try:
        if given.get("OPEN311_CREATE_SCHEMA"):
            create_schema(engine)
        for part in parts:
            getattr(services, part)
    except BaseException:
        services.dispose()  # a failed start leaves no connection open
        raise
    return services


def _registry(overrides: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The installed adapters with `overrides` on top (None: the installed entry points, read when needed)."""
    if overrides is None:
        return None
    from open311.adapter import available_adapters

    return {**available_adapters(), **overrides}
