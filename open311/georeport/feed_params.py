"""GET requests' query parameters: the spec's filters and the extensions, every problem reported at once."""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from typing import Any

from flask import current_app, request

from open311.core.dates import parse_datetime
from open311.core.numbers import FROM_TO, number_in
from open311.errors import BadRequest
from open311.feeds.request_query import MAX_RESULTS, BBox, Cursor, Near, RequestQuery
from open311.georeport.parsing import param, param_list

STATUSES = ("open", "closed")
DEFAULT_RADIUS, MAX_RADIUS = 1000.0, 50_000.0
TRUE, FALSE = ("true", "1", "yes", "all"), ("false", "0", "no")


class Problems(list[str]):
    """Collects problem descriptions; raise_any() turns them into one 400."""

    def raise_any(self) -> None:
        """Raise BadRequest listing every problem, if there is any."""
        if self:
            raise BadRequest(*self)


def date_param(args: Any, name: str, tz: tzinfo, problems: Problems) -> datetime | None:
    raw = param(args, name) or ""
    try:
        return parse_datetime(raw, tz) if raw else None
    except ValueError:
        problems.append(f"{name} must be a W3C datetime such as 2026-01-01T00:00:00Z, got {raw[:40]!r}.")
        return None


def int_param(args: Any, name: str, low: int, high: int, problems: Problems) -> int | None:
    raw = param(args, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw[:12]) <= high:
        problems.append(f"{name} must be a whole number from {low} to {high}, got {raw[:40]!r}.")
        return None
    return int(raw)


def _near(args: Any, problems: Problems) -> Near | None:
    lat = number_in(param(args, "lat"), "lat", -90, 90, problems, wording=FROM_TO)
    lon = number_in(param(args, "long"), "long", -180, 180, problems, wording=FROM_TO)
    radius = number_in(param(args, "radius"), "radius", 1, MAX_RADIUS, problems, wording=FROM_TO)
    given = [param(args, n) is not None for n in ("lat", "long")]
    if any(given) and not all(given):
        problems.append("lat and long must be given together.")
    elif radius is not None and not all(given):
        problems.append("radius needs lat and long.")
    if lat is None or lon is None:
        return None
    return Near(lat, lon, radius if radius is not None else DEFAULT_RADIUS)


def _bbox(args: Any, problems: Problems) -> BBox | None:
    raw = param(args, "bbox")
    if raw is None:
        return None
    try:
        west, south, east, north = (float(p) for p in raw.split(","))
    except ValueError:
        west = south = east = north = math.nan
    valid = all(math.isfinite(v) for v in (west, south, east, north))
    if not valid or not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        problems.append("bbox must be west,south,east,north in degrees (west <= east, south <= north), "
                        f"got {raw[:80]!r}.")
        return None
    return BBox(west, south, east, north)


def flag(args: Any, name: str, problems: Problems) -> bool:
    """A boolean parameter: true/1/yes/all or false/0/no (absent or empty is false)."""
    raw = (param(args, name) or "false").lower()
    if raw not in TRUE + FALSE:
        problems.append(f"{name} must be true or false, got {raw[:20]!r}.")
    return raw in TRUE


def _paging(args: Any, problems: Problems) -> tuple[int | None, int, Cursor | None]:
    largest: int = current_app.config["OPEN311_MAX_PAGE_SIZE"]
    default = min(int(current_app.config["OPEN311_PAGE_SIZE"]), largest)
    page = int_param(args, "page", 0, 10_000_000, problems)
    size = int_param(args, "page_size", 1, largest, problems)
    if size is None:
        size = int_param(args, "per_page", 1, largest, problems)
    after_raw = param(args, "after")
    after = None
    if after_raw is not None:
        try:
            after = Cursor.decode(after_raw)
        except BadRequest as exc:
            problems.extend(exc.descriptions)
    if page is not None and after is not None:
        problems.append("page and after cannot be combined: after continues from a cursor.")
    if page == 0:
        page = 1  # Bloomington and others treat page=0 as the first page
    if page is None and size is not None and after is None:
        page = 1
    return page, size if size is not None else default, after


def request_query(tz: tzinfo) -> tuple[RequestQuery, bool]:
    """Parse GET requests' parameters; return the query and whether extensions were asked for."""
    args = request.args
    problems = Problems()
    statuses = tuple(s.lower() for s in param_list(args, "status"))
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        problems.append(f"status must be open or closed, got {', '.join(repr(b[:20]) for b in bad)}.")
    names = ("start_date", "end_date", "updated_after", "updated_before")
    dates = {n: date_param(args, n, tz, problems) for n in names}
    if dates["updated_after"] and dates["updated_before"] and dates["updated_after"] > dates["updated_before"]:
        problems.append("updated_before must not be before updated_after.")
    ids = param_list(args, "service_request_id")
    if len(ids) > MAX_RESULTS:
        problems.append(f"At most {MAX_RESULTS} service_request_id values may be given.")
    near, bbox = _near(args, problems), _bbox(args, problems)
    page, size, after = _paging(args, problems)
    extensions = flag(args, "extensions", problems)
    problems.raise_any()
    query = RequestQuery(service_request_ids=ids, service_codes=param_list(args, "service_code"),
                         statuses=statuses, start=dates["start_date"], end=dates["end_date"],
                         updated_after=dates["updated_after"], updated_before=dates["updated_before"],
                         near=near, bbox=bbox, page=page, page_size=size, after=after)
    return query, extensions
