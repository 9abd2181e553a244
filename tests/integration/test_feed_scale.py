"""The feed at 100,000 requests: paging while rows arrive sees each row once; list queries use indexes."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, insert, text, update

from open311.services import Services
from open311.storage.models import ServiceRequest, StatusUpdate
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.slow
ROWS = 100_000
CODES = ("DPW-GRAFFITI", "DRP-INOPERABLE")


def seed(gateway: Services, count: int, first_minute: int = 0) -> None:
    """`count` requests over the last ~70 days (inside the default window), codes and statuses mixed."""
    step = timedelta(days=70) / count
    with gateway.session() as s, s.begin():
        for chunk in range(0, count, 10_000):
            s.execute(insert(ServiceRequest), [
                {"jurisdiction_id": "lacounty.gov", "service_code": CODES[i % 2], "service_name": "x",
                 "department": "DPW", "agency_responsible": "Public Works", "status": "open" if i % 5 else "closed",
                 "requested_datetime": FIXED_NOW - step * (first_minute + i),
                 "updated_datetime": FIXED_NOW - step * (first_minute + i), "token": f"s{first_minute + i}",
                 "attributes": {}, "lat": 34.0 + (i % 100) / 1000, "long": -118.0}
                for i in range(chunk, min(chunk + 10_000, count))])
    with gateway.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def next_link(response: Any) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return found.group(1).removeprefix("http://localhost") if found else None


def test_paging_while_requests_and_updates_arrive(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, ROWS)
    with gateway.session() as s, s.begin():
        expected = {str(i) for (i,) in s.execute(text(
            "SELECT id FROM service_requests WHERE service_code = 'DPW-GRAFFITI'"))}
    rng = random.Random(7)
    seen: list[str] = []
    url: str | None = "/open311/v2/requests.json?service_code=DPW-GRAFFITI&page_size=1000"
    arrivals = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [r["service_request_id"] for r in json.loads(response.data)]
        url = next_link(response)
        # meanwhile: new requests arrive (newer than anything paged) and old ones change status
        with gateway.session() as s, s.begin():
            s.execute(insert(ServiceRequest), [
                {"jurisdiction_id": "lacounty.gov", "service_code": "DPW-GRAFFITI", "service_name": "x",
                 "department": "DPW", "status": "open", "updated_datetime": FIXED_NOW,
                 "requested_datetime": FIXED_NOW + timedelta(seconds=arrivals + k),
                 "token": f"new{arrivals + k}", "attributes": {}} for k in range(5)])
            changed = [rng.randint(1, ROWS) for _ in range(50)]
            s.execute(update(ServiceRequest).where(ServiceRequest.id.in_(changed))
                      .values(status="closed", updated_datetime=FIXED_NOW + timedelta(seconds=arrivals)))
            s.add_all(StatusUpdate(request_id=c, jurisdiction_id="lacounty.gov", department="DPW",
                                   update_id=f"c{arrivals}-{c}-{n}", status="closed",
                                   updated_datetime=FIXED_NOW, received_at=FIXED_NOW) for n, c in enumerate(changed))
        arrivals += 5
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert set(seen) == expected, "a row was missed"
    assert arrivals >= 50 * 5


@contextmanager
def captured_sql(gateway: Services) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app sends to the database inside the block, with its parameters."""
    found: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        found.append((statement, parameters))

    event.listen(gateway.engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(gateway.engine, "before_cursor_execute", record)


def plan_lines(gateway: Services, statement: str, parameters: Any) -> list[str]:
    """The query plan: SQLite's EXPLAIN QUERY PLAN details, or PostgreSQL's node types with relations (with
    sequential scans priced out, so a scan left in the plan means no index can serve it)."""
    raw = gateway.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if gateway.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return [row[3] for row in cursor.fetchall()]
        # Whether an index can serve the query: on a table of a few thousand rows the planner may rightly prefer
        # a sequential scan (it does for the notes of an extensions page), which says nothing about a million.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0]
        nodes: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            nodes.append(f"{node['Node Type']} {node.get('Relation Name', '')} {node.get('Index Name', '')}".strip())
            for child in node.get("Plans", []):
                walk(child)

        walk(plan[0]["Plan"])
        return nodes
    finally:
        raw.close()


LIST_QUERIES = [
    "requests.json",
    "requests.json?status=open",
    "requests.json?service_code=DRP-INOPERABLE&page=3&page_size=50",
    "requests.json?status=closed&page_size=50",
    "requests.json?updated_after=2026-03-09T00:00:00Z",
    "requests.json?start_date=2026-02-01&end_date=2026-02-03",
    "requests.json?lat=34.05&long=-118.0&radius=500&page_size=50",
    "servicerequestupdates.json?page_size=100",
    # issue 17's extensions: reporter_count (followers and requests closed as duplicates of each row), the SLA
    # filter, the public figures
    "requests.json?extensions=true&page_size=50",
    "requests.json?sla_state=on_track,breached&page_size=50",
    "stats.json",
]


def test_list_queries_use_indexes(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, ROWS)
    with gateway.session() as s, s.begin():
        s.add_all(StatusUpdate(request_id=i, jurisdiction_id="lacounty.gov", department="DPW", update_id=f"p{i}",
                               status="open",
                               updated_datetime=FIXED_NOW, received_at=FIXED_NOW) for i in range(1, 2001))
    with gateway.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    first = client.get("/open311/v2/requests.json?page_size=50")
    cursor_url = next_link(first)
    assert cursor_url
    for path in [*LIST_QUERIES, cursor_url.removeprefix("/open311/v2/")]:
        with captured_sql(gateway) as statements:
            assert client.get(f"/open311/v2/{path}").status_code == 200
        feed = [(sql, p) for sql, p in statements if "FROM service_requests" in sql or "FROM status_updates" in sql]
        assert feed, path
        for sql, parameters in feed:
            lines = plan_lines(gateway, sql, parameters)
            scans = [ln for ln in lines if re.match(r"(SCAN|Seq Scan) (service_requests|status_updates)\b", ln)
                     and "INDEX" not in ln]
            assert not scans, f"{path}: full table scan in {lines} for {sql}"
