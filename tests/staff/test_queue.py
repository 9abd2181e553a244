"""The queue: only tickets the relay delivered, the filters staff use (status, service, SLA state, area,
assignment), order by age, pages, and unknown filter values reported on the page, never a 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from open311.services import Services
from open311.staff.queue import PAGE_SIZE
from open311.storage.models import ServiceRequest, StaffAssignment
from tests.conftest import Clock
from tests.delivery import seed_requests
from tests.staff.helpers import deliver_all, login, make_account, staff_config

ROW = re.compile(r'<a href="/staff/requests/(\d+)">#')


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(staff_config(tmp_path))


def listed(client: FlaskClient, query: str = "") -> list[int]:
    page = client.get(f"/staff/{query}")
    assert page.status_code == 200
    return [int(n) for n in ROW.findall(page.get_data(as_text=True))]


def test_only_delivered_tickets_are_listed_oldest_first(app: Flask, gateway: Services, clock: Clock) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    first = seed_requests(gateway, 2, "DPW", now=clock.now - timedelta(days=2))
    assert listed(client) == []  # not delivered yet: the back office has not received them
    deliver_all(gateway)
    later = seed_requests(gateway, 1, "DPW", now=clock.now - timedelta(hours=1))
    seed_requests(gateway, 1, "DPR")  # another department's queue
    deliver_all(gateway)
    seed_requests(gateway, 1, "DPW")  # still in the outbox
    assert listed(client) == [*first, *later]
    assert listed(client, "?sort=newest") == [*later, first[1], first[0]]
    page = client.get("/staff/").get_data(as_text=True)
    assert "2 days" in page and "1 h" in page  # ages


def test_filters(app: Flask, gateway: Services, clock: Clock) -> None:
    ann = make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    ids = seed_requests(gateway, 4, "DPW")
    deliver_all(gateway)
    with gateway.session() as session, session.begin():
        session.execute(update(ServiceRequest).where(ServiceRequest.id == ids[0]).values(status="closed"))
        session.execute(update(ServiceRequest).where(ServiceRequest.id == ids[1]).values(zipcode="90022"))
        session.execute(update(ServiceRequest).where(ServiceRequest.id == ids[2]).values(
            service_code="DPW-POTHOLE", expected_datetime=clock.now - timedelta(hours=1),
            sla_risk_at=clock.now - timedelta(hours=5)))
        session.add(StaffAssignment(request_id=ids[3], staff_id=ann.id, assigned_by=ann.id, assigned_at=clock.now))
    assert listed(client) == ids[1:]
    assert listed(client, "?status=closed") == ids[:1]
    assert listed(client, "?status=any") == ids
    assert listed(client, "?area=90022") == [ids[1]]
    assert listed(client, "?service_code=DPW-POTHOLE") == [ids[2]]
    assert listed(client, "?sla=breached") == [ids[2]]
    assert listed(client, "?assigned=me") == [ids[3]]
    assert listed(client, "?assigned=none") == ids[1:3]
    for bad in ("?status=lost", "?sla=bogus", "?service_code=DPR-RESTROOM", "?sort=sideways", "?page=-3",
                "?page=99999999999", "?assigned=anyone"):
        page = client.get(f"/staff/{bad}")
        assert page.status_code == 200 and 'role="alert"' in page.get_data(as_text=True), bad
        assert listed(client, bad) == ids[1:]  # the default used in its place
    assert listed(client, "?area=" + "9" * 500) == []  # cut to a ZIP code's length: no match, no failure
    assert client.get("/staff/?assigned=%00").status_code == 400  # the gateway's guard, before any view

def test_pages(app: Flask, gateway: Services) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    client = app.test_client()
    login(client, "ann@dpw.example.gov")
    ids = seed_requests(gateway, PAGE_SIZE + 3, "DPW")
    deliver_all(gateway)
    first = client.get("/staff/").get_data(as_text=True)
    assert f"{PAGE_SIZE + 3} requests, page 1 of 2" in first and 'rel="next"' in first
    assert listed(client) == ids[:PAGE_SIZE]
    assert listed(client, "?page=2") == ids[PAGE_SIZE:]
    assert listed(client, "?page=9") == ids[PAGE_SIZE:]  # past the end: the last page
