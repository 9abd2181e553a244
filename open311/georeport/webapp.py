"""The resident web app (the `webapp/` folder): its page, scripts and runtime settings, served at `/`.

The app itself talks only to the public API under /open311/v2/. Its third-party code (Leaflet) comes
from `webapp/node_modules`, installed by npm from the committed lock file (`make webapp`); without it
the app still works, with no map.
"""

from __future__ import annotations

import json
import mimetypes
import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy.orm import Session
from werkzeug.security import safe_join

from open311.errors import NotFound
from open311.georeport import webapp_texts
from open311.georeport.app import current_services
from open311.georeport.http_cache import make_conditional
from open311.georeport.sandbox import pinned
from open311.intake.keys import create_key, find_key
from open311.services import Services

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "webapp"
KEY_FILE = "webapp-api-key"
KEY_NAME = "webapp"
KEY_RATE_LIMIT = "600/minute"   # every resident's browser shares it; the per-address limit still applies
# Vendor folders the page may load, each an npm package's distribution folder.
VENDOR = {"leaflet": Path("node_modules/leaflet/dist")}
bp = Blueprint("webapp", __name__)


def enabled(app: Flask) -> bool:
    """False when the operator turned the web app off (OPEN311_WEBAPP=false)."""
    return str(app.config.get("OPEN311_WEBAPP", "true")).strip().lower() not in ("0", "false", "no", "off")


def _folder() -> Path:
    return Path(current_app.config.get("OPEN311_WEBAPP_DIR") or DEFAULT_DIR)


def tile_origin(template: str) -> str | None:
    """The origin of the tile URL template for the Content-Security-Policy (`{s}` subdomains as `*`)."""
    parts = urlsplit(template.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = template.split("://", 1)[1].split("/", 1)[0].replace("{s}", "*")
    return f"{parts.scheme}://{host}"


def _secure(response: Response) -> Response:
    """A strict policy: only our own scripts, connections only to this gateway, images also from tiles."""
    tiles = tile_origin(str(current_app.config.get("OPEN311_WEBAPP_TILE_URL") or ""))
    images = " ".join(filter(None, ("'self' data: blob:", tiles)))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src {images}; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "geolocation=(self), camera=(self)"
    return response


def _send(folder: Path, name: str) -> Response:
    """A file of the app, revalidated on every use (the file names carry no version).

    Read whole (the files are small): no file handle outlives the request, whoever reads the answer.
    """
    found = safe_join(str(folder), name)
    if found is None or not Path(found).is_file():
        raise NotFound(f"{name[:64]} is not part of the web app.")
    kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
    response = Response(Path(found).read_bytes(), mimetype=kind)
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return _secure(make_conditional(response))


@bp.get("/")
def index() -> Response:
    """The single page: Request, Status and Locate."""
    return _send(_folder() / "public", "index.html")


@bp.get("/assets/i18n/<locale>.json")
def interface_texts(locale: str) -> Response:
    """A language's interface texts: en.json as written, any other built from its gettext catalog
    (webapp/locale/<locale>/LC_MESSAGES/webapp.po; open311/georeport/webapp_texts.py)."""
    public = _folder() / "public"
    if locale == "en":
        return _send(public, "i18n/en.json")
    texts = webapp_texts.interface(public, _folder() / "locale", locale)
    if texts is None:
        raise NotFound(f"The web app has no texts in {locale[:20]!r}.")
    response = Response(json.dumps(texts, ensure_ascii=False), mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return _secure(make_conditional(response))


@bp.get("/assets/<path:name>")
def asset(name: str) -> Response:
    """The app's own scripts, styles and interface texts."""
    return _send(_folder() / "public", name)


@bp.get("/vendor/<package>/<path:name>")
def vendor(package: str, name: str) -> Response:
    """Third-party code installed by npm (404 until `make webapp` has run: the page works without it)."""
    if package not in VENDOR:
        raise NotFound(f"{package[:64]} is not a vendor package of the web app.")
    return _send(_folder() / VENDOR[package], name)


def _bounds(gateway: Services, jurisdiction: Any) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the jurisdiction's outline (or places), for the map's first view."""
    areas = gateway.areas(jurisdiction)
    index = areas and (areas.boundary or areas.places)
    if not index or not len(index.geoms):
        return None
    import shapely

    west, south, east, north = (round(float(b), 5) for b in shapely.total_bounds(index.geoms))
    return [[south, west], [north, east]]


@bp.get("/config.json")
def settings() -> Response:
    """What the page needs to know about this gateway: the API, its key, the map settings and the notice channels
    (`notices`: the configured ones, so the page offers only what a POST may ask for in `notify`)."""
    config = current_app.config
    gateway = current_services()
    jurisdiction = gateway.jurisdiction(config.get("OPEN311_WEBAPP_JURISDICTION") or
                                        (None if gateway.config.single else next(iter(gateway.config.jurisdictions))))
    response = jsonify(
        api="open311/v2/", jurisdiction_id=jurisdiction.id, jurisdiction_name=jurisdiction.name,
        api_key=config.get("OPEN311_WEBAPP_API_KEY") or None, api_key_required=jurisdiction.api_key_required,
        locales=list(jurisdiction.catalog.locales), bounds=_bounds(gateway, jurisdiction),
        # the jurisdiction's own texts (its name, departments, referrals) per language: English -> translated
        texts={locale: dict(found) for locale, found in jurisdiction.catalog.texts.items()},
        tile_url=config.get("OPEN311_WEBAPP_TILE_URL") or None,
        tile_attribution=config.get("OPEN311_WEBAPP_TILE_ATTRIBUTION") or None,
        notices=sorted(gateway.notifiers),
    )
    response.headers["Cache-Control"] = "no-cache"
    return _secure(response)


@bp.before_request
def _not_in_the_sandbox() -> None:
    """The web app is the production jurisdiction's: under /sandbox/ only the API is served."""
    if pinned():
        raise NotFound("The sandbox serves the API only: /sandbox/open311/v2/ (docs/api.md#sandbox).")


def init_app(app: Flask) -> None:
    """Serve the web app at / unless it is turned off (its settings come from open311/settings.py)."""
    if enabled(app):
        app.register_blueprint(bp)


def _usable(session: Session, jurisdiction_id: str, key: str) -> bool:
    """True when a stored key is still active for the jurisdiction."""
    row = find_key(session, key)
    return row is not None and row.revoked_at is None and row.jurisdiction_id == jurisdiction_id \
        and row.department is None


def ensure_key(gateway: Services, jurisdiction_id: str, folder: Path) -> str:
    """The web app's API key, kept in `folder/webapp-api-key`; created (or replaced once revoked) on demand.

    The key is public by nature (every browser receives it): the per-address rate limit, duplicate
    detection and revocation are what protect the API, as for any app key.
    """
    path = folder / KEY_FILE
    key = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    with gateway.session() as session:
        if key and _usable(session, jurisdiction_id, key):
            return key
        _, key = create_key(session, jurisdiction_id, KEY_NAME, gateway.clock(), rate_limit=KEY_RATE_LIMIT)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key
