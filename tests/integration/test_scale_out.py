"""The production shape on PostgreSQL: 2 gunicorn workers take a few hundred POSTs while 2 relay processes
deliver them; every ticket reaches the back office exactly once, and SIGTERM stops every process cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, create_engine, func, select

from open311.storage.models import OutboxMessage
from tests import databases
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.delivery import wait_until, write_config
from tests.helpers import GRAFFITI
from tests.integration.live import open311_serve
from tests.integration.test_gunicorn import prepare

SECRET = "scale-out-secret-0123456789"
REQUESTS = 300


@contextmanager
def relay_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`open311 relay` as operators run it; SIGTERM at the end must stop it with exit code 0."""
    command = [str(Path(sys.executable).parent / "open311"), "relay"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_two_workers_and_two_relays_deliver_every_ticket_once(postgres_admin: Engine | None, tmp_path: Path) -> None:
    base = databases.postgres_url()
    if postgres_admin is None or base is None:
        pytest.skip("PostgreSQL only: runs in the PostgreSQL pass of `make test`")
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as office_url, databases.fresh_schema(postgres_admin, base) as url:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook", "options": {
            "url": f"{office_url}/tickets", "secret": SECRET}}})
        env = {"OPEN311_DATABASE_URL": url, "OPEN311_CONFIG": str(config),
               "OPEN311_INTAKE_DIR": str(tmp_path / "intake"), "OPEN311_RATELIMIT_PER_ADDRESS": "100000/minute",
               "OPEN311_DELIVERY_POLL": "0.05", "OPEN311_DELIVERY_BATCH": "10"}
        [key] = prepare(env, "100000/minute")
        with ExitStack() as stack:
            server = stack.enter_context(open311_serve(env, "--workers", "2", "--threads", "2",
                                                       logs=tmp_path / "serve"))
            relays = [stack.enter_context(relay_process(env, tmp_path / f"relay{n}.log")) for n in range(2)]

            def post(n: int) -> int:
                data = {**GRAFFITI, "api_key": key, "description": f"scale-out report {n}"}
                return requests.post(server.api + "requests.json", data=data, timeout=60).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(post, range(REQUESTS)))
            assert statuses == [200] * REQUESTS
            assert wait_until(lambda: len(office.tickets) == REQUESTS, 120), len(office.tickets)
            engine = create_engine(url)
            with engine.connect() as connection:
                states = dict(connection.execute(select(OutboxMessage.state, func.count())
                                                 .group_by(OutboxMessage.state)).all())
            engine.dispose()
            assert states == {"done": REQUESTS}
            for relay in relays:  # SIGTERM: finish the delivery in hand, release the rest, exit 0
                relay.send_signal(signal.SIGTERM)
            assert [relay.wait(30) for relay in relays] == [0, 0]
    assert set(office.created.values()) == {1}                       # each ticket created exactly once
    assert sum(office.posts.values()) >= REQUESTS
    logs = [(tmp_path / f"relay{n}.log").read_text() for n in range(2)]
    delivered = [int(log.rsplit("relay stopped: ", 1)[1].split()[0]) for log in logs]
    assert sum(delivered) == REQUESTS and all(d > 0 for d in delivered), delivered   # both relays worked
