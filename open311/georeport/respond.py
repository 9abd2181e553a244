"""Building HTTP responses in the format the URL asked for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response

from open311.core.text import NOT_XML
from open311.georeport.render import CONTENT_TYPES, Many, render


def respond(fmt: str, root: str, document: Any, status: int = 200,
            headers: Mapping[str, str] | None = None) -> Response:
    """A response with the document rendered as XML or JSON and the spec's content type."""
    return raw_response(fmt, render(fmt, root, document), status, headers)


def raw_response(fmt: str, body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A response around bytes that are already rendered."""
    response = Response(body, status=status, content_type=CONTENT_TYPES[fmt])
    if headers:
        response.headers.update(headers)
    return response


def error_response(fmt: str, status: int, descriptions: tuple[str, ...] | list[str],
                   headers: Mapping[str, str] | None = None) -> Response:
    """The spec's error list (`code` equal to the HTTP status) in the requested format.

    Input is refused before it can hold characters XML cannot carry; descriptions may quote input,
    so they are scrubbed once more here and an error body is always well-formed.
    """
    errors = Many("error", [{"code": status, "description": NOT_XML.sub("\ufffd", d)} for d in descriptions])
    return respond(fmt, "errors", errors, status, headers)
