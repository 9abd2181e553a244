"""Open311 GeoReport v2 gateway: create_app is the composition root."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from .adapter import Adapter, load_adapter_class, make_http_session, validate_options
from .config import DEFAULT_CONFIG, GatewayConfig, load_config
from .dates import utcnow
from .db import create_schema, default_database_url, make_engine, make_session_factory
from .gateway import Gateway
from .settings import environment_settings
from .tuning import apply_environment
from .yamlfile import expand_env

__all__ = ["create_app"]
log = logging.getLogger(__name__)

# Body limits and the other operator-tunable numbers come from open311.settings (environment).
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
    app.config.from_mapping(environment_settings(os.environ))
    app.config["OPEN311_CONFIG"] = os.environ.get("OPEN311_CONFIG") or DEFAULT_CONFIG
    app.config["OPEN311_DATABASE_URL"] = (os.environ.get("OPEN311_DATABASE_URL")
                                          or default_database_url(app.instance_path))
    if test_config:
        app.config.update(test_config)
    apply_environment(app.config)
    registry: Mapping[str, Any] | None = {**_installed(), **adapters} if adapters is not None else None
    config = load_config(Path(app.config["OPEN311_CONFIG"]), registry)
    engine = make_engine(app.config["OPEN311_DATABASE_URL"])
    if app.config["OPEN311_CREATE_SCHEMA"]:
        create_schema(engine)
    http = make_http_session()
    from .geo import build_geo  # shapely and geopandas load only when an app is built

    geo = build_geo(config, http)
    app.extensions["open311"] = Gateway(
        config=config, engine=engine, sessions=make_session_factory(engine),
        adapters=build_adapters(config, registry, http), clock=app.config.get("OPEN311_CLOCK") or utcnow,
        geo=geo,
    )
    from . import georeport

    georeport.init_app(app)
    return app


def _installed() -> dict[str, Any]:
    """Installed adapter entry points, to be overridden by create_app(adapters=...)."""
    from .adapter import available_adapters

    return available_adapters()
