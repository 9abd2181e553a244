"""Error handlers: every failure becomes the spec's <errors> list, in the format the URL asked for."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from open311.core.i18n import gettext as _
from open311.core.i18n import lazy
from open311.errors import Open311Error
from open311.georeport.parsing import fmt_of
from open311.georeport.respond import error_response

log = logging.getLogger(__name__)

_MESSAGES = {
    404: lazy("Resource not found: the URL is not an Open311 resource here (formats are .xml and .json)."),
    405: lazy("Method not allowed for this resource."),
    413: lazy("The request body is too large."),
    400: lazy("The request could not be understood."),
}


def handle_open311_error(error: Open311Error) -> Response:
    """Render a use-case error; a class's default text (open311/errors.py) in the request's language."""
    descriptions = [_(d) if d == error.default else d for d in error.descriptions]
    return error_response(fmt_of(request.path), error.status, descriptions, error.headers)


def handle_http_exception(error: HTTPException) -> Response:
    """Render werkzeug's HTTP errors (404 route, 405 method, 413 size ...) spec-shaped, keeping Allow."""
    status = error.code or 500
    if status >= 500:
        return handle_unexpected(error)
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    description = _(_MESSAGES[status]) if status in _MESSAGES else error.description or error.name
    return error_response(fmt_of(request.path), status, [description], headers)


def handle_unexpected(error: BaseException) -> Response:
    """Last resort: log the failure (no request data) and answer with a spec-shaped 500."""
    original = getattr(error, "original_exception", None) or error
    # Frames only, never the exception's message: it may quote submitted (personal) data.
    frames = " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}"
                        for f in reversed(traceback.extract_tb(original.__traceback__)))
    log.error("unhandled %s on %s %s at %s", type(original).__name__, request.method, request.url_rule,
              frames or "?")
    return error_response(fmt_of(request.path), 500, [_("General service error: the request could not be processed.")])


def init_app(app: Flask) -> None:
    """Register the handlers (after flask-smorest's, so ours win)."""
    app.register_error_handler(Open311Error, handle_open311_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
