"""SIGKILL the relay at random moments while it sends 300 e-mail notices to a real SMTP server: every resident
ends with their notice, each under one Message-ID; a notice is recorded the moment its server accepts it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from open311.notices.links import create_status_link
from open311.notices.milestones import RECEIVED, queue_notices
from open311.notices.recipients import EMAIL, Wanted, add_recipients
from open311.services import Services
from open311.storage.db import writing
from open311.storage.models import OutboxMessage
from tests.delivery import outbox_states, seed_requests, wait_until, write_config
from tests.integration.test_relay_sigkill import finish_relaying
from tests.notices.smtp import smtp_server

NOTICES = 300
SECRET = "notice-secret-for-the-sigkill-test"
OPEN311 = str(Path(sys.executable).parent / "open311")


@pytest.mark.slow
def test_sigkill_never_loses_a_notice_and_never_sends_one_under_two_ids(make_app: Callable[..., Flask],
                                                                        database_url: str, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("OPEN311_TEST_SEED", "0")) or None)
    with smtp_server(tmp_path) as smtp:
        config = write_config(tmp_path)
        settings = {"OPEN311_NOTICE_SMTP_URL": smtp.url, "OPEN311_NOTICE_FROM": "311 <no-reply@example.gov>",
                    "OPEN311_NOTICE_SECRET": SECRET}
        gateway: Services = make_app(config, **settings).extensions["open311"]
        ids = seed_requests(gateway, NOTICES)
        now = gateway.clock()
        with gateway.session() as session, writing(session) as connection:
            connection.execute(update(OutboxMessage).values(state="done"))  # the tickets are not what is tested
            for n, rid in enumerate(ids):
                create_status_link(connection, SECRET, rid, "en", now)
                add_recipients(connection, rid, [Wanted(EMAIL, email=f"resident{n}@example.org")], "en", now)
                queue_notices(connection, rid, RECEIVED, now)
        env = {**os.environ, **settings, "OPEN311_CONFIG": str(config), "OPEN311_DATABASE_URL": database_url,
               "OPEN311_INTAKE_DIR": str(tmp_path / "intake"), "OPEN311_DELIVERY_LEASE": "1",
               "OPEN311_DELIVERY_BACKOFF_BASE": "0.05", "OPEN311_DELIVERY_BACKOFF_CAP": "0.5",
               "OPEN311_DELIVERY_POLL": "0.05", "OPEN311_DELIVERY_BATCH": "10"}
        kills = 0
        while len(smtp.mailbox.messages) < NOTICES and kills < 6:
            before = len(smtp.mailbox.messages)
            proc = subprocess.Popen([OPEN311, "relay"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            target = rng.randint(10, 60)
            wait_until(lambda p=proc, b=before, t=target: len(smtp.mailbox.messages) - b >= t or p.poll() is not None,
                       30, 0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        assert kills >= 3, "the relay was not interrupted often enough to prove anything"
        time.sleep(1.1)   # the killed relays' leases run out
        finish_relaying(env, gateway)
        messages = list(smtp.mailbox.messages)
    by_recipient: dict[str, set[str]] = {}
    for message in messages:
        by_recipient.setdefault(str(message["To"]), set()).add(str(message["Message-ID"]))
    assert set(by_recipient) == {f"resident{n}@example.org" for n in range(NOTICES)}   # none lost
    assert all(len(found) == 1 for found in by_recipient.values())                   # one notice each
    repeats = sum(count - 1 for count in Counter(str(m["To"]) for m in messages).values())
    assert repeats <= kills   # a kill can catch at most the one message between its 250 and its commit
    states = outbox_states(gateway)
    assert states == {"done": 2 * NOTICES}
    print(f"{kills} kills, {len(messages)} messages for {NOTICES} notices ({repeats} resent under the same id)")
