"""The bare baseline for bench/sizing.py: a WSGI app that answers a fixed small JSON body."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'[{"service_request_id":"1"}]'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer every request with the same bytes, touching nothing."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
