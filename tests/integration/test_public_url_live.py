"""OPEN311_PUBLIC_URL over real HTTP: the ticket a real back office receives, `open311 serve` refusing a
non-loopback address without it, and a real server publishing it and refusing a foreign Host."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from open311.cli import main
from open311.cli.serve import is_loopback
from open311.georeport.origin import UNTRUSTED
from tests.adapters.peers import WebhookBackOffice, http_peer
from tests.adapters.test_photo_delivery import key_of, relay_once, submit
from tests.conftest import ROOT
from tests.delivery import write_config
from tests.integration.live import TEST_ENV, open311_serve, serve, serve_command

PUBLIC = "https://311.example.gov"
SECRET = "s3cret-s3cret-s3cret"


def test_the_ticket_a_real_back_office_receives_carries_the_public_url(make_app: Callable[..., Flask],
                                                                       tmp_path: Path) -> None:
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook", "options": {"url": f"{base}/t",
                                                                                     "secret": SECRET}}})
        # Reached at 127.0.0.1:<port> (an allowed name, as an internal client would), published elsewhere.
        app = make_app(config, OPEN311_PUBLIC_URL=PUBLIC, OPEN311_ALLOWED_HOSTS="127.0.0.1")
        with serve(app) as api:
            request_id = submit(api, key_of(app))
            assert relay_once(app) == 1
            (entry,) = requests.get(f"{api}/requests/{request_id}.json?extensions=true", timeout=10).json()
    ticket = office.tickets[f"lacounty.gov:{request_id}"]["ticket"]
    assert len(ticket["media_urls"]) == 2
    assert all(url.startswith(f"{PUBLIC}/media/") for url in ticket["media_urls"]), ticket["media_urls"]
    assert [p["url"] for p in ticket["photos"]] == ticket["media_urls"]
    assert entry["extended_attributes"]["media_urls"] == ticket["media_urls"]
    assert entry["media_url"] == ticket["media_urls"][0]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**TEST_ENV, **os.environ, "OPEN311_DATABASE_URL": f"sqlite:///{tmp_path / 'gw.sqlite3'}",
            "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"), "OPEN311_INTAKE_DIR": str(tmp_path / "intake"),
            "OPEN311_MEDIA_DIR": str(tmp_path / "media"), **extra}


@pytest.mark.parametrize(("args", "extra", "message"), [
    (["--host", "0.0.0.0"], {}, "error: OPEN311_PUBLIC_URL is not set, and --host '0.0.0.0'"),
    ([], {"OPEN311_HOST": "::"}, "error: OPEN311_PUBLIC_URL is not set, and --host '::'"),
    (["--host", "0.0.0.0"], {"OPEN311_PUBLIC_URL": "311.example.gov"},
     "error: OPEN311_PUBLIC_URL must start with http:// or https://"),
])
def test_serve_on_a_non_loopback_address_without_a_valid_public_url_refuses_to_start(
        tmp_path: Path, args: list[str], extra: dict[str, str], message: str) -> None:
    done = subprocess.run([*serve_command(), "--port", "0", *args], env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert "Listening at" not in done.stdout + done.stderr


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("gw.localhost", True), ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False),
    ("gateway.internal", False), ("localhost.example", False)])
def test_production_is_a_non_loopback_bind_address(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_real_server_publishes_the_public_url_and_refuses_a_foreign_host(tmp_path: Path) -> None:
    env = _env(tmp_path, OPEN311_PUBLIC_URL=PUBLIC + "/gw", OPEN311_ALLOWED_HOSTS="127.0.0.1")
    upgraded = CliRunner(env=env).invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with open311_serve(env, logs=tmp_path / "logs") as server:
        discovery = requests.get(server.api + "discovery.json", timeout=10)
        assert discovery.status_code == 200
        assert discovery.json()["endpoints"][0]["url"] == f"{PUBLIC}/gw/open311/v2"
        for fmt in ("json", "xml"):
            foreign = requests.get(server.api + f"discovery.{fmt}", headers={"Host": "evil.example"}, timeout=10)
            assert foreign.status_code == 400
            assert UNTRUSTED in foreign.text and "evil" not in foreign.text
            assert foreign.headers["Content-Type"].startswith("application/json" if fmt == "json" else "text/xml")
