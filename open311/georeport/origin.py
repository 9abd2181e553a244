"""The gateway's public origin: which Host headers it answers, and the root of every URL it publishes.

With OPEN311_PUBLIC_URL every published or stored URL (discovery, paging links, photos) starts with it,
and only its host (plus OPEN311_ALLOWED_HOSTS) is accepted. Without it (the demo on loopback) only
loopback names are accepted, and URLs are built from the request, which then can only name this machine.
Any other Host gets the spec's 400 before any hook or view runs.

Flask's TRUSTED_HOSTS is not used: werkzeug 3.1 cuts a trusted name at its first colon, so it can
never match an IPv6 literal such as [::1]. The comparison below is the same otherwise (exact names,
a leading dot for subdomains, the port ignored) and runs on the host ProxyFix has already applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.sansio.utils import get_current_url

from open311.errors import BadRequest
from open311.georeport.sandbox import PREFIX, pinned
from open311.settings import allowed_hosts

LOOPBACK = ("localhost", ".localhost", "127.0.0.1", "::1")
UNTRUSTED = "The Host header does not name this gateway."


def trusted_names(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The host names accepted: the public URL's (else loopback names), then OPEN311_ALLOWED_HOSTS."""
    public = str(config.get("OPEN311_PUBLIC_URL") or "")
    own = (str(urlsplit(public).hostname),) if public else LOOPBACK
    return own + allowed_hosts(config)


def host_trusted(host: str, names: tuple[str, ...]) -> bool:
    """True when a Host value (name or [IPv6], optional port) is one of `names` (".x": any subdomain of x)."""
    try:
        name = urlsplit(f"//{host}").hostname if host and "/" not in host and "@" not in host else None
    except ValueError:  # an unbalanced bracket
        return False
    if not name:
        return False
    return any(name == ref or (ref.startswith(".") and name.endswith(ref)) for ref in names)


def check_host() -> None:
    """before_request, first of all: the spec's 400 for a Host this gateway does not answer to."""
    names: tuple[str, ...] = current_app.extensions["open311.trusted_hosts"]
    if not host_trusted(request.host, names):
        raise BadRequest(UNTRUSTED)


def public_root() -> str:
    """The root every published URL starts with, without a trailing slash: OPEN311_PUBLIC_URL, else this
    request's own root (its Host was checked to be a loopback or allowed name); under /sandbox/ it ends so."""
    public = str(current_app.config.get("OPEN311_PUBLIC_URL") or "").rstrip("/")
    if not public:
        return request.url_root.rstrip("/")
    return public + (PREFIX if pinned() else "")


def production_root() -> str:
    """public_root() without the sandbox's /sandbox (where the production API is, seen from either)."""
    root = public_root()
    return root.removesuffix(PREFIX) if pinned() else root


def public_request_url() -> str:
    """The current URL without its query string, under the public root."""
    public = str(current_app.config.get("OPEN311_PUBLIC_URL") or "")
    if not public:
        return request.base_url
    parts = urlsplit(public)  # werkzeug's own base_url, with the public origin and prefix in place of the request's
    root = parts.path.rstrip("/") + (PREFIX if pinned() else "")
    return get_current_url(parts.scheme, parts.netloc, root_path=root, path=request.path)


def init_app(app: Flask) -> None:
    """Check every request's Host first, and name the public URL as the OpenAPI document's server (call
    before any other before_request hook is registered, and before the Api is built)."""
    app.extensions["open311.trusted_hosts"] = trusted_names(app.config)
    app.before_request(check_host)
    public = str(app.config.get("OPEN311_PUBLIC_URL") or "")
    if public:  # Swagger UI and generated clients then call the public address, path prefix included
        app.config["API_SPEC_OPTIONS"] = {**app.config.get("API_SPEC_OPTIONS", {}), "servers": [{"url": public}]}
