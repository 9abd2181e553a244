"""Everything HTTP and GeoReport-specific: routes, parsing, rendering, errors."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from open311.georeport import errors, guard, parsing, response_cache
from open311.georeport.blueprint import blp


def init_app(app: Flask) -> Api:
    """Register the GeoReport routes, the OpenAPI document and the error handlers."""
    from open311.georeport import http_cache, lifecycle, locate, lookups, media_files, push, updates, views  # noqa: F401 - register routes and hooks on the blueprint

    app.request_class = parsing.GatewayRequest
    api = Api(app)
    api.register_blueprint(blp)
    api.register_blueprint(media_files.blp)
    errors.init_app(app)
    guard.init_app(app)
    response_cache.init_app(app)
    return api
