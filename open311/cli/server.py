"""Running the app under gunicorn from the `open311 serve` command.

The app is built once in the gunicorn master (so configuration errors stop start-up before any
worker exists) and inherited by the forked workers. What must not be shared across a fork is
reset in `post_fork`: the database pool (each worker opens its own connections; a socket used by
two processes corrupts both), while the Redis client of the rate limiter notices the new pid and
reconnects by itself. Metrics are shared across workers through prometheus_client's multiprocess
files (open311.core.metrics).

Requests gunicorn refuses itself (request line or headers over the limits below, malformed headers) are
answered by the workers of open311.cli.refusals: the spec's error list, and a log line without the client's
address or the refused text.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from open311.cli.refusals import worker_class
from open311.core import metrics
from open311.core.logs import GunicornLogger
from open311.services import Services

log = logging.getLogger("open311.cli.server")

# gunicorn's largest request line (its default, 4,094, would refuse an id list long before the app's own
# caps: OPEN311_MAX_QUERY_VALUES, 1,000 service_request_id): beyond it, a 414 error list.
LIMIT_REQUEST_LINE = 8190
# gunicorn's defaults, stated so docs/deployment.md can name them: beyond them, a 431 error list.
LIMIT_REQUEST_FIELDS = 100
LIMIT_REQUEST_FIELD_SIZE = 8190


class GatewayServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application serving an already-built Flask app."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings (those this gunicorn version knows)."""
        for key, value in self.options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        """The WSGI app."""
        return self.application


def hooks(app: Flask, background: bool = False) -> dict[str, Any]:
    """gunicorn server hooks bound to this app; with `background`, the relay and sync run as threads inside
    the (single) worker: they start after the fork, so no thread or connection crosses it, and stop when the
    worker exits (the delivery in hand finishes; unattempted claims are released)."""
    from open311.delivery.workers import BackgroundWorkers

    gateway: Services = app.extensions["open311"]
    state: dict[str, BackgroundWorkers] = {}

    def post_fork(_server: Any, _worker: Any) -> None:
        # Forget (without closing: they belong to the master) connections inherited from the master.
        gateway.dispose(close=False)

    def post_worker_init(_worker: Any) -> None:
        if background:
            workers = BackgroundWorkers(gateway, gateway.policies.delivery, gateway.policies.sync)
            workers.start()
            state["workers"] = workers

    def worker_exit(_server: Any, _worker: Any) -> None:
        if "workers" in state:
            state.pop("workers").stop(timeout=15)

    def child_exit(_server: Any, worker: Any) -> None:
        metrics.forget_process(worker.pid)

    def when_ready(server: Any) -> None:
        for listener in server.LISTENERS:
            url = f"{listener}/open311/v2/"
            log.info("serving on %s", url, extra={"event": "ready", "url": url})

    return {"post_fork": post_fork, "post_worker_init": post_worker_init, "worker_exit": worker_exit,
            "child_exit": child_exit, "when_ready": when_ready}


def run(app: Flask, *, host: str, port: int, workers: int, threads: int, log_level: str = "info",
        background: bool = False) -> None:
    """Serve until SIGTERM/SIGINT (workers finish the requests in hand, up to graceful_timeout); with
    `background`, the relay and sync run inside the worker."""
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": "-",
               "errorlog": "-", "loglevel": log_level, "logger_class": GunicornLogger,
               "graceful_timeout": 20, "timeout": 60, "worker_class": worker_class(threads),
               "limit_request_line": LIMIT_REQUEST_LINE, "limit_request_fields": LIMIT_REQUEST_FIELDS,
               "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
               # gunicorn 27's runtime control socket sits at one path per user: two servers on a host
               # (or the test suite) would fight over it, and nothing here needs it.
               "control_socket_disable": True, **hooks(app, background)}
    GatewayServer(app, options).run()
