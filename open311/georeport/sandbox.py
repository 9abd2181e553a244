"""The sandbox endpoint: /sandbox/open311/v2/... is the API of the sandbox jurisdiction (docs/api.md#sandbox).

A WSGI middleware moves `/sandbox` from the path to the script root (so every link the app builds keeps it) and
pins the request to the sandbox jurisdiction: any jurisdiction_id in the query is replaced by the sandbox's, and a
POST's jurisdiction_id is ignored (`jurisdiction_of`), so nothing sent to the sandbox can reach production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, request

from open311.config.jurisdictions import Jurisdiction
from open311.georeport.parsing import param
from open311.services import Services

PREFIX = "/sandbox"
PINNED = "open311.sandbox"   # the WSGI environ key holding the sandbox's jurisdiction id


class SandboxPrefix:
    """Serve the sandbox jurisdiction's API under PREFIX (WSGI middleware)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], jurisdiction_id: str) -> None:
        self.app = app
        self.jurisdiction_id = jurisdiction_id

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Strip the prefix and pin the jurisdiction, or pass the request on untouched."""
        path = environ.get("PATH_INFO", "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX
            environ["PATH_INFO"] = path[len(PREFIX):] or "/"
            kept = [part for part in environ.get("QUERY_STRING", "").split("&")   # jurisdiction%5Fid too
                    if part and unquote_plus(part.split("=", 1)[0]).strip() != "jurisdiction_id"]
            environ["QUERY_STRING"] = "&".join([*kept, f"jurisdiction_id={self.jurisdiction_id}"])
            environ[PINNED] = self.jurisdiction_id
        return self.app(environ, start_response)


def pinned() -> str | None:
    """The sandbox's jurisdiction id when this request came in under /sandbox/, else None."""
    found = request.environ.get(PINNED)
    return str(found) if found else None


def jurisdiction_of(gateway: Services, fields: Mapping[str, Any] | None = None) -> Jurisdiction:
    """The jurisdiction a POST is for: the sandbox under /sandbox/ (whatever the body says), else the body's
    jurisdiction_id, then the query's (optional with one production jurisdiction)."""
    found = pinned()
    if found is not None:
        return gateway.jurisdiction(found)
    named = param(fields, "jurisdiction_id") if fields is not None else None
    return gateway.jurisdiction(named or param(request.args, "jurisdiction_id"))


def init_app(app: Flask, gateway: Services) -> None:
    """Serve the sandbox of the production jurisdiction under /sandbox/ when the configuration has one."""
    single = gateway.config.single
    sandbox = gateway.config.sandbox_for(single.id) if single is not None else None
    if sandbox is not None:
        app.wsgi_app = SandboxPrefix(app.wsgi_app, sandbox.id)  # type: ignore[method-assign]
