"""A back office that is down, then slow, then failing with 500s: every ticket arrives once it recovers, none twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from open311.delivery.outbox import list_messages
from open311.delivery.relay import Relay
from open311.services import Services
from open311.settings import DeliverySettings
from tests.adapters.peers import WebhookBackOffice, free_port, http_peer
from tests.delivery import outbox_states, precise_now, seed_requests, wait_until, write_config

SECRET = "s3cret-s3cret-s3cret"
TICKETS = 40
FAST = DeliverySettings(max_attempts=1000, backoff_base=0.02, backoff_cap=0.2, lease=30, batch=5, poll=0.02)


@pytest.mark.slow
def test_down_then_slow_then_500s_then_recovered(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    port = free_port()
    options = {"url": f"http://127.0.0.1:{port}/tickets", "secret": SECRET, "timeout": 0.3, "connect_timeout": 0.3}
    app = make_app(write_config(tmp_path, {"DPW": {"adapter": "webhook", "options": options}}),
                   OPEN311_CLOCK=precise_now)
    gateway: Services = app.extensions["open311"]
    ids = seed_requests(gateway, TICKETS)
    office = WebhookBackOffice(SECRET)
    office.mode, office.slow_seconds = "slow", 0.5   # set before it listens: no attempt may find it healthy early
    runner = Relay(gateway, FAST)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)                    # down: nothing listens on the port
        assert office.posts.total() == 0
        with http_peer(office, port):                        # slow: answers after our timeout: stored, reply lost
            assert wait_until(lambda: office.posts.total() >= 8, 10)
            office.mode = "record-then-500"                   # stores the ticket, then fails the reply
            assert wait_until(lambda: office.posts.total() >= 20, 10)
            office.mode = "error500"                          # fails outright
            assert wait_until(lambda: office.posts.total() >= 30, 10)
            assert outbox_states(gateway).get("done", 0) == 0
            office.mode = "ok"
            assert wait_until(lambda: outbox_states(gateway) == {"done": TICKETS}, 30), outbox_states(gateway)
    finally:
        runner.stop.set()
        thread.join(10)
    assert len(office.tickets) == TICKETS                     # every ticket arrived ...
    assert set(office.created.values()) == {1}                # ... and was created exactly once
    assert office.posts.total() > TICKETS                     # although many were sent more than once
    assert {t["ticket"]["service_request_id"] for t in office.tickets.values()} == {str(i) for i in ids}
    with gateway.session() as session:
        entries = list_messages(session)
    by_key = {f"lacounty.gov:{e.message.request_id}": e.message.external_id for e in entries}
    assert by_key == {key: t["id"] for key, t in office.tickets.items()}
    assert office.bad_signatures == 0
