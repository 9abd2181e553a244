"""Running the app under gunicorn from the `open311 serve` command."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

# Path without the query string (it may carry api_key) and no client address.
ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class GatewayServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application serving an already-built Flask app."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """The WSGI app."""
        return self.application


def background_hooks(app: Flask) -> dict[str, Any]:
    """Gunicorn hooks running the relay and sync threads inside the (single) worker process.

    They start after the fork, so no thread or database connection crosses it, and stop when
    the worker exits (the delivery in hand finishes; unattempted claims are released).
    """
    from .tuning import DeliverySettings, SyncSettings
    from .workers import BackgroundWorkers

    state: dict[str, BackgroundWorkers] = {}

    def post_worker_init(worker: Any) -> None:
        # Connections pooled before the fork belong to the parent: never reuse them here.
        app.extensions["open311"].engine.dispose(close=False)
        workers = BackgroundWorkers(app.extensions["open311"], DeliverySettings.from_config(app.config),
                                    SyncSettings.from_config(app.config))
        workers.start()
        state["workers"] = workers

    def worker_exit(server: Any, worker: Any) -> None:
        if "workers" in state:
            state.pop("workers").stop(timeout=15)

    return {"post_worker_init": post_worker_init, "worker_exit": worker_exit}


def run(app: Flask, *, host: str, port: int, workers: int, threads: int, background: bool = False) -> None:
    """Serve until interrupted; with `background`, the relay and sync run inside the worker."""
    options: dict[str, Any] = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": "-",
                               "access_log_format": ACCESS_LOG_FORMAT, "graceful_timeout": 20, "timeout": 60}
    if background:
        options.update(background_hooks(app))
    GatewayServer(app, options).run()
