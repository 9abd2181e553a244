"""GET requests' query parameters: the spec's filters and the extensions, every problem reported at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, TypeVar

from flask import current_app, request

from open311.core import params
from open311.core.numbers import FROM_TO, number_in
from open311.core.sla_clock import SLA_STATES
from open311.errors import BadRequest
from open311.feeds.request_query import MAX_RESULTS, BBox, Cursor, Near, RequestQuery
from open311.georeport.parsing import param, param_list

STATUSES = ("open", "closed")
DEFAULT_RADIUS, MAX_RADIUS = 1000.0, 50_000.0
T = TypeVar("T")


class Problems(list[str]):
    """Collects problem descriptions; raise_any() turns them into one 400."""

    def raise_any(self) -> None:
        """Raise BadRequest listing every problem, if there is any."""
        if self:
            raise BadRequest(*self)


def noted(problems: list[str], parse: Callable[..., T], *args: Any) -> T | None:
    """parse(*args), or None with its BadRequest's descriptions added to `problems`."""
    try:
        return parse(*args)
    except BadRequest as exc:
        problems.extend(exc.descriptions)
        return None


def date_param(args: Any, name: str, tz: tzinfo, problems: list[str]) -> datetime | None:
    """A W3C datetime parameter (open311.core.params.moment); None when absent or bad."""
    raw = param(args, name)
    return None if raw is None else noted(problems, params.moment, raw, name, tz)


def int_param(args: Any, name: str, low: int, high: int, problems: list[str]) -> int | None:
    """A whole-number parameter within [low, high] (open311.core.params.integer); None when absent or bad."""
    raw = param(args, name)
    return None if raw is None else noted(problems, params.integer, raw, name, low, high)


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
    values = [params.read_decimal(part) for part in raw.split(",")]
    box = [v for v in values if v is not None]
    if len(values) == 4 and len(box) == 4:
        west, south, east, north = box
        if -180 <= west <= east <= 180 and -90 <= south <= north <= 90:
            return BBox(west, south, east, north)
    problems.append("bbox must be west,south,east,north in degrees (west <= east, south <= north), "
                    f"got {raw[:80]!r}.")
    return None


def flag(args: Any, name: str, problems: Problems) -> bool:
    """A boolean parameter: true/1/yes/all or false/0/no (absent or empty is false)."""
    return bool(noted(problems, params.flag, param(args, name), name))


# The most rows a page may skip: the databases bind OFFSET as a 32-bit integer (PostgreSQL refuses more).
MAX_OFFSET = 2**31 - 1


def _paging(args: Any, problems: Problems) -> tuple[int | None, int, Cursor | None]:
    largest: int = current_app.config["OPEN311_MAX_PAGE_SIZE"]
    default = min(int(current_app.config["OPEN311_PAGE_SIZE"]), largest)
    page = int_param(args, "page", 0, 10_000_000, problems)
    size = int_param(args, "page_size", 1, largest, problems)
    if size is None:
        size = int_param(args, "per_page", 1, largest, problems)
    after_raw = param(args, "after")
    after = None if after_raw is None else noted(problems, Cursor.decode, after_raw)
    if page is not None and after is not None:
        problems.append("page and after cannot be combined: after continues from a cursor.")
    if page == 0:
        page = 1  # Bloomington and others treat page=0 as the first page
    if page is None and size is not None and after is None:
        page = 1
    size = size if size is not None else default
    if page is not None and (page - 1) * size > MAX_OFFSET:
        problems.append(f"page {page} of {size} skips more than {MAX_OFFSET:,} requests, the most a page can skip; "
                        "follow the after= cursors of the Link header instead.")
    return page, size, after


def request_query(tz: tzinfo) -> tuple[RequestQuery, bool]:
    """Parse GET requests' parameters; return the query and whether extensions were asked for."""
    args = request.args
    problems = Problems()
    statuses = noted(problems, params.choices, param_list(args, "status"), "status", STATUSES) or ()
    names = ("start_date", "end_date", "updated_after", "updated_before")
    dates = {n: date_param(args, n, tz, problems) for n in names}
    if dates["updated_after"] and dates["updated_before"] and dates["updated_after"] > dates["updated_before"]:
        problems.append("updated_before must not be before updated_after.")
    ids = param_list(args, "service_request_id")
    if len(ids) > MAX_RESULTS:
        problems.append(f"At most {MAX_RESULTS} service_request_id values may be given.")
    noted(problems, params.identifiers, ids)  # an absurd id is reported with the other problems
    near, bbox = _near(args, problems), _bbox(args, problems)
    page, size, after = _paging(args, problems)
    extensions = flag(args, "extensions", problems)
    count = flag(args, "count", problems) or bool(current_app.config["OPEN311_COUNT_BY_DEFAULT"])
    sla_states = noted(problems, params.choices, param_list(args, "sla_state"), "sla_state", SLA_STATES) or ()
    problems.raise_any()
    query = RequestQuery(service_request_ids=ids, service_codes=param_list(args, "service_code"),
                         statuses=statuses, start=dates["start_date"], end=dates["end_date"],
                         updated_after=dates["updated_after"], updated_before=dates["updated_before"],
                         near=near, bbox=bbox, page=page, page_size=size, after=after, sla_states=sla_states,
                         count=count)
    return query, extensions
