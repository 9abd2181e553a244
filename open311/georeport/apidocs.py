"""The API docs page at /docs: Swagger UI served by the gateway itself, so it works with no internet.

Swagger UI's files come from the pinned `flask-swagger-ui` package (its `dist` folder is Swagger UI's
own distribution, unmodified); the page and its start script are ours, so the page runs under a strict
Content-Security-Policy (no inline script, connections only to this gateway). The assets live under a
path that names their version, so browsers may keep them for a year.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from flask import Blueprint, Flask, Response, current_app, request, url_for
from markupsafe import escape

from open311.errors import NotFound

DOCS_PATH = "/docs"
# The Swagger UI files the page loads, with their content types.
SWAGGER_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# Ours: start Swagger UI on the OpenAPI document named by the page (no validator badge: it calls out).
START_SCRIPT = b"""window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: root.dataset.specUrl, dom_id: "#swagger-ui", validatorUrl: null,
                               deepLinking: true});
});
"""
START_NAME = "docs.js"
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
YEAR = 365 * 24 * 3600
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec}"></div>
<noscript>This page needs JavaScript; the OpenAPI document itself is at <a href="{spec}">{spec}</a>.</noscript>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/{start}"></script>
</body>
</html>
"""
bp = Blueprint("apidocs", __name__)


def _dist() -> Traversable:
    return files("flask_swagger_ui") / "dist"


@cache
def version() -> str:
    """The asset path's version: Swagger UI's version and a digest of our start script."""
    swagger = _dist().joinpath("VERSION").read_text(encoding="utf-8").strip().lstrip("v")
    return f"{swagger}-{hashlib.sha256(START_SCRIPT).hexdigest()[:10]}"


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.get(DOCS_PATH)
def page() -> Response:
    """The Swagger UI page over /openapi.json, revalidated on every use."""
    assets = f"{url_for('apidocs.page')}/assets/{version()}"
    html = PAGE.format(title=escape(current_app.config.get("API_TITLE", "API")), assets=escape(assets),
                       spec=escape(url_for("api-docs.openapi_json")), start=START_NAME)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)
    return _secure(response)


@bp.get(f"{DOCS_PATH}/assets/<token>/<name>")
def asset(token: str, name: str) -> Response:
    """One of the page's files; the version in the path lets browsers keep it for a year."""
    if token != version() or (name not in SWAGGER_FILES and name != START_NAME):
        raise NotFound(f"{name[:64]} is not a file of the API docs page.")
    if name == START_NAME:
        body, kind = START_SCRIPT, "text/javascript; charset=utf-8"
    else:
        body, kind = _dist().joinpath(name).read_bytes(), SWAGGER_FILES[name]
    response = Response(body, content_type=kind)
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.add_etag()
    response.make_conditional(request)
    return _secure(response)


def init_app(app: Flask) -> None:
    """Serve the docs page and its files."""
    app.register_blueprint(bp)
