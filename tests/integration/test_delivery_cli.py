"""`open311 relay|sync|outbox|keys --department|serve`: start-up checks, operators' commands, signals, the demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from open311.cli import main
from open311.services import Services
from open311.storage.models import OutboxMessage
from tests.adapters.peers import WebhookBackOffice, free_port, http_peer
from tests.conftest import ROOT
from tests.delivery import outbox_states, seed_requests, wait_until, write_config
from tests.helpers import GRAFFITI
from tests.integration.live import TEST_ENV

OPEN311 = str(Path(sys.executable).parent / "open311")
SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPEN311_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("OPEN311_CONFIG", str(ROOT / "jurisdictions.yaml"))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_missing_adapter_or_bad_options_stop_start_up_with_a_clear_message(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(env, {"DPW": {"adapter": "carrier-pigeon"},
                                "DPR": {"adapter": "webhook", "options": {"url": "ftp://x", "secret": "short"}}})
    monkeypatch.setenv("OPEN311_CONFIG", str(config))
    for command in (["relay", "--once"], ["sync", "--once"], ["serve"], ["outbox", "list"]):
        code, output = run(*command)
        assert code == 2, (command, output)
        assert "departments.DPW.adapter: adapter 'carrier-pigeon' is not installed (installed: email, filedrop, " \
               "open311, salesforce, simulated, staff, webhook)." in output
        assert "departments.DPR.options.url: Not a valid URL." in output
        assert "departments.DPR.options.secret: Shorter than minimum length 16." in output


def test_bad_tuning_and_a_database_without_tables_are_reported(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPEN311_DELIVERY_MAX_ATTEMPTS", "many")
    assert run("relay", "--once") == (2, "error: OPEN311_DELIVERY_MAX_ATTEMPTS must be a whole number (attempts of a "
                                       "ticket before it is a dead letter), got 'many'\n")
    monkeypatch.delenv("OPEN311_DELIVERY_MAX_ATTEMPTS")
    code, output = run("relay", "--once")
    assert (code, output) == (2, "error: the database has no tables yet; run `open311 db upgrade` first.\n")


def test_operators_requeue_dead_letters_from_the_command_line(env: Path) -> None:
    assert run("db", "upgrade")[0] == 0
    from open311 import create_app

    gateway: Services = create_app().extensions["open311"]
    seed_requests(gateway, 2, "DPR")
    with gateway.session() as session, session.begin():
        for row in session.query(OutboxMessage):
            row.state, row.attempts, row.last_error = "dead", 30, "gave up after 30 attempts: HTTP 503"
    code, output = run("outbox", "list", "--state", "dead", "--department", "DPR")
    lines = output.strip().splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[1].split("\t")[:7] == ["1", "1", "lacounty.gov", "DPR", "DPR-RESTROOM", "dead", "30"]
    assert lines[1].endswith("gave up after 30 attempts: HTTP 503")
    assert run("outbox", "retry")[0] == 2
    assert run("outbox", "retry", "2", "7") == (0, "requeued 1 dead letter(s)\n"
                                                   "1 of the given ids are not dead letters (state 'dead' only)\n")
    assert run("outbox", "retry", "--all", "--department", "DPW") == (0, "requeued 0 dead letter(s)\n")
    assert run("outbox", "retry", "--all") == (0, "requeued 1 dead letter(s)\n")
    assert run("relay", "--once") == (0, "relay stopped: 2 ticket(s) delivered\n")
    assert outbox_states(gateway) == {"done": 2}
    assert run("sync", "--once")[1].splitlines()[0] == "lacounty.gov/DPW: 0 read, 0 new, 0 applied, 0 skipped; ok"


def test_department_keys(env: Path) -> None:
    assert run("db", "upgrade")[0] == 0
    code, output = run("keys", "create", "--jurisdiction", "lacounty.gov", "--name", "DPW works", "--department",
                       "DPW")
    assert code == 0 and "created department DPW key 1" in output
    assert "\tlacounty.gov\tDPW\tDPW works\t" in run("keys", "list")[1]
    code, output = run("keys", "create", "--jurisdiction", "lacounty.gov", "--name", "x", "--department", "NOPE")
    assert code == 2 and "unknown department 'NOPE' (known: DPW, DPR, DPH, DRP, DEO)" in output


@pytest.mark.slow
def test_sigterm_finishes_the_delivery_in_hand_and_releases_the_rest(make_app: Callable[..., Flask],
                                                                    database_url: str, tmp_path: Path) -> None:
    office = WebhookBackOffice(SECRET, delay=0.4)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook",
                                                 "options": {"url": f"{base}/t", "secret": SECRET}}})
        gateway: Services = make_app(config).extensions["open311"]
        seed_requests(gateway, 10)
        proc = subprocess.Popen([OPEN311, "relay"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "OPEN311_CONFIG": str(config),
                                     "OPEN311_DATABASE_URL": database_url, "OPEN311_DELIVERY_BATCH": "10"})
        assert wait_until(lambda: office.posts.total() >= 2, 30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    delivered = len(office.tickets)
    assert out == f"relay stopped: {delivered} ticket(s) delivered\n"
    assert "released" in err
    assert outbox_states(gateway) == {"done": delivered, "pending": 10 - delivered}  # nothing left leased


@pytest.mark.slow
def test_serve_delivers_in_process_on_the_embedded_default(tmp_path: Path) -> None:
    environ = {**TEST_ENV, **os.environ, "OPEN311_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
               "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"), "OPEN311_INTAKE_DIR": str(tmp_path / "intake"),
               "OPEN311_DELIVERY_POLL": "0.1", "OPEN311_SYNC_INTERVAL": "0.2"}
    subprocess.run([OPEN311, "db", "upgrade"], env=environ, check=True, capture_output=True)
    key = subprocess.run([OPEN311, "keys", "create", "--jurisdiction", "lacounty.gov", "--name", "demo"], env=environ,
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([OPEN311, "serve", "--port", str(port)], env=environ, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/open311/v2"
        assert wait_until(lambda: _up(base), 30), "server did not start"
        posted = requests.post(f"{base}/requests.json", data={**GRAFFITI, "api_key": key}, timeout=10).json()
        rid = posted[0]["service_request_id"]
        ticket = tmp_path / "intake" / "DPW" / f"lacounty_gov_{rid}.json"
        assert wait_until(ticket.exists, 20), "the in-process relay did not deliver"
        assert json.loads(ticket.read_text())["ticket"]["service_request_id"] == rid
        replies = tmp_path / "intake" / "DPW" / "replies"
        replies.mkdir()
        (replies / "done.json").write_text(json.dumps({"service_request_id": rid, "status": "COMPLETED",
                                                       "updated_datetime": _now(), "description": "Painted"}))
        assert wait_until(lambda: requests.get(f"{base}/requests/{rid}.json", timeout=5).json()[0]["status"]
                          == "closed", 20), "the in-process sync did not apply the reply"
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err[-2000:]


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/discovery.json", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
