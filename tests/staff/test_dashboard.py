"""The operators' delivery dashboard: the figures of open311.delivery.figures (those /metrics reports), and a
retry button that puts a dead letter back in the queue (audited)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from open311.delivery.figures import delivery_figures
from open311.services import Services
from open311.storage.models import OutboxMessage
from tests.conftest import Clock
from tests.delivery import outbox_states, seed_requests
from tests.staff.helpers import audit_actions, csrf_of, deliver_all, login, make_account, staff_config

ROW = re.compile(r'<th scope="row">(\w+)</th>\s*<td>(\d+)</td>\s*<td>([^<]*)</td>\s*<td>(.*?)</td>\s*<td>([^<]*)</td>'
                 r'\s*<td>(\d+)</td>\s*<td>(\d+)', re.S)


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(staff_config(tmp_path))


def test_the_dashboard_shows_the_figures_and_retries_a_dead_letter(app: Flask, gateway: Services,
                                                                    clock: Clock) -> None:
    make_account(gateway, "ops@example.gov", role="operator", department=None)
    seed_requests(gateway, 3, "DPW", now=clock.now - timedelta(minutes=10))
    deliver_all(gateway)
    waiting = seed_requests(gateway, 2, "DPH", now=clock.now - timedelta(minutes=5))
    dead = seed_requests(gateway, 1, "DPR")
    with gateway.session() as session, session.begin():
        session.execute(update(OutboxMessage).where(OutboxMessage.request_id == dead[0])
                        .values(state="dead", attempts=30, last_error="gave up after 30 attempts: HTTP 503"))
    client = app.test_client()
    login(client, "ops@example.gov")
    page = client.get("/staff/delivery")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    rows = {m[0]: m for m in ROW.findall(text)}
    with gateway.session() as session:
        figures = {f.department: f for f in delivery_figures(session, gateway.clock(), ["DPW", "DPR", "DPH",
                                                                                        "DRP", "DEO"])}
    assert set(rows) == set(figures)
    for code, f in figures.items():
        assert int(rows[code][1]) == f.queue_depth and int(rows[code][5]) == f.delivered_last_day
        assert int(rows[code][6]) == f.dead_letters
    assert rows["DPH"][1] == "2" and rows["DPH"][2] == "300 s" and rows["DPW"][5] == "3"
    assert rows["DPW"][4] == "600.0 s"  # delivered at once, ten minutes after they were received
    assert "gave up after 30 attempts: HTTP 503" in text and len(waiting) == 2
    (dead_id,) = [int(n) for n in re.findall(r'name="id" value="(\d+)"', text)]
    retried = client.post("/staff/delivery/retry", data={"id": str(dead_id), "csrf_token": csrf_of(page)})
    assert retried.status_code == 303
    assert "1 dead letter(s) put back" in client.get(retried.headers["Location"]).get_data(as_text=True)
    assert outbox_states(gateway) == {"done": 3, "pending": 3}
    assert ("retry_dead", None) in audit_actions(gateway)
    # without its token the button does nothing
    assert client.post("/staff/delivery/retry", data={"department": "DPR"}).status_code == 400
