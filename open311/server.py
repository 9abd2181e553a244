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


def run(app: Flask, *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until interrupted."""
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": "-",
               "access_log_format": ACCESS_LOG_FORMAT, "graceful_timeout": 20, "timeout": 60}
    GatewayServer(app, options).run()
