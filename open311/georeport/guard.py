"""Checks on every request before any view runs: path and query values XML can carry, bounded counts."""

from __future__ import annotations

from flask import Flask, current_app, request

from open311.errors import BadRequest
from open311.georeport.parsing import clean


def check_query_and_path() -> None:
    """Refuse non-XML characters in any query key or value or path segment, and oversized query strings."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            clean(value, name)
    limit: int = current_app.config["OPEN311_MAX_QUERY_VALUES"]
    per_name: dict[str, int] = {}
    for name, values in request.args.lists():
        clean(name, "query parameter name")
        for value in values:
            clean(value, name)
            # A comma list counts by its items: that is what list parameters expand to.
            per_name[name] = per_name.get(name, 0) + 1 + value.count(",")
    if sum(per_name.values()) > limit:
        largest = max(per_name, key=lambda n: per_name[n])
        raise BadRequest(f"The query string holds more than {limit} values "
                         f"({largest[:64]} holds {per_name[largest]}).")


def init_app(app: Flask) -> None:
    """Run the checks before every request of the app (Open311 routes and the OpenAPI document alike)."""
    app.before_request(check_query_and_path)
