"""On PostgreSQL, four relays running at once never claim the same row: deliveries == rows."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from open311 import create_app
from open311.services import Services
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.delivery import outbox_states, seed_requests, write_config

SECRET = "s3cret-s3cret-s3cret"
ROWS = 200
RELAYS = 4
OPEN311 = str(Path(sys.executable).parent / "open311")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, uniquely named schema (dropped afterwards): the database is shared."""
    base = os.environ.get("OPEN311_TEST_DATABASE_URL", "")
    base = base if base.startswith("postgresql") else DEFAULT_URL
    schema = f"relay_test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable: {exc.orig}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.slow
def test_four_relays_never_claim_the_same_row(pg_schema_url: str, tmp_path: Path) -> None:
    office = WebhookBackOffice(SECRET, delay=0.005)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook",
                                                 "options": {"url": f"{base}/tickets", "secret": SECRET}}})
        app = create_app({"OPEN311_CONFIG": str(config), "OPEN311_DATABASE_URL": pg_schema_url,
                          "OPEN311_CREATE_SCHEMA": True})
        gateway: Services = app.extensions["open311"]
        assert gateway.engine.dialect.name == "postgresql"
        seed_requests(gateway, ROWS)
        env = {**os.environ, "OPEN311_CONFIG": str(config), "OPEN311_DATABASE_URL": pg_schema_url,
               "OPEN311_DELIVERY_BATCH": "3", "OPEN311_DELIVERY_LEASE": "600"}
        procs = [subprocess.Popen([OPEN311, "relay", "--once"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True) for _ in range(RELAYS)]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * RELAYS, outputs
    counts = [int(re.search(r"(\d+) ticket\(s\) delivered", out).group(1)) for out in outputs]  # type: ignore[union-attr]
    assert sum(counts) == ROWS                       # every row delivered by exactly one relay ...
    assert office.posts.total() == ROWS              # ... and sent exactly once
    assert set(office.posts.values()) == {1} and len(office.tickets) == ROWS
    assert sum(1 for c in counts if c) >= 2, counts  # the relays really ran side by side
    assert outbox_states(gateway) == {"done": ROWS}
    gateway.engine.dispose()
