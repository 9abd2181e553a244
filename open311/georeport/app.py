"""The Flask app over built services: settings into app.config, blueprints, hooks, limits, the web app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from inspect import iscoroutinefunction
from typing import Any

from flask import Flask, current_app
from werkzeug.middleware.proxy_fix import ProxyFix

from open311.services import Services

# Fixed Flask and OpenAPI settings; every operator setting (environment OPEN311_*) is in open311/settings.py.
DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Open311 GeoReport v2 gateway",
    "API_VERSION": "v2",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
}  # the docs page (/docs) is georeport/apidocs.py: Swagger UI served from our own files


class GatewayFlask(Flask):
    """Flask, with ensure_sync's answer kept per function.

    Flask asks inspect whether each hook and view is a coroutine function on every request (a dozen times per
    request here, costing more than most of the hooks themselves); the answer never changes. Bound methods are
    keyed by their function, since a view instance is made per request. ensure_sync is documented as the method
    to override for how functions are run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine: dict[Any, bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Plain functions as they are, `async def` ones wrapped (as Flask's own)."""
        key = getattr(func, "__func__", func)
        coroutine = self._coroutine.get(key)
        if coroutine is None:
            coroutine = self._coroutine[key] = iscoroutinefunction(func)
        return self.async_to_sync(func) if coroutine else func


def build_app(services: Services, test_config: Mapping[str, Any] | None = None) -> Flask:
    """The app: the services in app.extensions["open311"], the settings in app.config, routes registered."""
    from open311.georeport import (
        apidocs,
        init_app,
        languages,
        monitoring,
        open_data,
        origin,
        ratelimits,
        sandbox,
        staff,
        status,
        webapp,
    )

    app = GatewayFlask("open311", instance_path=str(services.instance_path), instance_relative_config=True)
    # `//services.json` is a 404 error list like any unknown path, not werkzeug's HTML 308 to the merged URL.
    app.url_map.merge_slashes = False
    app.config.from_mapping(DEFAULTS)
    app.config.update(test_config or {})
    app.config.update(services.settings)
    app.extensions["open311"] = services
    origin.init_app(app)  # the Host check runs before every other hook
    languages.init_app(app)
    sandbox.init_app(app, services)   # /sandbox/...: under the response cache (its keys keep the prefix) and ProxyFix
    api = init_app(app)
    monitoring.init_app(app, api)
    ratelimits.init_app(app)
    webapp.init_app(app)
    staff.init_app(app)
    status.init_app(app)
    apidocs.init_app(app)
    open_data.init_app(app)
    hops = services.settings["OPEN311_PROXY_HOPS"]
    if hops:  # behind N trusted proxies: client address and scheme come from their X-Forwarded-* headers
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    return app


def current_services() -> Services:
    """The services of the current Flask app."""
    services: Services = current_app.extensions["open311"]
    return services
