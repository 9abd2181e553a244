"""Open311 GeoReport v2 gateway: create_app is the composition root."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from open311.adapter import Adapter, load_adapter_class, make_http_session, validate_options
from open311.config.jurisdictions import GatewayConfig, load_config
from open311.core.dates import utcnow
from open311.core.yamlfile import expand_env
from open311.feeds.subscriptions import CallbackPolicy
from open311.media.photos import configure_pillow
from open311.media.store import build_media_store
from open311.media.uploads import photo_limits
from open311.services import Gateway
from open311.settings import apply_settings
from open311.storage.db import create_schema, default_database_url, make_engine, make_session_factory

__all__ = ["create_app"]
log = logging.getLogger(__name__)

# Fixed settings; every operator setting (environment OPEN311_*) is in open311/settings.py.
DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Open311 GeoReport v2 gateway",
    "API_VERSION": "v2",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
    "OPEN311_CREATE_SCHEMA": False,
}


def build_adapters(config: GatewayConfig, registry: Mapping[str, Any] | None,
                   http: requests.Session) -> dict[tuple[str, str], Adapter]:
    """One adapter instance per (jurisdiction, department), options validated and ${VARS} expanded."""
    built: dict[tuple[str, str], Adapter] = {}
    for jurisdiction in config.jurisdictions.values():
        for dept in jurisdiction.departments.values():
            cls = load_adapter_class(dept.adapter, registry)
            options = validate_options(cls, expand_env(dept.options))
            built[(jurisdiction.id, dept.code)] = cls(options, http=http)
    return built


def create_app(test_config: Mapping[str, Any] | None = None, *, adapters: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: load and validate config, open the database, read the GIS layers, build adapters,
    register routes."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config:
        app.config.update(test_config)
    apply_settings(app.config, overrides=test_config)
    if not app.config["OPEN311_DATABASE_URL"]:
        app.config["OPEN311_DATABASE_URL"] = default_database_url(app.instance_path)
    registry: Mapping[str, Any] | None = {**_installed(), **adapters} if adapters is not None else None
    config = load_config(Path(app.config["OPEN311_CONFIG"]), registry)
    hops, pool_size = app.config["OPEN311_PROXY_HOPS"], app.config["OPEN311_DATABASE_POOL_SIZE"]
    engine = make_engine(app.config["OPEN311_DATABASE_URL"], pool_size=pool_size)
    feed_url = app.config.get("OPEN311_FEED_DATABASE_URL")
    feed_engine = make_engine(feed_url, pool_size=pool_size) if feed_url else None
    try:
        _assemble(app, config, engine, registry)
    except BaseException:
        for opened in (engine, feed_engine):  # a failed start leaves no connection open
            if opened is not None:
                opened.dispose()
        raise
    gateway: Gateway = app.extensions["open311"]
    if feed_engine is not None:
        gateway.feed_engine, gateway.feed_sessions = feed_engine, make_session_factory(feed_engine)
    if hops:  # behind N trusted proxies: client address and scheme come from their X-Forwarded-* headers
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    return app


def _assemble(app: Flask, config: GatewayConfig, engine: Engine, registry: Mapping[str, Any] | None) -> None:
    """Create the schema if asked, read the GIS layers, build adapters and the gateway, register routes."""
    if app.config["OPEN311_CREATE_SCHEMA"]:
        create_schema(engine)
    http = make_http_session()
    from open311.gis.areas import build_geo  # shapely and geopandas load only when an app is built

    geo = build_geo(config, http)
    media = build_media_store(app.config, app.instance_path)
    configure_pillow(photo_limits(app.config))
    app.extensions["open311"] = Gateway(
        config=config, engine=engine, sessions=make_session_factory(engine),
        adapters=build_adapters(config, registry, http), clock=app.config.get("OPEN311_CLOCK") or utcnow,
        geo=geo, http=http, callbacks=CallbackPolicy.from_config(app.config), media=media,
    )
    from open311 import georeport
    from open311.georeport import monitoring, ratelimits, webapp

    api = georeport.init_app(app)
    monitoring.init_app(app, api)
    ratelimits.init_app(app)
    webapp.init_app(app)


def _installed() -> dict[str, Any]:
    """Installed adapter entry points, to be overridden by create_app(adapters=...)."""
    from open311.adapter import available_adapters

    return available_adapters()
