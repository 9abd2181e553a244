"""HTTP caching, CORS and JSONP for every GET: ETag/Last-Modified with 304, Cache-Control, callback=."""

from __future__ import annotations

import re

from flask import Response, request
from werkzeug.http import http_date

from open311.errors import BadRequest
from open311.georeport.blueprint import blp
from open311.georeport.parsing import fmt_of
from open311.georeport.respond import error_response

# A JavaScript identifier path such as `cb` or `app.handlers.cb`: nothing that could inject script.
# ASCII only (re.ASCII: \w would take any Unicode letter or digit, "A¹" included); fullmatch: no trailing newline.
JSONP_CALLBACK = re.compile(r"[A-Za-z_$][\w$]{0,63}(?:\.[A-Za-z_$][\w$]{0,63}){0,4}", re.ASCII)
EXPOSED = "Link, ETag, Last-Modified, X-Total-Count, X-Total-Count-At-Least, X-Page, X-Page-Size, X-Page-Count, " \
          "X-Next-Page-URL, X-Previous-Page-URL, X-Next-Cursor"
CATALOG_MAX_AGE = 300
# The request headers make_conditional compares (Range is not served: accept_ranges stays off).
_VALIDATORS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH")
_CATALOG = re.compile(r"/(discovery|services?)(/[^/]+)?\.[a-z]+$")
PRECONDITION_FAILED = "Precondition failed: If-Match names no current version of this resource (see its ETag)."
# What a 412 keeps of the document's headers: its current validator, and what lets a browser read it.
_KEPT_ON_412 = ("ETag", "Last-Modified", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers")


def _is_json_get() -> bool:
    return request.method in ("GET", "HEAD") and request.path.endswith(".json")


@blp.before_request
def check_callback() -> None:
    """Refuse a JSONP callback name that is not a plain identifier path (before the view runs)."""
    callback = request.args.get("callback")
    if callback is not None and _is_json_get() and not JSONP_CALLBACK.fullmatch(callback):
        raise BadRequest("callback must be a JavaScript identifier such as handleRequests (letters, digits, _, $, .).")


def _wrap_jsonp(response: Response, callback: str) -> None:
    """JSONP: the JSON body as the argument of callback(); the leading comment defuses content sniffing."""
    body = response.get_data()
    response.set_data(b"/**/" + callback.encode() + b"(" + body + b");")
    response.content_type = "application/javascript; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"


def make_conditional(response: Response) -> Response:
    """werkzeug's make_conditional (304, 412), but a failed If-Match is the spec's error list, not the document."""
    environ = request.environ
    if request.if_match.star_tag:  # `*` holds for any current representation (RFC 9110 13.1.1): werkzeug
        environ = {k: v for k, v in environ.items() if k != "HTTP_IF_MATCH"}  # would read it as a mismatch
    response.make_conditional(environ)
    return _precondition_failed(response) if response.status_code == 412 else response


def _precondition_failed(document: Response) -> Response:
    """A failed If-Match: the spec's error list (never the document), with the current validators."""
    kept = {name: document.headers[name] for name in _KEPT_ON_412 if name in document.headers}
    return error_response(fmt_of(request.path), 412, [PRECONDITION_FAILED], kept)


@blp.after_request
def finish_get(response: Response) -> Response:
    """Add CORS, Cache-Control, JSONP wrapping and validators; answer 304 when the client's copy is current."""
    if request.method not in ("GET", "HEAD"):
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    callback = request.args.get("callback")
    if callback and _is_json_get() and JSONP_CALLBACK.fullmatch(callback) and not response.direct_passthrough:
        _wrap_jsonp(response, callback)
    if response.status_code != 200:
        return response
    if "Cache-Control" not in response.headers:
        catalog = _CATALOG.search(request.path)
        response.headers["Cache-Control"] = (f"public, max-age={CATALOG_MAX_AGE}" if catalog
                                             else "public, no-cache")
    if "ETag" not in response.headers:
        response.add_etag()
    if any(name in request.environ for name in _VALIDATORS):
        return make_conditional(response)
    # What make_conditional does when no validator is sent (it answers 200), without parsing our own headers.
    if "Date" not in response.headers:
        response.headers["Date"] = http_date()
    if response.automatically_set_content_length and "Content-Length" not in response.headers:
        length = response.calculate_content_length()
        if length is not None:
            response.headers["Content-Length"] = str(length)
    return response
