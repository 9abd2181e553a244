"""Newest-first pages of a box or circle through the spatial index, read one slab of days at a time.

The spatial index holds each request at (lat, long, day requested) (open311.storage.spatial). A page wants the
newest `p_limit` matches after its offset. Reading every point of the box since the window began grows with the
table; walking the feed's date order and testing each row's place grows with the table divided by the box's
share of it. Instead the page is read from a thin slab of time ending at the newest moment the query allows;
when the slab holds fewer matches than the page needs it is widened (by how far it fell short, 2 to 64 times)
and the slab below it is read for the rest of the page. Every match inside a slab is newer than every match below
it, so the slabs' matches in turn give exactly the page the whole window would, and each is read once. A page at
an offset (page=) cannot tell how many matches its offset skipped in a slab, so it reads from the top again,
wider. A slab thus holds one to a few pages of matches whether the table holds ten thousand requests or a
million: the cost follows the page, not the table (docs/benchmarks.md, B6).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select

from open311.feeds.request_statements import Shape
from open311.storage.spatial import day_number, plan_for_values

FIRST_SLAB = timedelta(hours=1)
GROWTH = (2.0, 64.0)            # least and most a slab read again from the top (an offset page) widens by
# The slabs read below the last one widen to expect AIM_BELOW times the page's matches at the density seen so far:
# rows read are kept, so falling short costs one more read, while every candidate beyond the page is looked up,
# tested and sorted for nothing (B6 at 1M rows, SQLite, 2 km radius: 0.7 ms aiming at 1.1, 1.2 at 2, 3.5 at 4).
AIM_BELOW = 1.1
LEAST_BELOW = 1.5               # but by half the width read so far at least: a read costs more than a few rows
UNPAGED_GROWTH = 4.0            # when an offset page came back empty (how many matches it skipped is unknown)
EDGE = 1e-6                     # days (~0.1 s) added outside a slab's edges: both sides compute day numbers
UNBOUNDED = 1e30                # a day number beyond any stored one (32-bit floats go to 3.4e38)
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
STEP = timedelta(microseconds=1)   # moments are stored to the microsecond: t <= end exactly when t < end + STEP


def slab(low: datetime | None, below: datetime | None) -> dict[str, Any]:
    """Bind values of the slab [low, below) (None: unbounded): the index's day range and the exact edges."""
    return {"s_from": low or EARLIEST, "s_to": below or LATEST,
            "s_day_low": day_number(low) - EDGE if low else -UNBOUNDED,
            "s_day_high": day_number(below) + EDGE if below else UNBOUNDED}


def window_slab(shape: Shape, params: dict[str, Any]) -> dict[str, Any]:
    """The slab of the whole date window (what a count reads), or an unbounded one without a window."""
    if shape.span:
        return slab(params["f_start"], params["f_end"] + STEP)
    return slab(None, None)


def spatial_page(connection: Connection, statement: Select[Any], params: dict[str, Any], shape: Shape,
                 now: datetime) -> list[Any]:
    """Run a page statement of a spatial shape slab by slab (see the module) and return its rows."""
    floor: datetime | None = params["f_start"] if shape.span else None
    ceiling: datetime | None = params["f_end"] if shape.span else None
    if "p_requested" in params:   # after a cursor: nothing newer than it can be on the page
        ceiling = min(ceiling, params["p_requested"]) if ceiling else params["p_requested"]
    plan_for_values(connection)
    limit, offset = int(params["p_limit"]), int(params.get("p_offset") or 0)
    top, width = ceiling or now, FIRST_SLAB
    reach = top - (floor or EARLIEST)   # the widest slab the query allows
    below = ceiling + STEP if ceiling else None   # the upper edge of the slab read next (excluded)
    rows: list[Any] = []
    while True:
        last = width >= reach
        low = floor if last else top - width
        if offset:   # the page skips matches: read from the ceiling down again, wider (see the module)
            rows = list(connection.execute(statement, {**params, **slab(low, below)}).all())
            found = offset + len(rows)
        else:        # the matches of the slab below the last one follow those already read
            rows += connection.execute(statement, {**params, "p_limit": limit - len(rows), **slab(low, below)}).all()
            below, found = low, len(rows)
        if last or len(rows) >= limit:
            return rows
        if not offset:   # the slabs so far held `found` matches: widen to expect AIM_BELOW times the page
            width *= min(GROWTH[1], max(LEAST_BELOW, AIM_BELOW * limit / max(found, 1)))
        elif rows:       # the same, reading from the top again
            width *= min(GROWTH[1], max(GROWTH[0], 2 * (offset + limit) / found))
        else:
            width *= UNPAGED_GROWTH
