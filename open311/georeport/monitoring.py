"""Operations routes and hooks: /healthz, /readyz, /metrics, and per-request metrics.

/healthz and /readyz answer plain JSON (they are for load balancers and orchestrators, not Open311
clients); /metrics answers the Prometheus text format.
"""

from __future__ import annotations

import time
from typing import Any

from alembic.script import ScriptDirectory
from flask import Flask, Response, current_app, g, jsonify, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from open311.core import metrics
from open311.core.logs import ROUTE_KEY
from open311.delivery.gauges import OutboxCollector
from open311.georeport.app import current_services
from open311.services import Services
from open311.storage.schema import alembic_config, current_heads

blp = Blueprint("monitoring", __name__, description="Liveness, readiness and Prometheus metrics for operators.")


@blp.route("/healthz")
class Health(MethodView):
    """Liveness."""

    def get(self) -> Response:
        """The process answers (no database access): restart it when this fails."""
        return jsonify(status="ok")


def expected_heads(gateway: Services) -> tuple[str, ...]:
    """The migration heads this code expects (read from the migration scripts once)."""
    if gateway.caches.schema_heads is None:
        scripts = ScriptDirectory.from_config(alembic_config(gateway.engine))
        gateway.caches.schema_heads = tuple(sorted(scripts.get_heads()))
    return gateway.caches.schema_heads


def _reachable(engine: Engine) -> str:
    """"ok", or why not (the exception type only: the driver's message may name hosts)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _check_database(gateway: Services) -> tuple[dict[str, str], bool]:
    """Connectivity (primary and feed replica) and the primary's schema revision."""
    checks = {"database": _reachable(gateway.engine), "schema": "unknown"}
    if gateway.feed_engine is not None:
        checks["feed_database"] = _reachable(gateway.feed_engine)
    if checks["database"] != "ok":
        return checks, False
    found, wanted = current_heads(gateway.engine), expected_heads(gateway)
    if tuple(sorted(found)) != wanted:
        checks["schema"] = f"at {', '.join(found) or 'empty'}, expected {', '.join(wanted)}: run open311 db upgrade"
        return checks, False
    checks["schema"] = ", ".join(wanted)
    return checks, checks.get("feed_database", "ok") == "ok"


def _spatial_index(gateway: Services) -> str:
    """Which index serves bbox and radius feeds (informational: the B-tree path still answers without one)."""
    from open311.storage.spatial import spatial_index

    with gateway.engine.connect() as connection:
        return spatial_index(connection).describe()


def _check_area_layers(gateway: Services) -> dict[str, dict[str, Any]]:
    """Synced GIS layers by `jurisdiction/layer`: live version, age, max_age (fails past it), pending version."""
    from open311.gis.versions import layer_ages

    found: dict[str, dict[str, Any]] = {}
    for jurisdiction in gateway.config.jurisdictions.values():
        synced = jurisdiction.gis.synced() if jurisdiction.gis is not None else {}
        if not synced or jurisdiction.sandbox_of is not None:   # a sandbox has its production's layers
            continue
        with gateway.session() as session, session.begin():
            ages = layer_ages(session, jurisdiction.id, {k: s.max_age for k, s in synced.items()}, gateway.clock())
        found.update({f"{jurisdiction.id}/{layer}": entry for layer, entry in ages.items()})
    return found


def _check_rate_limit_storage() -> str:
    """The rate-limit counters' storage; when down, limits are counted per process (not fatal)."""
    limiter = current_app.extensions.get("open311.limiter")
    if limiter is None or not limiter.enabled:
        return "disabled"
    try:
        healthy = limiter.storage.check()
    except Exception:  # a storage client raising instead of answering False
        healthy = False
    return "ok" if healthy else "unreachable (counting in process memory)"


@blp.route("/readyz")
class Readiness(MethodView):
    """Readiness."""

    def get(self) -> Response:
        """200 when the database answers, its schema is at this code's migration head and every GIS layer synced
        from ArcGIS has a live version read within its max_age; else 503."""
        gateway = current_services()
        found, ready = _check_database(gateway)
        checks: dict[str, Any] = {**found, "rate_limit_storage": _check_rate_limit_storage()}
        if found.get("database") == "ok":
            checks["spatial_index"] = _spatial_index(gateway)
        if ready and (layers := _check_area_layers(gateway)):
            checks["area_layers"] = layers
            ready = all(entry["status"] == "ok" for entry in layers.values())
        response = jsonify(status="ready" if ready else "unavailable", checks=checks)
        response.status_code = 200 if ready else 503
        return response


@blp.route("/metrics")
class Metrics(MethodView):
    """Prometheus metrics."""

    def get(self) -> Response:
        """Requests by route and status, deliveries, syncs, and the outbox read from the database."""
        gateway = current_services()
        body = metrics.exposition([OutboxCollector.for_gateway(gateway)])
        return Response(body, content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.open311_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    """Count the request under its URL rule (unmatched paths share one label: no raw paths, no query)."""
    started: float | None = g.get("open311_started")
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    request.environ[ROUTE_KEY] = rule  # for gunicorn's access line
    elapsed = time.perf_counter() - started if started is not None else 0.0
    metrics.record_request(rule, request.method, response.status_code, elapsed)
    return response


def init_app(app: Flask, api: Api) -> None:
    """Register the routes and the request-counting hooks."""
    api.register_blueprint(blp)
    app.before_request(_start_timer)
    app.after_request(_count_request)
