"""GET /media/<name>: the stored photos of requests, at unguessable URLs, with safe and long-lived headers."""

from __future__ import annotations

from dataclasses import replace

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from open311.errors import NotFound, ServiceUnavailable
from open311.georeport.app import current_services
from open311.georeport.http_cache import make_conditional
from open311.georeport.origin import public_root
from open311.media.store import NAME, MediaStoreError
from open311.media.uploads import MediaPolicy, served_photo

blp = Blueprint("media", __name__, url_prefix="/media",
                description="Photos sent with requests, re-encoded without metadata; the URLs are in media_url.")
MISSING = "No photo at this address."


def media_url_prefix() -> str:
    """Where stored photos are published: OPEN311_MEDIA_URL (by default OPEN311_PUBLIC_URL/media/, see
    open311.settings), else this gateway's own /media/ under the request's checked loopback root."""
    configured = str(current_app.config.get("OPEN311_MEDIA_URL") or "").strip()
    if configured:
        return configured if configured.endswith("/") else configured + "/"
    return public_root() + "/media/"


def served_media_policy(policy: MediaPolicy | None) -> MediaPolicy | None:
    """The photo policy of a POST: with this gateway's /media/ prefix when none is configured (it serves them)."""
    if policy is not None and not policy.url_prefix:
        return replace(policy, url_prefix=media_url_prefix())
    return policy


@blp.route("/<name>", parameters=[{"in": "path", "name": "name", "required": True,
                                   "description": "The photo's random name, as in media_url.",
                                   "schema": {"type": "string", "maxLength": 100}}])
class MediaFile(MethodView):
    """A stored photo."""

    @blp.doc(responses={"200": {"description": "The photo (image/jpeg or image/png).",
                                "content": {"image/jpeg": {}, "image/png": {}}},
                        "304": {"description": "Not modified (If-None-Match)."},
                        "404": {"description": MISSING}})
    def get(self, name: str) -> Response:
        """The photo, unless its request is hidden; cacheable for OPEN311_MEDIA_CACHE_SECONDS."""
        gateway = current_services()
        if not NAME.fullmatch(name) or gateway.media is None:
            raise NotFound(MISSING)
        with gateway.session() as session:
            found = served_photo(session, name)
        if found is None:
            raise NotFound(MISSING)
        try:
            data = gateway.media.get(name)
        except MediaStoreError:
            raise ServiceUnavailable("The photo cannot be read right now; try again shortly.",
                                     headers={"Retry-After": "30"}) from None
        if data is None:
            raise NotFound(MISSING)
        response = Response(data, content_type=found.content_type or "application/octet-stream")
        seconds = int(current_app.config.get("OPEN311_MEDIA_CACHE_SECONDS", 604800))
        response.headers.update({
            "Cache-Control": f"public, max-age={seconds}, immutable" if seconds else "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": f'inline; filename="{name}"',
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Access-Control-Allow-Origin": "*",
        })
        if found.sha256:
            response.set_etag(found.sha256)
        return make_conditional(response)
