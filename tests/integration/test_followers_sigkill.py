"""SIGKILL the relay while it delivers tickets and their followers: each addition reaches the back office once."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask

from open311.services import Services
from open311.storage.models import OutboxMessage, RequestFollower
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.delivery import outbox_states, seed_requests, wait_until, write_config
from tests.integration.test_relay_sigkill import OPEN311, SECRET, relay_env

REQUESTS, FOLLOWERS_EACH = 60, 3


def seed_followers(gateway: Services, request_ids: list[int], now: datetime) -> int:
    """FOLLOWERS_EACH followers per request, each with its outbox row; return how many."""
    with gateway.session() as session, session.begin():
        for request_id in request_ids:
            for n in range(FOLLOWERS_EACH):
                follower = RequestFollower(request_id=request_id, created_at=now, attributes={"n": str(n)}, photos={},
                                           email=f"f{n}@example.org")
                session.add(follower)
                session.flush()
                session.add(OutboxMessage(request_id=request_id, department="DPW", kind="follower", state="pending",
                                          attempts=0, follower_id=follower.id, next_attempt_at=now, created_at=now,
                                          updated_at=now))
    return len(request_ids) * FOLLOWERS_EACH


@pytest.mark.slow
def test_sigkill_never_loses_or_repeats_a_follower(make_app: Callable[..., Flask], database_url: str,
                                                   tmp_path: Path) -> None:
    office = WebhookBackOffice(SECRET, delay=0.002)
    rng = random.Random(7)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook",
                                                 "options": {"url": f"{base}/tickets", "secret": SECRET}}})
        gateway: Services = make_app(config).extensions["open311"]
        ids = seed_requests(gateway, REQUESTS)
        expected = REQUESTS + seed_followers(gateway, ids, gateway.clock())
        env = relay_env(config, database_url, tmp_path)
        kills = 0
        while len(office.tickets) < expected and kills < 6:
            before = office.posts.total()
            proc = subprocess.Popen([OPEN311, "relay"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            target = rng.randint(15, 60)
            wait_until(lambda p=proc, b=before, t=target: office.posts.total() - b >= t or p.poll() is not None,
                       20, 0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        assert kills >= 3, "the relay was not interrupted often enough to prove anything"
        time.sleep(1.1)
        finish = subprocess.run([OPEN311, "relay", "--once"], env=env, capture_output=True, text=True, timeout=120)
        assert finish.returncode == 0, finish.stderr[-2000:]
    added = [t["addition"] for t in office.tickets.values() if "addition" in t]
    assert len(added) == REQUESTS * FOLLOWERS_EACH and len(office.tickets) == expected
    assert set(office.created.values()) == {1}
    tickets = {t["ticket"]["service_request_id"]: t["id"] for t in office.tickets.values() if "ticket" in t}
    assert all(a["external_id"] == tickets[a["service_request_id"]] for a in added)  # joined the right ticket
    assert outbox_states(gateway) == {"done": expected}
    print(f"{kills} kills, {office.posts.total()} POSTs for {expected} deliveries")
