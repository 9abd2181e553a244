"""SIGKILL the relay process at random moments while it delivers 500 requests: the back office ends with 500."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from open311.services import Services
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.delivery import outbox_states, seed_requests, wait_until, write_config

SECRET = "s3cret-s3cret-s3cret"
TICKETS = 500
OPEN311 = str(Path(sys.executable).parent / "open311")


def relay_env(config: Path, database_url: str, tmp_path: Path) -> dict[str, str]:
    """The relay's environment: our config and database, a one-second lease and fast retries."""
    return {**os.environ, "OPEN311_CONFIG": str(config), "OPEN311_DATABASE_URL": database_url,
            "OPEN311_INTAKE_DIR": str(tmp_path / "intake"), "OPEN311_DELIVERY_LEASE": "1",
            "OPEN311_DELIVERY_BACKOFF_BASE": "0.05", "OPEN311_DELIVERY_BACKOFF_CAP": "0.5",
            "OPEN311_DELIVERY_POLL": "0.05", "OPEN311_DELIVERY_BATCH": "10"}


def finish_relaying(env: dict[str, str], gateway: Services, rounds: int = 20) -> None:
    """`open311 relay --once` until the outbox is empty: --once stops when nothing is due, and a delivery that
    timed out on a loaded machine waits out its backoff (at most OPEN311_DELIVERY_BACKOFF_CAP) first."""
    for _ in range(rounds):
        finish = subprocess.run([OPEN311, "relay", "--once"], env=env, capture_output=True, text=True, timeout=120)
        assert finish.returncode == 0, finish.stderr[-2000:]
        if set(outbox_states(gateway)) == {"done"}:
            return
        time.sleep(0.6)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_or_duplicates(make_app: Callable[..., Flask], database_url: str,
                                                             tmp_path: Path) -> None:
    office = WebhookBackOffice(SECRET)
    rng = random.Random(int(os.environ.get("OPEN311_TEST_SEED", "0")) or None)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook",
                                                 "options": {"url": f"{base}/tickets", "secret": SECRET}}})
        gateway: Services = make_app(config).extensions["open311"]
        seed_requests(gateway, TICKETS)
        env = relay_env(config, database_url, tmp_path)
        kills = 0
        while len(office.tickets) < TICKETS and kills < 6:
            before = office.posts.total()
            proc = subprocess.Popen([OPEN311, "relay"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            target = rng.randint(20, 150)  # a random moment in the middle of delivering
            wait_until(lambda p=proc, b=before, t=target: office.posts.total() - b >= t or p.poll() is not None,
                       20, 0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        assert kills >= 3, "the relay was not interrupted often enough to prove anything"
        time.sleep(1.1)  # the killed relay's leases run out
        finish_relaying(env, gateway)
    assert len(office.tickets) == TICKETS
    assert set(office.created.values()) == {1}
    assert outbox_states(gateway) == {"done": TICKETS}
    print(f"{kills} kills, {office.posts.total()} POSTs for {TICKETS} tickets")
