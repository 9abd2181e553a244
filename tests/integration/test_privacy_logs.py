"""The real server's logs (gunicorn access and error logs, and whatever the app logs) never hold personal data."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

from open311.intake.keys import create_key
from open311.storage.db import make_engine, make_session_factory
from open311.storage.schema import upgrade
from tests.api.test_privacy import SENTINELS
from tests.conftest import FIXED_NOW, ROOT
from tests.helpers import GRAFFITI
from tests.integration.live import TEST_ENV

CLI = [sys.executable, "-c", "from open311.cli import main; main()"]


def prepared_database(url: str) -> str:
    """Migrate the database the server will use and return a fresh API key for it."""
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        _, key = create_key(session, "lacounty.gov", "canary", FIXED_NOW)
    engine.dispose()
    return key


def test_server_logs_hold_no_personal_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logs.sqlite3'}"
    key = prepared_database(url)
    env = {**TEST_ENV, **os.environ, "OPEN311_DATABASE_URL": url, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
           "OPEN311_INTAKE_DIR": str(tmp_path / "intake"), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([*CLI, "serve", "--port", "0", "--threads", "2"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as server:
        lines = canary_run(server, key)
    text = "".join(lines)
    # the access lines are there (JSON, naming route templates, never paths or query strings) ...
    access = [json.loads(line) for line in lines if '"event": "access"' in line]
    seen = {(a["method"], a["route"], a["status"]) for a in access}
    assert ("POST", "/open311/v2/requests.<fmt>", 200) in seen, seen
    assert ("GET", "/open311/v2/requests/<service_request_id>.<fmt>", 200) in seen, seen
    # ... and nothing anywhere holds the personal data
    for value in SENTINELS.values():
        assert value not in text and value.replace("@", "%40").replace("+", "%2B") not in text, value


def canary_run(server: subprocess.Popen[str], key: str) -> list[str]:
    """Submit and read the canary over HTTP, stop the server, and return every line it wrote."""
    lines: list[str] = []
    listening = threading.Event()
    port: list[int] = []

    def read(stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if found:
                port.append(int(found.group(1)))
                listening.set()

    readers = [threading.Thread(target=read, args=(s,), daemon=True) for s in (server.stdout, server.stderr)]
    for reader in readers:
        reader.start()
    try:
        assert listening.wait(30), "".join(lines)
        base = f"http://127.0.0.1:{port[0]}/open311/v2"
        query = "&".join(f"{k}={v}" for k, v in SENTINELS.items())
        with requests.Session() as http:
            ok = http.post(f"{base}/requests.json?{query}", data={**GRAFFITI, "api_key": key,
                                                                  "attribute[extra_code]": "1"})
            assert ok.status_code == 200, ok.text
            assert http.post(f"{base}/requests.json", data={**GRAFFITI, **SENTINELS, "api_key": key,
                                                            "description": "body"}).status_code == 200
            assert http.post(f"{base}/requests.xml?{query}", data={**SENTINELS, "lat": "x"},
                             headers={"Authorization": f"Bearer {key}"}).status_code == 400
            assert http.post(f"{base}/requests.json", data=json.dumps(SENTINELS),
                             headers={"Content-Type": "application/json", "Authorization": "Bearer wrong"}
                             ).status_code == 403
            assert http.get(f"{base}/requests.json?{query}").status_code == 200
            assert http.get(f"{base}/requests/1.xml?{query}").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=5)
    return lines
