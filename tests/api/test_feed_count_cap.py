"""The capped total of a paged feed, when asked (count=true): exact up to OPEN311_COUNT_CAP,
`X-Total-Count-At-Least` beyond it; without it (or OPEN311_COUNT_BY_DEFAULT=1) no count is run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event

from open311.feeds.request_query import BBox, RequestQuery, counted_in_feed_order, filtered
from open311.feeds.request_statements import count_capped
from open311.storage.db import reading
from tests.api.test_feed_paging import seed
from tests.conftest import FIXED_NOW
from tests.helpers import json_of

CAP = 5


@pytest.mark.parametrize(("rows", "total", "at_least"), [(3, "3", None), (5, "5", None), (6, None, "6"),
                                                         (9, None, "6")])
def test_headers_around_the_cap(make_app: Callable[..., Flask], rows: int, total: str | None,
                                at_least: str | None) -> None:
    app = make_app(OPEN311_COUNT_CAP=CAP)
    seed(app.extensions["open311"], rows)
    for query in ("page_size=2", "page_size=2&service_code=DPW-GRAFFITI&status=open,closed", "page_size=2&bbox="
                  "-118.1,33.9,-117.9,34.1", "page_size=2&updated_after=2026-03-01T00:00:00Z"):
        response = app.test_client().get(f"/open311/v2/requests.json?{query}&count=true")
        assert response.status_code == 200, query
        assert response.headers.get("X-Total-Count") == total, query
        assert response.headers.get("X-Total-Count-At-Least") == at_least, query


@pytest.mark.parametrize("by_default", [0, 1])
def test_the_total_is_counted_only_when_asked(make_app: Callable[..., Flask], by_default: int) -> None:
    app = make_app(OPEN311_COUNT_BY_DEFAULT=by_default)
    seed(app.extensions["open311"], 4)
    statements: list[str] = []
    engine = app.extensions["open311"].engine

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        plain = app.test_client().get("/open311/v2/requests.json?page_size=3")
        asked = app.test_client().get("/open311/v2/requests.json?page_size=3&count=true")
        refused = app.test_client().get("/open311/v2/requests.json?page_size=3&count=maybe")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert json_of(plain) == json_of(asked) and len(json_of(plain)) == 3
    assert asked.headers["X-Total-Count"] == "4" and asked.headers["X-Page-Count"] == "2"
    counts = [s for s in statements if s.lstrip().startswith("SELECT CASE")]
    if by_default:
        assert plain.headers["X-Total-Count"] == "4" and len(counts) == 2
    else:
        assert "X-Total-Count" not in plain.headers and "X-Page-Count" not in plain.headers
        assert "X-Total-Count-At-Least" not in plain.headers and len(counts) == 1
        assert 'rel="next"' in plain.headers["Link"]  # the next link needs no count
    assert refused.status_code == 400 and "count" in json_of(refused)[0]["description"]


@pytest.mark.parametrize("ordered", [True, False])
def test_count_capped_counts_at_most_cap_plus_one(make_app: Callable[..., Flask], ordered: bool) -> None:
    app = make_app()
    gateway = app.extensions["open311"]
    seed(gateway, 12)
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    stmt = filtered(jurisdiction, RequestQuery(), FIXED_NOW + timedelta(minutes=1))
    assert stmt is not None
    with gateway.session() as session, reading(session) as connection:
        assert [count_capped(connection, stmt, cap, ordered=ordered) for cap in (0, 1, 11, 12, 13, 100)] == \
            [1, 2, 12, 12, 12, 12]


def test_only_filters_an_index_gives_in_feed_order_are_counted_in_that_order() -> None:
    assert counted_in_feed_order(RequestQuery(service_codes=("DPW-GRAFFITI",), statuses=("open",)))
    assert not counted_in_feed_order(RequestQuery(updated_after=FIXED_NOW))
    assert not counted_in_feed_order(RequestQuery(bbox=BBox(-118.1, 33.9, -117.9, 34.1)))
